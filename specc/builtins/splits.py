"""Built-in splitters: random, stratified, hash, kfold and predefined.

Grouping (`group:` and the `_near_dup_group` column a near-dedup step writes) keeps rows that
belong together in one split: the groups of both columns are merged into connected components,
and every method but `predefined` assigns whole components.

Every assignment depends only on the rows' `_id`s and values, never on their order in the table:
rows and groups are ordered by seeded hashes of their `_id`s (ties by `_id`), classes are
independent of each other, and nothing else is consulted.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, Field, SerializerFunctionWrapHandler, field_validator, model_serializer, model_validator

from specc.components import Splitter, SplitterParams, Where

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

SPLIT_NAME = r"^\w+(\.\w+)*$"
# The column a near-dedup step in `group` mode writes: a cluster id per row, null for none.
NEAR_DUP_GROUP = "_near_dup_group"
# K-fold split names.
FOLD = "fold_{}"  # split names (the Hub allows \w only); configurations are named fold-{}
CONFIG = "fold-{}"
TEST = "test"

_GROUP_DESCRIPTION = (
    "Column whose equal values must land in one split (rows with null stay ungrouped); "
    "rows sharing a `_near_dup_group` are always kept together too."
)


class RatioParams(SplitterParams):
    """Ratios per split: positive, summing to 1, names as the Hub allows."""

    ratios: dict[str, float] = Field(
        {"train": 0.8, "validation": 0.1, "test": 0.1},
        description="Share of rows per split, in output order; must sum to 1.",
    )

    @field_validator("ratios")
    @classmethod
    def _check(cls, ratios: dict[str, float]) -> dict[str, float]:
        if not ratios:
            raise ValueError("give at least one split, e.g. {train: 0.9, test: 0.1}")
        if math.isclose(sum(ratios.values()), 100, abs_tol=1e-6):
            shown = ", ".join(f"{name}: {ratio / 100:g}" for name, ratio in ratios.items())
            raise ValueError(f"ratios are fractions of 1, not percentages: write {{{shown}}}")
        for name, ratio in ratios.items():
            if not re.match(SPLIT_NAME, name):
                raise ValueError(f"split name '{name}' must be letters, digits and _ (dots between)")
            if not 0 < ratio <= 1:
                raise ValueError(
                    f"ratio of '{name}' is {ratio:g}; a ratio is a fraction above 0 and at most 1, such as 0.8"
                )
        total = sum(ratios.values())
        if not math.isclose(total, 1.0, abs_tol=1e-6):
            raise ValueError(f"ratios sum to {total:g}; they must sum to 1")
        return ratios


def allocate(n: int, ratios: dict[str, float]) -> list[int]:
    """Rows per split for `n` rows: floors, then the remainder by largest fraction (ties: order)."""
    exact = [n * r for r in ratios.values()]
    counts = [math.floor(x) for x in exact]
    order = sorted(range(len(exact)), key=lambda i: (-(exact[i] - counts[i]), i))
    for i in order[: n - sum(counts)]:
        counts[i] += 1
    return counts


def _assign_by_key(keys: np.ndarray, names: list[str], counts: list[int]) -> np.ndarray:
    """Split index per row: rows sorted by key fill the splits in order."""
    import numpy as np

    out = np.empty(len(keys), dtype=np.int32)
    order = np.argsort(keys, kind="stable")
    out[order] = np.repeat(np.arange(len(names), dtype=np.int32), counts)
    return out


def _names(index: np.ndarray, names: list[str]) -> pa.Array:
    import pyarrow as pa

    return pa.DictionaryArray.from_arrays(pa.array(index, pa.int32()), pa.array(names)).cast(pa.string())


# --- building blocks -------------------------------------------------------------------------


def _codes(values: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """A dense int64 code per distinct value (in order of first appearance), -1 for null."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    encoded = pc.dictionary_encode(values)
    return encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)


