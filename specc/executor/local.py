"""Local execution: Arrow batches through worker processes, output in canonical order."""

from __future__ import annotations

import multiprocessing
import shutil
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator

from specc.compiler import Plan, PlanStep
from specc.components import Component
from specc.errors import DataError, SpeccError
from specc.executor import BuildOptions
from specc.executor.stagefiles import iter_batches, read_all, write_batches
from specc.executor.tables import (
    augment_rows, check_split_names, value_counts, format_rows, new_step_stats, run_row_steps,
    run_step, source_batches,
)
from specc.output import order_splits, publish, recover, staging_dir, write_outputs

if TYPE_CHECKING:
    import pyarrow as pa

_WORKER_GROUPS: list[list[Component]] = []


def _init_worker(groups: list[list[Component]]) -> None:
    _WORKER_GROUPS[:] = groups


def _row_task(group: int, batch: "pa.RecordBatch") -> tuple["pa.Table", list[dict[str, Any]]]:
    return run_row_steps(_WORKER_GROUPS[group], batch)  # type: ignore[arg-type]


def _format_task(group: int, batch: "pa.RecordBatch") -> tuple["pa.Table", list[dict[str, Any]]]:
    return format_rows(_WORKER_GROUPS[group][0], batch), []  # type: ignore[arg-type]


class _Pool:
    """Ordered parallel map over batches with a bounded number in flight."""

    def __init__(self, num_proc: int, groups: list[list[Component]]):
        self.groups = groups
        self.pool = None
        if num_proc > 1:
            self.pool = ProcessPoolExecutor(num_proc, mp_context=multiprocessing.get_context("spawn"),
                                            initializer=_init_worker, initargs=(groups,))
            self.window = 2 * num_proc

    def map(self, task: Callable, group: int, batches: Iterable[Any]) -> Iterator[Any]:
        """Results of `task(group, batch)` in input order."""
        if self.pool is None:
            _init_worker(self.groups)
            yield from (task(group, b) for b in batches)
            return
        pending: list[Future] = []
        for batch in batches:
            pending.append(self.pool.submit(task, group, batch))
            if len(pending) >= self.window:
                yield pending.pop(0).result()
        for future in pending:
            yield future.result()

    def close(self) -> None:
        """Stop the workers."""
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)


def _merge(total: dict[str, Any], part: dict[str, Any]) -> None:
    total["rows_in"] += part["rows_in"]
    total["rows_out"] += part["rows_out"]
    for reason, n in part["dropped"].items():
        total["dropped"][reason] = total["dropped"].get(reason, 0) + n
    for name, bucket in part["by_source"].items():
        mine = total["by_source"].setdefault(name, {"rows_in": 0, "rows_out": 0, "dropped": {}})
        mine["rows_in"] += bucket["rows_in"]
        mine["rows_out"] += bucket["rows_out"]
        for reason, n in bucket["dropped"].items():
            mine["dropped"][reason] = mine["dropped"].get(reason, 0) + n


def _step_record(step: PlanStep, stats: dict[str, Any]) -> dict[str, Any]:
    return {"id": step.id, "stage": step.stage, "type": step.type,
            "params": step.fingerprinted_params(), **stats}


def _groups(steps: list[PlanStep]) -> list[list[PlanStep]]:
    """Consecutive row-scope steps fused into one pass; each global step alone."""
    groups: list[list[PlanStep]] = []
    for step in steps:
        scope = step.component.cls.scope  # type: ignore[union-attr]
        if scope == "row" and groups and groups[-1][-1].component.cls.scope == "row":  # type: ignore[union-attr]
            groups[-1].append(step)
        else:
            groups.append([step])
    return groups


