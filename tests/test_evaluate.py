"""Baselines under `evaluate:`: shared metrics, chance and warnings, tfidf-logreg, the card section, plugin evaluators."""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path

import numpy as np
import pytest

from specc.builder import build
from specc.compiler import compile_spec
from specc.errors import SpeccError
from specc.evaluation import CHANCE_MARGIN, HIGH_SCORE, chance_scores, classification_metrics, score_warnings
from specc.spec import load_spec
from tests.conftest import ROOT, write
from tests.test_plugins import EvaluatorPlugin

SPEC = """\
specc: 1
name: ev
description: Evaluation test.
license: mit
seed: 5
sources:
  rows:
    type: jsonl
    path: rows.jsonl
    labels: {label: [cat, dog, fish]}
split:
  method: stratified
  ratios: {train: 0.6, validation: 0.2, test: 0.2}
evaluate:
"""
WORDS = ["apple", "river", "stone", "cloud", "paper", "green", "quiet", "north", "metal", "sugar"]


def rows(leaky: bool, n: int = 90) -> str:
    """Texts of random words that name their label (`leaky`), or texts that say nothing about it."""
    rng = np.random.default_rng(3)
    out = []
    for i in range(n):
        label = ["cat", "dog", "fish"][i % 3]
        words = list(rng.choice(WORDS, 6)) + [label, label] if leaky else [f"row{i}", "says", "nothing"]
        out.append(json.dumps({"text": " ".join(words), "label": label}) + "\n")
    return "".join(out)


def make(folder: Path, evaluate: str, leaky: bool = True) -> Path:
    write(folder / "rows.jsonl", rows(leaky))
    return write(folder / "ev.yaml", SPEC + evaluate + "card: {draft: true}\n")


def test_metrics_equal_scikit_learns() -> None:
    from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

    rng = np.random.default_rng(0)
    for k in (2, 3, 7):
        y_true = rng.integers(0, k, 200)
        y_pred = np.where(rng.random(200) < 0.6, y_true, rng.integers(0, k - 1, 200))  # class k-1 rarely predicted
        got = classification_metrics(y_true, y_pred, k + 1)  # class k never occurs
        precision, recall, f1, _ = precision_recall_fscore_support(y_true, y_pred, average="macro", zero_division=0)
        assert got["accuracy"] == round(accuracy_score(y_true, y_pred), 4)
        assert (got["precision_macro"], got["recall_macro"], got["f1_macro"]) == (
            round(precision, 4),
            round(recall, 4),
            round(f1, 4),
        )
        assert got["confusion"] == confusion_matrix(y_true, y_pred, labels=list(range(k + 1))).tolist()
        assert got["support"] == 200


def test_chance_levels_and_warnings() -> None:
    balanced = [0, 1] * 50
    # always-the-majority: accuracy 0.5, macro F1 (2/3 + 0) / 2; uniform: accuracy 0.5, macro F1 0.5
    assert chance_scores([0, 0, 1], balanced, 2) == {"accuracy": 0.5, "f1_macro": 0.5}
    skewed = [0] * 90 + [1] * 10
    assert chance_scores([0] * 9 + [1], skewed, 2)["accuracy"] == 0.9
    chance = {"accuracy": 0.5, "f1_macro": 0.5}
    high = score_warnings("test", {"accuracy": HIGH_SCORE, "f1_macro": 0.9}, chance)
    assert len(high) == 1 and high[0].startswith("test: accuracy 0.9900 is at least 0.99: suspiciously high")
    near = 0.5 + CHANCE_MARGIN - 0.001
    low = score_warnings("validation", {"accuracy": near, "f1_macro": near}, chance)
    assert len(low) == 1 and "within 0.05 of chance (0.5000 and 0.5000)" in low[0]
    assert score_warnings("test", {"accuracy": 0.8, "f1_macro": near}, chance) == []