def components(codes: list[np.ndarray], n: int) -> np.ndarray:
    """Connected components of `n` rows linked by equal codes (>= 0) in any of `codes`.

    Min-label propagation with pointer jumping over numpy arrays (no scipy needed): every row
    starts as its own label; each pass gives every group the smallest label of its members, then
    follows labels to their labels until nothing changes. Returns dense component numbers.
    """
    import numpy as np

    labels = np.arange(n, dtype=np.int64)
    linked = [(np.flatnonzero(c >= 0), c[c >= 0]) for c in codes]
    linked = [(rows, c) for rows, c in linked if rows.size]
    while True:
        before = labels.copy()
        for rows, c in linked:
            smallest = np.full(int(c.max()) + 1, n, dtype=np.int64)
            np.minimum.at(smallest, c, labels[rows])
            labels[rows] = smallest[c]
        while True:
            jumped = labels[labels]
            if np.array_equal(jumped, labels):
                break
            labels = jumped
        if np.array_equal(labels, before):
            break
    return np.unique(labels, return_inverse=True)[1].astype(np.int64)


def _id_ranks(ids: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """Each row's rank among the `_id`s sorted: a tie-break that ignores the table's order."""
    import numpy as np
    import pyarrow.compute as pc

    order = pc.sort_indices(ids).to_numpy()
    ranks = np.empty(len(order), dtype=np.int64)
    ranks[order] = np.arange(len(order), dtype=np.int64)
    return ranks


def _fill(deficit: np.ndarray, m: int) -> np.ndarray:
    """Counts per split for `m` more rows: the positive deficits, cut proportionally when short.

    The deficits sum to `m` (they are what is left of the targets), so the positive ones sum to
    at least `m`; when groups overshot some split, the others are filled in proportion to what
    they still miss, by largest remainder (ties: split order).
    """
    import numpy as np

    positive = np.maximum(deficit, 0).astype(np.int64)
    total = int(positive.sum())
    if total <= m:
        return positive
    scaled = positive * m
    counts = scaled // total
    remainders = scaled % total
    order = np.lexsort((np.arange(len(counts)), -remainders))
    counts[order[: m - int(counts.sum())]] += 1
    return counts


def _assign(
    keys: np.ndarray,
    ranks: np.ndarray,
    classes: np.ndarray,
    groups: np.ndarray | None,
    targets: np.ndarray,
    largest_first: bool,
) -> np.ndarray:
    """Split index per row meeting per-class row `targets` (splits x classes) with whole groups.

    1. Groups of two or more rows, in a seeded order (largest first when `largest_first`, then by
       the hash of the `_id` of their first member by `_id`), each go to the split where they
       lower the relative squared shortfall, sum((target - assigned)^2 / target) over splits and
       classes, most; ties go to the split furthest behind its row target relative to its size,
       then to the earlier split. (The idea of scikit-learn's StratifiedGroupKFold; on grouped
       data its class balance is as good.)
    2. The remaining single rows of each class, in seeded order, fill each split's remaining
       deficit for that class exactly (see `_fill`).
    Without groups, step 2 alone gives exactly the targets: per class, rows sorted by hash fill
    the splits in order.
    """
    import numpy as np

    n = len(keys)
    splits = targets.shape[0]
    out = np.full(n, -1, dtype=np.int32)
    deficit = targets.astype(np.int64).copy()
    if groups is not None and n:
        sizes = np.bincount(groups)
        multi = np.flatnonzero(sizes[groups] > 1)
        if multi.size:
            deficit = _place_groups(out, multi, keys, ranks, classes, groups, targets, largest_first)
    single = np.flatnonzero(out < 0)
    if single.size:
        order = single[np.lexsort((ranks[single], keys[single], classes[single]))]
        cls = classes[order]
        bounds = np.flatnonzero(np.r_[True, cls[1:] != cls[:-1], True])
        for start, end in zip(bounds[:-1], bounds[1:]):
            counts = _fill(deficit[:, cls[start]], int(end - start))
            out[order[start:end]] = np.repeat(np.arange(splits, dtype=np.int32), counts)
    return out


def _place_groups(
    out: np.ndarray,
    multi: np.ndarray,
    keys: np.ndarray,
    ranks: np.ndarray,
    classes: np.ndarray,
    groups: np.ndarray,
    targets: np.ndarray,
    largest_first: bool,
) -> np.ndarray:
    """Step 1 of `_assign` for the rows `multi` of groups of two or more: fills `out`, returns
    the deficits (targets minus rows placed) per split and class."""
    import numpy as np

    order = np.lexsort((classes[multi], groups[multi]))
    rows = multi[order]
    owner, cls = groups[rows], classes[rows]
    starts = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])
    size = np.diff(np.r_[starts, len(rows)])
    first_rank = np.minimum.reduceat(ranks[rows], starts)
    first = rows[ranks[rows] == np.repeat(first_rank, size)]  # ranks are distinct
    # (group, class) runs: the classes of each group and their row counts.
    runs = np.flatnonzero(np.r_[True, (owner[1:] != owner[:-1]) | (cls[1:] != cls[:-1])])
    run_class = cls[runs].tolist()
    run_count = np.diff(np.r_[runs, len(rows)]).tolist()
    run_start = np.searchsorted(runs, starts).tolist()
    run_end = run_start[1:] + [len(runs)]
    sort_keys = (first_rank, keys[first]) + ((-size,) if largest_first else ())

    splits = targets.shape[0]
    deficit = targets.astype(np.int64).tolist()
    scale = np.maximum(targets, 1).tolist()
    wanted = [int(t) for t in targets.sum(axis=1)]
    assigned = [0] * splits
    sizes = size.tolist()
    choice = np.empty(len(starts), dtype=np.int32)
    for g in np.lexsort(sort_keys).tolist():
        part = list(zip(run_class[run_start[g] : run_end[g]], run_count[run_start[g] : run_end[g]]))
        best, best_key = 0, None
        for s in range(splits):
            d, t = deficit[s], scale[s]
            # Change of sum((target - assigned)^2 / target) over the group's classes.
            cost = sum(k * (k - 2 * d[c]) / t[c] for c, k in part)
            behind = (assigned[s] - wanted[s]) / wanted[s] if wanted[s] else math.inf
            if best_key is None or (cost, behind) < best_key:
                best, best_key = s, (cost, behind)
        choice[g] = best
        for c, k in part:
            deficit[best][c] -= k
        assigned[best] += sizes[g]
    out[rows] = np.repeat(choice, size)
    return np.array(deficit, dtype=np.int64).reshape(targets.shape)


