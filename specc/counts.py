"""Counting an Arrow column's distinct values, for the statistics of steps, splits and labels."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa


def value_counts(values: pa.Array | pa.ChunkedArray) -> dict[str, int]:
    """Rows per distinct value (as text)."""
    import pyarrow.compute as pc

    counts = pc.value_counts(values)
    return {str(item["values"]): int(item["counts"]) for item in counts.to_pylist()}
