"""The Ray executor's pool: the local executor's tasks on Ray Data, and global steps by partition.

- `map` sends the local executor's batches (as Arrow IPC payloads, see `payloads`) through Ray Data
  `map_batches` (Arrow batches) to tasks that run the same task functions on the same batches;
  results come back in input order, so the stage files and statistics are the local executor's.
- `run_global` runs a global step whose component gives a partition key (dedup) as a distributed
  group-by: rows hash-partitioned by key, the step applied to each partition in input order, and
  the input's rows kept minus those dropped. A global step without one runs in one Ray task over
  the whole table, with the step's resources.
"""

from __future__ import annotations

import pickle
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from specc.plugin import SpeccError, Step
from specc_ray.payloads import EXTRA, pack, payload_rows, payloads, unpack

if TYPE_CHECKING:
    import pyarrow as pa
    import ray.data

    from specc.plugin import Groups, Plan, Task

POSITION = "__specc_position"
PARTITION = "__specc_partition"
REASON = "__specc_reason"
PARTITIONS_PER_CPU = 2


class CarriedError(Exception):
    """A specc error raised on a worker, pickled: Ray edits the messages of the exceptions it passes on."""


@contextmanager
def carried_errors() -> Iterator[None]:
    """On a worker: a specc error leaves as a CarriedError."""
    try:
        yield
    except SpeccError as exc:
        raise CarriedError(pickle.dumps(exc)) from None


@contextmanager
def worker_errors() -> Iterator[None]:
    """On the driver: a specc error raised on a worker is raised as itself (its message, no Ray traceback)."""
    try:
        yield
    except Exception as exc:
        found = _carried(exc)
        if found is None:
            raise
        raise pickle.loads(found.args[0]) from None


def _carried(exc: BaseException) -> CarriedError | None:
    import ray.exceptions

    seen, stack = set(), [exc]
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, CarriedError) and not isinstance(current, ray.exceptions.RayError):
            return current
        stack += [getattr(current, "cause", None), current.__cause__, current.__context__]
    return None


# The component groups this worker process holds, for the build whose token is given: a worker
# unpickles a group on its first batch of it (its models then load once), and only the groups it runs.
_LOADED: dict[str, Any] = {"token": "", "groups": {}}


def run_payloads(rows: pa.Table, *, components: bytes, token: str, task: Task, group: str) -> pa.Table:
    """On a worker: the local executor's `task` on each payload; each result (a table) with its statistics."""
    import pyarrow as pa
    import ray.cloudpickle

    if _LOADED["token"] != token:
        _LOADED.update(token=token, groups={})
    loaded = _LOADED["groups"]
    results = []
    with carried_errors():
        if group not in loaded:
            loaded[group] = ray.cloudpickle.loads(components)
        for index, data, _ in payloads(rows):
            table, extra = task(loaded[group], data)
            results.append(payload_rows(index, table, pickle.dumps(extra)))
    return pa.concat_tables(results)


def key_rows(rows: pa.Table, *, step: Step, partitions: int) -> pa.Table:
    """On a worker: the payloads' rows with their input position and the partition of their key."""
    import numpy as np
    import pyarrow as pa

    from specc.plugin import row_hashes

    tables = []
    for start, data, _ in payloads(rows):
        table = data if isinstance(data, pa.Table) else pa.Table.from_batches([data])
        with carried_errors():
            partition = row_hashes(_key_text(step.partition_key(table) or []), 0) % np.uint64(partitions)
        tables.append(
            table.append_column(POSITION, pa.array(np.arange(start, start + table.num_rows))).append_column(
                PARTITION, pa.array(partition.astype(np.int64))
            )
        )
    return pa.concat_tables(tables)


