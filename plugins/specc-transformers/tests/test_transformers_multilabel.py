"""`transformers-finetune` on label sets: binary cross-entropy per label, scored like the one-vs-rest baseline."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from specc.components import Context
from specc.errors import SpeccError
from specc.multilabel import labelled_sets, set_metrics
from specc_transformers.finetune import FineTune, FineTuneParams

NAMES = ["praise", "complaint", "delivery"]
WORDS = {"praise": ["love", "great"], "complaint": ["terrible", "refund"], "delivery": ["parcel", "late"]}
NOISE = ["the", "is", "my", "and", "it", "this"]


def label_table(n: int = 160, seed: int = 0) -> pa.Table:
    """Rows holding one or two labels, each shown by one of its words among noise."""
    rng = random.Random(seed)
    texts, labels = [], []
    for i in range(n):
        held = sorted(rng.sample(range(3), 1 + i % 2))
        words = [rng.choice(WORDS[NAMES[j]]) for j in held] + rng.sample(NOISE, 2)
        rng.shuffle(words)
        texts.append(" ".join(words))
        labels.append(held)
    return pa.table(
        {
            "_id": [f"s:{i}" for i in range(n)],
            "text": texts,
            "label": pa.array(labels, pa.list_(pa.int64())),
            "_split": ["train", "train", "train", "test"] * (n // 4),
        }
    )


def evaluator(model_dir: Path, **params: object) -> FineTune:
    validated = FineTuneParams.model_validate(
        {"model": model_dir.name, **params}, context={"spec_dir": model_dir.parent}
    )
    return FineTune(validated, Context("evaluate.transformers-finetune", 21, model_dir.parent))


def test_fine_tuning_learns_label_sets_with_one_logit_per_label(trainable_dir: Path) -> None:
    from transformers import AutoTokenizer

    table = label_table()
    tuned = evaluator(
        trainable_dir, steps=60, learning_rate=1e-2, splits=["test"], problem_type="multi_label_classification"
    )
    splits, _ = labelled_sets(table, "text", "label", NAMES, tuned.fail)
    encoded = tuned.encode(AutoTokenizer.from_pretrained(trainable_dir), splits["train"])
    assert encoded[1]["labels"] == splits["train"].labels[1].astype(float).tolist()  # BCE targets, 0/1 per label
    predicted = tuned.predict(splits["train"], NAMES, {"test": splits["test"]})["test"]
    assert predicted.shape == (40, 3) and predicted.dtype == bool and (predicted.sum(1) == 2).any()
    report = tuned.evaluate(table, {"label": NAMES})
    assert report["task"] == "multi-label-classification"
    assert report["splits"]["test"] == set_metrics(splits["test"].labels, predicted, NAMES)  # the same run again
    assert report["splits"]["test"]["f1_micro"] >= 0.8, report["splits"]["test"]
    untrained = evaluator(trainable_dir, steps=1, learning_rate=1e-9).predict(
        splits["train"], NAMES, {"test": splits["test"]}
    )
    assert (
        set_metrics(splits["test"].labels, untrained["test"], NAMES)["f1_micro"] < report["splits"]["test"]["f1_micro"]
    )


def test_a_problem_type_the_labels_contradict_is_an_error(trainable_dir: Path) -> None:
    table = label_table(8)
    with pytest.raises(SpeccError, match="problem_type is single_label_classification but column 'label' holds lists"):
        evaluator(trainable_dir, steps=1, problem_type="single_label_classification").evaluate(table, {"label": NAMES})
    single = table.set_column(2, "label", pa.array(np.arange(8) % 3))
    with pytest.raises(SpeccError, match="set problem_type: single_label_classification"):
        evaluator(trainable_dir, steps=1, problem_type="multi_label_classification").evaluate(single, {"label": NAMES})
