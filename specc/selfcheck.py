"""Self-checks run on every finished (staged) output before it is published.

They load the output the way its users will, and compare what they get with what stats.json
and the card declare: each Parquet file's schema, rows and digest; `datasets.load_dataset` on
every configuration and split, with the declared features; and, when mlcroissant is installed,
`croissant.json` validated and every record set read to the end. Then the card audits itself:
each number it prints is derived again from the written files and compared with stats.json
(`audit_card`). A failure here is a bug in specc or in a plugin, never in the user's spec or
data, and the message says so.
"""

from __future__ import annotations

import logging
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from html.parser import HTMLParser
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

from specc import stages
from specc.errors import SpeccError
from specc.text import holds_text

if TYPE_CHECKING:
    import datasets
    import pyarrow as pa

    from specc.stats import BuildStats, DataView

CROISSANT_FULL_COUNT = 10_000  # splits up to this many rows are read to the end with mlcroissant
LOAD_FULL_COUNT = 200_000  # outputs up to this many rows are loaded whole by the datasets check
BUG = "this is a bug in specc or in a plugin; please report it with the spec and stats.json"


def _fail(what: str) -> SpeccError:
    return SpeccError(f"error: self-check: {what} ({BUG})")


def declared_features(view: DataView) -> datasets.Features:
    """The features stats.json declares for a configuration's files (the card's header is written from the same)."""
    import datasets

    return datasets.Features.from_dict(view.features)


def _normalized(arrow_type: Any) -> Any:
    """An Arrow type with struct members in name order: features, like JSON objects, do not order them."""
    import pyarrow as pa

    if pa.types.is_struct(arrow_type):
        return pa.struct(sorted(((f.name, _normalized(f.type)) for f in arrow_type), key=lambda f: f[0]))
    if pa.types.is_fixed_size_list(arrow_type):
        return pa.list_(_normalized(arrow_type.value_type), arrow_type.list_size)
    if pa.types.is_large_list(arrow_type):
        return pa.large_list(_normalized(arrow_type.value_type))
    if pa.types.is_list(arrow_type):
        return pa.list_(_normalized(arrow_type.value_type))
    return arrow_type


def _type_differences(declared: Any, actual: Any) -> list[str]:
    """Column by column, how an Arrow schema differs from the declared one."""
    declared_types = {f.name: f.type for f in declared}
    actual_types = {f.name: f.type for f in actual}
    differences = [f"column '{n}' is missing" for n in declared_types if n not in actual_types]
    differences += [f"column '{n}' is not declared" for n in actual_types if n not in declared_types]
    differences += [
        f"column '{n}' holds {actual_types[n]}, declared {t}"
        for n, t in declared_types.items()
        if n in actual_types and _normalized(actual_types[n]) != _normalized(t)
    ]
    return differences


def _feature_differences(declared: datasets.Features, actual: datasets.Features) -> list[str]:
    differences = [f"column '{n}' is missing" for n in declared if n not in actual]
    differences += [f"column '{n}' is not declared" for n in actual if n not in declared]
    differences += [
        f"column '{n}' is {actual[n]!r}, declared {declared[n]!r}"
        for n in declared
        if n in actual and actual[n] != declared[n]
    ]
    return differences


def check_parquet(folder: Path, view: DataView) -> None:
    """Each file of a view exists and has the declared schema (and Hub features), rows and digest."""
    import datasets
    import pyarrow.parquet as pq

    from specc.pins import sha256_file

    features = declared_features(view)
    expected = features.arrow_schema
    for output in view.outputs:
        path = folder / output.path
        if not path.is_file():
            raise _fail(f"{output.path} (split '{output.split}') is missing from the output")
        schema = pq.read_schema(path)
        differences = _type_differences(expected, schema)
        if differences:
            raise _fail(f"{output.path} does not match the declared features: {'; '.join(differences)}")
        embedded = datasets.Features.from_arrow_schema(schema)
        differences = _feature_differences(features, embedded)
        if differences:
            raise _fail(
                f"{output.path}: the features stored in its schema metadata differ from "
                f"stats.json: {'; '.join(differences)}"
            )
        rows = pq.ParquetFile(path).metadata.num_rows
        if rows != output.rows:
            raise _fail(f"{output.path} holds {rows:,} rows; stats.json says {output.rows:,}")
        digest = sha256_file(path)
        if digest != output.sha256:
            raise _fail(f"{output.path} has SHA-256 {digest}; stats.json says {output.sha256}")


