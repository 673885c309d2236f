"""Base classes of every component a spec names by `type:` (or `method:` for splitters)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Iterator, Literal, Mapping

from pydantic import BaseModel, ConfigDict, Field

from specc.errors import SpeccError
from specc.leakage import NearParams

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa


class Params(BaseModel):
    """Parameters of a component; unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True)
class Context:
    """What a component instance knows about its place in the build."""

    step_id: str
    seed: int
    spec_dir: Path
    languages: tuple[str, ...] = ()
    cache_dir: Path | None = None
    pins: Mapping[str, Any] = field(default_factory=dict)

    def path(self, value: str) -> Path:
        """Resolve a path from the spec against the spec's folder."""
        return (self.spec_dir / value).resolve()

    def files(self, pattern: str) -> list[Path]:
        """The files a path or glob pattern from the spec names, sorted."""
        from specc.spec.paths import expand

        return expand(self.spec_dir, pattern)

    def row_seeds(self, ids: "pa.Array | pa.ChunkedArray") -> "np.ndarray":
        """A 64-bit random state per row from this step's seed and each row's `_id`."""
        from specc.rowhash import row_hashes

        return row_hashes(ids, self.seed)


class Component:
    """A named, versioned, typed building block registered through a plugin hook."""

    kind: ClassVar[str]
    name: ClassVar[str]
    version: ClassVar[int] = 1
    Params: ClassVar[type[Params]] = Params

    def __init__(self, params: Params, context: Context):
        self.params = params
        self.context = context

    def files(self) -> list[Path]:
        """Local files this component reads besides its input rows; their bytes are fingerprinted."""
        return []

    def fail(self, message: str) -> SpeccError:
        """An error that names this step; raise what it returns."""
        return SpeccError(f"error: step '{self.context.step_id}' ({self.name}): {message}")

    def column(self, table: "pa.Table", name: str) -> "pa.ChunkedArray":
        """A column of `table`, or a clear error listing the columns there are."""
        if name not in table.column_names:
            shown = ", ".join(c for c in table.column_names if not c.startswith("_"))
            raise self.fail(f"no column '{name}'; the columns are: {shown}")
        return table.column(name)


class SourceParams(Params):
    """Options shared by every source."""

    license: str = "unknown"
    columns: dict[str, str] | None = None
    split: str | None = None
    labels: dict[str, list[str]] | None = None


class Source(Component):
    """Reads rows from outside; the executor adds `_id`, `_source` and `_split`."""

    kind = "source"
    Params = SourceParams

    def files(self) -> list[Path]:
        """The local files this source reads, in reading order (pinned by hash)."""
        return []

    def pin(self, locked: Mapping[str, Any] | None) -> dict[str, Any]:
        """What pins this source's data, as JSON; `locked` is the lock's pins (None to resolve anew).

        Local files are hashed every time. Remote sources resolve a revision or download once,
        and return `locked` unchanged while it still applies to their parameters. `read()`
        finds the result in `self.context.pins`.
        """
        from specc.pins import file_pin

        return {"files": [file_pin(p, self.context.spec_dir) for p in self.files()]}

    def read(self) -> Iterator["pa.RecordBatch | pa.Table"]:
        """Yield the source's rows with its own column names."""
        raise NotImplementedError

    def label_names(self) -> dict[str, list[str]]:
        """Class names per label column, index = label id."""
        return dict(self.params.labels or {})


@dataclass
class StepResult:
    """The rows a step kept (in input order) and a drop mask over its input per reason."""

    table: "pa.Table"
    dropped: dict[str, "pa.Array | pa.ChunkedArray"] = field(default_factory=dict)


class Step(Component):
    """A clean step: `row` steps see batches independently, `global` steps the whole table."""

    kind = "step"
    scope: ClassVar[Literal["row", "global"]] = "row"

    def apply(self, table: "pa.Table") -> StepResult:
        """Transform or filter `table`."""
        raise NotImplementedError

    def keep(self, table: "pa.Table", mask: Any, reason: str) -> StepResult:
        """Keep the rows where `mask` is true; the others are dropped for `reason`."""
        import pyarrow.compute as pc

        mask = pc.fill_null(mask, False)
        return StepResult(table.filter(mask), {reason: pc.invert(mask)})


class Annotator(Step):
    """Adds or changes labels; runs after clean, before the split."""

    kind = "annotator"


class LeakageParams(Params):
    """Limits on rows shared between splits; the build fails with the report when one is exceeded."""

    max_exact: int | None = Field(None, ge=0, description="Most exact-duplicate pairs allowed across splits.")
    max_near: int | None = Field(None, ge=0, description="Most near-duplicate pairs allowed across splits.")
    near: NearParams | None = Field(None, description="Also count near-duplicate pairs across splits, found this "
                                    "way (default settings when only max_near is given).")


class SplitterParams(Params):
    """Options shared by every splitter."""

    leakage: LeakageParams = Field(default_factory=LeakageParams,
                                   description="Fail the build when splits share more rows than this.")


class Splitter(Component):
    """Assigns each row to a split."""

    kind = "splitter"
    Params = SplitterParams

    def split_names(self) -> list[str]:
        """The splits this splitter can assign, in output order (ratio keys when it has ratios)."""
        return list(getattr(self.params, "ratios", {}))

    def assign(self, table: "pa.Table") -> "pa.Array":
        """One split name per row of `table`."""
        raise NotImplementedError

    def configurations(self) -> dict[str, dict[str, list[str]]]:
        """Output configurations built from the assigned splits (k-fold), or {} for one default."""
        return {}


class AugmenterParams(Params):
    """Options shared by every augmenter."""

    splits: list[str] = ["train"]


class Augmenter(Component):
    """Makes new rows from rows of some splits; new rows carry `_origin_id` and `_augmenter`."""

    kind = "augmenter"
    Params = AugmenterParams

    def augment(self, table: "pa.Table") -> "pa.Table":
        """New rows made from `table` (same columns), each with `_origin_id`."""
        raise NotImplementedError


class Formatter(Component):
    """Turns rows into the layout a trainer reads."""

    kind = "formatter"

    def format(self, table: "pa.Table") -> "pa.Table":
        """The formatted rows; `_id` and `_split` must be kept."""
        raise NotImplementedError


class CardSection(Component):
    """A section of the dataset card; sections render in `order`."""

    kind = "card_section"
    order: ClassVar[int] = 500
    title: ClassVar[str] = ""

    def render(self, card: "CardData") -> str | None:
        """Markdown for this section, or None to leave it out."""
        raise NotImplementedError


@dataclass(frozen=True)
class CardData:
    """Everything a card section may show: the spec and the build's statistics."""

    spec: Any
    stats: dict[str, Any]


class Executor(Component):
    """Runs a compiled plan and writes its output."""

    kind = "executor"

    def run(self, plan: Any, options: Any) -> Any:
        """Build `plan`; return a `specc.executor.BuildResult`."""
        raise NotImplementedError