def _splitmix64(values: np.ndarray) -> np.ndarray:
    """SplitMix64's finalizer: a bijection on uint64 that scrambles every bit (vectorized)."""
    import numpy as np

    z = values.astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def _xxh3(values: pa.Array, seed: int) -> np.ndarray:
    """XXH3-64 of each non-null string under `seed`, as uint64 (0 for null)."""
    import numpy as np
    import pyarrow as pa
    import xxhash

    digest = xxhash.xxh3_64_intdigest
    seed &= 0xFFFFFFFFFFFFFFFF
    data = values.cast(pa.binary()).to_pylist()
    return np.fromiter((0 if b is None else digest(b, seed) for b in data), dtype=np.uint64, count=len(data))


def _buckets(hashes: np.ndarray, ratios: dict[str, float]) -> np.ndarray:
    """Split index per uint64 hash: its top 53 bits as a number in [0, 1) against cumulative ratios."""
    import numpy as np

    values = (hashes >> np.uint64(11)).astype(np.int64)
    shares = list(ratios.values())
    bounds = [math.floor(math.fsum(shares[: i + 1]) * 2**53) for i in range(len(shares) - 1)]
    return np.searchsorted(np.array(bounds, dtype=np.int64), values, side="right").astype(np.int32)


# --- shared parameter pieces and behaviour ----------------------------------------------------


