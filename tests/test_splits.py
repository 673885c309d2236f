"""Built-in splitters: exact proportions, seeded per row, a partition of the rows."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from specc.builtins.splits import (
    HashSplit,
    KFoldSplit,
    PredefinedSplit,
    RandomSplit,
    StratifiedSplit,
    allocate,
    components,
)
from specc.components import Context
from specc.errors import SpeccError
from tests.conftest import run_cli, write

RATIOS = {"train": 0.8, "validation": 0.1, "test": 0.1}


def _table(labels: list[int]) -> pa.Table:
    return pa.table(
        {"_id": [f"src:{i}" for i in range(len(labels))], "label": labels, "_split": pa.nulls(len(labels), pa.string())}
    )


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


# --- stratified: scikit-learn agreement -------------------------------------------------------


@pytest.mark.parametrize("test_size", [0.1, 0.25, 0.5])
@pytest.mark.parametrize("seed", [0, 1])
def test_stratified_class_counts_match_scikit_learn_per_split(test_size: float, seed: int) -> None:
    from sklearn.model_selection import train_test_split

    rng = np.random.default_rng(seed)
    labels = rng.choice(4, size=rng.integers(200, 900), p=[0.55, 0.25, 0.15, 0.05]).tolist()
    ours = _split(StratifiedSplit, _table(labels), seed=seed, ratios={"train": 1 - test_size, "test": test_size})
    y_train, y_test = train_test_split(labels, test_size=test_size, stratify=labels, random_state=seed)
    for split, theirs in (("train", Counter(y_train)), ("test", Counter(y_test))):
        mine = Counter(label for label, s in zip(labels, ours) if s == split)
        for label in set(labels):
            assert abs(mine[label] - theirs[label]) <= 1, (split, label)


# --- grouping ---------------------------------------------------------------------------------


def _grouped(n: int, groups: int, seed: int = 0) -> pa.Table:
    """`n` rows with a label that depends on the group (as authors have topics)."""
    rng = np.random.default_rng(seed)
    group = rng.integers(0, groups, n)
    topic = rng.choice(3, groups, p=[0.6, 0.3, 0.1])
    noise = rng.choice(3, n, p=[0.6, 0.3, 0.1])
    label = np.where(rng.random(n) < 0.7, topic[group], noise)
    return pa.table(
        {
            "_id": [f"s:{i}" for i in range(n)],
            "label": label,
            "author": [f"a{g}" for g in group],
            "text": [f"row {i} by a{g}" for i, g in enumerate(group)],
        }
    )


def _splits_per(table: pa.Table, column: str, splits: list[str]) -> dict[object, set[str]]:
    found: dict[object, set[str]] = {}
    for value, split in zip(table.column(column).to_pylist(), splits):
        if value is not None:
            found.setdefault(value, set()).add(split)
    return found


@pytest.mark.parametrize(
    "cls,params",
    [
        (RandomSplit, {}),
        (StratifiedSplit, {}),
        (HashSplit, {}),
        (KFoldSplit, {"folds": 4, "test": 0.2}),
        (KFoldSplit, {"folds": 3, "stratify": "label"}),
    ],
)
def test_group_keeps_each_group_in_one_split(cls, params) -> None:  # type: ignore[no-untyped-def]
    table = _grouped(3000, 400)
    splits = _split(cls, table, group="author", **params)
    assert all(len(s) == 1 for s in _splits_per(table, "author", splits).values())
    ungrouped = _split(cls, table, **params)
    assert any(len(s) > 1 for s in _splits_per(table, "author", ungrouped).values())


def test_random_group_fills_ratios_as_closely_as_groups_allow() -> None:
    table = _grouped(3000, 400)
    counts = Counter(_split(RandomSplit, table, group="author"))
    # groups average 7.5 rows; the greedy fill stays within one group of each target
    for split, target in zip(["train", "validation", "test"], allocate(3000, RATIOS)):
        assert abs(counts[split] - target) <= 8


def test_group_of_unique_values_changes_nothing() -> None:
    labels = np.random.default_rng(3).integers(0, 3, 500).tolist()
    table = _table(labels).append_column("uid", pa.array([f"u{i}" for i in range(500)]))
    for cls in (RandomSplit, StratifiedSplit):
        assert _split(cls, table, group="uid") == _split(cls, table)


def _class_deviation(labels: list[int], splits: list[str]) -> float:
    """The largest gap between a class's share in a split and its share overall."""
    overall = Counter(labels)
    worst = 0.0
    for split in set(splits):
        inside = [lab for lab, s in zip(labels, splits) if s == split]
        for label, n in overall.items():
            worst = max(worst, abs(inside.count(label) / len(inside) - n / len(labels)))
    return worst


