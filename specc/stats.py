"""Typed build statistics: one pydantic model of what a build measured, written as stats.json.

Fields are declared in the order stats.json lists them; a section a build did not make (tokens,
evaluation, the classification configuration …) is left unset and so left out of the file.
Plugin-owned parts (step parameters and info, evaluator results) stay `dict[str, Any]`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from specc.errors import SpeccError

STATS_VERSION = 1
STATS_FILE = "stats.json"
CLASSIFICATION = "classification"  # the configuration of the rows before formatting

Counts = dict[str, int]


class _Known(BaseModel):
    """A part of the statistics whose every key specc writes itself."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)


class PluginInfo(_Known):
    """A plugin the build used."""

    name: str
    """The plugin's name (its entry point in the group `specc`)."""
    distribution: str
    """The distribution that installed it."""
    version: str
    """The distribution's version."""


class Build(_Known):
    """What made the build."""

    specc_version: str
    """The version of specc that built the data."""
    spec_sha256: str
    """SHA-256 of the spec file's bytes."""
    command: str
    """The command that rebuilds the same bytes from the lock."""
    plugins: list[PluginInfo]
    """The plugins whose components the spec uses."""
    fingerprint: str
    """The plan's fingerprint: same spec, lock and plugin versions, same fingerprint."""


class FilePin(_Known):
    """One file a source read, pinned by digest and size."""

    path: str
    """The file, relative to the spec's folder."""
    sha256: str
    """SHA-256 of its bytes."""
    size: int
    """Its size in bytes."""


class Explode(_Known):
    """A source's `explode:`: the list column spread into one row per item."""

    column: str
    """The list column spread into rows."""
    rows_before: int
    """Rows before exploding."""
    rows_after: int
    """Rows after: one per list item."""
    empty: int
    """Rows whose list was empty (they give no row)."""


class Source(_Known):
    """One source: its type, license, rows read and pins (Hub repository and commit, URL address …)."""

    type: str
    """The source's `type:`."""
    license: str | None
    """The license the spec states for the source."""
    split: str | None
    """The split its rows belong to (`split:`), or null."""
    pins: dict[str, Any]
    """What pins the data read from outside the spec: a Hub repository and commit, a URL and its digest."""
    files: list[FilePin]
    """Each local file read, with its digest and size."""
    rows: int
    """Rows read."""
    explode: Explode | None = None
    """The `explode:` of a nested source."""
    info: dict[str, Any] | None = None
    """What the source measured while reading (its `Source.info()`), when it says anything."""


class SourceRows(_Known):
    """A step's rows of one source."""

    rows_in: int
    """Rows of the source the step received."""
    rows_out: int
    """Rows of the source the step kept."""
    dropped: Counts
    """Rows of the source dropped, by reason."""


class Step(_Known):
    """One step's rows in and out, dropped and added rows by reason; `info` is the component's own report."""

    id: str
    """The step's id (`clean.dedup`, `split`, `format` …)."""
    stage: str
    """Its stage in the pipeline."""
    type: str
    """Its `type:` (or `method:`)."""
    params: dict[str, Any]
    """Its parameters as validated (the plugin's own shape)."""
    rows_in: int
    """Rows it received."""
    rows_out: int
    """Rows it passed on."""
    dropped: Counts
    """Rows it dropped, by reason."""
    added: Counts | None = None
    """Rows it added, by reason (augmenters)."""
    by_source: dict[str, SourceRows]
    """The same counts per source."""
    info: dict[str, Any] | None = None
    """The component's own report (the plugin's own shape)."""
    texts: dict[str, list[str]] | None = None
    """The texts the component shows readers, by name (a formatter's templates per role): its `describe()`."""
    pins: dict[str, Any] | None = None
    """What the lock pins for the step (model revisions, file digests)."""


class LeakagePair(_Known):
    """Texts shared by two splits, exactly and (when asked) nearly."""

    exact_pairs: int
    """Pairs of rows, one in each split, whose compared texts are equal."""
    exact_rows: Counts
    """Rows of each split that share a text with the other."""
    exact_texts: int
    """Distinct texts found in both splits."""
    examples: list[dict[str, Any]]
    """A few shared texts with the rows' ids."""
    near_examples: list[dict[str, Any]] | None = None
    """A few near-duplicate pairs with their similarity."""
    near_pairs: int | None = None
    """Pairs of rows that are near duplicates (MinHash), when asked."""
    near_rows: Counts | None = None
    """Rows of each split with a near duplicate in the other."""


