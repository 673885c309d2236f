"""Dataset card rendering: Hub metadata header plus sections from card-section components."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from specc.components import CardData, CardSection, Context, Params
from specc.errors import SpeccError
from specc.registry import Registry

if TYPE_CHECKING:
    import pyarrow as pa
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    from specc.stats import BuildStats

EXAMPLE_CHARS = 200  # strings in the card's example records are cut to this many characters


def number(value: Any) -> str:
    """A number for people: thousands separators; whole numbers without decimals, others with one."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.1f}"
    return f"{int(value):,}"


@lru_cache(maxsize=1)
def environment() -> ImmutableSandboxedEnvironment:
    """The sandbox specc's own card templates run in (the spec's templates' sandbox, without their budgets)."""
    from jinja2 import PackageLoader

    from specc.sandbox import sandbox

    env = sandbox(loader=PackageLoader("specc.card", "templates"))
    env.filters["number"] = number
    return env


def render_template(name: str, **variables: Any) -> str:
    """Render one of specc's card templates in the sandbox."""
    from jinja2 import TemplateError

    try:
        return environment().get_template(name).render(**variables)
    except TemplateError as exc:
        line = getattr(exc, "lineno", None)
        where = f"{name}:{line}" if line else name
        raise SpeccError(f"{where}: error: card template: {exc}") from None


def metadata_yaml(spec: Any, stats: BuildStats) -> str:
    """The card's YAML header, built with the Hub's own card-data classes."""
    import datasets
    from datasets.info import DatasetInfo, DatasetInfosDict
    from datasets.utils.metadata import MetadataConfigs
    from huggingface_hub import DatasetCardData

    from specc.card.hub_metadata import size_category

    infos, configs = {}, {}
    for view in stats.views():  # the formatted rows, and those before formatting if kept
        features = datasets.Features.from_dict(view.features)
        outputs = {out.split: out for out in view.outputs}
        for name, parts in view.configurations.items():
            splits = datasets.SplitDict(dataset_name=spec.name)
            for split, members in parts.items():
                splits.add(
                    datasets.SplitInfo(
                        split,
                        num_bytes=sum(outputs[m].num_bytes for m in members),
                        num_examples=sum(outputs[m].rows for m in members),
                    )
                )
            infos[name] = DatasetInfo(features=features, splits=splits)
            configs[name] = {
                "data_files": [
                    {
                        "split": split,
                        "path": outputs[members[0]].path if len(members) == 1 else [outputs[m].path for m in members],
                    }
                    for split, members in parts.items()
                ]
            }
    total = sum(out.rows for out in stats.outputs)
    languages = list(dict.fromkeys(code.split("-")[0] for code in spec.languages))
    details = [code for code in spec.languages if "-" in code]
    card = DatasetCardData(
        license=spec.license,
        language=languages or None,
        language_details=", ".join(details) or None,
        task_categories=[spec.task] if spec.task else None,
        task_ids=list(spec.card.task_ids) or None,
        annotations_creators=list(spec.card.annotations_creators) or None,
        language_creators=list(spec.card.language_creators) or None,
        multilinguality=list(spec.card.multilinguality) or None,
        source_datasets=list(spec.card.source_datasets) or None,
        size_categories=[size_category(total)],
        pretty_name=spec.card.pretty_name or spec.name,
    )
    DatasetInfosDict(infos).to_dataset_card_data(card)
    MetadataConfigs(configs).to_dataset_card_data(card)
    return card.to_yaml()


def _render_installed(entry: Any, data: CardData, spec_dir: Path) -> str | None:
    section = entry.cls(Params(), Context(f"card.{entry.name}", 0, spec_dir))
    try:
        return section.render(data)
    except SpeccError:
        raise
    except Exception as exc:
        raise SpeccError(
            f"error: card section '{entry.name}' of plugin '{entry.plugin}' ({entry.distribution}) failed: {exc}"
        ) from exc