def test_stratified_group_balances_classes_like_scikit_learn() -> None:
    from sklearn.model_selection import StratifiedGroupKFold

    for groups in (100, 400, 1500):  # ~30, ~7.5 and ~2 rows per group
        ours, theirs, unstratified, ratio_split, random_split = [], [], [], [], []
        for seed in range(6):
            table = _grouped(3000, groups, seed)
            labels = table.column("label").to_pylist()
            folds = _split(KFoldSplit, table, seed=seed, folds=5, stratify="label", group="author")
            assert all(len(s) == 1 for s in _splits_per(table, "author", folds).values())
            ours.append(_class_deviation(labels, folds))
            sklearn = [""] * len(labels)
            splitter = StratifiedGroupKFold(5, shuffle=True, random_state=seed)
            for i, (_, test) in enumerate(splitter.split(labels, labels, table.column("author").to_pylist())):
                for row in test:
                    sklearn[row] = f"fold_{i}"
            theirs.append(_class_deviation(labels, sklearn))
            unstratified.append(_class_deviation(labels, _split(KFoldSplit, table, seed=seed, folds=5, group="author")))
            ratio_split.append(_class_deviation(labels, _split(StratifiedSplit, table, seed=seed, group="author")))
            random_split.append(_class_deviation(labels, _split(RandomSplit, table, seed=seed, group="author")))
        assert np.mean(ours) <= np.mean(theirs) * 1.15 + 0.001, groups
        assert np.mean(ours) < np.mean(unstratified) / 2
        assert np.mean(ratio_split) < np.mean(random_split) / 2


def test_near_dup_groups_merge_with_the_group_column() -> None:
    # a1 and a2 share no rows, but a near-duplicate cluster links a row of each: one component
    n = 400
    author = [f"a{i % 40}" for i in range(n)]
    near = [7 if i in (1, 2) else (i // 2 + 1000 if i >= 300 else None) for i in range(n)]
    table = pa.table(
        {
            "_id": [f"s:{i}" for i in range(n)],
            "label": [i % 3 for i in range(n)],
            "author": author,
            "text": [f"text {i}" for i in range(n)],
            "_near_dup_group": pa.array(near, pa.int64()),
        }
    )
    for cls, params in ((RandomSplit, {}), (StratifiedSplit, {}), (HashSplit, {}), (KFoldSplit, {"test": 0.2})):
        for seed in range(5):
            splits = _split(cls, table, seed=seed, group="author", **params)
            by_author = _splits_per(table, "author", splits)
            assert by_author["a1"] == by_author["a2"] and len(by_author["a1"]) == 1
            assert all(len(s) == 1 for s in _splits_per(table, "_near_dup_group", splits).values())
            alone = _split(cls, table, seed=seed, **params)  # near-dup groups hold without `group`
            assert all(len(s) == 1 for s in _splits_per(table, "_near_dup_group", alone).values())


def test_components_match_scipy() -> None:
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    rng = np.random.default_rng(0)
    for n, width in ((1, 1), (50, 40), (2000, 1500), (2000, 300)):
        codes = [np.where(rng.random(n) < 0.5, rng.integers(0, width, n), -1) for _ in range(2)]
        ours = components(codes, n)
        edges = [
            (i, j)
            for c in codes
            for v in set(c[c >= 0].tolist())
            for i, j in zip(np.flatnonzero(c == v)[:-1], np.flatnonzero(c == v)[1:])
        ]
        rows, cols = (np.array(x, dtype=np.int64) for x in zip(*edges)) if edges else ([], [])
        graph = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))
        count, theirs = connected_components(graph, directed=False)
        assert ours.max() + 1 == count
        # the same partition: a one-to-one map between the labels
        assert len(set(zip(ours.tolist(), theirs.tolist()))) == count