@contextmanager
def _quiet_datasets() -> Iterator[None]:
    """No progress bars or info logging from `datasets` during the check; restored afterwards."""
    from datasets.utils import logging as ds_logging

    bars = ds_logging.is_progress_bar_enabled()
    level = ds_logging.get_verbosity()
    ds_logging.disable_progress_bar()
    ds_logging.set_verbosity_error()
    try:
        yield
    finally:
        ds_logging.set_verbosity(level)
        if bars:
            ds_logging.enable_progress_bar()


def check_load_dataset(folder: Path, view: DataView, full_count: int = LOAD_FULL_COUNT) -> None:
    """`datasets.load_dataset` gives each configuration and split of a view with the declared features and rows.

    With a card (README.md) the folder is loaded as users load it, so the card's `configs` and
    `dataset_info` are checked too; without one, the Parquet files are loaded per configuration.
    Outputs of more than `full_count` rows are not converted to Arrow (seconds per million rows):
    the builder `load_dataset` would use is made, and its data files, features and row counts
    (from the card) are checked; `check_parquet` checks the Parquet files against the same numbers.
    The Arrow cache goes to a temporary folder that is removed afterwards.
    """
    features = declared_features(view)
    rows = {o.split: o.rows for o in view.outputs}
    paths = {o.split: str(folder / o.path) for o in view.outputs}
    has_card = (folder / "README.md").is_file()
    whole = sum(rows.values()) <= full_count
    with tempfile.TemporaryDirectory(prefix="specc-selfcheck-", ignore_cleanup_errors=True) as cache, _quiet_datasets():
        for name, parts in view.configurations.items():
            want = {split: sum(rows[m] for m in members) for split, members in parts.items()}
            files = {split: [paths[m] for m in members] for split, members in parts.items()}
            try:
                loaded, resolved = _load(folder, name, files, features, cache, whole, has_card)
            except Exception as exc:  # what datasets raises is the finding
                raise _fail(
                    f"datasets.load_dataset could not load configuration '{name}': {type(exc).__name__}: {exc}"
                ) from exc
            for split, expected in files.items():
                if resolved is not None and resolved.get(split, []) != sorted(str(Path(f).resolve()) for f in expected):
                    raise _fail(
                        f"configuration '{name}' resolves split '{split}' to {resolved.get(split, [])}; "
                        f"expected {sorted(expected)}"
                    )
            if set(loaded) != set(parts):
                raise _fail(f"configuration '{name}' loads splits {sorted(loaded)}; declared {sorted(parts)}")
            for split, (loaded_features, count) in loaded.items():
                differences = _feature_differences(features, loaded_features)
                if differences:
                    raise _fail(
                        f"configuration '{name}', split '{split}' loads with other features than "
                        f"stats.json declares: {'; '.join(differences)}"
                    )
                if count is not None and count != want[split]:
                    raise _fail(
                        f"configuration '{name}', split '{split}' loads {count:,} rows; stats.json says {want[split]:,}"
                    )


