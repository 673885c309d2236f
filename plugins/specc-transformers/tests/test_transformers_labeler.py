"""The `transformers-classify` annotator on tiny random models: labels, scores, thresholds, zero-shot, Hub pins."""

from __future__ import annotations

import hashlib
import json
import pickle
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from tiny_transformers import direct_scores, folder_bytes, save_classifier

from specc.builder import build, lock
from specc.components import Context
from specc.errors import SpeccError, SpecError
from specc.spec import load_spec
from specc_transformers.labeler import ClassifyParams, ModelLabeler
from tests.conftest import write
from tests.hub_cache import add_commit

TEXTS = [
    "I love this film, great fun",
    "terrible service, refund please",
    None,
    "where is my parcel",
    "reset my password",
    "the weather is mild",
    "wonderful and great",
    "the worst order I ever had",
]


def labeler(folder: Path, **params: object) -> ModelLabeler:
    """The step reading the model in `folder` (named relative to its parent, the spec's folder)."""
    spec_dir = folder.parent
    validated = ClassifyParams.model_validate({"model": folder.name, **params}, context={"spec_dir": spec_dir})
    return ModelLabeler(validated, Context("annotate.model", 11, spec_dir))


def rows(texts: list[str | None] = TEXTS, **columns: list[object]) -> pa.Table:
    return pa.table(
        {
            "_id": [f"s:{i}" for i in range(len(texts))],
            "text": pa.array(texts, pa.string()),
            "_source": ["s"] * len(texts),
            **columns,
        }
    )


def test_labels_and_scores_are_the_models_own(classifier_dir: Path) -> None:
    step = labeler(classifier_dir, batch_size=3)
    result = step.apply(rows())
    out = result.table.to_pydict()
    texts = [t for t in TEXTS if t is not None]
    ids, scores = direct_scores(classifier_dir, texts)
    assert [x for x, t in zip(out["label"], TEXTS) if t is not None] == ids
    assert np.allclose([s for s, t in zip(out["label_score"], TEXTS) if t is not None], scores, atol=1e-4)
    assert out["label"][2] is None and out["label_score"][2] is None  # a null text is not scored
    assert len(set(ids)) == 2 and len({round(s, 2) for s in scores}) > 3  # the fixture's model is not constant
    assert result.info["by_label"] == {"neg": ids.count(0), "pos": ids.count(1)}
    assert result.info["scored"] == 7 and result.info["unlabeled"] == 1
    copy = pickle.loads(pickle.dumps(step))  # as worker processes get it: without the loaded pipeline
    assert copy.apply(rows()).table.equals(result.table)


def test_rows_below_the_threshold_are_left_unlabeled_or_sent_to_review(classifier_dir: Path) -> None:
    scores = labeler(classifier_dir).apply(rows()).table["label_score"].to_pylist()
    threshold = float(np.median([s for s in scores if s is not None]))
    low = [s is not None and s < threshold for s in scores]
    assert 0 < sum(low) < 7

    unlabeled = labeler(classifier_dir, threshold=threshold).apply(rows())
    labels = unlabeled.table["label"].to_pylist()
    assert [label is None for label in labels] == [is_low or s is None for is_low, s in zip(low, scores)]
    assert unlabeled.table["label_score"].to_pylist() == scores  # the score is kept for every scored row
    assert unlabeled.info["below_threshold"] == sum(low)

    review = labeler(classifier_dir, threshold=threshold, below_threshold="review", review_column="check").apply(rows())
    assert review.table["check"].to_pylist() == low
    assert [x is None for x in review.table["label"].to_pylist()] == [s is None for s in scores]


def test_fill_mode_labels_only_the_rows_without_a_label(classifier_dir: Path) -> None:
    given = [0, None, None, 1, None, 0, None, 1]
    table = labeler(classifier_dir, mode="fill").apply(rows(label=pa.array(given, pa.int64()))).table
    model = labeler(classifier_dir).apply(rows()).table["label"].to_pylist()
    assert table["label"].to_pylist() == [g if g is not None else m for g, m in zip(given, model)]
    assert [s is None for s in table["label_score"].to_pylist()] == [
        g is not None or t is None for g, t in zip(given, TEXTS)
    ]


