"""Base classes of every component a spec names by `type:` (or `method:` for splitters)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, final

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from specc import known_plugins
from specc.errors import ParamError, SpeccError
from specc.minhash import CHAR_SHARE
from specc.paths import NOT_FINGERPRINTED

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

    from specc.compiler import Plan
    from specc.evaluation import LabelledRows
    from specc.executor import BuildOptions, BuildResult
    from specc.stats import BuildStats


Where = tuple[str | int, ...]  # keys and list indexes from a spec entry down to one of its values


class Params(BaseModel):
    """Parameters of a component; unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


AnyParams = Params  # `Params` inside a component class is its parameters' class


@dataclass(frozen=True)
class Context:
    """What a component instance knows about its place in the build."""

    step_id: str
    seed: int
    spec_dir: Path
    languages: tuple[str, ...] = ()
    cache_dir: Path | None = None
    pins: Mapping[str, Any] = field(default_factory=dict)
    allow_external_paths: bool = False

    def path(self, value: str) -> Path:
        """Resolve a path from the spec against the spec's folder (outside it only if the spec allows)."""
        from specc.paths import inside

        return inside(self.spec_dir, value, self.allow_external_paths)

    def files(self, pattern: str) -> list[Path]:
        """The files a path or glob pattern from the spec names, sorted (outside its folder only if the spec allows)."""
        from specc.paths import expand

        return expand(self.spec_dir, pattern, self.allow_external_paths)

    def row_seeds(self, ids: pa.Array | pa.ChunkedArray) -> np.ndarray:
        """A 64-bit random state per row from this step's seed and each row's `_id`."""
        from specc.rowhash import row_hashes

        return row_hashes(ids, self.seed)


class Component:
    """A named, versioned, typed building block registered through a plugin hook."""

    kind: ClassVar[str]
    name: ClassVar[str]
    version: ClassVar[int] = 1
    Params: ClassVar[type[Params]] = Params
    params: AnyParams  # an instance of the class's `Params`; each kind's base names its own

    def __init__(self, params: AnyParams, context: Context):
        self.params = params
        self.context = context

    def files(self) -> list[Path]:
        """Local files this component reads besides its input rows; their bytes are fingerprinted."""
        return []

    def pin(self, locked: Mapping[str, Any] | None) -> dict[str, Any]:
        """What pins the things this step reads from outside the spec, as JSON (the lock keeps it).

        By default the SHA-256 of each of `files()`. Steps that read a Hub model or tokenizer resolve
        its revision here once and return `locked` (the lock's pins of this step, None to resolve anew)
        while it still applies; the executor's instance finds the result in `self.context.pins`.
        """
        from specc.pins import file_pin

        files = self.files()
        return {"files": [file_pin(p, self.context.spec_dir) for p in files]} if files else {}

    def describe(self) -> dict[str, list[str]]:
        """Texts a reader needs besides the parameters (a formatter's templates per role), by name; the card and
        Croissant show them. None by default."""
        return {}

    @final
    def fail(self, message: str) -> SpeccError:
        """An error that names this step; raise what it returns."""
        return SpeccError(f"error: step '{self.context.step_id}' ({self.name}): {message}")

    @final
    def fail_at(self, where: Where, message: str) -> ParamError:
        """`fail` about the parameter at `where` in the step's entry: a build names its line in the spec."""
        return ParamError(str(self.fail(message)), self.context.step_id, where)

    def used_columns(self) -> list[str]:
        """Columns whose values this component reads: a null there in its input stops the build.

        By default the `column` and `columns` parameters (a name or a list of names); components whose
        parameters mean something else, or that decide about nulls themselves, override it.
        """
        used = []
        for name in ("column", "columns"):
            value = getattr(self.params, name, None)
            if isinstance(value, str):
                used.append(value)
            elif isinstance(value, list):
                used.extend(v for v in value if isinstance(v, str))
        return used

    def columns_read(self) -> dict[str, Where]:
        """Columns that must be in this component's input, each with where in its entry the spec names it.

        Where: the keys and list indexes inside the entry, such as `("columns", 0)`; `()` for a default the entry
        does not write. `specc validate`, `plan` and `build` check them against the columns the stages before
        leave, before any work starts. By default none, so nothing is reported for a component that does not say.
        """
        return {}

    def columns_after(self, columns: list[str]) -> list[str] | None:
        """The columns of this component's output given those of its input; None when only the data can tell.

        None (the default) stops the column checks of the stages after it: an unknown set of columns reports
        nothing.
        """
        return None

    @final
    def columns_named(self, *fields: str) -> dict[str, Where]:
        """The columns the given parameters name, each with where: the usual `columns_read`.

        A parameter may hold a name, a list of names or a mapping keyed by names (`fill-missing`'s `columns`).
        """
        named: dict[str, Where] = {}
        for name in fields:
            value = getattr(self.params, name, None)
            if isinstance(value, str):
                named.setdefault(value, (name,))
            elif isinstance(value, (list, dict)):
                for i, item in enumerate(value):
                    if isinstance(item, str):
                        named.setdefault(item, (name, item if isinstance(value, dict) else i))
        return named

    @final
    def column(self, table: pa.Table, name: str) -> pa.ChunkedArray:
        """A column of `table`, or a clear error listing the columns there are."""
        if name not in table.column_names:
            shown = ", ".join(c for c in table.column_names if not c.startswith("_"))
            raise self.fail(f"no column '{name}'; the columns are: {shown}")
        return table.column(name)