class _Run:
    """One build in a staging folder."""

    def __init__(self, plan: Plan, options: BuildOptions, work: Path):
        self.plan = plan
        self.options = options
        self.work = work
        self.spec = plan.spec
        self.languages = tuple(plan.spec.model.languages)
        self.counter = 0
        self.paths: list[Path] = []
        self.schema: "pa.Schema | None" = None

    def instantiate(self, step: PlanStep) -> Any:
        return self.plan.instantiate(step)

    def next_path(self) -> Path:
        self.counter += 1
        return self.work / f"stage-{self.counter:03d}.arrow"

    def store(self, tables: Iterable["pa.Table"]) -> int:
        """Write a stage's output; its schema is that of the first table (or the input's if none)."""
        tables = iter(tables)
        first = next(tables, None)
        schema = first.schema if first is not None else self.schema
        path = self.next_path()
        rows = write_batches(path, schema, _chain(first, tables) if first is not None else [])
        self.paths, self.schema = [path], schema
        return rows

    def read_sources(self) -> tuple[dict[str, Any], dict[str, list[str]]]:
        import pyarrow as pa

        sources: dict[str, Any] = {}
        labels: dict[str, tuple[str, list[str]]] = {}
        schemas = []
        for step in self.plan.stage("sources"):
            source = self.instantiate(step)
            name = source.context.step_id
            self.options.report(f"reading source '{name}'")
            batches = source_batches(source)
            first = next(batches, None)
            if first is None:
                raise DataError(name, None, None, "no rows; check the files the source names")
            path = self.next_path()
            rows = write_batches(path, first.schema, _chain(first, batches))
            self.paths.append(path)
            schemas.append(first.schema)
            for column, names in source.label_names().items():
                if column in labels and labels[column][1] != names:
                    raise DataError(name, None, None, f"label names of '{column}' differ from those of "
                                    f"source '{labels[column][0]}'; give both sources the same names")
                labels[column] = (name, list(names))
            sources[name] = {"type": step.type, "license": step.params.license, "split": step.params.split,
                             "files": list(step.files), "rows": rows}
        try:
            self.schema = pa.unify_schemas(schemas, promote_options="permissive")
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise SpeccError(f"error: the sources' columns have incompatible types: {exc}; "
                             f"map them to common names and types with `columns:`") from None
        return sources, {column: names for column, (_, names) in sorted(labels.items())}

    def run_steps(self, steps: list[PlanStep], pool: _Pool, group_ids: dict[str, int]) -> list[dict[str, Any]]:
        records = []
        for group in _groups(steps):
            totals = [new_step_stats() for _ in group]
            self.options.report(f"running {', '.join(s.id for s in group)}")
            if group[0].component.cls.scope == "row":  # type: ignore[union-attr]
                results = pool.map(_row_task, group_ids[group[0].id], iter_batches(self.paths, self.schema))

                def kept(results: Iterator[Any] = results) -> Iterator["pa.Table"]:
                    for table, parts in results:
                        for total, part in zip(totals, parts):
                            _merge(total, part)
                        yield table

                self.store(kept())
            else:
                table = run_step(self.instantiate(group[0]), read_all(self.paths, self.schema), totals[0])
                self.store([table])
            records.extend(_step_record(s, t) for s, t in zip(group, totals))
        return records

    def split(self) -> tuple[dict[str, Any], list[str]]:
        import pyarrow as pa

        table = read_all(self.paths, self.schema)
        steps = self.plan.stage("split")
        if steps:
            splitter = self.instantiate(steps[0])
            self.options.report(f"splitting ({splitter.name})")
            names = splitter.assign(table)
            if len(names) != table.num_rows:
                raise SpeccError(f"error: splitter '{splitter.name}' (plugin bug) returned "
                                 f"{len(names)} names for {table.num_rows} rows")
            info = {"method": splitter.name, "seed": steps[0].seed, "params": steps[0].fingerprinted_params()}
            preferred = splitter.split_names()
        else:
            names = table.column("_split").fill_null("train")
            info, preferred = {"method": "source", "seed": None, "params": {}}, []
        table = table.set_column(table.column_names.index("_split"), "_split", names)
        order = order_splits(check_split_names(table.column("_split")), preferred)
        self.store([table])
        return info, order

    def augment(self) -> list[dict[str, Any]]:
        import pyarrow as pa

        records = []
        for step in self.plan.stage("augment"):
            augmenter = self.instantiate(step)
            self.options.report(f"augmenting ({step.id})")
            table = read_all(self.paths, self.schema)
            made = augment_rows(augmenter, table)
            combined = pa.concat_tables([table, made], promote_options="permissive")
            self.store([combined])
            added = {str(k): v for k, v in value_counts(made.column("_split")).items()}
            records.append({"id": step.id, "stage": "augment", "type": step.type,
                            "params": step.fingerprinted_params(), "rows_in": table.num_rows,
                            "rows_out": combined.num_rows, "dropped": {}, "added": dict(sorted(added.items())),
                            "by_source": {}})
        return records

    def format(self, pool: _Pool, group: int) -> None:
        step = self.plan.stage("format")[0]
        self.options.report(f"formatting ({step.type})")
        self.store(t for t, _ in pool.map(_format_task, group, iter_batches(self.paths, self.schema)))


def _chain(first: Any, rest: Iterator[Any]) -> Iterator[Any]:
    yield first
    yield from rest


def run_local(plan: Plan, options: BuildOptions) -> dict[str, Any]:
    """Build into a staging folder, then move it into place; returns the build's statistics."""
    output_dir = plan.spec.output_dir
    recover(output_dir)
    staged = staging_dir(output_dir)
    work = staged / ".work"
    work.mkdir()
    row_steps = plan.stage("clean") + plan.stage("annotate")
    instances: dict[str, Any] = {s.id: plan.instantiate(s)
                                 for s in row_steps + plan.stage("format")}
    groups = [g for g in _groups(row_steps) if g[0].component.cls.scope == "row"]  # type: ignore[union-attr]
    worker_groups = [[instances[s.id] for s in g] for g in groups] + [[instances[s.id]] for s in plan.stage("format")]
    group_ids = {g[0].id: i for i, g in enumerate(groups)}
    pool = _Pool(options.num_proc, worker_groups)
    try:
        run = _Run(plan, options, work)
        sources, label_names = run.read_sources()
        steps = run.run_steps(row_steps, pool, group_ids)
        split_info, split_order = run.split()
        steps += run.augment()
        if plan.stage("format"):
            run.format(pool, len(groups))
        final = read_all(run.paths, run.schema)
        shutil.rmtree(work)
        stats = write_outputs(plan, final, staged, sources, steps, split_info, split_order, label_names)
        publish(staged, output_dir)
        return stats
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    finally:
        pool.close()
