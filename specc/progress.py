"""What a command shows while it works: stage lines, per-unit details with -v, row bars with an ETA on a terminal.

An executor holds `BuildOptions.progress`, any callable that takes a stage line; `unit_done` and
`row_bar` give a `Progress` (what `specc build` passes) the cache results and the rows of each
batch too, and do nothing for any other callable.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sized
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import IntEnum
from typing import IO, Any, TypeVar

T = TypeVar("T")

# A bar appears only when its step has run this long: short steps leave just their stage line.
BAR_DELAY_SECONDS = 1.0
BAR_REDRAW_SECONDS = 0.1  # at most this often


class Verbosity(IntEnum):
    """How much a command says besides its result and its errors."""

    QUIET = 0  # -q: errors and the result only
    NORMAL = 1  # stage lines and bars when stderr is a terminal
    VERBOSE = 2  # -v: stage lines anywhere, and details such as each unit's cache hit or miss and seconds


def shows_bars(stream: IO[str], verbosity: Verbosity, as_json: bool) -> bool:
    """Whether row bars are drawn: only on a terminal, never with -q or --json."""
    return verbosity >= Verbosity.NORMAL and not as_json and stream.isatty()


@dataclass
class Progress:
    """A command's progress on `stream`: call it with a stage line; it also counts the units' cache hits."""

    stream: IO[str]
    lines: bool = False  # stage lines
    details: bool = False  # detail lines (-v)
    bars: bool = False  # row bars (a terminal only)
    cache: dict[str, int] = field(default_factory=lambda: {"hits": 0, "misses": 0})
    started: float = field(default_factory=time.monotonic)

    @classmethod
    def on(cls, stream: IO[str], verbosity: Verbosity, as_json: bool = False) -> Progress:
        """The progress a command shows on `stream` at `verbosity` (stage lines off a terminal only with -v)."""
        bars = shows_bars(stream, verbosity, as_json)
        return cls(
            stream, lines=bars or verbosity is Verbosity.VERBOSE, details=verbosity is Verbosity.VERBOSE, bars=bars
        )

    def __call__(self, message: str) -> None:
        """Show a stage line, with the seconds since the command started."""
        if self.lines:
            self._write(message)

    def detail(self, message: str) -> None:
        """Show a detail line (with -v only)."""
        if self.details:
            self._write(f"  {message}")

    def unit(self, steps: list[str], cache: str, rows: int, seconds: float) -> None:
        """Count a finished unit of steps ("hit" or "miss" in the step cache) and show it as a detail."""
        self.cache["hits" if cache == "hit" else "misses"] += 1
        self.detail(f"{', '.join(steps)}: cache {cache}, {rows:,} rows, {seconds:.2f}s")

    def _write(self, message: str) -> None:
        self.stream.write(f"[{time.monotonic() - self.started:7.1f}s] {message}\n")
        self.stream.flush()


def silent(message: str) -> None:
    """Show nothing (the progress of a run nobody watches)."""


def unit_done(progress: Callable[[str], None] | None, steps: list[str], cache: str, rows: int, seconds: float) -> None:
    """Tell `progress` (when it is a `Progress`) that a unit finished."""
    if isinstance(progress, Progress):
        progress.unit(steps, cache, rows, seconds)


class RowBar:
    """Counts rows through a map over batches: `inputs` notes each batch's rows, `outputs` moves the bar one
    batch on per result (results come back in input order, so the bar follows the work done, not the work sent)."""

    def __init__(self, bar: Any = None):
        self._bar = bar
        self._sizes: deque[int] = deque()

    def inputs(self, batches: Iterable[T]) -> Iterator[T]:
        """`batches`, each one's rows noted."""
        for batch in batches:
            if self._bar is not None:
                self._sizes.append(len(batch) if isinstance(batch, Sized) else 1)
            yield batch

    def outputs(self, results: Iterable[T]) -> Iterator[T]:
        """`results`, the bar moved by their batch's rows as each arrives."""
        for result in results:
            if self._bar is not None and self._sizes:
                self._bar.update(self._sizes.popleft())
            yield result


@contextmanager
def row_bar(progress: Callable[[str], None] | None, total: int | None, unit: str = "rows") -> Iterator[RowBar]:
    """A `RowBar` drawn with tqdm (rows, rate and ETA) when `progress` shows bars; counting nothing otherwise."""
    if not (isinstance(progress, Progress) and progress.bars):
        yield RowBar()
        return
    from tqdm import tqdm

    with tqdm(
        total=total,
        unit=unit,
        unit_scale=True,
        file=progress.stream,
        leave=False,
        delay=BAR_DELAY_SECONDS,
        mininterval=BAR_REDRAW_SECONDS,
    ) as bar:
        yield RowBar(bar)
