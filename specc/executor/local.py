"""Local execution: Arrow batches through worker processes, output in canonical order."""

from __future__ import annotations

import hashlib
import importlib
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from specc import stages
from specc.atomic import replace_text
from specc.cache import DATA_FILE, DIGEST, Entry, StepCache, run_key
from specc.compiler import Plan, PlanStep, fingerprint
from specc.components import (
    Annotator,
    Augmenter,
    Component,
    Evaluator,
    Formatter,
    Source,
    Splitter,
    Step,
    TokenCounter,
)
from specc.counts import value_counts
from specc.errors import DataError, SpeccError
from specc.executor import BuildOptions, BuildResult, Groups, Staged, Task, WorkerPool, build_record, record_path
from specc.executor.stagefiles import iter_batches, read_all, read_schema, read_table, write_batches
from specc.executor.tables import (
    MissingValues,
    account,
    annotated_label_names,
    augment_batches,
    augment_inputs,
    augment_rows,
    check_labels,
    check_split_names,
    check_targets,
    check_used,
    fitting_rows,
    format_rows,
    load_fitted,
    merge_info,
    new_step_stats,
    run_row_steps,
    run_step,
    source_batches,
)
from specc.leakage import NearParams, check_leakage, default_columns, key_codes, leakage_report
from specc.output import json_text, order_splits
from specc.progress import row_bar, unit_done
from specc.regression import TARGET, is_regression
from specc.staging import Claim, claim_output, discard, marker_text, output_lock, publish, recover, staging_dir
from specc.text import forget_keys
from specc.tokens import apply_budget
from specc.version import __version__

if TYPE_CHECKING:
    import pyarrow as pa

_WORKER_GROUPS: Groups = {}
_PR_SET_PDEATHSIG = 1  # prctl(2)

LEAKAGE_KEYS = "leakage_keys"  # the split's cached leakage keys: cache part and build record field


def _die_with(parent: int) -> None:
    """Make this worker end when the build's process ends, even by SIGKILL (Linux: a parent-death signal)."""
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before the signal was asked for
        os._exit(1)


def _start_worker(groups: Groups, parent: int) -> None:
    _die_with(parent)
    _WORKER_GROUPS.update(groups)
    for component in (c for group in groups.values() for c in group):
        if isinstance(component, Augmenter):
            component.warm_up()


def _started() -> None:
    """A task that only makes a worker start."""


def _in_worker(task: Task, group: str, batch: Any) -> tuple[pa.Table, Any]:
    return task(_WORKER_GROUPS[group], batch)


def _augment_task(components: list[Component], batch: pa.Table, fitted: str | None) -> tuple[pa.Table, dict[str, Any]]:
    """Task: one batch of `augment_inputs` augmented, after loading the state `fit` wrote to `fitted`."""
    augmenter = components[0]
    assert isinstance(augmenter, Augmenter)
    if fitted is not None:
        load_fitted(augmenter, fitted)
    return augment_rows(augmenter, batch)


def _format_task(
    components: list[Component], batch: pa.RecordBatch, label_names: dict[str, list[str]]
) -> tuple[pa.Table, None]:
    """Task: one batch formatted (no statistics)."""
    formatter = components[0]
    assert isinstance(formatter, Formatter)
    return format_rows(formatter, batch, label_names), None


