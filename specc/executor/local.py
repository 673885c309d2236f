"""Local execution: Arrow batches through worker processes, output in canonical order."""

from __future__ import annotations

import importlib
import multiprocessing
import shutil
import threading
import time
from datetime import datetime, timezone
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator

from specc.builtins.clean import forget_keys
from specc.cache import DATA_FILE, Entry, StepCache, run_key
from specc.compiler import Plan, PlanStep, fingerprint
from specc.components import Component
from specc.errors import DataError, SpeccError
from specc.executor import RECORD_FILE, BuildOptions, BuildResult, build_record
from specc.executor.stagefiles import iter_batches, read_all, read_schema, write_batches
from specc.executor.tables import (
    augment_rows, check_split_names, value_counts, format_rows, new_step_stats, run_row_steps,
    run_step, source_batches,
)
from specc.leakage import NearParams, check_leakage, leakage_report
from specc.output import order_splits, publish, recover, staging_dir, write_json, write_outputs

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
    """Ordered parallel map over batches with a bounded number in flight; workers start on first use."""

    def __init__(self, num_proc: int, groups: list[list[Component]]):
        self.num_proc = num_proc
        self.groups = groups
        self.pool: ProcessPoolExecutor | None = None
        self.window = 2 * num_proc

    def map(self, task: Callable, group: int, batches: Iterable[Any]) -> Iterator[Any]:
        """Results of `task(group, batch)` in input order."""
        if self.num_proc == 1:
            _init_worker(self.groups)
            yield from (task(group, b) for b in batches)
            return
        if self.pool is None:
            self.pool = ProcessPoolExecutor(self.num_proc, mp_context=multiprocessing.get_context("spawn"),
                                            initializer=_init_worker, initargs=(self.groups,))
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
    """One build: each unit of steps is looked up in the cache by its run key, or run and stored."""

    def __init__(self, plan: Plan, options: BuildOptions, pool: _Pool):
        self.plan = plan
        self.options = options
        self.pool = pool
        self.cache = StepCache(plan.cache_dir)
        self.paths: list[Path] = []
        self.schema: "pa.Schema | None" = None
        self.input_digest = ""
        self.digests: dict[str, dict[str, Any]] = {}
        self.timings: list[dict[str, Any]] = []

    def unit(self, steps: list[PlanStep], compute: Callable[[Path], dict[str, Any]]) -> Entry:
        """The cached output of `steps` on the current input, computed into a scratch file if missing."""
        started = time.perf_counter()
        key = run_key([s.record for s in steps], self.input_digest)
        entry = self.cache.get(key)
        hit = entry is not None
        if entry is None:
            scratch = self.cache.scratch()
            try:
                info = compute(scratch / DATA_FILE)
                entry = self.cache.put(key, scratch, info, [s.fingerprint for s in steps if s.fingerprint])
            finally:
                shutil.rmtree(scratch, ignore_errors=True)
        self.digests[steps[-1].id] = {"sha256": entry.sha256, "rows": entry.meta["rows"]}
        self.timings.append({"steps": [s.id for s in steps], "cache": "hit" if hit else "miss",
                             "seconds": round(time.perf_counter() - started, 3)})
        return entry

    def advance(self, entry: Entry) -> None:
        """Make a unit's output the input of the next."""
        self.paths, self.schema, self.input_digest = [entry.data], read_schema(entry.data), entry.sha256

    def store(self, path: Path, tables: Iterable["pa.Table"]) -> int:
        """Write a unit's output; its schema is that of the first table (or the input's if none)."""
        tables = iter(tables)
        first = next(tables, None)
        schema = first.schema if first is not None else self.schema
        return write_batches(path, schema, _chain(first, tables) if first is not None else [])

    def read_sources(self) -> tuple[dict[str, Any], dict[str, list[str]]]:
        import pyarrow as pa

        sources: dict[str, Any] = {}
        labels: dict[str, tuple[str, list[str]]] = {}
        entries = []
        for step in self.plan.stage("sources"):
            source = self.plan.instantiate(step)
            name = source.context.step_id

            def read(path: Path, source: Any = source, name: str = name) -> dict[str, Any]:
                self.options.report(f"reading source '{name}'")
                batches = source_batches(source)
                first = next(batches, None)
                if first is None:
                    raise DataError(name, None, None, "no rows; check the files the source names")
                rows = write_batches(path, first.schema, _chain(first, batches))
                return {"rows": rows, "label_names": {k: list(v) for k, v in source.label_names().items()}}

            self.input_digest = ""
            entry = self.unit([step], read)
            entries.append(entry)
            for column, names in entry.meta["label_names"].items():
                if column in labels and labels[column][1] != names:
                    raise DataError(name, None, None, f"label names of '{column}' differ from those of "
                                    f"source '{labels[column][0]}'; give both sources the same names")
                labels[column] = (name, list(names))
            sources[name] = {"type": step.type, "license": step.params.license, "split": step.params.split,
                             "pins": {k: v for k, v in step.pins.items() if k != "files"},
                             "files": list(step.files), "rows": entry.meta["rows"]}
        try:
            self.schema = pa.unify_schemas([read_schema(e.data) for e in entries], promote_options="permissive")
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise SpeccError(f"error: the sources' columns have incompatible types: {exc}; "
                             f"map them to common names and types with `columns:`") from None
        self.paths = [e.data for e in entries]
        self.input_digest = fingerprint({"sources": [e.sha256 for e in entries]})
        return sources, {column: names for column, (_, names) in sorted(labels.items())}

    def run_steps(self, steps: list[PlanStep], group_ids: dict[str, int]) -> list[dict[str, Any]]:
        records = []
        for group in _groups(steps):

            def compute(path: Path, group: list[PlanStep] = group) -> dict[str, Any]:
                totals = [new_step_stats() for _ in group]
                self.options.report(f"running {', '.join(s.id for s in group)}")
                if group[0].component.cls.scope == "row":  # type: ignore[union-attr]
                    results = self.pool.map(_row_task, group_ids[group[0].id], iter_batches(self.paths, self.schema))

                    def kept(results: Iterator[Any] = results) -> Iterator["pa.Table"]:
                        for table, parts in results:
                            for total, part in zip(totals, parts):
                                _merge(total, part)
                            yield table

                    rows = self.store(path, kept())
                else:
                    step = self.plan.instantiate(group[0])
                    table = run_step(step, read_all(self.paths, self.schema), totals[0])  # type: ignore[arg-type]
                    rows = self.store(path, [table])
                return {"rows": rows, "records": [_step_record(s, t) for s, t in zip(group, totals)]}

            entry = self.unit(group, compute)
            self.advance(entry)
            records.extend(entry.meta["records"])
        return records

    def split(self) -> tuple[dict[str, Any], list[str]]:
        steps = self.plan.stage("split")

        def compute(path: Path) -> dict[str, Any]:
            table = read_all(self.paths, self.schema)
            if steps:
                splitter = self.plan.instantiate(steps[0])
                self.options.report(f"splitting ({splitter.name})")
                names = splitter.assign(table)  # type: ignore[attr-defined]
                if len(names) != table.num_rows:
                    raise SpeccError(f"error: splitter '{splitter.name}' (plugin bug) returned "
                                     f"{len(names)} names for {table.num_rows} rows")
                info = {"method": splitter.name, "seed": steps[0].seed, "params": steps[0].fingerprinted_params()}
                configurations = splitter.configurations()  # type: ignore[attr-defined]
                if configurations:
                    info["configurations"] = configurations
                preferred = splitter.split_names()  # type: ignore[attr-defined]
            else:
                names = table.column("_split").fill_null("train")
                info, preferred = {"method": "source", "seed": None, "params": {}}, []
            table = table.set_column(table.column_names.index("_split"), "_split", names)
            order = order_splits(check_split_names(table.column("_split")), preferred)
            limits = getattr(splitter.params, "leakage", None) if steps else None
            near = limits.near or (NearParams() if limits.max_near is not None else None) if limits else None
            self.options.report("checking leakage between splits")
            info["leakage"] = leakage_report(table, order=order, near=near, seed=steps[0].seed if steps else 0,
                                             languages=tuple(self.plan.spec.model.languages))
            if limits is not None:
                check_leakage(info["leakage"], limits)
            return {"rows": self.store(path, [table]), "info": info, "order": order}

        entry = self.unit(steps or [_NO_SPLIT], compute)
        self.advance(entry)
        return entry.meta["info"], entry.meta["order"]

    def augment(self) -> list[dict[str, Any]]:
        import pyarrow as pa

        records = []
        for step in self.plan.stage("augment"):

            def compute(path: Path, step: PlanStep = step) -> dict[str, Any]:
                augmenter = self.plan.instantiate(step)
                self.options.report(f"augmenting ({step.id})")
                table = read_all(self.paths, self.schema)
                made = augment_rows(augmenter, table)  # type: ignore[arg-type]
                combined = pa.concat_tables([table, made], promote_options="permissive")
                added = {str(k): v for k, v in value_counts(made.column("_split")).items()}
                record = {"id": step.id, "stage": "augment", "type": step.type,
                          "params": step.fingerprinted_params(), "rows_in": table.num_rows,
                          "rows_out": combined.num_rows, "dropped": {}, "added": dict(sorted(added.items())),
                          "by_source": {}}
                return {"rows": self.store(path, [combined]), "records": [record]}

            entry = self.unit([step], compute)
            self.advance(entry)
            records.extend(entry.meta["records"])
        return records

    def format(self, group: int) -> None:
        step = self.plan.stage("format")[0]

        def compute(path: Path) -> dict[str, Any]:
            self.options.report(f"formatting ({step.type})")
            tables = (t for t, _ in self.pool.map(_format_task, group, iter_batches(self.paths, self.schema)))
            return {"rows": self.store(path, tables)}

        self.advance(self.unit([step], compute))