class ExplodeParams(Params):
    """One row per element of a list column; the parent's other columns are repeated."""

    column: str = Field(..., description="The list column (as the source reads it, before `columns:`).")
    prefix: str = Field("", description="Put before the field names of struct elements, which become columns.")


def _label_text(value: Any) -> Any:
    """A label name written as a whole number (`labels: [1, 3, 2]`) is kept as its text ("1", "3", "2")."""
    if isinstance(value, bool) or isinstance(value, float):
        raise ValueError(f"write this label in quotes, such as '{value}', so that it keeps the text you wrote")
    return str(value) if isinstance(value, int) else value


LabelName = Annotated[str, BeforeValidator(_label_text, json_schema_input_type=str | int)]


def _explode_shorthand(value: Any) -> Any:
    return {"column": value} if isinstance(value, str) else value


class SourceParams(Params):
    """Options shared by every source."""

    license: str = "unknown"
    homepage: Annotated[str | None, NOT_FINGERPRINTED] = Field(
        None, description="Where the source's data is described (a URL); the card's citation section links it."
    )
    citation: Annotated[str | None, NOT_FINGERPRINTED] = Field(
        None, description="How to cite the source (a BibTeX entry); the card's citation section shows it."
    )
    columns: dict[str, str] | None = None
    split: str | None = None
    labels: dict[str, list[LabelName]] | None = None
    # left out of the fingerprint when unset, so that specs without it keep their locks
    explode: Annotated[
        ExplodeParams | None,
        BeforeValidator(_explode_shorthand, json_schema_input_type=ExplodeParams | str | None),
    ] = Field(
        None,
        exclude_if=lambda value: value is None,
        description=(
            "Explode a list column into one row per element (before `columns:`): `_id` becomes "
            "`<parent _id>.<element index>` and `_parent_id` keeps the parent's."
        ),
    )

    # left out of the fingerprint when unset, so that specs without it keep their locks
    label_delimiter: dict[str, str] | None = Field(
        None,
        exclude_if=lambda value: value is None,
        description=(
            "Label columns (after `columns:`) whose text holds several labels, each with the string between them, "
            "such as {topics: '|'}: each becomes a list of labels (multi-label-classification)."
        ),
    )

    @field_validator("label_delimiter")
    @classmethod
    def _delimiters(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        for column, delimiter in (value or {}).items():
            if not delimiter:
                raise ValueError(f"the delimiter of '{column}' is empty; give the text between labels, such as '|'")
        return value

    @field_validator("homepage")
    @classmethod
    def _homepage_is_a_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("https://", "http://")):
            raise ValueError(f"'{value}' is not a URL; give the address of the source's page (https://…)")
        return value


@dataclass(frozen=True)
class Location:
    """Where a source row is: its file as shown to users, and its line (text files) or row index (others)."""

    file: str | None = None
    line: int | None = None
    row: int | None = None

    def __str__(self) -> str:
        """`file:line`, `file (row index N)`, `file`, or '' when nothing is known."""
        if self.file is None:
            return ""
        if self.line is not None:
            return f"{self.file}:{self.line}"
        return self.file if self.row is None else f"{self.file} (row index {self.row})"