class Leakage(_Known):
    """The leakage report between the splits."""

    columns: list[str]
    """The columns whose text is compared."""
    rows: Counts
    """Rows per split compared."""
    pairs: dict[str, LeakagePair]
    """The report per pair of splits (`train/test` …)."""
    total: dict[str, int]
    """Totals over all pairs."""
    near: dict[str, Any] | None
    """The near-duplicate settings (threshold, unit, n-gram size, permutations), or null when not asked."""


class LabelSets(_Known):
    """A multi-label column of one split: its label sets' size and which labels share rows."""

    rows: int
    """Rows with a list of labels (an empty list included)."""
    cardinality: float
    """Mean labels per row (label cardinality), rounded to 4 decimals."""
    co_occurrence: dict[str, Counts]
    """Label -> each other label -> rows holding both (pairs that never meet are left out)."""


class SplitCounts(_Known):
    """One output split's rows, by source and by label (counted before any format)."""

    rows: int
    """Rows in the split."""
    by_source: Counts
    """Rows per source."""
    by_label: dict[str, Counts]
    """Rows per class of each label column (of each label, for a multi-label column)."""
    label_sets: dict[str, LabelSets] | None = None
    """Each multi-label column's label sets (absent without one)."""


class Bins(_Known):
    """Quantile bins of a numeric column a split stratified on."""

    column: str
    """The binned column."""
    count: int
    """Bins used (equal quantiles merge, so at most the `bins:` asked for)."""
    edges: list[float]
    """The inner edges: bin i holds edges[i-1] < value <= edges[i]."""
    rows: list[int]
    """Rows per bin before the split."""


class Target(_Known):
    """The regression target (`task: text-regression`): each split's summary."""

    column: str
    """The target column."""
    splits: dict[str, dict[str, Any]]
    """Per split: rows, mean, std and quantiles (keys 0, 0.1, 0.25, 0.5, 0.75, 0.9, 1)."""


class Split(_Known):
    """How the rows were split, the configurations (k-fold), the leakage and each split's counts."""

    method: str | None
    """The splitter's `method:`, or null without a split."""
    seed: int | None
    """The seed the split used, or null when it draws nothing."""
    params: dict[str, Any]
    """The splitter's parameters (the plugin's own shape)."""
    configurations: dict[str, dict[str, list[str]]] | None = None
    """Configuration name -> split -> the output splits it is made of (k-fold)."""
    bins: Bins | None = None
    """The quantile bins of a numeric target the split stratified on, when it did."""
    leakage: Leakage
    """Texts shared between splits."""
    splits: dict[str, SplitCounts]
    """Each output split's counts."""


class Output(_Known):
    """One written Parquet file."""

    split: str
    """The split the file holds."""
    path: str
    """The file, relative to the output folder."""
    rows: int
    """Rows in the file."""
    sha256: str
    """SHA-256 of its bytes (the lock pins it)."""
    num_bytes: int
    """Its size in bytes."""


class LicenseReport(_Known):
    """The data set's license and its sources' (`specc.licenses.license_report`)."""

    license: str
    """The data set's license."""
    sources: dict[str, str | None]
    """Each source's license."""
    conflicts: list[Any]
    """Sources whose license the data set's license breaks, with the terms broken."""
    override: Any
    """The spec's `license_override` (its reason and the sources it covers), or null."""
    unknown: list[str]
    """Sources whose license is `unknown`."""
    other: list[Any]
    """Sources whose license is `other`."""


class Plot(_Known):
    """One PNG the card links."""

    path: str
    """The PNG, relative to the output folder."""
    title: str
    """Its title."""
    kind: str
    """What it shows: `labels`, `length`, `target` or `confusion`."""
    column: str | None = None
    """The column it describes."""
    split: str | None = None
    """The split it describes, when one."""
    alt: str
    """Its alternative text: the numbers it shows, in words."""


class Length(_Known):
    """Rows and min, median, 95th percentile, max and mean of a length (characters or tokens)."""

    rows: int
    """Rows measured."""
    min: int | None = None  # all five absent when the split has no rows
    """The shortest."""
    median: float | None = None
    """The median."""
    p95: float | None = None
    """The 95th percentile."""
    max: int | None = None
    """The longest."""
    mean: float | None = None
    """The mean."""


class Tokens(_Known):
    """The format's token budget: tokenizer, limit, rows over it and token counts per split."""

    tokenizer: str
    """The tokenizer (a folder beside the spec, or a Hub repository at a commit)."""
    max_tokens: int
    """The budget per row."""
    action: str
    """What happens to a row over the budget: `truncate`, `drop` or `error`."""
    over_budget: Counts
    """Rows over the budget, per split."""
    splits: dict[str, dict[str, Length]]
    """Token counts per split: of the prompt, the completion and the total."""
    truncated: Counts | None = None
    """Rows truncated to the budget, per split."""