class _Pool:
    """Ordered parallel map over batches with a bounded number in flight; workers start on first use, or at
    once when they have augmenters to warm up."""

    def __init__(self, num_proc: int, groups: Groups):
        self.num_proc = num_proc
        self.groups = groups
        self.pool: ProcessPoolExecutor | None = None
        self.window = 2 * num_proc
        if num_proc > 1 and any(isinstance(c, Augmenter) for group in groups.values() for c in group):
            self.start()  # the workers import what the augmenters need while the earlier stages run

    def map(self, task: Task, group: str, batches: Iterable[Any]) -> Iterator[tuple[pa.Table, Any]]:
        """Results of `task(components of group, batch)` in input order."""
        if self.num_proc == 1:
            yield from (task(self.groups[group], b) for b in batches)
            return
        self.start()
        assert self.pool is not None
        pending: list[Future] = []
        for batch in batches:
            pending.append(self.pool.submit(_in_worker, task, group, batch))
            if len(pending) >= self.window:
                yield pending.pop(0).result()
        for future in pending:
            yield future.result()

    def run_global(self, step: Step, paths: list[Path], schema: pa.Schema, stats: dict[str, Any]) -> pa.Table:
        """A global step's output on the whole input, run in this process."""
        return run_step(step, read_all(paths, schema), stats)

    def start(self) -> None:
        """Start the workers unless they run already."""
        if self.pool is None:
            self.pool = ProcessPoolExecutor(
                self.num_proc,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_start_worker,
                initargs=(self.groups, os.getpid()),
            )
            for _ in range(self.num_proc):  # spawned workers start with the first tasks: start them all now
                self.pool.submit(_started)

    def close(self) -> None:
        """Stop the workers."""
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)


def _step_record(step: PlanStep, stats: dict[str, Any]) -> dict[str, Any]:
    return {"id": step.id, "stage": step.stage, "type": step.type, "params": step.fingerprinted_params(), **stats}


def _row_scoped(step: PlanStep) -> bool:
    """Whether a step of a row stage runs batch by batch on the workers (`scope = "row"`), not on the whole table."""
    cls = step.component.cls if step.component is not None else None
    return cls is not None and issubclass(cls, Step) and cls.scope == "row"


def _groups(steps: list[PlanStep]) -> list[list[PlanStep]]:
    """Consecutive row-scope steps fused into one pass; each global step alone."""
    groups: list[list[PlanStep]] = []
    for step in steps:
        if _row_scoped(step) and groups and _row_scoped(groups[-1][-1]):
            groups[-1].append(step)
        else:
            groups.append([step])
    return groups