def _load(
    folder: Path,
    name: str,
    files: dict[str, list[str]],
    features: datasets.Features,
    cache: str,
    whole: bool,
    has_card: bool,
) -> tuple[dict[str, tuple[datasets.Features, int | None]], dict[str, list[str]] | None]:
    """Split -> (features, rows) as `datasets` loads configuration `name`, and the data files it resolves.

    Unless `whole`, only the builder is made: rows come from the card, and the resolved files are
    returned to be compared with the outputs (None when the data was loaded).
    """
    import datasets

    kwargs: dict[str, Any]
    if has_card:
        source, kwargs = str(folder), {"name": name}
    else:
        source, kwargs = "parquet", {"data_files": files, "features": features}
    if whole:
        loaded = datasets.load_dataset(source, cache_dir=cache, **kwargs)
        return {split: (part.features, part.num_rows) for split, part in loaded.items()}, None
    builder = datasets.load_dataset_builder(source, cache_dir=cache, **kwargs)
    declared = builder.info.splits or {}
    resolved = {
        split: sorted(str(Path(f).resolve()) for f in found) for split, found in builder.config.data_files.items()
    }
    return {
        split: (builder.info.features, declared[split].num_examples if split in declared else None)
        for split in resolved
    }, resolved


@contextmanager
def _quiet_absl() -> Iterator[None]:
    """mlcroissant logs its recommendations (citeAs, datePublished) as warnings: keep them out of the build."""
    logger = logging.getLogger("absl")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def check_croissant(folder: Path, stats: BuildStats, full_count: int = CROISSANT_FULL_COUNT) -> None:
    """croissant.json validates with mlcroissant and each record set yields the rows stats.json counts.

    Reading records makes mlcroissant load a whole Parquet file into pandas (about a second per
    million rows), so splits of more than `full_count` rows are validated but not read; their
    row count and SHA-256 are checked against the Parquet files by `check_parquet`. Skipped
    when mlcroissant is not installed or the output has no croissant.json.
    """
    from specc.card.croissant import CROISSANT_FILE

    path = folder / CROISSANT_FILE
    if not path.is_file():
        return
    try:
        import mlcroissant
    except ImportError:
        return
    with _quiet_absl():
        try:
            dataset = mlcroissant.Dataset(jsonld=str(path))
        except Exception as exc:
            raise _fail(f"{CROISSANT_FILE} does not validate with mlcroissant: {str(exc).strip()}") from exc
        names = {_text(rs.name): rs.id for rs in dataset.metadata.record_sets}
        for output in stats.outputs:
            split = output.split
            if split not in names:
                raise _fail(f"{CROISSANT_FILE} has no record set for split '{split}'")
            want = output.rows
            if want > full_count:
                continue
            try:  # one record more than expected, to see that the split has no extra rows
                count = sum(1 for _ in islice(dataset.records(names[split]), want + 1))
            except Exception as exc:
                raise _fail(
                    f"mlcroissant could not read record set '{split}' of {CROISSANT_FILE}: {_root_cause(exc)}"
                ) from exc
            if count != want:
                raise _fail(
                    f"record set '{split}' of {CROISSANT_FILE} yields {count:,} records; stats.json says {want:,}"
                )


def _root_cause(exc: BaseException) -> str:
    """The innermost exception of a chain (mlcroissant wraps the real error in GenerationError)."""
    seen = {id(exc)}
    while (inner := exc.__cause__ or exc.__context__) is not None and id(inner) not in seen:
        seen.add(id(inner))
        exc = inner
    return f"{type(exc).__name__}: {exc}".strip()


def _text(name: Any) -> str:
    """A Croissant name: plain, or the English one of a language map."""
    if isinstance(name, dict):
        return str(name.get("en") or next(iter(name.values()), ""))
    return str(name)


def check_output(
    folder: Path, stats: BuildStats, unformatted: pa.Table | None = None, places: tuple[Path, ...] = ()
) -> None:
    """Every self-check on a built output folder; raises SpeccError("error: self-check: ...") on the first failure.

    `unformatted` (the rows before a format, from the stage data) lets the audit count labels the
    output no longer holds; without it they are counted from the classification configuration, if kept.
    `places` (the spec's folder, the cache) are the build's folders the output must not name.
    """
    folder = Path(folder)
    check_publishable(folder, *places)
    for view in stats.views():  # the classification configuration has its own features
        check_parquet(folder, view)
        check_load_dataset(folder, view)
    check_croissant(folder, stats)
    audit_card(folder, stats, unformatted)


