"""Arrow IPC files between stages: written batch by batch, read memory-mapped."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa

BATCH_ROWS = 65_536


def write_batches(path: Path, schema: pa.Schema, batches: Iterable[pa.RecordBatch | pa.Table]) -> int:
    """Write batches to an IPC file; returns the row count."""
    import pyarrow as pa

    rows = 0
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, schema) as writer:
        for batch in batches:
            table = batch if isinstance(batch, pa.Table) else pa.Table.from_batches([batch])
            writer.write_table(conform(table, schema) if table.schema != schema else table)
            rows += table.num_rows
    return rows


def read_table(path: Path) -> pa.Table:
    """A whole stage file, memory-mapped (no copy)."""
    import pyarrow as pa

    return pa.ipc.open_file(pa.memory_map(str(path))).read_all()


def read_schema(path: Path) -> pa.Schema:
    """The schema of a stage file."""
    import pyarrow as pa

    return pa.ipc.open_file(pa.memory_map(str(path))).schema


def conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """`table` with the columns of `schema`, missing ones filled with nulls."""
    import pyarrow as pa

    columns = [
        table.column(f.name).cast(f.type) if f.name in table.column_names else pa.nulls(table.num_rows, f.type)
        for f in schema
    ]
    return pa.Table.from_arrays(columns, schema=schema)


def iter_batches(paths: list[Path], schema: pa.Schema) -> Iterator[pa.RecordBatch]:
    """The rows of several stage files in order, conformed to `schema`, in batches of BATCH_ROWS."""
    for path in paths:
        table = conform(read_table(path), schema)
        yield from table.to_batches(max_chunksize=BATCH_ROWS)


def read_all(paths: list[Path], schema: pa.Schema) -> pa.Table:
    """The rows of several stage files as one table."""
    import pyarrow as pa

    return pa.concat_tables([conform(read_table(p), schema) for p in paths])