class Source(Component):
    """Reads rows from outside; the executor adds `_id`, `_source` and `_split`."""

    kind = "source"
    Params = SourceParams
    params: SourceParams

    def used_columns(self) -> list[str]:
        """None: a source makes columns, it reads none."""
        return []

    def header(self) -> list[str] | None:
        """The source's own column names, or None when only reading all of its data could tell.

        Read cheaply: a header, a schema, the first records, never the whole data. The column checks before a
        build start from them.
        """
        return None

    def mentions(self, column: str) -> bool:
        """Whether data beyond what `header()` read may hold `column` (a header taken from the first records)."""
        return False

    def columns_read(self) -> dict[str, Where]:
        """The columns of its own data that `explode:` and `columns:` name (checked against `header()`)."""
        explode = self.params.explode
        if explode is not None:  # the columns the elements bring are known only from the data
            return {explode.column: ("explode", "column")}
        return {column: ("columns", out) for out, column in (self.params.columns or {}).items()}

    def columns_after(self, columns: list[str]) -> list[str] | None:
        """Its rows' columns once `explode:` and `columns:` apply (unknown after `explode:` without `columns:`)."""
        if self.params.columns is not None:
            return list(self.params.columns)
        return None if self.params.explode is not None else columns

    def locate(self, position: int) -> Location:
        """Where the row at `position` (0-based over all files in reading order, as in `_id`) is.

        Called on the error path only: sources read their files again to find it. By default
        nothing is known beyond the `_id`.
        """
        return Location()

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

    def read(self) -> Iterator[pa.RecordBatch | pa.Table]:
        """Yield the source's rows with its own column names."""
        raise NotImplementedError

    def info(self) -> dict[str, Any]:
        """What reading measured, as JSON, once `read()` is done (stats.json keeps it with the source); {} by default."""
        return {}

    def label_names(self) -> dict[str, list[str]]:
        """Class names per label column, index = label id."""
        return dict(self.params.labels or {})


@dataclass
class StepResult:
    """The rows a step kept (in input order), a drop mask over its input per reason, and extra statistics.

    `info` (JSON values) goes into the step's record in stats.json under "info"; for row steps the
    batches' infos are combined by `specc.executor.tables.merge_info` (numbers add up). A step that
    fills missing values reports `info["filled"]` = {column: rows filled}, which the card shows.
    """

    table: pa.Table
    dropped: dict[str, pa.Array | pa.ChunkedArray] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)


class Step(Component):
    """A clean step: `row` steps see batches independently, `global` steps the whole table."""

    kind = "step"
    scope: ClassVar[Literal["row", "global"]] = "row"

    def apply(self, table: pa.Table) -> StepResult:
        """Transform or filter `table`."""
        raise NotImplementedError

    def partition_key(self, table: pa.Table) -> list[pa.ChunkedArray | pa.Array] | None:
        """Key columns of a global step that only drops rows, deciding each from the rows sharing its key.

        A cluster executor then hash-partitions the rows by these keys, applies the step to each
        partition in input order and keeps the input's rows minus those dropped (`table.filter`).
        None (the default): the step needs the whole table at once.
        """
        return None

    @final
    def keep(self, table: pa.Table, mask: Any, reason: str) -> StepResult:
        """Keep the rows where `mask` is true; the others are dropped for `reason`."""
        import pyarrow.compute as pc

        mask = pc.fill_null(mask, False)
        return StepResult(table.filter(mask), {reason: pc.invert(mask)})


class Annotator(Step):
    """Adds or changes labels; runs after clean, before the split."""

    kind = "annotator"

    def used_columns(self) -> list[str]:
        """None: annotators have their own rules for rows without a value (`unlabeled`, `pending`)."""
        return []

    def label_names(self) -> dict[str, list[str]]:
        """Class names per label column this step writes as ids (index = id); the output's ClassLabel."""
        return {}


class Imputer(Step):
    """Fills or rewrites values after the split, learning what it needs from the training rows only.

    It sees every row with its `_split` (`training_rows` picks those it may learn from) and runs on the whole
    table at once, after the split and before augmentation, so no statistic of a validation or test row leaks.
    """

    kind = "imputer"
    scope = "global"

    def training_rows(self, table: pa.Table) -> tuple[pa.Table, list[str]]:
        """The rows of the training split (`train`; under k-fold every fold, all rows but test) and its names."""
        import pyarrow as pa
        import pyarrow.compute as pc

        from specc.counts import value_counts

        present = sorted(value_counts(table.column("_split")))
        names = ["train"] if "train" in present else [s for s in present if s.startswith("fold_")]
        if not names:
            raise self.fail(
                f"the data has no training split to learn from (its splits: {', '.join(present)}); name one "
                f"`train`, or fill with a value instead"
            )
        chosen = pc.fill_null(pc.is_in(table.column("_split"), value_set=pa.array(names, pa.string())), False)
        return table.filter(chosen), names


