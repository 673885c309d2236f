"""Properties of every ratio and fold splitter, with and without groups, on generated tables.

For each method: the names partition the rows (one known split name per row, none lost), no
group value (of `group:` or `_near_dup_group`) spans two splits, the same input gives the same
output, and the assignment depends on the rows' `_id`s and values only, not on their order.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from specc.builtins.splits import HashSplit, KFoldSplit, RandomSplit, StratifiedSplit, allocate, components
from specc.components import Context

RATIOS = {"train": 0.6, "validation": 0.25, "test": 0.15}

# (splitter, params) without grouping; `group: author` is added where a case asks for it.
METHODS: list[tuple[type, dict[str, Any]]] = [
    (RandomSplit, {"ratios": RATIOS}),
    (StratifiedSplit, {"ratios": RATIOS, "stratify": "label"}),
    (HashSplit, {"ratios": RATIOS}),
    (HashSplit, {"ratios": RATIOS, "key": "_id"}),
    (KFoldSplit, {"folds": 3}),
    (KFoldSplit, {"folds": 4, "test": 0.2}),
    (KFoldSplit, {"folds": 2, "test": 0.3, "stratify": "label"}),
]


@st.composite
def tables(draw: st.DrawFn) -> pa.Table:
    """Rows with unique `_id`s (not in sorted order), labels, authors and near-dup clusters."""
    n = draw(st.integers(0, 120))
    ids = draw(st.lists(st.integers(0, 10_000), min_size=n, max_size=n, unique=True))
    labels = draw(st.lists(st.sampled_from([0, 1, 2, None]), min_size=n, max_size=n))
    authors = draw(st.lists(st.one_of(st.none(), st.sampled_from("abcdefghij")), min_size=n, max_size=n))
    texts = draw(st.lists(st.sampled_from(["a b", "A  b", "c", "d e", "x", "y"]), min_size=n, max_size=n))
    columns: dict[str, Any] = {
        "_id": pa.array([f"src:{i}" for i in ids], pa.string()),
        "label": pa.array(labels, pa.int64()),
        "author": pa.array(authors, pa.string()),
        "text": pa.array([f"{t} {i % 7}" for t, i in zip(texts, ids)], pa.string()),
    }
    if draw(st.booleans()):
        clusters = draw(st.lists(st.one_of(st.none(), st.integers(0, 15)), min_size=n, max_size=n))
        columns["_near_dup_group"] = pa.array(clusters, pa.int64())
    return pa.table(columns)


def _assign(cls: type, table: pa.Table, seed: int, **params: Any) -> list[str]:
    splitter = cls(cls.Params(**params), Context("split", seed, Path(".")))
    names = splitter.assign(table)
    assert isinstance(names, pa.Array) and names.type == pa.string() and names.null_count == 0
    assert len(names) == table.num_rows
    assert set(names.to_pylist()) <= set(splitter.split_names())
    return names.to_pylist()


def _never_split(table: pa.Table, column: str, splits: list[str]) -> None:
    if column not in table.column_names:
        return
    seen: dict[object, str] = {}
    for value, split in zip(table.column(column).to_pylist(), splits):
        if value is not None:
            assert seen.setdefault(value, split) == split, f"{column} {value!r} in two splits"


@settings(max_examples=60, deadline=None)
@given(tables(), st.integers(0, 2**63 - 1), st.booleans(), st.randoms(use_true_random=False))
def test_every_method_partitions_keeps_groups_and_ignores_row_order(
    table: pa.Table, seed: int, grouped: bool, rnd: Any
) -> None:
    permutation = list(range(table.num_rows))
    rnd.shuffle(permutation)
    shuffled = table.take(pa.array(permutation, pa.int64()))
    ids = table.column("_id").to_pylist()
    for cls, params in METHODS:
        params = {**params, **({"group": "author"} if grouped else {})}
        splits = _assign(cls, table, seed, **params)
        if grouped:
            _never_split(table, "author", splits)
        _never_split(table, "_near_dup_group", splits)
        assert _assign(cls, table, seed, **params) == splits
        by_id = dict(zip(ids, splits))
        again = _assign(cls, shuffled, seed, **params)
        assert {i: s for i, s in zip(shuffled.column("_id").to_pylist(), again)} == by_id, cls.name


@settings(max_examples=60, deadline=None)
@given(tables(), st.integers(0, 2**63 - 1))
def test_ungrouped_counts_are_exact(table: pa.Table, seed: int) -> None:
    table = table.drop_columns([c for c in table.column_names if c == "_near_dup_group"])
    n = table.num_rows
    counts = Counter(_assign(RandomSplit, table, seed, ratios=RATIOS))
    assert [counts[s] for s in RATIOS] == allocate(n, RATIOS)
    labels = table.column("label").to_pylist()
    splits = _assign(StratifiedSplit, table, seed, ratios=RATIOS, stratify="label")
    for label, size in Counter(labels).items():
        inside = Counter(s for lab, s in zip(labels, splits) if lab == label)
        assert [inside[s] for s in RATIOS] == allocate(size, RATIOS)
    for folds, test in ((3, None), (4, 0.2)):
        counts = Counter(_assign(KFoldSplit, table, seed, folds=folds, test=test))
        held = allocate(n, {"rest": 1 - test, "test": test})[1] if test else 0
        assert counts["test"] == held
        sizes = [counts[f"fold_{i}"] for i in range(folds)]
        assert sum(sizes) == n - held and max(sizes) - min(sizes) <= 1


@settings(max_examples=60, deadline=None)
@given(tables(), tables(), st.integers(0, 2**63 - 1), st.booleans())
def test_hash_rows_stay_when_others_come_and_go(base: pa.Table, extra: pa.Table, seed: int, by_id: bool) -> None:
    # the extra rows get fresh `_id`s and texts; they must not move any row of `base`
    base = base.drop_columns([c for c in base.column_names if c == "_near_dup_group"])
    extra = extra.select(base.column_names)
    extra = extra.set_column(0, "_id", pa.array([f"new:{i}" for i in range(extra.num_rows)], pa.string()))
    extra = extra.set_column(3, "text", pa.array([f"fresh {i}" for i in range(extra.num_rows)], pa.string()))
    params: dict[str, Any] = {"ratios": RATIOS, **({"key": "_id"} if by_id else {})}
    before = dict(zip(base.column("_id").to_pylist(), _assign(HashSplit, base, seed, **params)))
    both = pa.concat_tables([extra, base])
    after = dict(zip(both.column("_id").to_pylist(), _assign(HashSplit, both, seed, **params)))
    assert all(after[i] == s for i, s in before.items())
    kept = base.filter(pa.array([i % 3 != 0 for i in range(base.num_rows)], pa.bool_()))
    fewer = dict(zip(kept.column("_id").to_pylist(), _assign(HashSplit, kept, seed, **params)))
    assert all(before[i] == s for i, s in fewer.items())


@settings(max_examples=100, deadline=None)
@given(
    st.integers(1, 60).flatmap(
        lambda n: st.tuples(
            st.just(n),
            st.lists(st.lists(st.integers(-1, 8), min_size=n, max_size=n), min_size=1, max_size=3),
        )
    )
)
def test_components_are_the_connected_groups(case: tuple[int, list[list[int]]]) -> None:
    n, codes = case
    labels = components([np.array(c, dtype=np.int64) for c in codes], n)
    # reference: a plain union-find
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            i = parent[i]
        return i

    for c in codes:
        first: dict[int, int] = {}
        for row, value in enumerate(c):
            if value >= 0:
                parent[find(row)] = find(first.setdefault(value, row))
    roots = [find(i) for i in range(n)]
    assert len(set(zip(labels.tolist(), roots))) == len(set(roots)) == len(set(labels.tolist()))