# --- the card audits itself ------------------------------------------------------------------------


def _audit(section: str, what: str, found: Any, stated: Any) -> None:
    """Fail naming the card section when a number derived from the files differs from stats.json's."""
    if found != stated:
        raise _fail(f"card section '{section}': {what} is {found} in the written files; stats.json says {stated}")


def _read_outputs(folder: Path, stats: BuildStats) -> dict[str, pa.Table]:
    """Each output split's rows as written."""
    import pyarrow.parquet as pq

    return {out.split: pq.read_table(folder / out.path) for out in stats.outputs}


def _label_tables(
    folder: Path, stats: BuildStats, written: dict[str, pa.Table], unformatted: pa.Table | None
) -> dict[str, pa.Table] | None:
    """Each split's written rows with their label columns: the output itself, or (after a format) the same
    `_id`s of the classification configuration or of the unformatted rows; None when neither is at hand."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    columns = [*stats.label_names, *([stats.target.column] if stats.target else [])]
    if all(column in table.column_names for table in written.values() for column in columns):
        return written
    if stats.classification is not None:
        kept = {out.split: pq.read_table(folder / out.path) for out in stats.classification.outputs}
    elif unformatted is not None:
        kept = {split: unformatted.filter(pc.equal(unformatted.column("_split"), split)) for split in written}
    else:
        return None
    return {
        split: kept[split].filter(pc.is_in(kept[split].column("_id"), value_set=table.column("_id")))
        for split, table in written.items()
    }


def _audit_splits(stats: BuildStats, written: dict[str, pa.Table], labelled: dict[str, pa.Table] | None) -> None:
    from specc.multilabel import label_sets
    from specc.output import label_counts

    for split, table in written.items():
        _audit("Splits", f"the rows of split '{split}'", table.num_rows, stats.split.splits[split].rows)
    if labelled is None:
        return
    for split, table in labelled.items():
        _audit(
            "Splits",
            f"the rows per label of split '{split}'",
            label_counts(table, stats.label_names),
            stats.split.splits[split].by_label,
        )
        sets = stats.split.splits[split].label_sets
        if sets:
            stated = {column: value.model_dump() for column, value in sets.items()}
            _audit("Label sets", f"the label sets of split '{split}'", label_sets(table, stats.label_names), stated)


def _audit_target(stats: BuildStats, labelled: dict[str, pa.Table] | None) -> None:
    """The regression target's rows, mean, spread and quantiles per split are what the rows give."""
    from specc.regression import target_summary

    if stats.target is None or labelled is None:
        return
    found = target_summary(labelled, stats.target.column)["splits"]
    for split, summary in stats.target.splits.items():
        _audit("Regression target", f"the target's distribution in split '{split}'", found.get(split), summary)


def _audit_processing(stats: BuildStats, written: dict[str, pa.Table]) -> None:
    """The funnel adds up: sources → each step's rows in, dropped and added, rows out → the rows written."""
    rows = sum(source.rows for source in stats.sources.values())
    for step in stats.steps:
        _audit("Processing", f"the rows into step '{step.id}'", rows, step.rows_in)
        rows = step.rows_in - sum(step.dropped.values()) + sum((step.added or {}).values())
        _audit("Processing", f"the rows out of step '{step.id}' (in, less dropped, plus added)", rows, step.rows_out)
        if step.by_source:
            for reason, count in step.dropped.items():
                per_source = sum(part.dropped.get(reason, 0) for part in step.by_source.values())
                _audit(
                    "Processing",
                    f"the rows step '{step.id}' dropped as '{reason}', summed over sources",
                    per_source,
                    count,
                )
    _audit("Processing", "the rows written", sum(t.num_rows for t in written.values()), rows)


