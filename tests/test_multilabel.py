"""Multi-label classification: label lists from every source format, iterative stratification, the card's label
sets and the one-vs-rest baseline."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from specc.builder import build
from specc.builtins.evaluators import TfidfLogReg, TfidfLogRegParams
from specc.components import Context
from specc.multilabel import labelled_sets, set_metrics
from tests.conftest import run_cli, write

# label -> its share of rows: common, middling and rare labels (the rare one under 50 rows at 4,000 rows)
SHARES = {"billing": 0.45, "shipping": 0.3, "returns": 0.2, "account": 0.1, "technical": 0.05, "legal": 0.01}
NAMES = list(SHARES)
LABELS = "{label: [" + ", ".join(NAMES) + "]}"


def label_rows(n: int, seed: int = 0) -> list[dict[str, object]]:
    """Rows whose texts carry a word per label they hold, among noise; some rows hold no label."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        labels = [name for name, share in SHARES.items() if rng.random() < share]
        words = [f"{name[:4]}{rng.randint(0, 2)}" for name in labels] + [f"w{rng.randint(0, 30)}" for _ in range(3)]
        rows.append({"text": " ".join(words) + f" n{i}", "topics": labels})
    return rows


def spec(folder: Path, sources: str, rest: str = "") -> Path:
    return write(
        folder / "ml.yaml",
        "specc: 1\nname: ml\ndescription: Multi-label rows.\nlicense: mit\nseed: 11\n"
        "task: multi-label-classification\ncard: {draft: true}\nsources:\n" + sources + rest,
    )


def stratified(ratios: str = "{train: 0.8, validation: 0.1, test: 0.1}") -> str:
    return f"split: {{method: stratified, stratify: label, ratios: {ratios}}}\n"


def write_jsonl(path: Path, rows: list[dict[str, object]]) -> None:
    write(path, "".join(json.dumps(r) + "\n" for r in rows))


def fails(result: object) -> str:
    assert result.returncode == 1, result.stdout + result.stderr  # type: ignore[attr-defined]
    assert "Traceback" not in result.stderr  # type: ignore[attr-defined]
    return result.stderr  # type: ignore[attr-defined]