class _Run:
    """One build: each unit of steps is looked up in the cache by its run key, or run and stored."""

    def __init__(self, plan: Plan, options: BuildOptions, pool: WorkerPool):
        self.plan = plan
        self.options = options
        self.pool = pool
        self.cache = StepCache(plan.cache_dir)
        self.paths: list[Path] = []
        self.schema: pa.Schema | None = None
        self.input_digest = ""
        self.rows = 0  # of the current input
        self.digests: dict[str, dict[str, Any]] = {}
        self.timings: list[dict[str, Any]] = []
        self.notes: dict[str, Any] = {}  # added to the build record's entry of the unit running now
        self.label_names: dict[str, list[str]] = {}  # the sources' label names, set by `read_sources`

    def cached(
        self, key: str, compute: Callable[[Path], dict[str, Any]], fingerprints: list[str]
    ) -> tuple[Entry, bool]:
        """The cache entry `key`, computed into a scratch file and stored if missing; and whether it was there."""
        entry = self.cache.get(key)
        if entry is not None:
            return entry, True
        damage = self.cache.repaired.pop(key, None)
        if damage is not None:  # the entry was damaged, so removed: rebuilt now, and the build record says why
            self.notes.setdefault("repaired", []).append(damage)
        with self.cache.scratch() as scratch:
            info = compute(scratch / DATA_FILE)
            return self.cache.put(key, scratch, info, fingerprints), False

    def unit(self, steps: list[PlanStep], compute: Callable[[Path], dict[str, Any]]) -> Entry:
        """The cached output of `steps` on the current input, computed into a scratch file if missing."""
        started = time.perf_counter()
        key = run_key([s.record for s in steps], self.input_digest)
        try:
            entry, hit = self.cached(key, compute, [s.fingerprint for s in steps if s.fingerprint])
        except MissingValues as exc:
            sources = (self.plan.instance(s, Source) for s in self.plan.stage("sources"))
            raise exc.located({source.context.step_id: source for source in sources}) from None
        self.digests[steps[-1].id] = {DIGEST: entry.digest, "rows": entry.meta["rows"]}
        seconds, cache = round(time.perf_counter() - started, 3), "hit" if hit else "miss"
        self.timings.append(
            {
                "steps": [s.id for s in steps],
                "cache": cache,
                "seconds": seconds,
                **self.notes,
            }
        )
        self.notes = {}
        unit_done(self.options.progress, [s.id for s in steps], cache, entry.meta["rows"], seconds)
        return entry

    def advance(self, steps: list[PlanStep], compute: Callable[[Path], dict[str, Any]]) -> dict[str, Any]:
        """The `unit` of `steps`, made the input of the next unit; returns its meta."""
        entry = self.unit(steps, compute)
        self.paths, self.schema, self.input_digest = [entry.data], read_schema(entry.data), entry.digest
        self.rows = entry.meta["rows"]
        return entry.meta

    def store(self, path: Path, tables: Iterable[pa.Table]) -> int:
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
            source = self.plan.instance(step, Source)
            name = source.context.step_id

            def read(path: Path, source: Any = source, name: str = name) -> dict[str, Any]:
                self.options.report(f"reading source '{name}'")
                exploded: dict[str, Any] = {}
                with row_bar(self.options.progress, None) as bar:
                    batches = bar.outputs(bar.inputs(source_batches(source, exploded)))
                    first = next(batches, None)
                    if first is None:
                        raise DataError(name, None, None, "no rows; check the files the source names")
                    rows = write_batches(path, first.schema, _chain(first, batches))
                return {
                    "rows": rows,
                    "label_names": {k: list(v) for k, v in source.label_names().items()},
                    **({"explode": exploded} if exploded else {}),
                }

            self.input_digest = ""
            entry = self.unit([step], read)
            entries.append(entry)
            for column, names in entry.meta["label_names"].items():
                if column in labels and labels[column][1] != names:
                    raise DataError(
                        name,
                        None,
                        None,
                        f"label names of '{column}' differ from those of "
                        f"source '{labels[column][0]}'; give both sources the same names",
                    )
                labels[column] = (name, list(names))
            sources[name] = {
                "type": step.type,
                "license": source.params.license,
                "split": source.params.split,
                "pins": {k: v for k, v in step.pins.items() if k != "files"},
                "files": list(step.files),
                "rows": entry.meta["rows"],
            }
            if "explode" in entry.meta:
                sources[name]["explode"] = entry.meta["explode"]
        try:
            self.schema = pa.unify_schemas([read_schema(e.data) for e in entries], promote_options="permissive")
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise SpeccError(
                f"error: the sources' columns have incompatible types: {exc}; "
                f"map them to common names and types with `columns:`"
            ) from None
        self.paths = [e.data for e in entries]
        self.rows = sum(e.meta["rows"] for e in entries)
        self.input_digest = fingerprint({"sources": [e.digest for e in entries]})
        self.label_names = {column: names for column, (_, names) in sorted(labels.items())}
        return sources, self.label_names

    def run_steps(self, steps: list[PlanStep]) -> list[dict[str, Any]]:
        records = []
        for group in _groups(steps):

            def compute(path: Path, group: list[PlanStep] = group) -> dict[str, Any]:
                totals = [new_step_stats() for _ in group]
                self.options.report(f"running {', '.join(s.id for s in group)}")
                if _row_scoped(group[0]):
                    with row_bar(self.options.progress, self.rows) as bar:
                        batches = bar.inputs(iter_batches(self.paths, self.schema))
                        results = bar.outputs(self.pool.map(run_row_steps, group[0].id, batches))

                        def kept(results: Iterator[Any] = results) -> Iterator[pa.Table]:
                            for table, parts in results:
                                for total, part in zip(totals, parts):
                                    merge_info(total, part)
                                yield table

                        rows = self.store(path, kept())
                else:
                    step = self.plan.instance(group[0], Step)
                    table = self.pool.run_global(step, self.paths, self.schema, totals[0])
                    rows = self.store(path, [table])
                return {"rows": rows, "records": [_step_record(s, t) for s, t in zip(group, totals)]}

            records.extend(self.advance(group, compute)["records"])
        return records

    def split(self) -> tuple[dict[str, Any], list[str]]:
        steps = self.plan.stage("split")

        def compute(path: Path) -> dict[str, Any]:
            table = read_all(self.paths, self.schema)
            annotators = [self.plan.instance(s, Annotator) for s in self.plan.stage("annotate")]
            check_labels(table, self.label_names, annotators)
            if is_regression(self.plan.spec.model):
                check_targets(table, TARGET)
            if steps:
                splitter = self.plan.instance(steps[0], Splitter)
                self.options.report(f"splitting ({splitter.name})")
                check_used(splitter, table)
                names = splitter.assign(table)
                if len(names) != table.num_rows:
                    raise SpeccError(
                        f"error: splitter '{splitter.name}' (plugin bug) returned "
                        f"{len(names)} names for {table.num_rows} rows"
                    )
                info: dict[str, Any] = {
                    "method": splitter.name,
                    "seed": steps[0].seed,
                    "params": steps[0].fingerprinted_params(),
                }
                info.update(splitter.split_info(table))
                configurations = splitter.configurations()
                if configurations:
                    info["configurations"] = configurations
                preferred = splitter.split_names()
            else:
                names = table.column("_split").fill_null("train")
                info, preferred = {"method": "source", "seed": None, "params": {}}, []
            table = table.set_column(table.column_names.index("_split"), "_split", names)
            order = order_splits(check_split_names(table.column("_split")), preferred)
            limits = getattr(splitter.params, "leakage", None) if steps else None
            near = limits.near or (NearParams() if limits.max_near is not None else None) if limits else None
            self.options.report("checking leakage between splits")
            columns = default_columns(table)
            codes = self.leakage_codes(table, columns, steps[0].record["upstream"] if steps else [])
            info["leakage"] = leakage_report(
                table,
                columns,
                order=order,
                near=near,
                codes=codes,
                seed=steps[0].seed if steps else 0,
                languages=tuple(self.plan.spec.model.languages),
            )
            if limits is not None:
                check_leakage(info["leakage"], limits)
            return {"rows": self.store(path, [table]), "info": info, "order": order}

        meta = self.advance(steps or [_NO_SPLIT], compute)
        return meta["info"], meta["order"]

    def leakage_codes(self, table: pa.Table, columns: list[str], owners: list[str]) -> pa.DictionaryArray:
        """`key_codes` of the split's rows from the step cache, or computed and stored there."""
        import pyarrow as pa

        if not owners:  # no split stage: whenever its input is the same, the whole unit is a cache hit
            return key_codes(table, columns)
        # Keyed by the split's input, not the splitter: a rebuild after editing the split (its ratios) reuses them.
        # Attached to the split's upstream steps, which the lock still names after such an edit, for `cache gc`.
        key = run_key(
            [{"part": LEAKAGE_KEYS, "columns": columns, "specc": __version__, "pyarrow": pa.__version__}],
            self.input_digest,
        )

        def compute(path: Path) -> dict[str, Any]:
            codes = pa.table({"key": key_codes(table, columns)})
            return {"rows": write_batches(path, codes.schema, [codes])}

        entry, hit = self.cached(key, compute, [])
        self.cache.attach(entry.key, LEAKAGE_KEYS, owners)
        self.notes[LEAKAGE_KEYS] = "hit" if hit else "miss"
        return read_table(entry.data).column("key").combine_chunks()

    def augment(self) -> list[dict[str, Any]]:
        """Each augment step: fit once here, then the chosen rows through the workers in batches."""
        import pyarrow as pa

        records = []
        for step in self.plan.stage("augment"):

            def compute(path: Path, step: PlanStep = step) -> dict[str, Any]:
                augmenter = self.plan.instance(step, Augmenter)
                self.options.report(f"augmenting ({step.id})")
                table = read_all(self.paths, self.schema)
                check_used(augmenter, table)
                inputs = augment_inputs(augmenter, table)
                copies = augmenter.params.copies
                info: dict[str, Any] = {"rows_chosen": inputs.num_rows // copies, "unchanged": 0}
                state = augmenter.fit(fitting_rows(table))
                fitted = None
                if state is not None:
                    fitted = path.with_name("fitted.bin")
                    fitted.write_bytes(state)
                    info["fitted"] = {"sha256": hashlib.sha256(state).hexdigest(), "bytes": len(state)}
                task = partial(_augment_task, fitted=str(fitted) if fitted else None)
                made = []
                with row_bar(self.options.progress, inputs.num_rows) as bar:
                    batches = bar.inputs(augment_batches(inputs, copies))
                    for rows, part in bar.outputs(self.pool.map(task, step.id, batches)):
                        made.append(rows)
                        info["unchanged"] += part["unchanged"]
                        if "example" not in info and part["example"] is not None:
                            info["example"] = part["example"]
                combined = pa.concat_tables([table, *made], promote_options="permissive")
                added = value_counts(pa.chunked_array([m.column("_split") for m in made], pa.string()))
                record = _step_record(
                    step,
                    {
                        "rows_in": table.num_rows,
                        "rows_out": combined.num_rows,
                        "dropped": {},
                        "added": dict(sorted(added.items())),
                        "by_source": {},
                        "info": info,
                        **({"pins": step.pins} if step.pins else {}),
                    },
                )
                return {"rows": self.store(path, [combined]), "records": [record]}

            records.extend(self.advance([step], compute)["records"])
        return records

    def with_labels(self, label_names: dict[str, list[str]]) -> None:
        """Make the label names part of the next unit's input: templates and scores show them."""
        self.input_digest = fingerprint({"input": self.input_digest, "label_names": label_names})

    def evaluate(self, label_names: dict[str, list[str]]) -> dict[str, Any]:
        """Each evaluator's scores on the current rows (which stay the input of the next stage)."""
        import pyarrow as pa

        results, input_digest = {}, self.input_digest
        self.with_labels(label_names)
        for step in self.plan.stage("evaluate"):

            def compute(path: Path, step: PlanStep = step) -> dict[str, Any]:
                evaluator = self.plan.instance(step, Evaluator)
                self.options.report(f"evaluating ({step.id})")
                table = read_all(self.paths, self.schema)
                check_used(evaluator, table)
                result = evaluator.evaluate(table, label_names)
                if not isinstance(result, dict) or not isinstance(result.get("splits"), dict):
                    raise SpeccError(
                        f"error: evaluator '{step.type}' (plugin bug) returned {type(result).__name__}, "
                        f"not the dict of specc.evaluation.evaluation_report"
                    )
                text = json_text(result)  # the unit's bytes: `specc verify` then checks that scores rebuild
                return {
                    "rows": write_batches(path, pa.schema([("result", pa.string())]), [pa.table({"result": [text]})]),
                    "result": result,
                }

            entry = self.unit([step], compute)
            results[step.id] = {"type": step.type, "params": step.fingerprinted_params(), **entry.meta["result"]}
        self.input_digest = input_digest
        return results

    def format(self, label_names: dict[str, list[str]]) -> dict[str, Any]:
        """Format the rows; the format step's record (its rows in and out)."""
        step = self.plan.stage("format")[0]

        def compute(path: Path) -> dict[str, Any]:
            self.options.report(f"formatting ({step.type})")
            task = partial(_format_task, label_names=label_names)
            with row_bar(self.options.progress, self.rows) as bar:
                results = bar.outputs(self.pool.map(task, step.id, bar.inputs(iter_batches(self.paths, self.schema))))
                return {"rows": self.store(path, (t for t, _ in results))}

        self.with_labels(label_names)
        rows = self.advance([step], compute)["rows"]
        return _step_record(step, {"rows_in": rows, "rows_out": rows, "dropped": {}, "by_source": {}})

    def tokens(self, split_order: list[str]) -> tuple[dict[str, Any], dict[str, Any]]:
        """The token budget (`format.tokens`) over the formatted rows: its step record and `stats["tokens"]`."""
        step = self.plan.stage("tokens")[0]

        def compute(path: Path) -> dict[str, Any]:
            counter = self.plan.instance(step, TokenCounter)
            self.options.report(f"counting tokens ({counter.shown()})")
            table = read_all(self.paths, self.schema)
            kept, tokens, dropped = apply_budget(counter, table, split_order)
            totals = new_step_stats()
            account(totals, table, kept, dropped)
            return {"rows": self.store(path, [kept]), "record": _step_record(step, totals), "tokens": tokens}

        meta = self.advance([step], compute)
        return meta["record"], meta["tokens"]


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


def _keeps_classification(plan: Plan) -> bool:
    """Whether the spec asks for the unformatted rows as a second configuration."""
    return any(getattr(s.params, "keep_classification", False) for s in plan.stage("format"))


def _protected(plan: Plan) -> dict[Path, str]:
    """What an output folder must neither be nor hold: the lock, the cache and every file the build reads."""
    from specc.lock import lock_path

    files = {
        (plan.spec.dir / f["path"]).resolve(): f"{f['path']}, which {s.id} reads"
        for s in plan.steps
        for f in s.files
        if "path" in f
    }
    lock, cache = lock_path(plan.spec), plan.cache_dir.resolve()
    return {lock: f"the spec's lock {lock.name}", cache: f"the step cache {cache}", **files}


def _output_where(plan: Plan) -> str:
    """The spec's file:line:col of `output.dir` (or of `output`, or the file's start) for errors about it."""
    line, col = plan.spec.positions.value(("output", "dir"))
    return f"{plan.spec.shown}:{line}:{col}"


def run_local(
    plan: Plan, options: BuildOptions, pool_factory: Callable[[int, Groups], WorkerPool] = _Pool
) -> BuildResult:
    """Build into a staging folder through the step cache, then move it into place.

    The output folder is checked first (specc replaces only its own), then locked for the build.
    `pool_factory(num_proc, groups)` makes what runs the batches and global steps: worker
    processes here; a cluster executor passes its own (same `map`, `run_global`, `close`).
    """
    output_dir = options.output_dir or plan.spec.output_dir
    claim = partial(
        claim_output,
        output_dir,
        plan.spec.path,
        _protected(plan),
        where=_output_where(plan),
        replace_foreign=options.replace_foreign,
    )
    claim()  # refuse before anything is written, lock file included
    with output_lock(output_dir, wait=options.wait), StepCache(plan.cache_dir).in_use():
        recover(output_dir)
        return _build(plan, options, pool_factory, claim())


@dataclass
class _Outcome:
    """What a run's stages make for publishing, filled in stage by stage."""

    label_names: dict[str, list[str]]
    steps: list[dict[str, Any]] = field(default_factory=list)
    split_info: dict[str, Any] = field(default_factory=dict)
    split_order: list[str] = field(default_factory=list)
    evaluations: dict[str, Any] = field(default_factory=dict)
    unformatted: tuple[list[Path], pa.Schema | None] | None = None  # the rows before a format
    tokens: dict[str, Any] | None = None


def _split(run: _Run, out: _Outcome) -> None:
    out.split_info, out.split_order = run.split()


def _augment(run: _Run, out: _Outcome) -> None:
    out.steps += run.augment()


def _evaluate(run: _Run, out: _Outcome) -> None:
    out.evaluations = run.evaluate(out.label_names)


def _format(run: _Run, out: _Outcome) -> None:
    if run.plan.stage("format"):
        out.unformatted = (run.paths, run.schema)
        out.steps.append(run.format(out.label_names))


def _tokens(run: _Run, out: _Outcome) -> None:
    if run.plan.stage("tokens"):
        record, out.tokens = run.tokens(out.split_order)
        out.steps.append(record)


# How each kind of stage that is not a row stage runs; row stages (`Step` kinds) run as passes over batches.
_STAGE_RUNS: dict[str, Callable[[_Run, _Outcome], None]] = {
    "splitter": _split,
    "augmenter": _augment,
    "evaluator": _evaluate,
    "formatter": _format,
    "tokenizer": _tokens,
}


def _order() -> list[list[stages.Stage]]:
    """The stage table's pipeline after the sources, as the executor runs it: consecutive row stages together
    (their steps fuse into passes), each other stage alone, and a branch right after the stage it reads."""
    order: list[list[stages.Stage]] = []
    for stage in stages.pipeline()[1:]:
        if stage.reads is not None:
            continue
        if stage.rows and order and order[-1][0].rows:
            order[-1].append(stage)
        else:
            order.append([stage])
        order += [[branch] for branch in stages.pipeline() if branch.reads == stage.name]
    return order


def _steps(plan: Plan, turn: list[stages.Stage]) -> list[PlanStep]:
    return [step for stage in turn for step in plan.stage(stage.name)]


def _build(
    plan: Plan, options: BuildOptions, pool_factory: Callable[[int, Groups], WorkerPool], claim: Claim
) -> BuildResult:
    threading.Thread(target=_preload, args=(_OUTPUT_MODULES,), daemon=True).start()
    started = datetime.now(UTC)
    order = _order()
    for turn in order:
        if not turn[0].rows and turn[0].kind not in _STAGE_RUNS and plan.stage(turn[0].name):
            raise SpeccError(f"error: the local executor cannot run stage '{turn[0].name}' (kind '{turn[0].kind}')")
    passes = [_steps(plan, turn) for turn in order if turn[0].rows]
    batched = [g for steps in passes for g in _groups(steps) if _row_scoped(g[0])]
    batched += [[s] for s in plan.stage("format") + plan.stage("augment")]
    pool = pool_factory(options.num_proc, {g[0].id: [plan.instantiate(s) for s in g] for g in batched})
    staged = staging_dir(claim.path)
    try:
        run = _Run(plan, options, pool)
        sources, label_names = run.read_sources()
        out = _Outcome(label_names)
        for turn in order:
            if not turn[0].rows:
                if turn[0].kind in _STAGE_RUNS:
                    _STAGE_RUNS[turn[0].kind](run, out)
                continue
            out.steps += run.run_steps(_steps(plan, turn))
            annotating = [stage for stage in turn if issubclass(stage.base, Annotator)]
            annotators = [plan.instance(s, Annotator) for s in _steps(plan, annotating)]
            out.label_names = annotated_label_names(annotators, out.label_names)
        final = read_all(run.paths, run.schema)
        before = read_all(*out.unformatted) if out.unformatted is not None else None
        classification = before if _keeps_classification(plan) else None
        stats = options.publish(
            Staged(
                plan,
                final,
                staged,
                sources,
                out.steps,
                out.split_info,
                out.split_order,
                out.label_names,
                evaluations=out.evaluations,
                classification=classification,
                unformatted=before,
                tokens=out.tokens,
                report=options.report,
            )
        )
        options.report("moving the output into place")
        record = build_record(plan, options, started, run.timings)
        moved = publish(staged, claim, marker_text(plan.spec.path, claim.path))
        if options.output_dir is None:  # a --verify rebuild's scratch output has no record to keep
            path = record_path(plan.spec.dir, claim.path)
            path.parent.mkdir(parents=True, exist_ok=True)
            replace_text(path, json_text(record))
        if moved is not None:
            options.tell(f"moved {claim.path}, which specc did not make, aside to {moved} (--replace-foreign)")
        return BuildResult(stats, run.digests, record)
    except BaseException:
        discard(staged)
        raise
    finally:
        pool.close()
        forget_keys()
