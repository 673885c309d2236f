"""Built-in splitters: exact proportions, seeded per row, a partition of the rows."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from specc.builtins.splits import PredefinedSplit, RandomSplit, StratifiedSplit, allocate
from specc.components import Context


def _table(labels: list[int]) -> pa.Table:
    return pa.table({"_id": [f"src:{i}" for i in range(len(labels))], "label": labels,
                     "_split": pa.nulls(len(labels), pa.string())})


def _split(cls, table: pa.Table, seed: int = 5, **params) -> list[str]:  # type: ignore[no-untyped-def]
    return cls(cls.Params(**params), Context("split", seed, Path("."))).assign(table).to_pylist()


def test_allocate_is_exact_and_sums_to_n() -> None:
    assert allocate(10, {"train": 0.8, "validation": 0.1, "test": 0.1}) == [8, 1, 1]
    assert allocate(7, {"a": 0.5, "b": 0.5}) == [4, 3]
    assert allocate(0, {"a": 1.0}) == [0]


def test_stratified_matches_scikit_learn_class_counts() -> None:
    from sklearn.model_selection import train_test_split

    rng = np.random.default_rng(0)
    labels = rng.choice(5, size=1013, p=[0.5, 0.2, 0.15, 0.1, 0.05]).tolist()
    ours = _split(StratifiedSplit, _table(labels), ratios={"train": 0.7, "test": 0.3})
    _, y_test = train_test_split(labels, labels, test_size=0.3, stratify=labels, random_state=0)[2:]
    theirs = Counter(y_test)
    mine = Counter(label for label, split in zip(labels, ours) if split == "test")
    for label in set(labels):
        assert abs(mine[label] - theirs[label]) <= 1


def test_stratified_proportions_within_one_row_per_class_and_split() -> None:
    labels = [0] * 97 + [1] * 31 + [2] * 7
    ratios = {"train": 0.8, "validation": 0.1, "test": 0.1}
    splits = _split(StratifiedSplit, _table(labels), ratios=ratios)
    for label, n in Counter(labels).items():
        for split, ratio in ratios.items():
            count = sum(1 for lab, s in zip(labels, splits) if lab == label and s == split)
            assert abs(count - n * ratio) < 1


def test_random_split_depends_on_seed_and_ids_only() -> None:
    table = _table([0] * 200)
    first = _split(RandomSplit, table, ratios={"train": 0.5, "test": 0.5})
    assert _split(RandomSplit, table, ratios={"train": 0.5, "test": 0.5}) == first
    assert _split(RandomSplit, table, seed=6, ratios={"train": 0.5, "test": 0.5}) != first
    assert Counter(first) == {"train": 100, "test": 100}


def test_predefined_renames_and_rejects_missing_splits() -> None:
    table = pa.table({"_id": ["a:0", "a:1"], "_split": ["train", "val"]})
    assert _split(PredefinedSplit, table, rename={"val": "validation"}) == ["train", "validation"]
    holes = pa.table({"_id": ["a:0", "a:1"], "_split": ["train", None]})
    with pytest.raises(Exception, match="1 rows have no split"):
        _split(PredefinedSplit, holes)


def test_ratios_are_checked() -> None:
    with pytest.raises(ValueError, match="sum to 0.9"):
        RandomSplit.Params(ratios={"train": 0.8, "test": 0.1})
    with pytest.raises(ValueError, match="split name 'my split'"):
        RandomSplit.Params(ratios={"my split": 1.0})


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 3), min_size=1, max_size=300), st.integers(0, 2**32))
def test_splits_partition_the_rows(labels: list[int], seed: int) -> None:
    ratios = {"train": 0.6, "validation": 0.2, "test": 0.2}
    for cls in (RandomSplit, StratifiedSplit):
        splits = _split(cls, _table(labels), seed=seed, ratios=ratios)
        assert len(splits) == len(labels)
        assert set(splits) <= set(ratios)
        counts = Counter(splits)
        assert sum(counts.values()) == len(labels)
        if cls is RandomSplit:
            assert [counts[s] for s in ratios] == allocate(len(labels), ratios)