class NearParams(BaseModel):
    """How the leakage report finds near-duplicate pairs: Jaccard similarity of n-gram sets."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    threshold: float = Field(
        0.8, gt=0, le=1, description="Pairs with Jaccard similarity at least this are near duplicates."
    )
    unit: Literal["auto", "word", "char"] = Field(
        "auto",
        description="Compare word or character n-grams. auto: characters when the spec's languages "
        "include one written without spaces (zh, ja, ko, th, …) or, failing that, when at least "
        f"{CHAR_SHARE:.0%} of the letters in a sample of the texts are in such a script; words otherwise "
        "(as the near-dedup step decides).",
    )
    ngram: int | None = Field(None, ge=1, le=64, description="Units per n-gram; default 3 words or 5 characters.")
    num_perm: int = Field(128, ge=16, le=1024, description="MinHash permutations used to find candidate pairs.")


class LeakageParams(Params):
    """Limits on rows shared between splits; the build fails with the report when one is exceeded."""

    max_exact: int | None = Field(None, ge=0, description="Most exact-duplicate pairs allowed across splits.")
    max_near: int | None = Field(None, ge=0, description="Most near-duplicate pairs allowed across splits.")
    near: NearParams | None = Field(
        None,
        description="Also count near-duplicate pairs across splits, found this "
        "way (default settings when only max_near is given).",
    )


class SplitterParams(Params):
    """Options shared by every splitter."""

    leakage: LeakageParams = Field(
        default_factory=LeakageParams, description="Fail the build when splits share more rows than this."
    )


class Splitter(Component):
    """Assigns each row to a split."""

    kind = "splitter"
    Params = SplitterParams
    params: SplitterParams

    def split_names(self) -> list[str]:
        """The splits this splitter can assign, in output order (ratio keys when it has ratios)."""
        return list(getattr(self.params, "ratios", {}))

    def assign(self, table: pa.Table) -> pa.Array:
        """One split name per row of `table`."""
        raise NotImplementedError

    def columns_after(self, columns: list[str]) -> list[str] | None:
        """The input's columns: a splitter only assigns each row's `_split`."""
        return columns

    def configurations(self) -> dict[str, dict[str, list[str]]]:
        """Output configurations built from the assigned splits (k-fold), or {} for one default."""
        return {}

    def split_info(self, table: pa.Table) -> dict[str, Any]:
        """Facts about the split of `table` for stats.json's `split` (such as `bins`), or {}."""
        return {}


class AugmenterParams(Params):
    """Where and how much an augmenter works: splits, share of rows, copies per row, columns."""

    allow_eval: bool = Field(
        False, description="Allow augmenting splits other than train (validation, test); the card flags it."
    )
    splits: list[str] = Field(
        ["train"],
        min_length=1,
        description="The splits whose rows are augmented; new rows stay in the split of the row they came from.",
    )
    fraction: float = Field(
        1.0,
        gt=0,
        le=1,
        description="The share of rows augmented, each row chosen by its own random state (step seed and `_id`).",
    )
    copies: int = Field(1, ge=1, le=100, description="New rows made from each chosen row.")
    columns: list[str] = Field(
        ["text"], min_length=1, description="The text columns the augmenter changes; the other columns are copied."
    )

    @field_validator("splits")
    @classmethod
    def _eval_needs_consent(cls, value: list[str], info: ValidationInfo) -> list[str]:
        others = [split for split in value if split != "train"]
        if others and not info.data.get("allow_eval"):
            raise ValueError(
                f"augmenting '{others[0]}' puts made-up rows into a split that evaluates models; "
                f"augment train only, or set `allow_eval: true` (the card then says so)"
            )
        return value


