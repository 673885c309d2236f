"""What the labelers share: class names as steps declare them, hints, and writing a label column."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Protocol

from pydantic import AfterValidator, Field

from specc.components import Annotator, LabelName

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

__all__ = ["ColumnLabeler", "LabelNames", "check_label_names", "label_counts", "write_column"]


def check_label_names(names: list[str]) -> list[str]:
    """`names` themselves, or an error naming the first blank or repeated one."""
    seen = set()
    for name in names:
        if not name.strip():
            raise ValueError("a label name is blank")
        if name in seen:
            raise ValueError(f"label '{name}' is listed twice")
        seen.add(name)
    return names


LabelNames = Annotated[
    list[LabelName],
    Field(
        min_length=1,
        description="The class names; the label written is the index in this list (the output's ClassLabel).",
    ),
    AfterValidator(check_label_names),
]


def write_column(table: pa.Table, name: str, values: pa.Array) -> pa.Table:
    """`table` with column `name` replaced by `values` in its place, or appended."""
    if name in table.column_names:
        return table.set_column(table.column_names.index(name), name, values)
    return table.append_column(name, values)


def label_counts(ids: np.ndarray, names: list[str]) -> dict[str, int]:
    """Rows per label name, in the order of `names`, from label ids (negative: no label)."""
    import numpy as np

    counts = np.bincount(ids[ids >= 0], minlength=len(names))
    return {name: int(n) for name, n in zip(names, counts)}


class _ColumnLabels(Protocol):
    """Parameters naming the label column and its classes."""

    @property
    def column(self) -> str: ...

    @property
    def labels(self) -> list[str]: ...


class _Labels(Protocol):
    """A step whose parameters name the label column and its classes."""

    @property
    def params(self) -> _ColumnLabels: ...


class ColumnLabeler(Annotator):
    """An annotator that writes ids of its params' `labels` to its params' `column`."""

    def label_names(self: _Labels) -> dict[str, list[str]]:
        """The step's `labels` for its column."""
        return {self.params.column: list(self.params.labels)}
