"""Running a plan: options shared by every executor, what a run hands to publishing, and the build record."""

from __future__ import annotations

import platform
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from specc.progress import silent

if TYPE_CHECKING:
    import pyarrow as pa

    from specc.compiler import Plan
    from specc.components import Component, Step
    from specc.stats import BuildStats

# Worker groups: the components that run one unit's batches, by the id of the unit's first step.
Groups = dict[str, list["Component"]]
# A task: what runs one batch on the components of a group, (the rows, their statistics) back.
Task = Callable[[list["Component"], Any], tuple["pa.Table", Any]]

RECORDS = Path(".specc") / "builds"  # beside the spec: the build record of each output folder, by its name


def record_path(spec_dir: Path, output_dir: Path) -> Path:
    """Where the build record of `output_dir` goes: the spec's `.specc/builds/<output folder name>.json`.

    The record holds the build machine's facts (host, absolute paths, times), so it stays out of the output
    folder, which is published as it is.
    """
    return spec_dir / RECORDS / f"{output_dir.name}.json"


@dataclass(frozen=True)
class Staged:
    """A run's final rows and what it measured, handed to publishing to write the staging folder."""

    plan: Plan
    table: pa.Table  # the final rows with `_split`, in output order
    folder: Path  # the staging folder, moved into place after publishing
    sources: dict[str, Any]
    steps: list[dict[str, Any]]
    split_info: dict[str, Any]
    split_order: list[str]
    label_names: dict[str, list[str]]
    evaluations: dict[str, Any] | None = None  # the evaluators' results by step id
    classification: pa.Table | None = None  # the rows before formatting, kept as a second configuration
    unformatted: pa.Table | None = None  # with a format: the rows before it, for the counts per label
    tokens: dict[str, Any] | None = None  # the token counts of the format's `tokens:` budget
    report: Callable[[str], None] = silent  # where publishing sends its progress lines: `BuildOptions.report`


# Writes a run's output folder (data, stats.json, plots, card, Croissant) and checks it; returns the statistics.
Publish = Callable[[Staged], "BuildStats"]


@dataclass(frozen=True)
class BuildOptions:
    """How to run a build: what publishes it (`specc.publish.write_outputs` for `specc build`), and options
    that never change the output."""

    publish: Publish
    num_proc: int = 1
    executor: str = "local"
    progress: Callable[[str], None] | None = None
    output_dir: Path | None = None  # instead of the spec's (used by --verify)
    replace_foreign: bool = False  # move a folder specc did not make out of the output's way, never delete it
    wait: bool = False  # wait for another build of the same output instead of failing at once
    notify: Callable[[str], None] | None = None  # what the user must hear whether or not progress is shown
    executor_options: Mapping[str, Any] = field(default_factory=dict)  # the executor's Params, e.g. a cluster address

    def report(self, message: str) -> None:
        """Send a progress line to whoever listens."""
        if self.progress is not None:
            self.progress(message)

    def tell(self, message: str) -> None:
        """Send a notice the user must see (a folder moved aside) to whoever listens."""
        if self.notify is not None:
            self.notify(message)


class WorkerPool(Protocol):
    """Where an executor runs a build's work: `specc.executor.local.run_local(plan, options, factory)` calls
    `factory(num_proc, groups)` for one, and sends it every batch of row steps and every global step."""

    def map(self, task: Task, group: str, batches: Iterable[Any]) -> Iterator[tuple[pa.Table, Any]]:
        """`task(components of group, batch)` for each batch, results in input order."""
        ...

    def run_global(self, step: Step, paths: list[Path], schema: pa.Schema, stats: dict[str, Any]) -> pa.Table:
        """A global step's output on the whole input (the stage files `paths`), its statistics added to `stats`."""
        ...

    def close(self) -> None:
        """Stop whatever the pool started."""
        ...


@dataclass
class BuildResult:
    """What an executor hands back: the statistics, each unit's output digest, the build record."""

    stats: BuildStats
    digests: dict[str, dict[str, Any]] = field(default_factory=dict)
    record: dict[str, Any] = field(default_factory=dict)


def build_record(plan: Any, options: BuildOptions, started: datetime, units: list[dict[str, Any]]) -> dict[str, Any]:
    """The build record: when, where and how a build ran (never hashed, never in the card)."""
    from specc.version import __version__

    return {
        "specc_version": __version__,
        "spec": str(plan.spec.path),
        "fingerprint": plan.fingerprint,
        "started": started.isoformat(timespec="seconds"),
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
        "host": platform.node(),
        "python": platform.python_version(),
        "executor": options.executor,
        "num_proc": options.num_proc,
        "cache_dir": str(plan.cache_dir),
        "cache": {"hits": sum(u["cache"] == "hit" for u in units), "misses": sum(u["cache"] == "miss" for u in units)},
        "units": units,
    }
