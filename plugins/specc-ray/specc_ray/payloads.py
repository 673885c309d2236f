"""Arrow data between the driver and Ray workers as Arrow IPC bytes, so both hold the same buffers.

Ray's own serializer trims the buffers behind sliced arrays, but the IPC writer that makes stage
files writes a sliced string column's data up to the end of its buffer. A batch sent as a Ray
object would therefore be written as other bytes than the local executor writes, and every step
cache key downstream would differ. Sent as IPC bytes, a batch arrives with exactly the buffers the
IPC writer wrote, and writing it again gives the same bytes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa

INDEX = "index"
DATA = "data"
IS_BATCH = "is_batch"
EXTRA = "extra"


def pack(data: pa.Table | pa.RecordBatch) -> pa.Buffer:
    """A table or record batch as an Arrow IPC stream."""
    import pyarrow as pa

    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, data.schema) as writer:
        writer.write(data)
    return sink.getvalue()


def unpack(data: bytes | pa.Buffer, as_batch: bool = False) -> pa.Table | pa.RecordBatch:
    """What `pack` wrote: a table, or (`as_batch`) its single record batch."""
    import pyarrow as pa

    reader = pa.ipc.open_stream(pa.py_buffer(data) if isinstance(data, bytes) else data)
    return reader.read_next_batch() if as_batch else reader.read_all()


def payload_rows(index: int, data: pa.Table | pa.RecordBatch, extra: bytes | None = None) -> pa.Table:
    """One row carrying `data` packed, its position `index` and optional pickled `extra`."""
    import pyarrow as pa

    return pa.table(
        {
            INDEX: pa.array([index], pa.int64()),
            DATA: _one_value(pack(data)),
            IS_BATCH: [isinstance(data, pa.RecordBatch)],
            EXTRA: pa.array([extra], pa.large_binary()),
        }
    )


def _one_value(buffer: pa.Buffer) -> pa.Array:
    """`buffer` as a large_binary array of one value, without copying it."""
    import numpy as np
    import pyarrow as pa

    offsets = pa.py_buffer(np.array([0, buffer.size], dtype=np.int64))
    return pa.Array.from_buffers(pa.large_binary(), 1, [None, offsets, buffer])


def payloads(rows: pa.Table) -> list[tuple[int, Any, Any]]:
    """(index, unpacked data, extra bytes) of each payload row."""
    data, extra = rows.column(DATA), rows.column(EXTRA)
    return [
        (index, unpack(data[i].as_buffer(), is_batch), extra[i].as_py())
        for i, (index, is_batch) in enumerate(zip(rows.column(INDEX).to_pylist(), rows.column(IS_BATCH).to_pylist()))
    ]