def _key_text(keys: list[pa.Array | pa.ChunkedArray]) -> pa.Array:
    """One string per row that is equal for rows with equal keys (nulls equal nulls)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    parts = []
    for values in keys:
        try:
            text = values if pa.types.is_string(values.type) else pc.cast(values, pa.string())
        except (pa.ArrowNotImplementedError, pa.ArrowInvalid):
            text = pa.array([repr(v) for v in values.to_pylist()], pa.string())
        parts.append(pc.fill_null(text, "\x00"))
    if not parts:
        raise SpeccError("error: a step gave an empty partition key (plugin bug)")
    joined = parts[0] if len(parts) == 1 else pc.binary_join_element_wise(*parts, "\x1f")
    return joined.combine_chunks() if isinstance(joined, pa.ChunkedArray) else joined


def apply_partition(rows: pa.Table, step: Step) -> pa.Table:
    """The step on one partition's rows in input order: the positions it drops (per reason) and one row of meta."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    from specc.plugin import checked_apply

    rows = rows.sort_by(POSITION)
    positions = rows.column(POSITION).to_numpy()
    partition = rows.column(PARTITION)[0].as_py()
    with carried_errors():
        result = checked_apply(step, rows.drop_columns([POSITION, PARTITION]))
    dropped, reasons = [], []
    for reason, mask in result.dropped.items():
        hit = positions[pc.fill_null(mask, False).to_numpy(zero_copy_only=False).astype(bool)]
        dropped.append(hit)
        reasons += [reason] * len(hit)
    meta = pickle.dumps({"partition": partition, "reasons": list(result.dropped), "info": result.info})
    return pa.table(
        {
            POSITION: pa.array(np.concatenate(dropped + [np.array([-1])]).astype(np.int64)),
            REASON: pa.array(reasons + [None], pa.string()),
            EXTRA: pa.array([None] * len(reasons) + [meta], pa.large_binary()),
        }
    )


def run_whole(step: Step, schema: pa.Schema, *files: bytes) -> tuple[pa.Buffer, dict[str, Any]]:
    """On a worker: the local executor's global step on the whole input (its stage files' bytes)."""
    from specc.plugin import new_step_stats, read_all, run_step

    with tempfile.TemporaryDirectory(prefix="specc-ray-") as folder:
        paths = [Path(folder) / f"{i}.arrow" for i in range(len(files))]
        for path, data in zip(paths, files):
            path.write_bytes(data)
        stats = new_step_stats()
        with carried_errors():
            return pack(run_step(step, read_all(paths, schema), stats)), stats