def _audit_leakage(stats: BuildStats, labelled: dict[str, pa.Table] | None) -> None:
    """The leakage totals add up, and the exact duplicates between splits are found again in the rows written
    when those are the rows that were split (no step after the split dropped or rewrote any; augmented rows left
    out)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from specc.leakage import leakage_report

    leakage = stats.split.leakage
    for kind in ("exact_pairs", "near_pairs"):
        pairs = [getattr(pair, kind) for pair in leakage.pairs.values() if getattr(pair, kind) is not None]
        if kind in leakage.total or pairs:
            _audit("Splits", f"the total of {kind.replace('_', '-')} of leakage", sum(pairs), leakage.total.get(kind))
    pipeline = stages.pipeline()
    after = pipeline[[stage.name for stage in pipeline].index("split") + 1 :]  # stages working on split rows
    rewriting = {stage.name for stage in after if stage.rows}  # row steps may change the compared texts
    after_split = [step for step in stats.steps if step.stage in {stage.name for stage in after}]
    if labelled is None or not leakage.columns:
        return
    if any(step.dropped or step.stage in rewriting for step in after_split):
        return
    tables = []
    for split, table in labelled.items():
        if any(column not in table.column_names for column in leakage.columns):
            return
        if "_origin_id" in table.column_names:
            table = table.filter(pc.is_null(table.column("_origin_id")))
        part = table.select(["_id", *leakage.columns])
        tables.append(part.append_column("_split", pa.array([split] * part.num_rows, pa.string())))
    found = leakage_report(pa.concat_tables(tables), leakage.columns, order=list(labelled))["pairs"]
    for name, pair in leakage.pairs.items():
        again = found.get(name, {})
        for kind in ("exact_pairs", "exact_rows", "exact_texts"):
            _audit(
                "Splits",
                f"the leakage {kind.replace('_', ' ')} of splits {name}",
                again.get(kind),
                getattr(pair, kind),
            )


def _audit_lengths(stats: BuildStats, written: dict[str, pa.Table]) -> None:
    import pyarrow as pa

    from specc.card import card_statistics

    tables = [t.append_column("_split", pa.array([s] * t.num_rows, pa.string())) for s, t in written.items()]
    found = card_statistics(pa.concat_tables(tables), list(written))
    _audit(
        "Text lengths",
        "the characters per row",
        found["lengths"],
        {
            column: {s: v.model_dump(exclude_unset=True) for s, v in parts.items()}
            for column, parts in stats.lengths.items()
        },
    )
    _audit("Dataset structure", "the example rows", found["examples"], stats.examples)


def _audit_tokens(stats: BuildStats, written: dict[str, pa.Table]) -> None:
    """Each split's rows counted in tokens are those written, and the Tokens section's rows over the budget agree
    with what the Processing section says the budget's step dropped (or truncated); the token counts themselves
    are not recounted, which would run the tokenizer again."""
    from specc.tokens import OVER_BUDGET, PROMPT_OVER_BUDGET

    tokens = stats.tokens
    if tokens is None:
        return
    for split, parts in tokens.splits.items():
        for part, counts in parts.items():
            _audit(
                "Tokens", f"the rows counted in {part} tokens of split '{split}'", written[split].num_rows, counts.rows
            )
    dropped = {reason: n for step in stats.steps if step.stage == "tokens" for reason, n in step.dropped.items()}
    over = sum(tokens.over_budget.values())
    if tokens.action == "drop":
        _audit("Tokens", "the rows over the token budget, dropped", dropped.get(OVER_BUDGET, 0), over)
    elif tokens.action == "truncate":
        cut = sum((tokens.truncated or {}).values())
        _audit(
            "Tokens",
            "the rows over the token budget, truncated or dropped",
            cut + dropped.get(PROMPT_OVER_BUDGET, 0),
            over,
        )


def _audit_evaluation(stats: BuildStats) -> None:
    """Each score the card prints is what its confusion matrix gives."""
    import numpy as np

    from specc.evaluation import classification_metrics
    from specc.multilabel import TASK, set_audit

    for step_id, result in (stats.evaluate or {}).items():
        if result.get("task") == "regression":  # no confusion matrix to re-derive its scores from
            continue
        if result.get("task") == TASK:
            for split, scores in result["splits"].items():
                found = set_audit(scores)
                stated = {k: scores[k] for k in found}
                _audit(
                    "Multi-label baseline evaluation", f"the scores of '{step_id}' on split '{split}'", found, stated
                )
            continue
        for split, scores in result["splits"].items():
            confusion = np.asarray(scores["confusion"], dtype=np.int64)
            true, pred = np.nonzero(confusion)
            repeat = confusion[true, pred]
            found = classification_metrics(np.repeat(true, repeat), np.repeat(pred, repeat), len(confusion))
            _audit(
                "Baseline evaluation",
                f"the scores of '{step_id}' on split '{split}'",
                found,
                {k: scores[k] for k in found},
            )


def audit_card(folder: Path, stats: BuildStats, unformatted: pa.Table | None = None) -> None:
    """Derive each number the card prints again from the written files and compare it with stats.json.

    Rows per split and per label, the regression target's distribution, the processing funnel (dropped rows per reason), the leakage between
    splits, text lengths and examples, token counts and evaluation scores; a mismatch fails naming the
    card section.
    """
    written = _read_outputs(Path(folder), stats)
    labelled = _label_tables(Path(folder), stats, written, unformatted)
    _audit_splits(stats, written, labelled)
    _audit_target(stats, labelled)
    _audit_processing(stats, written)
    _audit_leakage(stats, labelled)
    _audit_lengths(stats, written)
    _audit_tokens(stats, written)
    _audit_evaluation(stats)


# --- nothing of the build machine in what is published --------------------------------------------

LINKED = {".md", ".html", ".htm"}  # files at the top of the folder whose links must stay inside it
MAX_FINDINGS = 20  # problems listed at most; the rest are counted
LEAK_FIX = (
    "fix: clean such paths out of the sources' data (a `regex` step), and link only web addresses or files "
    f"inside the output folder from the spec's card templates; anything else is a leak by specc or a plugin ({BUG})"
)


@dataclass(frozen=True)
class Machine:
    """What names the build machine: absolute paths of its folders, its host name and its user name."""

    paths: tuple[str, ...]  # folders, no one inside another: a path under one of them is a path of this machine
    host: str
    user: str

    @cached_property
    def path_pattern(self) -> re.Pattern[str]:
        """A machine path, whole (`/work/main` but not `/work/mainline`, nor `/root` in `example.org/root`)."""
        return re.compile(
            r"(?<![\w.-])(?:" + "|".join(map(re.escape, self.paths)) + r")(?:[/\\][^\s\"'`()<>\[\]]*)?(?![\w.-])"
        )

    @cached_property
    def host_pattern(self) -> re.Pattern[str] | None:
        """The host name as a word."""
        return re.compile(rf"(?<![\w.-]){re.escape(self.host)}(?![\w-])") if self.host else None

    @cached_property
    def user_pattern(self) -> re.Pattern[str] | None:
        """The user name as a home folder (`/home/alice`, `C:\\Users\\alice`), not any `/alice` of a web address."""
        return re.compile(rf"[/\\](?:home|Users)[/\\]{re.escape(self.user)}(?![\w.-])") if self.user else None

    @cached_property
    def data_pattern(self) -> str:
        """A regular expression (RE2, as Arrow runs it) for what may be a path of this machine in data: each
        folder, or the user's name after a slash, anywhere; `findings` then looks at the few strings it matches."""
        homes = [f"{sep}{home}{sep}{self.user}" for home in ("home", "Users") for sep in "/\\"] if self.user else []
        words = [*self.paths, *homes]
        return "|".join(re.escape(word) for word in words)

    def findings(self, text: str, host: bool = True) -> list[str]:
        """What of this machine `text` holds, each once; the host name only with `host` (not in data: in free
        text a short host name such as `vm` is a word as often as it is a leak)."""
        found = [f"the absolute path '{m.group(0)}'" for m in self.path_pattern.finditer(text)] if self.paths else []
        if host and self.host_pattern is not None and self.host_pattern.search(text):
            found.append(f"the host name '{self.host}'")
        if self.user_pattern is not None and self.user_pattern.search(text):
            found.append(f"the user name '{self.user}' in a path")
        return list(dict.fromkeys(found))