def render_card(spec: Any, stats: BuildStats, registry: Registry, spec_dir: Path) -> str:
    """The whole README.md: metadata header, then every card section in order.

    The installed sections (built-in and from plugins) render first; the spec's own sections
    (`card.sections`) then render in the user sandbox with `spec`, `stats` (as stats.json holds it) and
    `sections` (the installed sections' Markdown by name), replacing the installed section of the same name.
    """
    from specc.card.user_sections import arrange, render_user_section

    data = CardData(spec=spec, stats=stats)
    entries = {e.name: e for e in registry.entries("card_section")}
    orders = {name: cast("type[CardSection]", e.cls).order for name, e in entries.items()}
    installed = {}
    for name in sorted(entries, key=lambda n: (orders[n], n)):
        text = _render_installed(entries[name], data, spec_dir)
        if text and text.strip():
            installed[name] = text.strip() + "\n"
    own = list(getattr(spec.card, "sections", None) or [])
    variables = {"spec": spec.model_dump(mode="json"), "stats": stats.json_data(), "sections": installed} if own else {}
    sections = []
    for name, section in arrange(orders, own):
        text = render_user_section(section, spec_dir, variables) if section is not None else installed.get(name)
        if text and text.strip():
            sections.append(text.strip() + "\n")
    return "---\n" + metadata_yaml(spec, stats).strip() + "\n---\n\n" + "\n".join(sections)


# --- numbers the card shows that the steps do not count: text lengths, example records ------------


def _jsonable(value: Any, limit: int) -> Any:
    """A value of a row as JSON, strings cut to `limit` characters (with an ellipsis)."""
    if isinstance(value, str):
        return value if len(value) <= limit else value[:limit] + "…"
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, (bytes, bytearray)):
        return f"<{len(value):,} bytes>"
    if isinstance(value, dict):
        return {str(k): _jsonable(v, limit) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v, limit) for v in value]
    return str(value)


def shown_columns(columns: list[str]) -> list[str]:
    """The columns a card shows in example records: `_id` and every column not starting with `_`."""
    return [c for c in columns if c == "_id" or not c.startswith("_")]


def length_stats(lengths: dict[str, dict[str, Any]]) -> dict[str, dict[str, dict[str, Any]]]:
    """Characters per row -> rows, min, median, p95, max and mean (one decimal), per column and split."""
    import numpy as np

    result: dict[str, dict[str, dict[str, Any]]] = {}
    for column, per_split in lengths.items():
        result[column] = {}
        for split, values in per_split.items():
            values = np.asarray(values, dtype=np.int64)
            if not values.size:
                result[column][split] = {"rows": 0}
                continue
            median, p95 = np.percentile(values, [50, 95])
            result[column][split] = {
                "rows": int(values.size),
                "min": int(values.min()),
                "median": round(float(median), 1),
                "p95": round(float(p95), 1),
                "max": int(values.max()),
                "mean": round(float(values.mean()), 1),
            }
    return result


def card_statistics(table: pa.Table, split_order: list[str]) -> dict[str, Any]:
    """`lengths` (characters per row of each text column, per split) and `examples` (each split's first row).

    `table` is the final table with its `_split` column, in output order. Lengths count Unicode code
    points (of every string inside lists and structs, as the length plots do); example strings are cut
    to EXAMPLE_CHARS characters, and internal columns other than `_id` are left out.
    """
    import numpy as np
    import pyarrow.compute as pc

    from specc.card.plots import row_chars, text_columns

    data = table.drop_columns([c for c in ("_split", "_source") if c in table.column_names])
    splits = table.column("_split").combine_chunks()
    masks = {s: pc.equal(splits, s).to_numpy(zero_copy_only=False) for s in split_order}
    lengths = {}
    for column in sorted(text_columns(data.schema)):
        chars = row_chars(data.column(column).combine_chunks())
        lengths[column] = {s: chars[mask] for s, mask in masks.items()}
    examples = {}
    columns = shown_columns(data.column_names)
    for split, mask in masks.items():
        first = np.flatnonzero(mask)
        if first.size:
            row = data.select(columns).slice(int(first[0]), 1).to_pylist()[0]
            examples[split] = _jsonable(row, EXAMPLE_CHARS)
    return {"lengths": length_stats(lengths), "examples": examples}


# --- `specc card`: render the card of the last build again ----------------------------------------


