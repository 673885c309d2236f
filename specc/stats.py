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

    model_config = ConfigDict(extra="forbid")


class PluginInfo(_Known):
    """A plugin the build used."""

    name: str
    distribution: str
    version: str


class Build(_Known):
    """What made the build."""

    specc_version: str
    spec_sha256: str
    command: str
    plugins: list[PluginInfo]
    fingerprint: str


class FilePin(_Known):
    """One file a source read, pinned by digest and size."""

    path: str
    sha256: str
    size: int


class Explode(_Known):
    """A source's `explode:`: the list column spread into one row per item."""

    column: str
    rows_before: int
    rows_after: int
    empty: int


class Source(_Known):
    """One source: its type, license, rows read and pins (Hub repository and commit, URL address …)."""

    type: str
    license: str | None
    split: str | None
    pins: dict[str, Any]
    files: list[FilePin]
    rows: int
    explode: Explode | None = None


class SourceRows(_Known):
    """A step's rows of one source."""

    rows_in: int
    rows_out: int
    dropped: Counts


class Step(_Known):
    """One step's rows in and out, dropped and added rows by reason; `info` is the component's own report."""

    id: str
    stage: str
    type: str
    params: dict[str, Any]
    rows_in: int
    rows_out: int
    dropped: Counts
    added: Counts | None = None
    by_source: dict[str, SourceRows]
    info: dict[str, Any] | None = None
    pins: dict[str, Any] | None = None


class LeakagePair(_Known):
    """Texts shared by two splits, exactly and (when asked) nearly."""

    exact_pairs: int
    exact_rows: Counts
    exact_texts: int
    examples: list[dict[str, Any]]
    near_examples: list[dict[str, Any]] | None = None
    near_pairs: int | None = None
    near_rows: Counts | None = None


class Leakage(_Known):
    """The leakage report between the splits."""

    columns: list[str]
    rows: Counts
    pairs: dict[str, LeakagePair]
    total: dict[str, int]
    near: dict[str, Any] | None


class SplitCounts(_Known):
    """One output split's rows, by source and by label (counted before any format)."""

    rows: int
    by_source: Counts
    by_label: dict[str, Counts]


class Split(_Known):
    """How the rows were split, the configurations (k-fold), the leakage and each split's counts."""

    method: str | None
    seed: int | None
    params: dict[str, Any]
    configurations: dict[str, dict[str, list[str]]] | None = None
    leakage: Leakage
    splits: dict[str, SplitCounts]


class Output(_Known):
    """One written Parquet file."""

    split: str
    path: str
    rows: int
    sha256: str
    num_bytes: int


class LicenseReport(_Known):
    """The data set's license and its sources' (`specc.licenses.license_report`)."""

    license: str
    sources: dict[str, str | None]
    conflicts: list[Any]
    override: Any
    unknown: list[str]
    other: list[Any]


class Plot(_Known):
    """One PNG the card links."""

    path: str
    title: str
    kind: str
    column: str | None = None
    split: str | None = None
    alt: str


class Length(_Known):
    """Rows and min, median, 95th percentile, max and mean of a length (characters or tokens)."""

    rows: int
    min: int | None = None  # all five absent when the split has no rows
    median: float | None = None
    p95: float | None = None
    max: int | None = None
    mean: float | None = None


class Tokens(_Known):
    """The format's token budget: tokenizer, limit, rows over it and token counts per split."""

    tokenizer: str
    max_tokens: int
    action: str
    over_budget: Counts
    splits: dict[str, dict[str, Length]]
    truncated: Counts | None = None


class Classification(_Known):
    """The rows before formatting, written as a second configuration."""

    features: dict[str, Any]
    outputs: list[Output]


class DataView(_Known):
    """One family of configurations the build wrote: its features, its files and how they form configurations."""

    features: dict[str, Any]
    outputs: list[Output]
    configurations: dict[str, dict[str, list[str]]]


class BuildStats(_Known):
    """Everything a build measured: written as stats.json, read by the card, Croissant and the self-checks."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    stats_version: int = Field(STATS_VERSION, alias="stats-version")
    build: Build
    sources: dict[str, Source]
    steps: list[Step]
    split: Split
    label_names: dict[str, list[str]]
    features: dict[str, Any]
    outputs: list[Output]
    license: LicenseReport
    plots: list[Plot]
    tokens: Tokens | None = None
    classification: Classification | None = None
    evaluate: dict[str, dict[str, Any]] | None = None
    lengths: dict[str, dict[str, Length]]
    examples: dict[str, dict[str, Any]]

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