class Augmenter(Component):
    """Makes new rows from rows of some splits; new rows carry `_origin_id` and `_augmenter`.

    The executor picks the rows (`splits`, `fraction`), repeats each `copies` times with `_seed`, a
    random state per copy, and hands them to `augment` in batches, in worker processes.
    """

    kind = "augmenter"
    Params = AugmenterParams
    params: AugmenterParams

    def fit(self, table: pa.Table) -> bytes | None:
        """Learn from `table` (the train split's source rows) once, in the main process; the state as bytes, or None."""
        return None

    def load(self, state: bytes) -> None:
        """Take the state `fit` returned, in each process that augments, before `augment`."""

    def warm_up(self) -> None:
        """Import what `augment` needs; each worker does it as it starts, while the earlier stages run."""

    def augment(self, table: pa.Table) -> pa.Table:
        """New rows made from `table` (same columns, one row per copy to make), each with `_origin_id`."""
        raise NotImplementedError

    def info(self) -> dict[str, Any]:
        """What the last `augment` call measured, as JSON for the step's info (numbers add up over the batches)."""
        return {}

    def columns_read(self) -> dict[str, Where]:
        """The `columns` it changes."""
        return self.columns_named("columns")

    def columns_after(self, columns: list[str]) -> list[str] | None:
        """The input's columns: new rows have the columns of the rows they come from."""
        return columns


class FormatterParams(Params):
    """Options shared by every formatter."""

    keep_columns: list[str] = Field([], description="Columns carried over beside the formatted ones.")
    keep_classification: bool = Field(
        False,
        description=(
            "Also write the rows as they were before formatting, as the output's configuration `classification`."
        ),
    )


class Formatter(Component):
    """Turns rows into the layout a trainer reads."""

    kind = "formatter"
    Params = FormatterParams
    params: FormatterParams
    # class names per label column (index = label id); the executor sets them before `format`
    label_names: dict[str, list[str]] = {}

    def format(self, table: pa.Table) -> pa.Table:
        """The formatted rows; `_id` and `_split` must be kept."""
        raise NotImplementedError

    def columns_read(self) -> dict[str, Where]:
        """The `keep_columns`."""
        return self.columns_named("keep_columns")

    def llama_factory(self) -> dict[str, Any] | None:
        """LLaMA-Factory's `formatting`, `columns` and `tags` for this layout (dataset_info.json), or None."""
        return None


class TokenBudget(Params):
    """`tokens:` of the format section: count each formatted row's tokens and hold rows to a budget."""

    type: str = Field(
        "transformers",
        description="The token counter that reads `tokenizer` (`specc plugins` "
        "lists the installed ones under `tokenizer`).",
    )
    tokenizer: str = Field(
        description="The tokenizer: a folder relative to the spec's folder, or a Hugging Face "
        "Hub repo id pinned to a commit in the lock."
    )
    revision: str | None = Field(None, description="For a Hub tokenizer: a branch, tag or commit SHA (default main).")
    max_tokens: int = Field(ge=1, description="The most tokens a row may have, prompt and completion together.")
    action: Literal["drop", "truncate", "error"] = Field(
        "drop",
        description="What happens to a row over the budget: drop it (counted as a drop reason), truncate "
        "its completion (the last assistant turn) at a token boundary, or fail the build naming its `_id`.",
    )

    @model_validator(mode="after")
    def _counter_takes_it(self, info: ValidationInfo) -> TokenBudget:
        from pydantic import ValidationError

        registry = (info.context or {}).get("registry")  # the spec's (specc.spec.load_spec passes it)
        if registry is None:  # validated outside a spec: the spec checked its counter when it was loaded
            return self
        installed = registry.names("tokenizer")
        if self.type not in installed:
            raise ValueError(
                known_plugins.install_hint("tokenizer", self.type)
                or f"no token counter '{self.type}' is installed (installed: {', '.join(installed) or 'none'})"
            )
        model = registry.get("tokenizer", self.type).cls.Params
        if not isinstance(self, model):
            try:
                model.model_validate(self.model_dump(), context=info.context)
            except ValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(str(part) for part in first["loc"])
                raise ValueError(f"{where}: {first['msg']}".removeprefix(": ")) from None
        return self