def test_chained_groups_are_one_component() -> None:
    # a path 0-1-2-...-999 alternating between the two groupings: one component
    n = 1000
    a = np.arange(n) // 2
    b = (np.arange(n) + 1) // 2
    assert set(components([a, b], n).tolist()) == {0}


# --- hash -------------------------------------------------------------------------------------


def _texts(n: int, start: int = 0) -> pa.Table:
    rng = np.random.default_rng(start)
    words = ["alpha", "beta", "gamma", "delta", "omega", "kappa", "sigma"]
    texts = [" ".join(rng.choice(words, 6)) + f" {start + i}" for i in range(n)]
    return pa.table(
        {
            "_id": [f"src:{start + i}" for i in range(n)],
            "text": texts,
            "label": rng.integers(0, 3, n),
            "author": [f"a{(start + i) % 97}" for i in range(n)],
        }
    )


@pytest.mark.parametrize("params", [{}, {"key": "_id"}, {"group": "author"}, {"salt": "v1"}])
def test_hash_split_rows_never_move_when_rows_are_added_or_removed(params: dict) -> None:
    base = _texts(2000)
    first = dict(zip(base.column("_id").to_pylist(), _split(HashSplit, base, **params)))
    grown = pa.concat_tables([base.slice(0, 1000), _texts(200, start=5000), base.slice(1000)])
    grown = grown.take(np.random.default_rng(1).permutation(grown.num_rows))
    second = dict(zip(grown.column("_id").to_pylist(), _split(HashSplit, grown, **params)))
    assert all(second[i] == split for i, split in first.items())
    shrunk = base.filter(pa.array(np.random.default_rng(2).random(2000) < 0.7))
    third = dict(zip(shrunk.column("_id").to_pylist(), _split(HashSplit, shrunk, **params)))
    assert all(first[i] == split for i, split in third.items())


def test_rank_based_split_would_move_rows() -> None:
    # the stability above is a real property: the random split (by rank) moves rows on growth
    base = _texts(2000)
    first = dict(zip(base.column("_id").to_pylist(), _split(RandomSplit, base)))
    grown = pa.concat_tables([base, _texts(200, start=5000)])
    second = dict(zip(grown.column("_id").to_pylist(), _split(RandomSplit, grown)))
    assert any(second[i] != split for i, split in first.items())


def test_hash_split_sizes_follow_the_ratios() -> None:
    table = _texts(20000)
    counts = Counter(_split(HashSplit, table))
    for split, ratio in RATIOS.items():
        # binomial: 4 standard deviations
        assert abs(counts[split] - 20000 * ratio) <= 4 * (20000 * ratio * (1 - ratio)) ** 0.5


def test_hash_content_key_is_normalized() -> None:
    texts = ["Hello   World", "hello world", "HELLO\u00a0world\u200b", "hello world!"] * 50
    table = pa.table({"_id": [f"s:{i}" for i in range(len(texts))], "text": texts})
    for seed in range(20):
        splits = _split(HashSplit, table, seed=seed, ratios={"a": 0.5, "b": 0.5})
        assert len({s for t, s in zip(texts, splits) if t != "hello world!"}) == 1
    assert len({tuple(_split(HashSplit, table, seed=s, ratios={"a": 0.5, "b": 0.5})) for s in range(20)}) > 1


def test_hash_salt_replaces_the_spec_seed() -> None:
    table = _texts(500)
    assert _split(HashSplit, table, seed=1, salt="x") == _split(HashSplit, table, seed=2, salt="x")
    assert _split(HashSplit, table, seed=1, salt="x") != _split(HashSplit, table, seed=1, salt="y")
    assert _split(HashSplit, table, seed=1) != _split(HashSplit, table, seed=2)