# The unit key of "no split stage": rows keep the split their source gave them.
_NO_SPLIT = PlanStep("split", "split", "splitter", None, None, 0, (), "", record={"step": "split", "method": None})


def _chain(first: Any, rest: Iterator[Any]) -> Iterator[Any]:
    yield first
    yield from rest


# Imported by the output stage; loading them meanwhile overlaps with Arrow work that frees the GIL.
_OUTPUT_MODULES = ("datasets", "matplotlib.figure", "matplotlib.backends.backend_agg", "mlcroissant")


def _preload(modules: Iterable[str]) -> None:
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError:  # optional ones (mlcroissant) may be absent; the output stage copes
            pass


def run_local(plan: Plan, options: BuildOptions) -> BuildResult:
    """Build into a staging folder through the step cache, then move it into place."""
    threading.Thread(target=_preload, args=(_OUTPUT_MODULES,), daemon=True).start()
    output_dir = options.output_dir or plan.spec.output_dir
    recover(output_dir)
    started = datetime.now(timezone.utc)
    row_steps = plan.stage("clean") + plan.stage("annotate")
    groups = [g for g in _groups(row_steps) if g[0].component.cls.scope == "row"]  # type: ignore[union-attr]
    worker_groups = [[plan.instantiate(s) for s in g] for g in groups] + [
        [plan.instantiate(s)] for s in plan.stage("format")]
    group_ids = {g[0].id: i for i, g in enumerate(groups)}
    pool = _Pool(options.num_proc, worker_groups)
    staged = staging_dir(output_dir)
    try:
        run = _Run(plan, options, pool)
        sources, label_names = run.read_sources()
        steps = run.run_steps(row_steps, group_ids)
        split_info, split_order = run.split()
        steps += run.augment()
        if plan.stage("format"):
            run.format(len(groups))
        final = read_all(run.paths, run.schema)
        stats = write_outputs(plan, final, staged, sources, steps, split_info, split_order, label_names)
        record = build_record(plan, options, started, run.timings)
        write_json(staged / RECORD_FILE, record)
        publish(staged, output_dir)
        return BuildResult(stats, run.digests, record)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    finally:
        pool.close()
        forget_keys()