class TokenCounter(Component):
    """Counts the tokens of formatted rows, prompt and completion apart, and cuts rows to a token budget.

    The rows are those of the format stage (`messages`, `conversations`, `prompt`/`completion` or
    `instruction`/`input`/`output`; `specc.tokens` finds the layout). The executor counts every row,
    then drops, truncates or fails on the rows over `max_tokens` (see `specc.tokens.apply_budget`).
    """

    kind = "tokenizer"
    Params = TokenBudget
    params: TokenBudget

    def count(self, table: pa.Table) -> dict[str, np.ndarray]:
        """Tokens per row: {"prompt": int64 array, "completion": int64 array}, one value per row of `table`."""
        raise NotImplementedError

    def truncate(self, table: pa.Table, over: np.ndarray, max_tokens: int) -> pa.Table:
        """`table` with the completion of each row where `over` is true cut at a token boundary to fit `max_tokens`.

        Rows whose prompt alone is over the budget may stay over; the executor drops them.
        """
        raise NotImplementedError

    def shown(self) -> str:
        """The tokenizer for people (the card): a folder, or a Hub repo at its commit."""
        return self.params.tokenizer


class EvaluatorParams(Params):
    """Options shared by every evaluator: the columns, the split to train on and the splits to score."""

    text: str = Field("text", description="The text column the baseline reads.")
    label: str = Field("label", description="The label column it predicts.")
    train: str | list[str] = Field(
        "train", description="The split it trains on, or several (with k-fold: the folds, or the folds but one)."
    )
    splits: list[str] = Field(["validation", "test"], description="The splits it scores (those present).")


class Evaluator(Component):
    """A baseline classifier trained and scored on the built splits; the card reports its scores."""

    kind = "evaluator"
    Params = EvaluatorParams
    params: EvaluatorParams

    def used_columns(self) -> list[str]:
        """The text and the label column."""
        return [self.params.text, self.params.label]

    def columns_read(self) -> dict[str, Where]:
        """The text and the label column."""
        return self.columns_named("text", "label")

    def evaluate(self, table: pa.Table, label_names: dict[str, list[str]]) -> dict[str, Any]:
        """Scores on `table` (every row after augment, before format, with `_split`): `evaluation_report`, or `regression_report`."""
        if self.regression():
            from specc.regression import train_and_score_regression

            return train_and_score_regression(
                table, self.params, lambda train, splits: self.predict(train, [], splits), self.fail
            )
        from specc.evaluation import train_and_score
        from specc.multilabel import is_list, train_and_score_sets

        label = self.params.label
        if label in table.column_names and is_list(table.schema.field(label).type):  # multi-label
            return train_and_score_sets(table, label_names, self.params, self.predict, self.fail)
        return train_and_score(table, label_names, self.params, self.predict, self.fail)

    def regression(self) -> bool:
        """Whether it predicts a number per row (`label` a numeric target, `names` empty), not a class."""
        return False

    def predict(self, train: LabelledRows, names: list[str], splits: dict[str, LabelledRows]) -> dict[str, Any]:
        """Predicted label ids per split of `splits`, after training on `train` (`names[i]` is class i); numbers for
        a regression target.

        For a multi-label column, `labels` and the predictions are boolean rows × names matrices.
        """
        raise NotImplementedError


class CardSection(Component):
    """A section of the dataset card; sections render in `order`."""

    kind = "card_section"
    order: ClassVar[int] = 500
    title: ClassVar[str] = ""

    def render(self, card: CardData) -> str | None:
        """Markdown for this section, or None to leave it out.

        `card.stats` is the typed `BuildStats` (`specc.plugin.BuildStats`): read attributes
        (`card.stats.steps[0].rows_out`); a step's `params` and `info` and an evaluator's result stay dicts.
        """
        raise NotImplementedError


@dataclass(frozen=True)
class CardData:
    """Everything a card section may show: the spec and the build's statistics (`specc.stats.BuildStats`)."""

    spec: Any
    stats: BuildStats


class Resources(Params):
    """What each worker running a step reserves on a cluster: how the step runs, never what it outputs."""

    num_cpus: float | None = Field(None, gt=0, description="CPUs per worker (cluster executors); default 1.")
    num_gpus: float | None = Field(
        None, ge=0, description="GPUs per worker, for model steps (cluster executors); default 0."
    )


class Executor(Component):
    """Runs a compiled plan and writes its output."""

    kind = "executor"

    def run(self, plan: Plan, options: BuildOptions) -> BuildResult:
        """Build `plan` as `options` say (an executor on its own pool calls `specc.plugin.run_local`).

        One that writes its output itself hands the final rows to `options.publish(Staged(...))` before it moves
        the staging folder into place: that writes the data files, stats.json, the card and Croissant, and checks
        them.
        """
        raise NotImplementedError