class Classification(_Known):
    """The rows before formatting, written as a second configuration."""

    features: dict[str, Any]
    """The features of the rows before formatting."""
    outputs: list[Output]
    """Their Parquet files, under `data/classification/`."""


class DataView(_Known):
    """One family of configurations the build wrote: its features, its files and how they form configurations."""

    features: dict[str, Any]
    """The configurations' features (datasets' `Features.to_dict()`)."""
    outputs: list[Output]
    """Their Parquet files."""
    configurations: dict[str, dict[str, list[str]]]
    """Configuration name -> split -> the output splits it is made of."""


class BuildStats(_Known):
    """Everything a build measured: written as stats.json, read by the card, Croissant and the self-checks."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, use_attribute_docstrings=True)

    stats_version: int = Field(STATS_VERSION, alias="stats-version")
    """The shape of this file; bumped when it changes."""
    build: Build
    """What made the build."""
    sources: dict[str, Source]
    """Each source, by name."""
    steps: list[Step]
    """Each step, in the order it ran."""
    split: Split
    """The split."""
    label_names: dict[str, list[str]]
    """Each label column's class names, by class id."""
    features: dict[str, Any]
    """The output's features (datasets' `Features.to_dict()`)."""
    outputs: list[Output]
    """The written Parquet files."""
    license: LicenseReport
    """The license report."""
    plots: list[Plot]
    """The plots the card shows."""
    tokens: Tokens | None = None
    """The format's token budget, when it has one."""
    classification: Classification | None = None
    """The rows before formatting, when a format keeps them."""
    evaluate: dict[str, dict[str, Any]] | None = None
    """Each evaluator's result by step id (the evaluator's own shape)."""
    target: Target | None = None
    """The regression target per split, when the task is text regression."""
    lengths: dict[str, dict[str, Length]]
    """Text lengths in characters, per split and column."""
    examples: dict[str, dict[str, Any]]
    """One example row per split."""

    def configurations(self) -> dict[str, dict[str, list[str]]]:
        """Configuration name -> split -> the output splits it is made of (one `default` unless k-fold)."""
        return self.split.configurations or {"default": {o.split: [o.split] for o in self.outputs}}

    def views(self) -> list[DataView]:
        """The formatted rows' configurations, then (if kept) the classification configuration's, which mirror
        them as `classification` or `classification-<name>` per k-fold one."""
        views = [DataView(features=self.features, outputs=self.outputs, configurations=self.configurations())]
        if self.classification is not None:
            mirrored = {
                CLASSIFICATION if name == "default" else f"{CLASSIFICATION}-{name}": parts
                for name, parts in self.configurations().items()
            }
            kept = self.classification
            views.append(DataView(features=kept.features, outputs=kept.outputs, configurations=mirrored))
        return views

    def all_outputs(self) -> list[Output]:
        """Every data file of the build: the splits', then the classification configuration's (the lock pins all)."""
        return [output for view in self.views() for output in view.outputs]

    def json_data(self) -> dict[str, Any]:
        """The statistics as stats.json holds them: the sections a build made, in their order."""
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)


def build_stats(data: dict[str, Any]) -> BuildStats:
    """The model of statistics a build assembled (its `stats-version` set)."""
    stats = BuildStats.model_validate(data)
    stats.stats_version = STATS_VERSION  # set explicitly, so it is written
    return stats


def read_stats(path: Path, rebuild: str) -> BuildStats:
    """stats.json read back through the model; a missing, damaged or older file is an error saying `rebuild`."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError(f"it holds a JSON {type(data).__name__}, not an object")
        if data.get("stats-version") != STATS_VERSION:
            raise ValueError(f"stats-version {data.get('stats-version')!r}, not {STATS_VERSION}")
        return BuildStats.model_validate(data)
    except (OSError, ValueError, ValidationError) as exc:
        reason = (
            str(exc).splitlines()[0]
            if not isinstance(exc, ValidationError)
            else f"{exc.error_count()} invalid field(s), first {'.'.join(map(str, exc.errors()[0]['loc']))}"
        )
        raise SpeccError(f"{path}: error: cannot read the build's statistics ({reason}); {rebuild}") from None


def stats_schema() -> str:
    """The JSON Schema of stats.json, as committed in schemas/stats.schema.json."""
    schema = BuildStats.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"