def test_hash_key_and_content_columns() -> None:
    table = _texts(300).append_column("title", pa.array([None if i % 5 else "T" for i in range(300)]))
    by_id = _split(HashSplit, table, key="_id")
    assert by_id != _split(HashSplit, table)
    assert len(_split(HashSplit, table, columns=["text", "title"])) == 300
    numbers = pa.table({"_id": ["a:0", "a:1"], "n": [3, 4]})
    assert len(_split(HashSplit, numbers, key="n")) == 2
    holes = pa.table({"_id": ["a:0", "a:1"], "k": ["x", None]})
    with pytest.raises(SpeccError, match="1 rows have no key in column 'k'; fill it"):
        _split(HashSplit, holes, key="k")
    with pytest.raises(SpeccError, match="no column 'text'"):
        _split(HashSplit, numbers)


def test_hash_params_are_checked() -> None:
    with pytest.raises(ValueError, match="hash split cannot be stratified.*method: stratified"):
        HashSplit.Params(stratify="label")
    with pytest.raises(ValueError, match="`key` .* or `columns` .*, not both"):
        HashSplit.Params(key="_id", columns=["text"])


# --- k-fold -----------------------------------------------------------------------------------


@pytest.mark.parametrize("folds,test", [(2, None), (5, None), (5, 0.2), (3, 0.15)])
def test_kfold_folds_partition_the_rest_evenly(folds: int, test: float | None) -> None:
    table = _texts(1013)
    splitter = KFoldSplit(KFoldSplit.Params(folds=folds, test=test), Context("split", 9, Path(".")))
    splits = splitter.assign(table).to_pylist()
    names = [f"fold_{i}" for i in range(folds)]
    assert splitter.split_names() == names + (["test"] if test else [])
    counts = Counter(splits)
    assert set(counts) == set(splitter.split_names())
    held = allocate(1013, {"rest": 1 - test, "test": test})[1] if test else 0
    assert counts["test"] == held
    sizes = [counts[name] for name in names]
    assert sum(sizes) == 1013 - held and max(sizes) - min(sizes) <= 1


def test_kfold_stratified_keeps_classes_and_sizes_even() -> None:
    labels = [0] * 97 + [1] * 31 + [2] * 7 + [3] * 3
    table = _table(labels)
    splits = _split(KFoldSplit, table, folds=4, test=0.2, stratify="label")
    for label, n in Counter(labels).items():
        held = allocate(n, {"rest": 0.8, "test": 0.2})
        inside = Counter(s for lab, s in zip(labels, splits) if lab == label)
        assert inside["test"] == held[1]
        per_fold = [inside[f"fold_{i}"] for i in range(4)]
        assert max(per_fold) - min(per_fold) <= 1
    sizes = Counter(s for s in splits if s != "test")
    assert max(sizes.values()) - min(sizes.values()) <= 1


def test_kfold_configurations() -> None:
    splitter = KFoldSplit(KFoldSplit.Params(folds=3, test=0.1), Context("split", 9, Path(".")))
    assert splitter.configurations() == {
        "fold-0": {"train": ["fold_1", "fold_2"], "validation": ["fold_0"], "test": ["test"]},
        "fold-1": {"train": ["fold_0", "fold_2"], "validation": ["fold_1"], "test": ["test"]},
        "fold-2": {"train": ["fold_0", "fold_1"], "validation": ["fold_2"], "test": ["test"]},
    }
    no_test = KFoldSplit(KFoldSplit.Params(folds=2), Context("split", 9, Path(".")))
    assert no_test.configurations() == {
        "fold-0": {"train": ["fold_1"], "validation": ["fold_0"]},
        "fold-1": {"train": ["fold_0"], "validation": ["fold_1"]},
    }
    assert no_test.split_names() == ["fold_0", "fold_1"]
    assert RandomSplit(RandomSplit.Params(), Context("split", 9, Path("."))).configurations() == {}


def test_kfold_params_are_checked() -> None:
    with pytest.raises(ValueError, match="folds is 1; give at least 2"):
        KFoldSplit.Params(folds=1)
    with pytest.raises(ValueError, match=r"test is 1.0; give a share in \(0, 1\)"):
        KFoldSplit.Params(test=1.0)