def _user() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this user id (a container)
        return ""


def machine(*places: Path) -> Machine:
    """This machine's facts: `places` (the spec's folder, the cache, the output folder), the current folder,
    the home folder, Python's prefixes, the temporary folder and the Hub's cache, as given and resolved.

    A folder counts with its ancestors of two names or more (`/tmp/pytest-7/x` brings `/tmp/pytest-7`, not
    `/tmp`); the home folder counts whatever its depth (`/root`).
    """
    import os
    import platform
    import sys

    from huggingface_hub import constants

    home = Path.home()
    given = [*places, Path.cwd(), home, Path(sys.prefix), Path(sys.base_prefix), Path(tempfile.gettempdir())]
    given.append(Path(constants.HF_HOME))
    folders = {h.as_posix() for h in (home, home.resolve()) if len(h.parts) > 1}
    for place in given:
        for form in {Path(os.path.abspath(place)), place.resolve()}:
            folders.update(p.as_posix() for p in (form, *form.parents) if len(p.parts) > 2)
    outermost = sorted(f for f in folders if not any(f.startswith(o + "/") for o in folders if o != f))
    return Machine(tuple(outermost), platform.node(), _user())


def _string_arrays(array: Any) -> Iterator[Any]:
    """Every string array within an Arrow array (struct fields and list items included)."""
    import pyarrow as pa

    kind = array.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        yield array
    elif pa.types.is_struct(kind):
        for index in range(kind.num_fields):
            yield from _string_arrays(array.field(index))
    elif pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_fixed_size_list(kind):
        yield from _string_arrays(array.flatten())