def test_tfidf_and_a_plugin_evaluator_in_stats_and_card(register_plugin, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    register_plugin(EvaluatorPlugin(), "evaluator-plugin")  # `constant`: always the first class
    spec = make(tmp_path, "  - {type: tfidf-logreg}\n  - {type: constant, id: always-cat, splits: [test]}\n")
    stats = build(spec)
    out = tmp_path / "build" / "ev"
    tfidf, constant = stats["evaluate"]["evaluate.tfidf-logreg"], stats["evaluate"]["evaluate.always-cat"]
    assert tfidf["type"] == "tfidf-logreg" and tfidf["params"]["C"] == 1.0 and tfidf["labels"] == ["cat", "dog", "fish"]
    assert list(tfidf["splits"]) == ["validation", "test"] and tfidf["train_rows"] == 54
    for scores in tfidf["splits"].values():
        assert scores["accuracy"] == 1.0 and scores["support"] == 18
        assert np.trace(np.array(scores["confusion"])) == 18
    assert [w.split(":")[0] for w in tfidf["warnings"]] == ["validation", "test"]
    assert "suspiciously high" in tfidf["warnings"][0]
    assert list(constant["splits"]) == ["test"] and constant["splits"]["test"]["accuracy"] == round(1 / 3, 4)
    assert len(constant["warnings"]) == 1 and constant["warnings"][0].startswith(
        "test: accuracy 0.3333 and f1_macro 0.1667 are within 0.05 of chance"
    )
    assert [p["path"] for p in tfidf["plots"]] == [
        "plots/confusion-evaluate.tfidf-logreg-validation.png",
        "plots/confusion-evaluate.tfidf-logreg-test.png",
    ]
    assert all((out / p["path"]).read_bytes().startswith(b"\x89PNG") for p in tfidf["plots"])
    assert json.loads((out / "stats.json").read_text())["evaluate"] == stats["evaluate"]
    card = (out / "README.md").read_text()
    section = card[card.index("## Baseline evaluation") :]
    assert "### `evaluate.tfidf-logreg` (tfidf-logreg)" in section and "### `evaluate.always-cat` (constant)" in section
    assert "| validation | 18 | 1.0000 | 1.0000 | 1.0000 | 1.0000 |" in section
    assert section.count("> **Warning:**") == 3
    assert "![Confusion matrix of the evaluate.tfidf-logreg baseline on split test" in section
    assert "(plots/confusion-evaluate.always-cat-test.png)" in section


def test_random_labels_are_at_chance_and_builds_repeat(tmp_path: Path) -> None:
    spec = make(tmp_path, "  - {type: tfidf-logreg, splits: [test]}\n", leaky=False)
    first = build(spec, cache_dir=tmp_path / "c1")["evaluate"]["evaluate.tfidf-logreg"]
    assert any("within 0.05 of chance" in w for w in first["warnings"]), first
    png = (tmp_path / "build" / "ev" / first["plots"][0]["path"]).read_bytes()
    again = build(spec, cache_dir=tmp_path / "c2")["evaluate"]["evaluate.tfidf-logreg"]
    assert again == first and (tmp_path / "build" / "ev" / first["plots"][0]["path"]).read_bytes() == png


def test_evaluate_changes_the_output_fingerprint_not_the_formats(tmp_path: Path) -> None:
    fmt = "format: {type: prompt-completion, prompt: '{{ text }}', completion: '{{ label_name }}'}\n"

    def plan(evaluate: str):  # type: ignore[no-untyped-def]
        write(tmp_path / "ev.yaml", SPEC + evaluate + fmt + "card: {draft: true}\n")
        write(tmp_path / "rows.jsonl", rows(True))
        return compile_spec(load_spec(tmp_path / "ev.yaml"))

    one, other, none = plan("  - {type: tfidf-logreg}\n"), plan("  - {type: tfidf-logreg, C: 2}\n"), plan("  []\n")
    assert (
        one.stage("format")[0].fingerprint
        == other.stage("format")[0].fingerprint
        == none.stage("format")[0].fingerprint
    )
    assert len({one.fingerprint, other.fingerprint, none.fingerprint}) == 3
    assert one.stage("evaluate")[0].upstream == ("split",) and one.steps[-1].upstream == (
        "format",
        "evaluate.tfidf-logreg",
    )


@pytest.mark.parametrize(
    ("evaluate", "message"),
    [
        (
            "  - {type: tfidf-logreg, train: training}\n",
            "split 'training' has no rows with both 'text' and 'label' to "
            "train on; the splits are: test, train, validation; set `train:` to one of them",
        ),
        (
            "  - {type: tfidf-logreg, train: [train, valdation]}\n",
            "split 'valdation' has no rows with both 'text' and 'label' to "
            "train on; the splits are: test, train, validation; set `train:` to one of them",
        ),
        ("  - {type: tfidf-logreg, text: label}\n", "column 'label' holds int64, not text"),
    ],
)
def test_evaluator_mistakes_name_the_step(evaluate: str, message: str, tmp_path: Path) -> None:
    with pytest.raises(SpeccError) as info:
        build(make(tmp_path, evaluate))
    assert str(info.value).startswith(f"error: step 'evaluate.tfidf-logreg' (tfidf-logreg): {message}")


def test_one_class_in_train_is_an_error(tmp_path: Path) -> None:
    write(tmp_path / "rows.jsonl", "".join(json.dumps({"text": f"t {i}", "label": "cat"}) + "\n" for i in range(6)))
    spec = write(
        tmp_path / "one.yaml",
        SPEC.split("split:\n  method")[0] + "evaluate:\n  - {type: tfidf-logreg}\ncard: {draft: true}\n",
    )  # no split step: every row in train
    with pytest.raises(
        SpeccError, match=r"split 'train' holds one class only \('cat'\); a classifier needs at least two"
    ):
        build(spec)


@pytest.mark.shared_data
def test_tweeteval_example_scores_in_the_card(shared_data: Path, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import specc.selfcheck

    # mlcroissant reads nested chat rows at ~3 ms each: check croissant.json's structure, read 100 records
    monkeypatch.setattr(
        specc.selfcheck, "check_croissant", functools.partial(specc.selfcheck.check_croissant, full_count=100)
    )
    example = ROOT / "specs" / "tweeteval-emotion.yaml"
    load_spec(example)  # the relative paths resolve from specs/
    text = example.read_text().replace("../../shared/data/", str(shared_data) + "/")
    stats = build(write(tmp_path / "tweeteval-emotion.yaml", text))
    result = stats["evaluate"]["evaluate.tfidf-logreg"]
    assert result["labels"] == ["anger", "joy", "optimism", "sadness"] and result["train_rows"] == 3257
    assert {s: r["support"] for s, r in result["splits"].items()} == {"validation": 374, "test": 1421}
    for split, scores in result["splits"].items():
        assert 0.55 < scores["accuracy"] < 0.8 and 0.45 < scores["f1_macro"] < 0.8
        assert scores["accuracy"] > result["chance"][split]["accuracy"] + CHANCE_MARGIN
    assert result["warnings"] == []
    card = (tmp_path / "build" / "tweeteval-emotion" / "README.md").read_text()
    card = card[card.index("## Baseline evaluation") :]
    for split, scores in result["splits"].items():
        row = re.search(rf"^\| {split} \| ([\d,]+) \| ([\d.]+) \| ([\d.]+) \| ([\d.]+) \| ([\d.]+) \|", card, re.M)
        assert row is not None
        assert [float(x) for x in row.groups()[1:]] == [
            scores["accuracy"],
            scores["precision_macro"],
            scores["recall_macro"],
            scores["f1_macro"],
        ]
