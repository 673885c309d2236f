"""Built-in splitters: random, stratified and predefined."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from pydantic import Field, field_validator

from specc.components import Params, Splitter, SplitterParams
from specc.hookspecs import hookimpl

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

SPLIT_NAME = r"^\w+(\.\w+)*$"


class RatioParams(SplitterParams):
    """Ratios per split: positive, summing to 1, names as the Hub allows."""

    ratios: dict[str, float] = Field(
        {"train": 0.8, "validation": 0.1, "test": 0.1},
        description="Share of rows per split, in output order; must sum to 1.",
    )

    @field_validator("ratios")
    @classmethod
    def _check(cls, ratios: dict[str, float]) -> dict[str, float]:
        import re

        if not ratios:
            raise ValueError("give at least one split, e.g. {train: 0.9, test: 0.1}")
        for name, ratio in ratios.items():
            if not re.match(SPLIT_NAME, name):
                raise ValueError(f"split name '{name}' must be letters, digits and _ (dots between)")
            if not 0 < ratio <= 1:
                raise ValueError(f"ratio of '{name}' is {ratio}; each ratio must be in (0, 1]")
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


def _assign_by_key(keys: "np.ndarray", names: list[str], counts: list[int]) -> "np.ndarray":
    """Split index per row: rows sorted by key fill the splits in order."""
    import numpy as np

    out = np.empty(len(keys), dtype=np.int32)
    order = np.argsort(keys, kind="stable")
    out[order] = np.repeat(np.arange(len(names), dtype=np.int32), counts)
    return out


def _names(index: "np.ndarray", names: list[str]) -> "pa.Array":
    import pyarrow as pa

    return pa.DictionaryArray.from_arrays(pa.array(index, pa.int32()), pa.array(names)).cast(pa.string())


class RandomSplit(Splitter):
    """Seeded random split: each row's place comes from a hash of the step seed and its `_id`."""

    name = "random"
    Params = RatioParams

    def assign(self, table: "pa.Table") -> "pa.Array":
        """Split names per row."""
        names = list(self.params.ratios)
        keys = self.context.row_seeds(table.column("_id"))
        index = _assign_by_key(keys, names, allocate(len(keys), self.params.ratios))
        return _names(index, names)


class StratifiedParams(RatioParams):
    """Ratios applied within each class of a column."""

    stratify: str = Field("label", description="The column whose classes keep their proportions.")


class StratifiedSplit(Splitter):
    """Seeded split that keeps each class's proportions, exact to one row per class and split."""

    name = "stratified"
    Params = StratifiedParams

    def assign(self, table: "pa.Table") -> "pa.Array":
        """Split names per row."""
        import numpy as np
        import pyarrow.compute as pc

        names = list(self.params.ratios)
        keys = self.context.row_seeds(table.column("_id"))
        classes = pc.dictionary_encode(self.column(table, self.params.stratify)).combine_chunks()
        codes = classes.indices.fill_null(-1).to_numpy(zero_copy_only=False)
        index = np.empty(len(keys), dtype=np.int32)
        for code in np.unique(codes):
            rows = np.flatnonzero(codes == code)
            counts = allocate(len(rows), self.params.ratios)
            index[rows] = _assign_by_key(keys[rows], names, counts)
        return _names(index, names)


class PredefinedParams(SplitterParams):
    """Take each row's split from a column (by default the source's `split:`)."""

    column: str = Field("_split", description="Column holding each row's split name.")
    rename: dict[str, str] = Field({}, description="Split names to rename, e.g. {val: validation}.")


class PredefinedSplit(Splitter):
    """Keeps the splits the sources already have."""

    name = "predefined"
    Params = PredefinedParams

    def split_names(self) -> list[str]:
        """Known only from the data."""
        return []

    def assign(self, table: "pa.Table") -> "pa.Array":
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


@hookimpl
def register_splitters(register) -> None:  # type: ignore[no-untyped-def]
    """Register the built-in splitters."""
    for cls in (RandomSplit, StratifiedSplit, PredefinedSplit):
        register(cls)