def _parquet_findings(path: Path, machine: Machine) -> list[str]:
    """What of the machine the strings of a Parquet file hold (a first pass in Arrow, whole columns at once)."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    rough = machine.data_pattern
    found: list[str] = []
    if not rough:
        return found
    file = pq.ParquetFile(path)
    schema = file.schema_arrow
    texts = [f.name for f in schema if holds_text(f.type)]
    for group in range(file.num_row_groups if texts else 0):
        table = file.read_row_group(group, columns=texts)
        for column in table.column_names:
            for chunk in table.column(column).chunks:
                for strings in _string_arrays(chunk):
                    hits = strings.filter(pc.fill_null(pc.match_substring_regex(strings, rough), False))
                    for value in hits.to_pylist():
                        found += [f"{what} in column '{column}'" for what in machine.findings(value, host=False)]
    return list(dict.fromkeys(found))


class _Links(HTMLParser):
    """The href and src values of HTML."""

    def __init__(self) -> None:
        super().__init__()
        self.targets: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.targets += [value for name, value in attrs if name in ("href", "src") and value]


def _link_targets(text: str) -> list[str]:
    """Where the Markdown (links, images, references) and the HTML in it point."""
    from markdown_it import MarkdownIt

    targets: list[str] = []
    html = _Links()
    for token in MarkdownIt("commonmark").parse(text):
        for part in [token, *(token.children or [])]:
            if part.type in ("link_open", "image"):
                targets.append(str(part.attrs.get("href") or part.attrs.get("src") or ""))
            elif part.type in ("html_inline", "html_block"):
                html.feed(part.content)
    return targets + html.targets


def _link_findings(folder: Path, path: Path, text: str) -> list[str]:
    """The links of a card or page that lead outside the folder or to a file it does not hold."""
    from urllib.parse import unquote, urlsplit

    found = []
    root = folder.resolve()
    for target in _link_targets(text):
        parts = urlsplit(target)
        if (parts.scheme and parts.scheme != "file") or not (parts.path or parts.scheme):
            continue  # a web address, or a place in this page
        name = unquote(parts.path)
        if parts.scheme or name.startswith(("/", "\\")):
            found.append(f"a link to the absolute path '{target}'")
            continue
        linked = (path.parent / name).resolve()
        if not linked.is_relative_to(root):
            found.append(f"a link to '{target}', outside the folder")
        elif not linked.exists():
            found.append(f"a link to '{target}', which the folder does not hold")
    return found


def damaged_outputs(folder: Path, stats: BuildStats) -> Iterator[tuple[str, bool]]:
    """Each data file stats.json names that is missing (False) or whose bytes differ from the build's (True)."""
    from specc.pins import sha256_file

    for output in stats.all_outputs():
        path = Path(folder) / output.path
        if not path.is_file():
            yield output.path, False
        elif sha256_file(path) != output.sha256:
            yield output.path, True


