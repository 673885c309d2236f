"""Table-level work shared by executors: identity columns, step runs, row accounting."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Iterator

from specc.components import Augmenter, Formatter, Source, Step
from specc.errors import DataError, SpeccError

if TYPE_CHECKING:
    import pyarrow as pa

INTERNAL = ("_id", "_source", "_split")
LINEAGE = INTERNAL + ("_origin_id", "_augmenter")
SPLIT_NAME = re.compile(r"^\w+(\.\w+)*$")


def source_batches(source: Source) -> Iterator["pa.RecordBatch"]:
    """A source's rows with its column mapping applied and `_id`, `_source`, `_split` added."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    name = source.context.step_id
    mapping = source.params.columns
    offset = 0
    for chunk in source.read():
        table = pa.table(chunk) if isinstance(chunk, pa.RecordBatch) else chunk
        if mapping is not None:
            missing = [col for col in mapping.values() if col not in table.column_names]
            if missing:
                raise DataError(name, None, None,
                                f"column(s) {', '.join(missing)} not found; the source has: "
                                f"{', '.join(table.column_names)}; fix `columns:`")
            table = pa.table({out: table.column(col) for out, col in mapping.items()})
        table = encode_labels(name, table, source.label_names(), offset)
        clash = [c for c in table.column_names if c in INTERNAL]
        if clash:
            raise DataError(name, None, None, f"column '{clash[0]}' is reserved for specc; rename it with `columns:`")
        positions = pa.array(np.arange(offset, offset + table.num_rows, dtype=np.int64)).cast(pa.string())
        offset += table.num_rows
        ids = pc.binary_join_element_wise(pa.scalar(name), positions, ":")
        table = table.add_column(0, "_id", ids)
        table = table.append_column("_source", pa.repeat(pa.scalar(name), table.num_rows))
        table = table.append_column("_split", pa.repeat(pa.scalar(source.params.split, pa.string()),
                                                        table.num_rows))
        for batch in table.to_batches():
            yield batch


def encode_labels(source: str, table: "pa.Table", label_names: dict[str, list[str]],
                  offset: int) -> "pa.Table":
    """Label columns given as names become integer ids (index in the declared names)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    for column, names in label_names.items():
        if column not in table.column_names or not pa.types.is_string(table.schema.field(column).type):
            continue
        values = table.column(column)
        ids = pc.index_in(values, value_set=pa.array(names, pa.string()))
        unknown = pc.and_(pc.is_null(ids), pc.is_valid(values))
        if pc.any(unknown).as_py():
            row = pc.index(unknown, True).as_py()
            raise DataError(source, None, None,
                            f"row {offset + row + 1}: label {values[row].as_py()!r} of column '{column}' "
                            f"is not one of the label names {names}; add it to `labels:` or fix the data")
        table = table.set_column(table.column_names.index(column), column, ids.cast(pa.int64()))
    return table


def value_counts(values: "pa.Array | pa.ChunkedArray") -> dict[str, int]:
    """Rows per distinct value (as text)."""
    import pyarrow.compute as pc

    counts = pc.value_counts(values)
    return {str(item["values"]): int(item["counts"]) for item in counts.to_pylist()}


def new_step_stats() -> dict[str, Any]:
    """Empty row accounting for one step."""
    return {"rows_in": 0, "rows_out": 0, "dropped": {}, "by_source": {}}


def account(stats: dict[str, Any], before: "pa.Table", after: "pa.Table",
            dropped: dict[str, Any]) -> None:
    """Add one batch's rows in, out and dropped (per reason and per source) to `stats`."""
    stats["rows_in"] += before.num_rows
    stats["rows_out"] += after.num_rows
    per_source = stats["by_source"]
    for name, n in value_counts(before.column("_source")).items():
        per_source.setdefault(name, {"rows_in": 0, "rows_out": 0, "dropped": {}})["rows_in"] += n
    for name, n in value_counts(after.column("_source")).items():
        per_source[name]["rows_out"] += n
    for reason, mask in dropped.items():
        for name, n in value_counts(before.column("_source").filter(mask)).items():
            stats["dropped"][reason] = stats["dropped"].get(reason, 0) + n
            bucket = per_source[name]["dropped"]
            bucket[reason] = bucket.get(reason, 0) + n


def run_step(step: Step, table: "pa.Table", stats: dict[str, Any]) -> "pa.Table":
    """Apply a clean or annotate step, check that it only dropped what it says, and account for it."""
    result = step.apply(table)
    import pyarrow.compute as pc

    accounted = sum(int(pc.sum(mask).as_py() or 0) for mask in result.dropped.values())
    if table.num_rows - result.table.num_rows != accounted:
        raise SpeccError(
            f"error: step '{step.context.step_id}' ({step.name}, plugin bug): it dropped "
            f"{table.num_rows - result.table.num_rows} rows but reported {accounted}"
        )
    account(stats, table, result.table, result.dropped)
    return result.table


def run_row_steps(steps: list[Step], batch: "pa.RecordBatch") -> tuple["pa.Table", list[dict[str, Any]]]:
    """Run consecutive row-wise steps over one batch; returns the rows kept and stats per step."""
    import pyarrow as pa

    table = pa.Table.from_batches([batch])
    all_stats = []
    for step in steps:
        stats = new_step_stats()
        table = run_step(step, table, stats)
        all_stats.append(stats)
    return table, all_stats


def format_rows(formatter: Formatter, batch: "pa.RecordBatch") -> "pa.Table":
    """Format one batch, keeping the identity and lineage columns."""
    import pyarrow as pa

    before = pa.Table.from_batches([batch])
    after = formatter.format(before)
    if after.num_rows != before.num_rows:
        raise SpeccError(f"error: formatter '{formatter.name}' (plugin bug) changed the row count")
    for column in LINEAGE:
        if column in before.column_names and column not in after.column_names:
            after = after.append_column(column, before.column(column))
    return after


def augment_rows(augmenter: Augmenter, table: "pa.Table") -> "pa.Table":
    """The rows an augmenter makes from the rows of its splits, with `_id` and `_augmenter` set."""
    import pyarrow as pa
    import pyarrow.compute as pc

    splits = augmenter.params.splits
    chosen = table.filter(pc.is_in(table.column("_split"), pa.array(splits, pa.string())))
    made = augmenter.augment(chosen)
    if "_origin_id" not in made.column_names:
        raise SpeccError(f"error: augmenter '{augmenter.name}' (plugin bug) returned rows without `_origin_id`")
    origins = made.column("_origin_id").to_pylist()
    counter: dict[str, int] = {}
    ids = []
    for origin in origins:
        counter[origin] = counter.get(origin, 0) + 1
        ids.append(f"{origin}~{augmenter.context.step_id}.{counter[origin]}")
    made = made.set_column(made.column_names.index("_id"), "_id", pa.array(ids, pa.string()))
    return made.append_column("_augmenter", pa.array([augmenter.name] * made.num_rows, pa.string()))


def check_split_names(names: "pa.Array") -> list[str]:
    """The distinct split names, checked against the pattern the Hub accepts."""
    import pyarrow.compute as pc

    distinct = pc.unique(names).to_pylist()
    for name in distinct:
        if not isinstance(name, str) or not SPLIT_NAME.match(name):
            raise SpeccError(f"error: split name {name!r} is not allowed; use letters, digits and _")
    return distinct