def _build_is_current(
    spec: Any, stats: BuildStats, changes: list[Any], lock: dict[str, Any] | None, lock_file: Path
) -> None:
    """The output folder holds the build the lock records, and the spec still describes its data."""
    rebuild = f"run `specc build {spec.shown}`"
    if lock is None:
        raise SpeccError(
            f"{lock_file}: error: no lock, so specc cannot tell whether {spec.output_dir} was built from "
            f"this spec; {rebuild}"
        )
    built = {o.path: o.sha256 for o in stats.all_outputs()}
    locked = {path: entry.get("sha256") for path, entry in (lock.get("outputs") or {}).get("files", {}).items()}
    if built != locked:
        raise SpeccError(
            f"{lock_file}: error: the lock does not record the build in {spec.output_dir} (its output "
            f"digests differ or are missing); {rebuild}"
        )
    changed = [c for c in changes if c.status != "unchanged" and c.step != "output"]
    if changed:
        lines = [f"  {c.mark} {c.step}" + (f": {'; '.join(c.causes)}" if c.causes else "") for c in changed]
        raise SpeccError(
            f"{spec.shown}: error: the spec or its sources changed since the last build, so its card "
            f"would not describe its data:\n" + "\n".join(lines) + f"\n{rebuild}"
        )


def _damaged(spec: Any, file: Path, what: str) -> SpeccError:
    return SpeccError(
        f"{file}: error: the output in {spec.output_dir} is damaged: {what}; "
        f"run `specc build {spec.shown}` to build it again"
    )


def _data_files_intact(spec: Any, stats: BuildStats) -> None:
    """Every data file of the build has the bytes it was built with (the lock agrees with stats.json on them)."""
    from specc.pins import sha256_file

    for output in stats.all_outputs():
        path = spec.output_dir / output.path
        if not path.is_file():
            raise _damaged(spec, path, "the file is missing")
        if sha256_file(path) != output.sha256:
            raise _damaged(spec, path, "its bytes differ from those the build wrote (truncated or changed)")


def rerender(spec_path: str | Path, cache_dir: str | Path | None = None) -> Path:
    """Write README.md, croissant.json and stats.json of the last build again from its stats.json.

    Nothing is rebuilt: the data files stay as they are. The spec's prose and templates may have
    changed since the build; its data-affecting parts may not (the lock then says what changed).
    Returns the output folder.
    """
    from specc.builder import plan_changes
    from specc.card.croissant import CROISSANT_FILE, croissant_metadata
    from specc.licenses import license_report
    from specc.lock import read_lock
    from specc.output import build_info, json_text
    from specc.plugins import get_registry
    from specc.selfcheck import check_output
    from specc.staging import output_lock, owner
    from specc.stats import STATS_FILE, Build, LicenseReport, read_stats

    plan, changes, lock_file, _ = plan_changes(spec_path, cache_dir=cache_dir)
    spec = plan.spec
    folder = spec.output_dir
    made_by = owner(folder)
    if made_by is not None and made_by != spec.path:
        raise SpeccError(
            f"{folder}: error: the output there was built from another spec ({made_by}); render its card with that spec"
        )
    with output_lock(folder):  # no build publishes into the folder while its card is written
        stats_file = folder / STATS_FILE
        if not stats_file.is_file():
            raise SpeccError(
                f"{spec.shown}: error: no build to render a card for: {stats_file} does not exist; "
                f"run `specc build {spec.shown}` first"
            )
        built = read_stats(stats_file, f"run `specc build {spec.shown}`")
        _build_is_current(spec, built, changes, read_lock(lock_file), lock_file)
        _data_files_intact(spec, built)
        built.build = Build.model_validate(build_info(plan, built.build.specc_version))
        built.license = LicenseReport.model_validate(license_report(spec.model))
        files = {
            STATS_FILE: json_text(built.json_data()),
            "README.md": render_card(spec.model, built, get_registry(), spec.dir),
            CROISSANT_FILE: json_text(croissant_metadata(spec.model, built, folder)),
        }
        previous = {name: (folder / name).read_bytes() if (folder / name).exists() else None for name in files}
        try:
            for name, text in files.items():
                (folder / name).write_text(text, encoding="utf-8")
            check_output(folder, built)
        except BaseException:
            for name, old in previous.items():
                if old is None:
                    (folder / name).unlink(missing_ok=True)
                else:
                    (folder / name).write_bytes(old)
            raise
    return folder