def published_files(folder: Path) -> list[Path]:
    """The files of an output folder that are published, sorted: all but specc's own markers."""
    from specc.staging import MARKER, STAGING_MARKER

    return sorted(
        p for p in Path(folder).rglob("*") if (p.is_file() or p.is_symlink()) and p.name not in (MARKER, STAGING_MARKER)
    )


def _metadata_lines(name: str, text: str) -> int:
    """How many first lines of a published file specc writes without quoting rows: where the host name is looked
    for (a card's quoted examples may say `vm` or `server` as a word of the data)."""
    if name in ("croissant.json", "dataset_info.json"):
        return text.count("\n") + 1
    if name == "README.md" and text.startswith("---\n"):
        end = text.find("\n---\n", 4)
        return text.count("\n", 0, end) + 2 if end >= 0 else 0
    return 0


def leaks(folder: Path, machine: Machine) -> list[str]:
    """`file: problem` for each absolute path of this machine, host or user name, link or symbolic link leading
    outside the folder, in the files it publishes.

    Text files (the card, JSON, CSV …) are read whole; Parquet files by their string values; files that are not
    UTF-8 text (pictures, a PDF the card links) not at all.
    """
    folder = Path(folder)
    root = folder.resolve()
    problems = []
    for path in published_files(folder):
        name = path.relative_to(folder).as_posix()
        if path.is_symlink() and not path.resolve().is_relative_to(root):
            problems.append(f"{name}: a symbolic link to a place outside the folder")
            continue
        suffix = path.suffix.lower()
        if suffix == ".parquet":
            try:
                problems += [f"{name}: {what}" for what in _parquet_findings(path, machine)]
            except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
                problems.append(f"{name}: cannot be read as Parquet ({exc})")
            continue
        try:
            text = path.read_bytes().decode("utf-8")
        except UnicodeDecodeError:  # a picture, a PDF: no text of the machine's (specc writes none in them)
            continue
        metadata = _metadata_lines(name, text)
        for number, line in enumerate(text.splitlines(), 1):
            problems += [f"{name}:{number}: {what}" for what in machine.findings(line, host=number <= metadata)]
        if suffix in LINKED and path.parent == folder:  # what specc renders; a copied file's own links are the user's
            problems += [f"{name}: {what}" for what in _link_findings(folder, path, text)]
    return problems


def leak_error(problems: list[str], fix: str) -> SpeccError:
    """The error that lists what a folder would publish of this machine (at most MAX_FINDINGS lines)."""
    shown = "\n".join(f"  {p}" for p in problems[:MAX_FINDINGS])
    more = f"\n  … and {len(problems) - MAX_FINDINGS} more" if len(problems) > MAX_FINDINGS else ""
    return SpeccError(
        f"error: the output folder would publish the build machine or point outside itself:\n{shown}{more}\n{fix}"
    )


def check_publishable(folder: Path, *places: Path) -> None:
    """Fail when the folder holds an absolute path of this machine (`places` and the usual folders), its host
    or user name, or a link leading outside the folder."""
    problems = leaks(folder, machine(Path(folder), *places))
    if problems:
        raise leak_error(problems, LEAK_FIX)
