"""The `transformers-finetune` baseline: a tiny classifier fine-tuned with Trainer, scored like every evaluator."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa

from specc.builder import build
from specc.components import Context
from specc.evaluation import evaluation_report, labelled_splits
from specc.regression import regression_report, regression_splits
from specc_transformers.finetune import FineTune, FineTuneParams
from tests.conftest import write

WORDS = {
    "praise": ["love", "wonderful", "great", "fun"],
    "complaint": ["terrible", "worst", "refund", "service"],
    "delivery": ["parcel", "delivery", "late", "where"],
}
NOISE = ["the", "is", "my", "and", "it", "this", "in", "a"]


def easy_rows(n: int = 120, seed: int = 0) -> list[dict[str, str]]:
    """Texts whose class shows in their words: two class words among noise words."""
    rng = random.Random(seed)
    names = list(WORDS)
    rows = []
    for i in range(n):
        label = names[i % 3]
        words = rng.sample(WORDS[label], 2) + rng.sample(NOISE, 3)
        rng.shuffle(words)
        rows.append({"text": " ".join(words), "label": label})
    return rows


def evaluator(model_dir: Path, **params: object) -> FineTune:
    validated = FineTuneParams.model_validate(
        {"model": model_dir.name, **params}, context={"spec_dir": model_dir.parent}
    )
    return FineTune(validated, Context("evaluate.transformers-finetune", 21, model_dir.parent))


def test_fine_tuning_learns_an_easy_task_the_same_way_every_time(trainable_dir: Path) -> None:
    rows = easy_rows()
    table = pa.table(
        {
            "_id": [f"s:{i}" for i in range(len(rows))],
            "text": [r["text"] for r in rows],
            "label": [r["label"] for r in rows],
            "_split": ["train", "train", "train", "test"] * (len(rows) // 4),
        }
    )
    names, splits, _ = labelled_splits(table, "text", "label", {}, evaluator(trainable_dir).fail)
    assert names == sorted(WORDS)  # three classes: the fixture model's two-class head is made anew

    predicted = evaluator(trainable_dir, steps=40, learning_rate=1e-2).predict(
        splits["train"], names, {"test": splits["test"]}
    )
    accuracy = float(np.mean(predicted["test"] == splits["test"].labels))
    assert accuracy >= 0.9, accuracy
    untrained = evaluator(trainable_dir, steps=1, learning_rate=1e-9).predict(
        splits["train"], names, {"test": splits["test"]}
    )
    assert float(np.mean(untrained["test"] == splits["test"].labels)) < accuracy

    # a second run of the same step: the same predictions, reported through specc.evaluation
    report = evaluator(trainable_dir, steps=40, learning_rate=1e-2, splits=["test"]).evaluate(table, {})
    assert report == evaluation_report(
        names, splits["train"].labels, {"test": (splits["test"].labels, predicted["test"])}
    )


def test_a_spec_reports_it_beside_the_tfidf_baseline(tmp_path: Path, trainable_dir: Path) -> None:
    shutil.copytree(trainable_dir, tmp_path / "models" / "tiny")
    write(tmp_path / "rows.jsonl", "".join(json.dumps(r) + "\n" for r in easy_rows(90, seed=1)))
    spec = write(
        tmp_path / "spec.yaml",
        "specc: 1\nname: baseline\ndescription: d\nlicense: mit\nseed: 4\n"
        "task: text-classification\ncard: {draft: true}\n"
        "sources:\n  rows: {type: jsonl, path: rows.jsonl, license: mit,\n"
        "         labels: {label: [praise, complaint, delivery]}}\n"
        "split: {method: stratified, stratify: label, ratios: {train: 0.6, validation: 0.2, test: 0.2}}\n"
        "evaluate:\n  - {type: tfidf-logreg}\n"
        "  - {type: transformers-finetune, model: models/tiny, steps: 40, learning_rate: 0.01}\n",
    )
    stats = build(spec)
    tfidf, tuned = stats["evaluate"]["evaluate.tfidf-logreg"], stats["evaluate"]["evaluate.transformers-finetune"]
    assert set(tuned) == set(tfidf) and set(tuned["splits"]) == {"validation", "test"}
    assert set(tuned["splits"]["test"]) == set(tfidf["splits"]["test"])
    assert tuned["labels"] == ["praise", "complaint", "delivery"] and tuned["splits"]["test"]["support"] == 18
    assert tuned["params"] == {
        "text": "text",
        "label": "label",
        "train": "train",
        "splits": ["validation", "test"],
        "steps": 40,
        "batch_size": 8,
        "learning_rate": 0.01,
        "weight_decay": 0.0,
        "max_length": 128,
    }
    pins = json.loads(spec.with_suffix(".lock").read_text())["steps"]["evaluate.transformers-finetune"]["pins"]
    assert sorted(f["path"] for f in pins["files"]) == sorted(
        f"models/tiny/{p.name}" for p in (tmp_path / "models" / "tiny").iterdir()
    )
    assert "evaluate.transformers-finetune" in (tmp_path / "build" / "baseline" / "README.md").read_text()


def scored_rows(n: int = 120, seed: int = 0) -> list[dict[str, object]]:
    """Texts whose score shows in their words: praise words add 1, complaint words take 1 away."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        good = i % 3
        words = rng.sample(WORDS["praise"], good) + rng.sample(WORDS["complaint"], 2 - good) + rng.sample(NOISE, 3)
        rng.shuffle(words)
        rows.append({"text": " ".join(words), "label": float(2 * good - 2)})
    return rows


def test_regression_learns_a_score_with_mse_and_reports_the_regression_metrics(trainable_dir: Path) -> None:
    rows = scored_rows()
    table = pa.table(
        {
            "_id": [f"s:{i}" for i in range(len(rows))],
            "text": [r["text"] for r in rows],
            "label": [r["label"] for r in rows],
            "_split": ["train", "train", "train", "test"] * (len(rows) // 4),
        }
    )
    splits, _ = regression_splits(table, "text", "label", evaluator(trainable_dir).fail)
    tuned = evaluator(trainable_dir, steps=60, learning_rate=1e-2, problem_type="regression", splits=["test"])
    report = tuned.evaluate(table, {})
    predicted = tuned.predict(splits["train"], [], {"test": splits["test"]})["test"]
    assert predicted.dtype.kind == "f" and predicted.shape == (30,)  # one number per row, not a class
    assert report == regression_report(
        "label", splits["train"].labels, {"test": (splits["test"].labels, predicted)}, []
    )
    scores, mean = report["splits"]["test"], report["baseline"]["test"]
    assert scores["mse"] < mean["mse"] / 2 and scores["r2"] > 0.5 and scores["spearman"] > 0.7, scores
    assert report["warnings"] == []


def test_a_float_target_in_classification_mode_says_to_use_regression(trainable_dir: Path) -> None:
    import pytest

    from specc.errors import SpeccError

    rows = scored_rows(12)
    table = pa.table(
        {
            "_id": [f"s:{i}" for i in range(12)],
            "text": [r["text"] for r in rows],
            "label": [r["label"] for r in rows],
            "_split": ["train", "test"] * 6,
        }
    )
    with pytest.raises(SpeccError, match="problem_type: regression"):
        evaluator(trainable_dir).evaluate(table, {})
