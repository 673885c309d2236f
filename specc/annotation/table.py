"""The annotation table: items × annotators, one label per cell, None where an annotator did not label."""

from __future__ import annotations

import re
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np


def natural_key(value: Any) -> tuple:
    """Sort key that puts 'label_2' before 'label_10' and 2 before 10; ties broken by type and text."""
    text = str(value)
    parts = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"(\d+)", text) if p)
    return parts, type(value).__name__, text


@dataclass(frozen=True, eq=False)
class Annotations:
    """Labels of items (rows) by annotators (columns); `labels` is an object array with None for missing.

    Build it with `from_long` (or the readers); treat it as immutable. Compared by identity.
    """

    items: list[str]
    annotators: list[str]
    labels: np.ndarray

    def __post_init__(self) -> None:
        if self.labels.shape != (len(self.items), len(self.annotators)):
            raise ValueError(
                f"labels have shape {self.labels.shape}, expected "
                f"({len(self.items)}, {len(self.annotators)}) for the items and annotators"
            )

    @classmethod
    def from_long(cls, rows: Iterable[tuple[Hashable, Hashable, Any]]) -> Annotations:
        """A table from (item, annotator, label) rows; items and annotators in natural sort order.

        A None label is a missing annotation. A later row for the same (item, annotator) replaces an
        earlier one; readers report such duplicates before they get here.
        """
        import numpy as np

        cells: dict[tuple[str, str], Any] = {}
        for item, annotator, label in rows:
            cells[(str(item), str(annotator))] = label
        items = sorted({i for i, _ in cells}, key=natural_key)
        annotators = sorted({a for _, a in cells}, key=natural_key)
        row = {item: n for n, item in enumerate(items)}
        col = {annotator: n for n, annotator in enumerate(annotators)}
        labels = np.full((len(items), len(annotators)), None, dtype=object)
        for (item, annotator), label in cells.items():
            labels[row[item], col[annotator]] = label
        return cls(items, annotators, labels)

    def to_long(self) -> list[tuple[str, str, Any]]:
        """(item, annotator, label) for every present label, item by item, annotators in table order."""
        return [
            (item, annotator, label)
            for item, row in zip(self.items, self.labels)
            for annotator, label in zip(self.annotators, row)
            if label is not None
        ]

    @cached_property
    def categories(self) -> list:
        """The distinct labels in natural sort order."""
        return sorted({label for label in self.labels.flat if label is not None}, key=natural_key)

    @cached_property
    def _codes(self) -> np.ndarray:
        import numpy as np

        index = {label: n for n, label in enumerate(self.categories)}
        codes = np.array([-1 if label is None else index[label] for label in self.labels.flat], dtype=np.int64)
        codes = codes.reshape(self.labels.shape)
        codes.flags.writeable = False
        return codes

    def codes(self) -> np.ndarray:
        """Integer matrix of indices into `categories`, -1 for missing (read-only)."""
        return self._codes

    @cached_property
    def _counts(self) -> np.ndarray:
        import numpy as np

        counts = (self._codes[:, :, None] == np.arange(len(self.categories))[None, None, :]).sum(axis=1)
        counts.flags.writeable = False
        return counts

    def counts(self) -> np.ndarray:
        """Items × categories matrix: how many annotators gave each label to each item (read-only)."""
        return self._counts

    def annotations_per_item(self) -> np.ndarray:
        """How many annotators labelled each item."""
        return (self._codes >= 0).sum(axis=1)

    def subset(self, items: Sequence[str] | None = None, annotators: Sequence[str] | None = None) -> Annotations:
        """The table restricted to these items and annotators (in the order given); unknown names raise KeyError."""
        import numpy as np

        rows = list(range(len(self.items))) if items is None else _positions(self.items, items, "item")
        cols = (
            list(range(len(self.annotators)))
            if annotators is None
            else _positions(self.annotators, annotators, "annotator")
        )
        labels = self.labels[np.ix_(rows, cols)] if rows and cols else np.full((len(rows), len(cols)), None, object)
        return Annotations([self.items[r] for r in rows], [self.annotators[c] for c in cols], labels)

    def take(self, rows: Sequence[int] | np.ndarray) -> Annotations:
        """Rows by position, repeats allowed (for the bootstrap); keeps this table's categories and codes."""
        import numpy as np

        rows = np.asarray(rows, dtype=np.int64)
        taken = Annotations([self.items[r] for r in rows.tolist()], self.annotators, self.labels[rows])
        # Same labels, same coding: the bootstrap takes thousands of resamples, so skip recoding each.
        taken.__dict__["categories"] = self.categories
        for name in ("_codes", "_counts"):
            part = getattr(self, name)[rows]
            part.flags.writeable = False
            taken.__dict__[name] = part
        return taken


def _positions(names: list[str], wanted: Sequence[str], what: str) -> list[int]:
    index = {name: n for n, name in enumerate(names)}
    missing = [name for name in wanted if name not in index]
    if missing:
        raise KeyError(f"unknown {what}(s): {', '.join(map(str, missing[:5]))}")
    return [index[name] for name in wanted]