# --- end to end -------------------------------------------------------------------------------


def _spec(split: str) -> str:
    return (
        "specc: 1\nname: leak-free\ndescription: d\nlicense: mit\nseed: 11\ncard: {draft: true}\n"
        "sources:\n  rows:\n    type: jsonl\n    path: rows.jsonl\n"
        "    columns: {text: text, label: label, author: author, _near_dup_group: cluster}\n"
        f"clean:\n  - {{type: dedup, columns: [text]}}\nsplit:\n{split}"
    )


def _rows(n: int, start: int = 0) -> str:
    return "".join(
        json.dumps(
            {
                "text": f"Message {i} about topic {i % 13}",
                "label": i % 3,
                "author": f"user{i % 41}",
                "cluster": i // 4 if i % 10 == 0 else None,
            }
        )
        + "\n"
        for i in range(start, start + n)
    )


def _build(tmp_path: Path, split: str, rows: str) -> dict[str, list[dict]]:
    import datasets

    write(tmp_path / "rows.jsonl", rows)
    write(tmp_path / "s.yaml", _spec(split))
    result = run_cli("build", "s.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    loaded = datasets.load_dataset(str(tmp_path / "build" / "leak-free"))
    return {name: list(part) for name, part in loaded.items()}


def test_build_with_hash_split_keeps_rows_when_data_grows(tmp_path: Path) -> None:
    split = "  method: hash\n  ratios: {train: 0.6, validation: 0.2, test: 0.2}\n"
    first = _build(tmp_path, split, _rows(400))
    assert set(first) == {"train", "validation", "test"}
    before = {row["text"]: name for name, rows in first.items() for row in rows}
    assert len(before) == 400
    second = _build(tmp_path, split, _rows(40, start=1000) + _rows(400))  # new rows first: `_id`s shift
    after = {row["text"]: name for name, rows in second.items() for row in rows}
    assert len(after) == 440
    assert all(after[text] == name for text, name in before.items())


@pytest.mark.parametrize("method", ["method: hash", "method: random", "method: stratified\n  stratify: label"])
def test_build_with_group_keeps_authors_and_clusters_in_one_split(tmp_path: Path, method: str) -> None:
    loaded = _build(
        tmp_path, f"  {method}\n  group: author\n  ratios: {{train: 0.5, validation: 0.25, test: 0.25}}\n", _rows(600)
    )
    assert sum(len(rows) for rows in loaded.values()) == 600
    ids = [row["_id"] for rows in loaded.values() for row in rows]
    assert len(ids) == len(set(ids))
    for column in ("author", "_near_dup_group"):
        seen: dict[object, set[str]] = {}
        for name, rows in loaded.items():
            for row in rows:
                if row.get(column) is not None:
                    seen.setdefault(row[column], set()).add(name)
        assert seen and all(len(s) == 1 for s in seen.values()), column


def test_build_with_kfold_writes_one_loadable_configuration_per_fold(tmp_path: Path) -> None:
    import datasets

    write(tmp_path / "rows.jsonl", _rows(300))
    write(tmp_path / "s.yaml", _spec("  method: kfold\n  folds: 3\n  test: 0.2\n  stratify: label\n"))
    result = run_cli("build", "s.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = tmp_path / "build" / "leak-free"
    stats = json.loads((out / "stats.json").read_text())
    rows = {o["split"]: o["rows"] for o in stats["outputs"]}
    assert sorted(rows) == ["fold_0", "fold_1", "fold_2", "test"] and sum(rows.values()) == 300
    assert rows["test"] == 60
    for i in range(3):
        fold = datasets.load_dataset(str(out), f"fold-{i}")
        assert sorted(fold) == ["test", "train", "validation"]
        assert fold["validation"].num_rows == rows[f"fold_{i}"]
        assert fold["train"].num_rows == 240 - rows[f"fold_{i}"]
        assert not set(fold["train"]["_id"]) & set(fold["validation"]["_id"])
        assert fold["test"].num_rows == 60
        assert fold["train"].features["label"].dtype == "int64"
    card = (out / "README.md").read_text()
    assert "config_name: fold-2" in card
