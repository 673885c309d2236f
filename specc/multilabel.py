"""Multi-label columns: a list of label ids per row, as Arrow lists and as 0/1 indicator matrices."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa


def is_list(type_: pa.DataType) -> bool:
    """Whether a column of this type holds a list per row."""
    import pyarrow as pa

    return bool(pa.types.is_list(type_) or pa.types.is_large_list(type_))


def split_delimited(values: pa.Array | pa.ChunkedArray, delimiter: str) -> pa.ListArray:
    """Each text split on `delimiter` into its labels, trimmed; blank parts are left out, null stays null."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    parts = pc.split_pattern(values.cast(pa.string()), delimiter)
    flat = pc.utf8_trim_whitespace(pc.list_flatten(parts))
    keep = pc.not_equal(flat, "")
    return rebuild(parts, flat.filter(keep), _parents(parts).filter(keep))


def _parents(lists: pa.ListArray) -> pa.Array:
    """The row of each element of the flattened lists."""
    import pyarrow.compute as pc

    return pc.list_parent_indices(lists)


def rebuild(lists: pa.ListArray, values: pa.Array, parents: pa.Array) -> pa.ListArray:
    """A list array of `values` (in row order, each with its row in `parents`) and the nulls of `lists`."""
    import numpy as np
    import pyarrow as pa

    counts = np.bincount(parents.to_numpy(zero_copy_only=False), minlength=len(lists))
    offsets = pa.array(np.concatenate([[0], np.cumsum(counts)]).astype(np.int32))
    return pa.ListArray.from_arrays(offsets, values, mask=lists.is_null())


def encode(lists: pa.Array | pa.ChunkedArray, names: list[str]) -> tuple[pa.ListArray, int | None]:
    """Lists of label names as lists of ids (index in `names`), and the first row holding an unknown name."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(lists, pa.ChunkedArray):
        lists = lists.combine_chunks()
    flat = pc.list_flatten(lists)
    ids = pc.index_in(flat.cast(pa.string()), value_set=pa.array(names, pa.string()))
    parents = _parents(lists)
    unknown = pc.is_null(ids).to_numpy(zero_copy_only=False)
    bad = int(parents[int(np.argmax(unknown))].as_py()) if unknown.any() else None
    return rebuild(lists, ids.cast(pa.int64()), parents), bad


def indicator(lists: pa.Array | pa.ChunkedArray, width: int) -> np.ndarray:
    """A rows × `width` boolean matrix: True where the row's list holds the label id (null: no labels)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(lists, pa.ChunkedArray):
        lists = lists.combine_chunks() if lists.num_chunks else pa.array([], lists.type)
    counts = pc.list_value_length(lists).fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
    ids = pc.list_flatten(lists).to_numpy(zero_copy_only=False).astype(np.int64)
    matrix = np.zeros((len(lists), width), dtype=bool)
    matrix[np.repeat(np.arange(len(lists)), counts), ids] = True
    return matrix


def width(lists: pa.Array | pa.ChunkedArray) -> int:
    """One more than the largest label id in the lists (0 when there are none)."""
    import pyarrow.compute as pc

    top = pc.max(pc.list_flatten(lists)).as_py()
    return 0 if top is None else int(top) + 1


def label_sets(table: pa.Table, label_names: dict[str, list[str]]) -> dict[str, dict[str, Any]]:
    """Each multi-label column of `table`: rows with a list, mean labels per row and co-occurrence by name."""
    import numpy as np
    import pyarrow.compute as pc

    found: dict[str, dict[str, Any]] = {}
    for column, names in label_names.items():
        if column not in table.column_names or not is_list(table.schema.field(column).type):
            continue
        lists = table.column(column)
        given = lists.filter(pc.is_valid(lists))
        matrix = indicator(given, max(len(names), width(given))).astype(np.int64)
        both = matrix.T @ matrix
        shown = [names[i] if i < len(names) else str(i) for i in range(len(both))]
        found[column] = {
            "rows": len(given),
            "cardinality": round(float(matrix.sum() / len(given)), 4) if len(given) else 0.0,
            "co_occurrence": {
                shown[i]: {shown[j]: int(both[i, j]) for j in range(len(both)) if j != i and both[i, j]}
                for i in range(len(both))
                if any(both[i, j] for j in range(len(both)) if j != i)
            },
        }
    return found


def iterative_stratification(matrix: np.ndarray, order: np.ndarray, ratios: list[float], seed: int) -> np.ndarray:
    """The split index of each row: Sechidis et al.'s iterative stratification (iterative-stratification's) of
    the rows taken in `order`, seeded, so each label keeps its share in every split.

    Raises ImportError without the iterative-stratification package.
    """
    import numpy as np
    from iterstrat.ml_stratifiers import IterativeStratification

    index = np.empty(len(order), dtype=np.int32)
    index[order] = IterativeStratification(
        labels=matrix[order].astype(bool),
        r=np.asarray(ratios, dtype=np.float64),
        random_state=np.random.RandomState(seed % 2**32),
    )
    return index