class RayPool:
    """Ordered results of the local executor's tasks, and global steps, computed on the Ray cluster."""

    def __init__(self, plan: Plan, groups: Groups):
        import uuid

        import ray.cloudpickle

        self.plan = plan
        self.groups = groups
        self.pickled = {key: ray.cloudpickle.dumps(group) for key, group in groups.items()}
        self.token = uuid.uuid4().hex

    def resources(self, step_ids: Iterable[str]) -> dict[str, float]:
        """What each worker reserves: the largest `resources:` of the steps (fused row steps share workers)."""
        wanted: dict[str, float] = {}
        for step in self.plan.steps:
            if step.id in step_ids:
                for key, value in step.operational.get("resources", {}).items():
                    wanted[key] = max(wanted.get(key, 0), value)
        return wanted

    def map(self, task: Task, group: str, batches: Iterable[Any]) -> Iterator[tuple[pa.Table, Any]]:
        """Results of `task(components of group, batch)` in input order, run by the tasks of a Ray Data
        `map_batches`."""
        import ray
        import ray.data

        refs = [ray.put(payload_rows(i, batch)) for i, batch in enumerate(batches)]
        if not refs:
            return
        resources = self.resources(c.context.step_id for c in self.groups[group])
        shipped = {"components": self.pickled[group], "token": self.token, "task": task, "group": group}
        dataset = ray.data.from_arrow_refs(refs).map_batches(
            run_payloads, fn_kwargs=shipped, batch_size=1, batch_format="pyarrow", **resources
        )
        expected = 0
        for index, table, extra in _results(dataset):
            if index != expected:
                raise SpeccError(f"error: Ray returned batch {index} where batch {expected} was due (specc-ray bug)")
            expected += 1
            yield table, pickle.loads(extra)
        if expected != len(refs):
            raise SpeccError(f"error: Ray returned {expected} of {len(refs)} batches (specc-ray bug)")

    def run_global(self, step: Step, paths: list[Path], schema: pa.Schema, stats: dict[str, Any]) -> pa.Table:
        """A global step's output, the local executor's bytes: by partitions of its key, or in one task."""
        if step.partition_key(schema.empty_table()) is None:
            return self._whole(step, paths, schema, stats)
        return self._partitioned(step, paths, schema, stats)

    def _whole(self, step: Step, paths: list[Path], schema: pa.Schema, stats: dict[str, Any]) -> pa.Table:
        import ray

        files = [ray.put(Path(p).read_bytes()) for p in paths]
        remote = ray.remote(run_whole).options(**self.resources([step.context.step_id]))
        with worker_errors():
            data, computed = ray.get(remote.remote(step, schema, *files))
        stats.update(computed)
        return unpack(data)  # type: ignore[return-value]

    def _partitioned(self, step: Step, paths: list[Path], schema: pa.Schema, stats: dict[str, Any]) -> pa.Table:
        import numpy as np
        import pyarrow as pa
        import ray
        import ray.data

        from specc.plugin import BATCH_ROWS, account, merge_info, read_all, run_step

        table = read_all(paths, schema)  # read once: batched out to the workers, filtered here afterwards
        rows = table.num_rows
        if not rows:
            return run_step(step, table, stats)
        refs, start = [], 0
        for batch in table.to_batches(max_chunksize=BATCH_ROWS):
            refs.append(ray.put(payload_rows(start, batch)))
            start += batch.num_rows
        resources = self.resources([step.context.step_id])
        partitions = max(1, int(PARTITIONS_PER_CPU * ray.cluster_resources().get("CPU", 1)))
        dataset = (
            ray.data.from_arrow_refs(refs)
            .map_batches(
                key_rows,
                fn_kwargs={"step": step, "partitions": partitions},
                batch_size=1,
                batch_format="pyarrow",
                **resources,
            )
            .groupby(PARTITION, num_partitions=partitions)
            .map_groups(apply_partition, fn_args=(step,), batch_format="pyarrow", **resources)
        )
        dropped: list[tuple[np.ndarray, np.ndarray]] = []
        metas = []
        with worker_errors():
            for block in dataset.iter_batches(batch_size=None, batch_format="pyarrow"):
                positions = block.column(POSITION).to_numpy()
                meta = positions < 0
                metas += [pickle.loads(block.column(EXTRA)[int(i)].as_py()) for i in np.flatnonzero(meta)]
                dropped.append((positions[~meta], np.asarray(block.column(REASON).to_pylist(), dtype=object)[~meta]))
        metas.sort(key=lambda m: m["partition"])
        masks = {reason: np.zeros(rows, bool) for meta in metas for reason in meta["reasons"]}
        for positions, reasons in dropped:
            for reason in set(reasons):
                masks[reason][positions[reasons == reason]] = True
        kept = ~np.logical_or.reduce(list(masks.values())) if masks else np.ones(rows, bool)
        output = table.filter(pa.array(kept))
        account(stats, table, output, {reason: pa.array(mask) for reason, mask in masks.items()})
        for meta in metas:
            if meta["info"]:
                merge_info(stats.setdefault("info", {}), meta["info"])
        return output

    def close(self) -> None:
        """Nothing to stop: Ray Data's tasks end with each dataset."""


def _results(dataset: ray.data.Dataset) -> Iterator[tuple[int, pa.Table, bytes]]:
    """The payload rows of a dataset's output, specc errors from workers raised as themselves."""
    with worker_errors():
        for rows in dataset.iter_batches(batch_size=None, batch_format="pyarrow"):
            yield from payloads(rows)