def test_every_source_format_gives_lists_of_class_labels(tmp_path: Path) -> None:
    import datasets

    rows = label_rows(80)
    parts = [rows[i::4] for i in range(4)]
    write_jsonl(tmp_path / "a.jsonl", parts[0])
    write(tmp_path / "b.csv", "text,topics\n" + "".join(f"{r['text']},{'|'.join(r['topics'])}\n" for r in parts[1]))
    write(tmp_path / "c.tsv", "text\ttopics\n" + "".join(f"{r['text']}\t{' ; '.join(r['topics'])}\n" for r in parts[2]))
    pq.write_table(pa.Table.from_pylist(parts[3]), tmp_path / "d.parquet")
    common = f"columns: {{text: text, label: topics}}, labels: {LABELS}"
    path = spec(
        tmp_path,
        f"  a: {{type: jsonl, path: a.jsonl, {common}}}\n"
        f"  b: {{type: csv, path: b.csv, label_delimiter: {{label: '|'}}, {common}}}\n"
        f"  c: {{type: tsv, path: c.tsv, label_delimiter: {{label: ;}}, {common}}}\n"
        f"  d: {{type: parquet, path: d.parquet, {common}}}\n",
    )
    result = run_cli("build", str(path), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    loaded = datasets.load_dataset(str(tmp_path / "build" / "ml"), split="train")
    feature = loaded.features["label"]
    assert isinstance(feature, datasets.List) and feature.feature.names == NAMES
    got = {row["text"]: feature.feature.int2str(row["label"]) for row in loaded}
    assert got == {r["text"]: r["topics"] for r in parts[0] + parts[1] + parts[2] + parts[3]}
    assert any(len(labels) > 1 for labels in got.values()) and any(not labels for labels in got.values())
    card = (tmp_path / "build" / "ml" / "README.md").read_text()
    assert "task_categories:\n- text-classification\ntask_ids:\n- multi-label-classification\n" in card


def test_a_hub_list_of_class_labels_keeps_its_names(tmp_path: Path) -> None:
    import datasets

    from tests.hub_cache import add_commit

    readme = (
        "---\ndataset_info:\n  features:\n  - name: text\n    dtype: string\n  - name: topics\n    list:\n"
        "      class_label:\n        names:\n          '0': red\n          '1': green\n          '2': blue\n---\n"
    )
    data = "".join(json.dumps({"text": f"t{i}", "topics": [i % 3, (i + 1) % 3]}) + "\n" for i in range(6))
    add_commit(
        tmp_path / "hf-cache",
        "org/sets",
        "3" * 40,
        {"README.md": readme.encode(), "data/train.jsonl": data.encode()},
        lfs=set(),
        ref="main",
    )
    env = {
        "HF_HUB_OFFLINE": "1",
        "HF_HUB_CACHE": str(tmp_path / "hf-cache"),
        "HF_HOME": str(tmp_path / "hf-home"),
        "HF_DATASETS_OFFLINE": "1",
        "SPECC_CACHE_DIR": str(tmp_path / "specc-cache"),
    }
    spec(tmp_path, "  hub: {type: hf, path: org/sets, license: mit, columns: {text: text, label: topics}}\n")
    result = run_cli("build", "ml.yaml", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    loaded = datasets.load_dataset(str(tmp_path / "build" / "ml"), split="train")
    assert loaded.features["label"].feature.names == ["red", "green", "blue"]
    assert loaded["label"] == [[i % 3, (i + 1) % 3] for i in range(6)]


def test_an_unknown_label_names_the_file_and_line(tmp_path: Path) -> None:
    write(tmp_path / "b.csv", "text,topics\nfine,billing|shipping\nbad,billing|shiping\n")
    path = spec(
        tmp_path,
        f"  b: {{type: csv, path: b.csv, label_delimiter: {{label: '|'}}, "
        f"columns: {{text: text, label: topics}}, labels: {LABELS}}}\n",
    )
    error = fails(run_cli("build", str(path), cwd=tmp_path))
    assert "b.csv:3" in error and "['billing', 'shiping']" in error and "add it to `labels:`" in error


def test_a_delimiter_for_a_column_the_source_lacks_is_an_error(tmp_path: Path) -> None:
    write(tmp_path / "b.csv", "text,topics\nfine,billing\n")
    path = spec(
        tmp_path,
        f"  b: {{type: csv, path: b.csv, label_delimiter: {{labels: '|'}}, "
        f"columns: {{text: text, label: topics}}, labels: {LABELS}}}\n",
    )
    error = fails(run_cli("build", str(path), cwd=tmp_path))
    assert "label_delimiter: no column 'labels'" in error and "the columns are: text, label" in error
    write(path, path.read_text().replace("{labels: '|'}", "{label: ''}"))
    error = fails(run_cli("validate", str(path), cwd=tmp_path))
    assert "ml.yaml:" in error and "the delimiter of 'label' is empty" in error


def shares_per_split(folder: Path) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Each split's share of rows holding each label, the whole's, and the rows per label."""
    tables = {p.name.split("-")[0]: pq.read_table(p) for p in sorted((folder / "data").glob("*.parquet"))}

    def matrix(table: pa.Table) -> np.ndarray:
        out = np.zeros((table.num_rows, len(NAMES)), dtype=bool)
        for i, labels in enumerate(table.column("label").to_pylist()):
            out[i, labels] = True
        return out

    parts = {split: matrix(t) for split, t in tables.items()}
    whole = np.concatenate(list(parts.values()))
    return {s: m.mean(0) for s, m in parts.items()}, whole.mean(0), whole.sum(0)


@pytest.mark.parametrize(
    "split",
    [
        stratified(),
        "split: {method: kfold, folds: 4, test: 0.2, stratify: label}\n",
    ],
)
def test_each_label_keeps_its_share_in_every_split(tmp_path: Path, split: str) -> None:
    write_jsonl(tmp_path / "rows.jsonl", label_rows(4000))
    path = spec(
        tmp_path,
        f"  rows: {{type: jsonl, path: rows.jsonl, columns: {{text: text, label: topics}}, labels: {LABELS}}}\n",
        split,
    )
    build(path)
    shares, whole, counts = shares_per_split(tmp_path / "build" / "ml")
    assert len(shares) >= 3 and counts[NAMES.index("legal")] < 50  # the rare label is exempt and exists
    common = counts >= 50
    for split_name, share in shares.items():
        worst = np.abs(share - whole)[common].max()
        assert worst <= 0.01, (split_name, dict(zip(NAMES, share - whole)))


def test_a_stratified_multilabel_split_cannot_keep_groups(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "rows.jsonl", [{**r, "user": str(i % 7)} for i, r in enumerate(label_rows(40))])
    path = spec(
        tmp_path,
        f"  rows: {{type: jsonl, path: rows.jsonl, columns: {{text: text, label: topics, user: user}}, labels: {LABELS}}}\n",
        "split: {method: stratified, stratify: label, group: user}\n",
    )
    error = fails(run_cli("build", str(path), cwd=tmp_path))
    assert "cannot keep groups together" in error and "drop `group:`" in error


def test_the_card_shows_label_cardinality_and_co_occurrence(tmp_path: Path) -> None:
    rows = label_rows(300, seed=2)
    write_jsonl(tmp_path / "rows.jsonl", rows)
    path = spec(
        tmp_path,
        f"  rows: {{type: jsonl, path: rows.jsonl, columns: {{text: text, label: topics}}, labels: {LABELS}}}\n",
        stratified(),
    )
    build(path)
    folder = tmp_path / "build" / "ml"
    stats = json.loads((folder / "stats.json").read_text())
    splits = stats["split"]["splits"]
    assert sum(s["label_sets"]["label"]["rows"] for s in splits.values()) == len(rows)
    total = sum(s["label_sets"]["label"]["cardinality"] * s["rows"] for s in splits.values())
    assert total == pytest.approx(sum(len(r["topics"]) for r in rows), abs=0.01 * len(splits))
    both = sum(s["label_sets"]["label"]["co_occurrence"]["billing"]["shipping"] for s in splits.values())
    assert both == sum({"billing", "shipping"} <= set(r["topics"]) for r in rows)
    assert sum(s["by_label"]["label"]["returns"] for s in splits.values()) == sum(
        "returns" in r["topics"] for r in rows
    )
    card = (folder / "README.md").read_text()
    assert "## Label sets" in card and "| Split | Rows | Label cardinality |" in card
    assert f"| billing | – | {both} |" in card


def test_metrics_equal_scikit_learns() -> None:
    from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support

    rng = np.random.default_rng(0)
    for k in (2, 3, 8):
        true = rng.random((150, k)) < 0.3
        pred = np.where(rng.random((150, k)) < 0.7, true, rng.random((150, k)) < 0.2)
        pred[:, -1] = False  # a label never predicted: its precision and F1 are 0
        names = [f"l{i}" for i in range(k)]
        got = set_metrics(true, pred, names)
        for average in ("micro", "macro"):
            precision, recall, f1, _ = precision_recall_fscore_support(true, pred, average=average, zero_division=0)
            assert got[f"f1_{average}"] == round(f1_score(true, pred, average=average, zero_division=0), 4)
            assert (got[f"precision_{average}"], got[f"recall_{average}"]) == (round(precision, 4), round(recall, 4))
        precision, recall, f1, support = precision_recall_fscore_support(true, pred, average=None, zero_division=0)
        for i, name in enumerate(names):
            label = got["per_label"][name]
            assert (label["precision"], label["recall"], label["f1"]) == (
                round(precision[i], 4),
                round(recall[i], 4),
                round(f1[i], 4),
            )
            assert label["tp"] + label["fn"] == support[i]
        assert got["subset_accuracy"] == round(accuracy_score(true, pred), 4)


def test_the_one_vs_rest_baseline_scores_as_scikit_learn_does(tmp_path: Path) -> None:
    from sklearn.metrics import f1_score, precision_score, recall_score

    rows = label_rows(600, seed=3)
    table = pa.table(
        {
            "_id": [f"r:{i}" for i in range(len(rows))],
            "text": [r["text"] for r in rows],
            "label": pa.array([[NAMES.index(t) for t in r["topics"]] for r in rows], pa.list_(pa.int64())),
            "_split": (["train"] * 8 + ["test"] * 2) * (len(rows) // 10),
        }
    )
    params = TfidfLogRegParams.model_validate({"splits": ["test"]})
    evaluator = TfidfLogReg(params, Context("evaluate.tfidf-logreg", 5, tmp_path))
    report = evaluator.evaluate(table, {"label": NAMES})
    splits, _ = labelled_sets(table, "text", "label", NAMES, evaluator.fail)
    predicted = evaluator.predict(splits["train"], NAMES, {"test": splits["test"]})["test"]
    assert predicted.shape == (120, len(NAMES)) and (predicted.sum(1) > 1).any()  # one decision per label
    true, scores = splits["test"].labels, report["splits"]["test"]
    assert scores["f1_micro"] == round(f1_score(true, predicted, average="micro", zero_division=0), 4)
    assert scores["f1_macro"] == round(f1_score(true, predicted, average="macro", zero_division=0), 4)
    for i, name in enumerate(NAMES):
        assert scores["per_label"][name]["precision"] == round(
            precision_score(true[:, i], predicted[:, i], zero_division=0), 4
        )
        assert scores["per_label"][name]["recall"] == round(
            recall_score(true[:, i], predicted[:, i], zero_division=0), 4
        )
    assert scores["f1_micro"] > report["chance"]["test"]["f1_micro"] + 0.2  # the label words are learnt


def test_a_build_reports_the_baseline_in_its_own_card_section(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "rows.jsonl", label_rows(400, seed=4))
    path = spec(
        tmp_path,
        f"  rows: {{type: jsonl, path: rows.jsonl, columns: {{text: text, label: topics}}, labels: {LABELS}}}\n",
        stratified() + "evaluate:\n  - {type: tfidf-logreg}\n",
    )
    stats = build(path)
    result = stats["evaluate"]["evaluate.tfidf-logreg"]
    assert result["task"] == "multi-label-classification" and set(result["splits"]) == {"validation", "test"}
    card = (tmp_path / "build" / "ml" / "README.md").read_text()
    assert "## Multi-label baseline evaluation" in card and "## Baseline evaluation" not in card
    test = result["splits"]["test"]
    assert f"| test | {test['support']} | {test['f1_micro']:.4f} | {test['f1_macro']:.4f} |" in card
    assert "Per label on `test`:" in card and "| legal |" in card
    assert not list((tmp_path / "build" / "ml" / "plots").glob("confusion-*"))


def test_text_lines_read_a_list_of_label_ids_per_line(tmp_path: Path) -> None:
    write(tmp_path / "text.txt", "a b\nc d\ne f\ng h\n")
    write(tmp_path / "labels.txt", "0,1\n2\n\n1 , 2\n")
    write(tmp_path / "mapping.txt", "0\tx\n1\ty\n2\tz\n")
    source = (
        "  t: {type: text-lines, text: text.txt, label: labels.txt, label_names: mapping.txt, "
        "label_delimiter: {label: ','}}\n"
    )
    path = spec(tmp_path, source)
    result = run_cli("build", str(path), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    (data,) = (tmp_path / "build" / "ml" / "data").glob("*.parquet")
    assert pq.read_table(data).column("label").to_pylist() == [[0, 1], [2], [], [1, 2]]
    write(tmp_path / "labels.txt", "0,1\n2\n\n1 , 7\n")
    error = fails(run_cli("build", str(path), cwd=tmp_path))
    assert "labels.txt:4: error" in error and "label id 7 (row _id 't:3') has no name" in error


def test_a_chat_format_sees_the_names_of_the_rows_labels(tmp_path: Path) -> None:
    write_jsonl(
        tmp_path / "rows.jsonl",
        [{"text": "late and billed twice", "topics": ["shipping", "billing"]}, {"text": "hi", "topics": []}],
    )
    path = spec(
        tmp_path,
        f"  rows: {{type: jsonl, path: rows.jsonl, columns: {{text: text, label: topics}}, labels: {LABELS}}}\n",
        "format:\n  type: chat\n  user: '{{ text }}'\n"
        "  assistant: \"{{ label_name | join(', ') if label_name else 'none' }}\"\n",
    )
    build(path)
    (data,) = (tmp_path / "build" / "ml" / "data").glob("*.parquet")
    answers = [m[-1]["content"] for m in pq.read_table(data).column("messages").to_pylist()]
    assert answers == ["shipping, billing", "none"]