class _Grouping(Splitter):
    """A splitter that keeps the connected groups of a table under `group:` and `_near_dup_group` whole."""

    params: RandomParams | HashParams | KFoldParams

    def columns_read(self) -> dict[str, Where]:
        """The `group`, `stratify` and `key` columns given, and the content `columns` of a hash split."""
        return self.columns_named("group", "stratify", "key", "columns")

    def group_codes(self, table: pa.Table) -> list[np.ndarray]:
        """Codes per grouping column present: the `group:` column, then `_near_dup_group`."""
        found = []
        column = self.params.group
        if column:
            found.append(_codes(self.column(table, column)))
        if NEAR_DUP_GROUP in table.column_names:
            found.append(_codes(table.column(NEAR_DUP_GROUP)))
        return found

    def groups(self, table: pa.Table) -> np.ndarray | None:
        """Dense component number per row, or None when nothing groups the rows."""
        codes = self.group_codes(table)
        return components(codes, table.num_rows) if codes else None


_BINS_DESCRIPTION = (
    "Stratify on this many quantile bins of a numeric `stratify` column (a regression target) instead of its "
    "values; the card states the bins' edges."
)


class _Binned(BaseModel):
    """The `bins:` of a stratifying splitter, dumped (so fingerprinted) only when given: the split steps of
    specs written before it keep their fingerprints."""

    bins: int | None = Field(None, description=_BINS_DESCRIPTION)

    @field_validator("bins")
    @classmethod
    def _check_bins(cls, bins: int | None) -> int | None:
        if bins is not None and bins < 2:
            raise ValueError(f"bins is {bins}; give at least 2, e.g. bins: 5, or leave it out to stratify on classes")
        return bins

    @model_serializer(mode="wrap")
    def _without_unset_bins(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        dumped = handler(self)
        if dumped.get("bins", 0) is None:
            del dumped["bins"]
        return dumped


def _target_bins(step: Splitter, table: pa.Table, column: str, bins: int) -> tuple[np.ndarray, list[float]]:
    """The quantile bin of each row's numeric `column`, and the bins' inner edges."""
    from specc.regression import bad_target_message, bad_target_rows, bin_codes, quantile_edges, targets

    try:
        values = targets(step.column(table, column))
    except ValueError as exc:
        raise step.fail(f"cannot stratify on quantile bins of column '{column}': it {exc}") from None
    bad = bad_target_rows(values)
    if bad.size:
        raise step.fail(bad_target_message(column, values, bad, table.column("_id").take(bad[:5]).to_pylist()))
    edges = quantile_edges(values, bins)
    return bin_codes(values, edges), edges


def _bins_info(step: Splitter, table: pa.Table, column: str | None, bins: int | None) -> dict[str, Any]:
    """`{"bins": {column, count, edges, rows}}` when the split stratified on quantile bins, else {}."""
    import numpy as np

    if column is None or bins is None:
        return {}
    codes, edges = _target_bins(step, table, column, bins)
    rows = np.bincount(codes, minlength=len(edges) + 1).tolist()
    return {"bins": {"column": column, "count": len(edges) + 1, "edges": edges, "rows": rows}}


def _class_codes(
    step: Splitter, table: pa.Table, column: str, bins: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Class code per row (null is a class of its own; with `bins`, the quantile bin) and each code's rank by class value."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    if bins is not None:
        codes, edges = _target_bins(step, table, column, bins)
        return codes, np.arange(len(edges) + 1, dtype=np.int64)
    values = step.column(table, column).combine_chunks()
    if pa.types.is_floating(values.type):
        raise step.fail(
            f"column '{column}' holds {values.type} numbers: every distinct number would be a class of its own; "
            f"add `bins: 5` (or another count) to stratify on quantile bins of it"
        )
    try:
        encoded = pc.dictionary_encode(values)
    except pa.ArrowNotImplementedError as exc:
        raise step.fail(
            f"cannot stratify on column '{column}' of type {values.type}; give a column of labels (integers or strings)"
        ) from exc
    width = len(encoded.dictionary)
    codes = encoded.indices.fill_null(width).to_numpy(zero_copy_only=False).astype(np.int64)
    ranks = np.empty(width + 1, dtype=np.int64)
    ranks[pc.sort_indices(encoded.dictionary).to_numpy()] = np.arange(width)
    ranks[width] = width
    return codes, ranks


def _label_sets(step: Splitter, table: pa.Table, column: str) -> np.ndarray | None:
    """The rows × labels indicator matrix of a multi-label column; None for a column of single labels."""
    from specc.multilabel import indicator, is_list, width

    values = step.column(table, column)
    return indicator(values, width(values)) if is_list(values.type) else None


def _iterative(step: _Grouping, table: pa.Table, matrix: np.ndarray, ratios: list[float]) -> np.ndarray:
    """Each row's split index by iterative stratification over the label sets, rows taken in seeded hash order."""
    import numpy as np

    from specc.multilabel import iterative_stratification

    if step.groups(table) is not None:
        raise step.fail(
            "a multi-label stratified split cannot keep groups together; drop `group:` (and near-dedup's "
            "mode: group), or split without stratify"
        )
    order = np.lexsort((_id_ranks(table.column("_id")), step.context.row_seeds(table.column("_id"))))
    try:
        return iterative_stratification(matrix, order, ratios, step.context.seed)
    except ImportError:
        raise step.fail(
            "stratifying on a list of labels needs iterative-stratification; install it with "
            "`pip install 'specc-sft[multilabel]'`"
        ) from None


def _targets(codes: np.ndarray, ratios: dict[str, float]) -> np.ndarray:
    """Rows per split (rows) and class (columns): `allocate` within each class."""
    import numpy as np

    sizes = np.bincount(codes, minlength=int(codes.max()) + 1 if len(codes) else 0)
    if not len(sizes):
        return np.zeros((len(ratios), 1), dtype=np.int64)
    return np.array([allocate(int(n), ratios) for n in sizes], dtype=np.int64).reshape(len(sizes), -1).T


# --- random and stratified --------------------------------------------------------------------


class RandomParams(RatioParams):
    """Ratios of rows, optionally keeping groups whole."""

    group: str | None = Field(None, description=_GROUP_DESCRIPTION)


class RandomSplit(_Grouping):
    """Seeded random split: each row's place comes from a hash of the step seed and its `_id`.

    Without groups, rows sorted by hash fill the splits in order, exact to the ratios. With
    groups, whole groups of two or more rows in hash order go each to the split they bring
    closest to its row count, and single rows then fill every split to its count exactly (as far
    as the groups left room).
    """

    name = "random"
    Params: ClassVar[type[SplitterParams]] = RandomParams
    params: RandomParams

    def assign(self, table: pa.Table) -> pa.Array:
        """Split names per row."""
        import numpy as np

        names = list(self.params.ratios)
        ids = table.column("_id")
        keys = self.context.row_seeds(ids)
        targets = np.array(allocate(table.num_rows, self.params.ratios), dtype=np.int64)[:, None]
        classes = np.zeros(table.num_rows, dtype=np.int64)
        index = _assign(keys, _id_ranks(ids), classes, self.groups(table), targets, largest_first=False)
        return _names(index, names)


class StratifiedParams(RandomParams, _Binned):
    """Ratios applied within each class of a column."""

    stratify: str = Field("label", description="The column whose classes keep their proportions.")


class StratifiedSplit(_Grouping):
    """Seeded split that keeps each class's proportions, exact to one row per class and split.

    With groups, exact proportions may be impossible: groups of two or more rows go largest first
    (ties in hash order) to the split where they reduce the per-class shortfall most, and single
    rows then fill each class's remaining shortfall exactly.
    """

    name = "stratified"
    Params: ClassVar[type[SplitterParams]] = StratifiedParams
    params: StratifiedParams

    def used_columns(self) -> list[str]:
        """The `stratify` column (a null in `group` leaves the row ungrouped, as documented)."""
        return [self.params.stratify]

    def assign(self, table: pa.Table) -> pa.Array:
        """Split names per row."""
        names = list(self.params.ratios)
        matrix = _label_sets(self, table, self.params.stratify)
        if matrix is not None:
            return _names(_iterative(self, table, matrix, list(self.params.ratios.values())), names)
        ids = table.column("_id")
        keys = self.context.row_seeds(ids)
        classes, _ = _class_codes(self, table, self.params.stratify, self.params.bins)
        targets = _targets(classes, self.params.ratios)
        index = _assign(keys, _id_ranks(ids), classes, self.groups(table), targets, largest_first=True)
        return _names(index, names)

    def split_info(self, table: pa.Table) -> dict[str, Any]:
        """The quantile bins stratified on, when `bins` is given."""
        return _bins_info(self, table, self.params.stratify, self.params.bins)


# --- hash -----------------------------------------------------------------------------------


class HashParams(RatioParams):
    """Stable split: a row's split comes from a hash of its key alone, so it never moves."""

    key: str | None = Field(None, description="Column of stable row ids to hash (instead of the content).")
    columns: list[str] | None = Field(
        None,
        min_length=1,
        description="Content columns to hash, normalized (NFKC, whitespace, control characters) and "
        "lowercased; default [text]. Not with `key`.",
    )
    group: str | None = Field(None, description=_GROUP_DESCRIPTION + " The group value is hashed instead of the row.")
    salt: str | None = Field(None, description="Hash salt; default: the step seed (from the spec seed).")

    @model_validator(mode="before")
    @classmethod
    def _no_stratify(cls, data: Any) -> Any:
        if isinstance(data, dict) and "stratify" in data:
            raise ValueError(
                "a hash split cannot be stratified: exact class proportions and rows that never move "
                "exclude each other; drop `stratify`, or use method: stratified (with group:) or kfold"
            )
        return data

    @model_validator(mode="after")
    def _key_or_columns(self) -> HashParams:
        if self.key is not None and self.columns is not None:
            raise ValueError("give `key` (an id column) or `columns` (content to hash), not both")
        return self


class HashSplit(_Grouping):
    """Stable split by hash: a row keeps its split when rows are added or removed.

    Each row's key (its `key:` column, or its normalized content) is hashed with XXH3-64 under the
    salt; the hash, as a number in [0, 1), picks the split whose share of the cumulative ratios
    holds it. Split sizes are therefore close to, not exactly, the ratios. With groups, a group's
    rows share the hash of the group value (the smallest, when groups merge through
    `_near_dup_group` or rows without a group value), so a row moves only when its group changes.
    Stratification is not offered: exact proportions would move rows as the data changes.
    """

    name = "hash"
    Params: ClassVar[type[SplitterParams]] = HashParams
    params: HashParams

    def used_columns(self) -> list[str]:
        """The `key` column, or the content columns hashed (a null `group` leaves the row ungrouped)."""
        return [self.params.key] if self.params.key is not None else self.params.columns or ["text"]

    def columns_read(self) -> dict[str, Where]:
        """As for every grouping splitter; `text` when neither `key` nor `columns` is given (the entry names it)."""
        defaults: dict[str, Where] = {"text": ()} if self.params.key is None and self.params.columns is None else {}
        return {**super().columns_read(), **defaults}

    def salt(self) -> int:
        """The hash seed: from `salt:` when given, else the step seed."""
        import hashlib

        if self.params.salt is None:
            return self.context.seed
        return int.from_bytes(hashlib.sha256(self.params.salt.encode()).digest()[:8], "big")

    def _text(self, table: pa.Table, name: str) -> pa.ChunkedArray:
        """A column as strings, or an error naming its type."""
        import pyarrow as pa
        import pyarrow.compute as pc

        values = self.column(table, name)
        if pa.types.is_string(values.type) or pa.types.is_large_string(values.type):
            return values
        try:
            return pc.cast(values, pa.string())
        except (pa.ArrowNotImplementedError, pa.ArrowInvalid) as exc:
            raise self.fail(f"column '{name}' has type {values.type}; hash needs strings or numbers there") from exc

    def row_keys(self, table: pa.Table) -> pa.Array:
        """The string hashed per row: the key column, or normalized content joined by \\x1f."""
        import pyarrow as pa
        import pyarrow.compute as pc

        from specc.text import comparison_key

        if self.params.key is not None:
            values = self._text(table, self.params.key).combine_chunks()
            if values.null_count:
                raise self.fail(
                    f"{values.null_count} rows have no key in column '{self.params.key}'; "
                    f"fill it, or hash the content (drop `key`)"
                )
            return values
        parts = []
        for name in self.params.columns or ["text"]:
            is_text = pa.types.is_string(self.column(table, name).type) or pa.types.is_large_string(
                self.column(table, name).type
            )
            text = self._text(table, name)
            if is_text:
                text = comparison_key(text)
            parts.append(pc.fill_null(text.cast(pa.string()), "\x00"))
        if len(parts) == 1:
            return parts[0].combine_chunks()
        return pc.binary_join_element_wise(*parts, "\x1f").combine_chunks()

    def hashes(self, table: pa.Table) -> np.ndarray:
        """The uint64 per row that decides its split (equal within a group)."""
        import numpy as np

        seed = self.salt()
        units = _xxh3(self.row_keys(table), seed)
        codes = self.group_codes(table)
        if self.params.group:
            import pyarrow.compute as pc

            values = self._text(table, self.params.group).combine_chunks()
            encoded = pc.dictionary_encode(values)
            per_value = _xxh3(encoded.dictionary, seed)
            index = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
            if len(per_value):
                units = np.where(index >= 0, per_value[np.maximum(index, 0)], units)
        if codes and table.num_rows:
            groups = components(codes, table.num_rows)
            smallest = np.full(int(groups.max()) + 1, np.iinfo(np.uint64).max, dtype=np.uint64)
            np.minimum.at(smallest, groups, units)
            units = smallest[groups]
        return _splitmix64(units)

    def assign(self, table: pa.Table) -> pa.Array:
        """Split names per row."""
        return _names(_buckets(self.hashes(table), self.params.ratios), list(self.params.ratios))


# --- k-fold -----------------------------------------------------------------------------------


class KFoldParams(SplitterParams, _Binned):
    """K folds for cross-validation, after an optional held-out test split."""

    folds: int = Field(
        5,
        description="Number of folds, at least 2; splits are named fold_0 ... fold_{K-1}, configurations fold-0 ... fold-{K-1}.",
    )
    test: float | None = Field(None, description="Share of rows held out first as `test`, in (0, 1).")
    stratify: str | None = Field(
        None, description="Column whose classes keep their proportions in every fold and in test."
    )
    group: str | None = Field(None, description=_GROUP_DESCRIPTION)

    @model_validator(mode="after")
    def _bins_need_stratify(self) -> KFoldParams:
        if self.bins is not None and self.stratify is None:
            raise ValueError("bins needs `stratify:` (the numeric column to bin), e.g. stratify: label")
        return self

    @field_validator("folds")
    @classmethod
    def _check_folds(cls, folds: int) -> int:
        if folds < 2:
            raise ValueError(f"folds is {folds}; give at least 2, e.g. folds: 5")
        return folds

    @field_validator("test")
    @classmethod
    def _check_test(cls, test: float | None) -> float | None:
        if test is not None and not 0 < test < 1:
            raise ValueError(f"test is {test}; give a share in (0, 1), e.g. test: 0.1, or leave it out")
        return test


class KFoldSplit(_Grouping):
    """K-fold split: `test` held out first, the other rows dealt into K folds of equal size.

    Both steps use the seeded assignment of `random` (or of `stratified`, with `stratify:`),
    keeping groups whole; the folds use a second seed derived from the step seed. Ungrouped fold
    sizes differ by at most one row: with `stratify:`, each class's leftover rows continue
    round-robin from where the previous class (by class value) stopped.
    """

    name = "kfold"
    Params: ClassVar[type[SplitterParams]] = KFoldParams
    params: KFoldParams

    def used_columns(self) -> list[str]:
        """The `stratify` column when given (a null `group` leaves the row ungrouped)."""
        return [self.params.stratify] if self.params.stratify else []

    def fold_names(self) -> list[str]:
        """fold_0 ... fold_{K-1}."""
        return [FOLD.format(i) for i in range(self.params.folds)]

    def split_names(self) -> list[str]:
        """The folds, then test when held out."""
        return self.fold_names() + ([TEST] if self.params.test is not None else [])

    def configurations(self) -> dict[str, dict[str, list[str]]]:
        """One configuration per fold: that fold validates, the others train, test tests."""
        folds = self.fold_names()
        configs = {}
        for i, fold in enumerate(folds):
            config = {"train": [f for f in folds if f != fold], "validation": [fold]}
            if self.params.test is not None:
                config["test"] = [TEST]
            configs[CONFIG.format(i)] = config
        return configs

    def _fold_targets(self, classes: np.ndarray, ranks: np.ndarray) -> np.ndarray:
        """Rows per fold and class: equal shares, leftovers round-robin across classes."""
        import numpy as np

        k = self.params.folds
        sizes = np.bincount(classes, minlength=len(ranks))
        targets = np.zeros((k, len(sizes)), dtype=np.int64)
        start = 0
        for c in np.argsort(ranks, kind="stable"):
            base, extra = divmod(int(sizes[c]), k)
            targets[:, c] = base
            targets[[(start + j) % k for j in range(extra)], c] += 1
            start = (start + extra) % k
        return targets

    def assign(self, table: pa.Table) -> pa.Array:
        """`test` or `fold_i` per row."""
        import numpy as np

        from specc.rowhash import derive_seed, row_hashes

        matrix = _label_sets(self, table, self.params.stratify) if self.params.stratify else None
        if matrix is not None:
            test = self.params.test or 0.0
            shares = [(1 - test) / self.params.folds] * self.params.folds + ([test] if test else [])
            index = _iterative(self, table, matrix, shares)
            return _names(index, self.split_names() if test else self.fold_names())
        n = table.num_rows
        ids = table.column("_id")
        ranks = _id_ranks(ids)
        if self.params.stratify:
            classes, class_ranks = _class_codes(self, table, self.params.stratify, self.params.bins)
        else:
            classes, class_ranks = np.zeros(n, dtype=np.int64), np.zeros(1, dtype=np.int64)
        groups = self.groups(table)
        stratified = self.params.stratify is not None
        index = np.full(n, self.params.folds, dtype=np.int32)
        rest = np.arange(n)
        if self.params.test is not None:
            ratios = {"rest": 1 - self.params.test, TEST: self.params.test}
            keys = self.context.row_seeds(ids)
            held = _assign(
                keys,
                ranks,
                classes,
                groups,
                _targets(classes, ratios) if stratified else np.array(allocate(n, ratios), dtype=np.int64)[:, None],
                stratified,
            )
            rest = np.flatnonzero(held == 0)
        keys = row_hashes(ids.take(rest), derive_seed(self.context.seed, "folds"))
        sub_classes = classes[rest]
        targets = self._fold_targets(sub_classes, class_ranks)
        sub_groups = None if groups is None else np.unique(groups[rest], return_inverse=True)[1]
        index[rest] = _assign(keys, ranks[rest], sub_classes, sub_groups, targets, stratified)
        return _names(index, self.split_names() if self.params.test is not None else self.fold_names())

    def split_info(self, table: pa.Table) -> dict[str, Any]:
        """The quantile bins stratified on, when `bins` is given."""
        return _bins_info(self, table, self.params.stratify, self.params.bins)


# --- predefined -------------------------------------------------------------------------------


class PredefinedParams(SplitterParams):
    """Take each row's split from a column (by default the source's `split:`)."""

    column: str = Field("_split", description="Column holding each row's split name.")
    rename: dict[str, str] = Field({}, description="Split names to rename, e.g. {val: validation}.")


class PredefinedSplit(Splitter):
    """Keeps the splits the sources already have."""

    name = "predefined"
    Params: ClassVar[type[SplitterParams]] = PredefinedParams
    params: PredefinedParams

    def split_names(self) -> list[str]:
        """Known only from the data."""
        return []

    def columns_read(self) -> dict[str, Where]:
        """The `column` holding the split names."""
        return self.columns_named("column")

    def assign(self, table: pa.Table) -> pa.Array:
        """Split names per row, renamed as the spec says."""
        import pyarrow as pa
        import pyarrow.compute as pc

        column = self.column(table, self.params.column).cast(pa.string())
        if column.null_count:
            raise self.fail(
                f"{column.null_count} rows have no split in column '{self.params.column}'; "
                f"give every source a `split:` or fill the column"
            )
        for old, new in self.params.rename.items():
            column = pc.if_else(pc.equal(column, old), new, column)
        return column.combine_chunks()