def test_zero_shot_puts_each_label_into_the_hypothesis(nli_dir: Path) -> None:
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    names = ["praise", "complaint", "question"]
    template = "This text is a {}."
    table = (
        labeler(nli_dir, task="zero-shot-classification", labels=names, hypothesis_template=template)
        .apply(rows())
        .table
    )
    tokenizer = AutoTokenizer.from_pretrained(nli_dir)
    model = AutoModelForSequenceClassification.from_pretrained(nli_dir).eval()
    for text, label, score in zip(TEXTS, table["label"].to_pylist(), table["label_score"].to_pylist()):
        if text is None:
            continue
        with torch.no_grad():  # entailment logit of (text, hypothesis) per label, softmax over the labels
            entail = [
                float(model(**tokenizer(text, template.format(n), return_tensors="pt")).logits[0, 0]) for n in names
            ]
        probabilities = torch.tensor(entail).softmax(0)
        assert label == int(probabilities.argmax())
        assert score == pytest.approx(float(probabilities.max()), abs=1e-4)


def test_a_model_label_outside_the_labels_is_a_clear_error(classifier_dir: Path) -> None:
    with pytest.raises(
        SpeccError,
        match=r"the model predicted '(neg|pos)', which is not one of the labels "
        r"\['negative', 'positive'\]; map it with `label_map",
    ):
        labeler(classifier_dir, labels=["negative", "positive"]).apply(rows())
    mapped = labeler(classifier_dir, labels=["negative", "positive"], label_map={"neg": "negative", "pos": "positive"})
    assert mapped.apply(rows()).table["label"].equals(labeler(classifier_dir).apply(rows()).table["label"])


def spec_text(model: str, extra: str = "") -> str:
    return (
        "specc: 1\nname: labelled\ndescription: d\nlicense: mit\nseed: 5\ncard: {draft: true}\n"
        "sources:\n  rows: {type: jsonl, path: rows.jsonl, license: mit}\n"
        f"annotate:\n  - {{type: transformers-classify, model: {model}{extra}}}\n"
    )


def test_validate_names_a_missing_folder_and_a_bad_repo_id(tmp_path: Path) -> None:
    write(tmp_path / "rows.jsonl", '{"text": "a"}\n')
    for model, message in (
        ("./models/none", "folder './models/none' not found"),
        ("not a repo", "'not a repo' is not a Hub repo id"),
    ):
        write(tmp_path / "spec.yaml", spec_text(model))
        with pytest.raises(SpecError, match=message):
            load_spec(tmp_path / "spec.yaml")


def test_a_hub_model_is_pinned_to_its_commit_in_the_lock(
    offline_hub: Path, tmp_path: Path, classifier_dir: Path
) -> None:
    repo, old, new = "org/tiny-sentiment", "a" * 40, "b" * 40
    folders = {old: save_classifier(tmp_path / "old", ["neg", "pos"], seed=1), new: classifier_dir}
    for commit, folder in folders.items():
        add_commit(
            offline_hub,
            repo,
            commit,
            folder_bytes(folder),
            lfs={"model.safetensors"},
            ref="main" if commit == new else None,
            repo_type="model",
        )
    texts = [t for t in TEXTS if t is not None]
    write(tmp_path / "spec" / "rows.jsonl", "".join(json.dumps({"text": t}) + "\n" for t in texts))
    spec = write(tmp_path / "spec" / "spec.yaml", spec_text(repo, ", threshold: 0.0"))

    def built() -> tuple[list[int], list[float]]:
        table = pq.read_table(tmp_path / "spec" / "build" / "labelled" / "data" / "train-00000-of-00001.parquet")
        return table["label"].to_pylist(), table["label_score"].to_pylist()

    stats = build(spec)
    pins = json.loads(spec.with_suffix(".lock").read_text())["steps"]["annotate.transformers-classify"]["pins"]
    assert (pins["repo"], pins["requested"], pins["revision"]) == (repo, "main", new)
    assert {f["path"]: f["sha256"] for f in pins["files"]} == {
        name: hashlib.sha256(data).hexdigest() for name, data in folder_bytes(folders[new]).items()
    }
    step = next(s for s in stats["steps"] if s["id"] == "annotate.transformers-classify")
    assert step["info"]["model"] == f"{repo}@{new}"
    ids, scores = direct_scores(folders[new], texts)
    labels, written = built()
    assert labels == ids and np.allclose(written, scores, atol=1e-4)
    assert f"Model `{repo}@{new}` (text-classification)" in (spec.parent / "build/labelled/README.md").read_text()

    shutil.rmtree(offline_hub / "models--org--tiny-sentiment" / "refs")  # main moves to the old commit
    write(offline_hub / "models--org--tiny-sentiment" / "refs" / "main", old)
    build(spec)
    assert built() == (labels, written)  # the lock keeps the pinned commit
    lock(spec, upgrade=True)
    pins = json.loads(spec.with_suffix(".lock").read_text())["steps"]["annotate.transformers-classify"]["pins"]
    assert pins["revision"] == old
    build(spec)
    assert built()[0] == direct_scores(folders[old], texts)[0]
