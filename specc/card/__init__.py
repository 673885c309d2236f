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


def hub_repos(stats: BuildStats) -> list[str]:
    """The Hub repositories the sources read, in source order."""
    return [source.pins["repo"] for _, source in sorted(stats.sources.items()) if source.pins.get("repo")]


def metadata_yaml(spec: Any, stats: BuildStats) -> str:
    """The card's YAML header, built with the Hub's own card-data classes."""
    import datasets
    from datasets.info import DatasetInfo, DatasetInfosDict
    from datasets.utils.metadata import MetadataConfigs
    from huggingface_hub import DatasetCardData

    from specc import hub_metadata as hub
    from specc.hub_metadata import size_category, source_datasets
    from specc.licenses import license_link_file

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
        task_categories=[hub.task_category(spec.task)] if spec.task else None,
        task_ids=list(dict.fromkeys([*spec.card.task_ids, *([spec.task] if spec.task in hub.BUILD_TASKS else [])]))
        or None,
        annotations_creators=list(spec.card.annotations_creators) or None,
        language_creators=list(spec.card.language_creators) or None,
        multilinguality=list(spec.card.multilinguality) or None,
        source_datasets=source_datasets(list(spec.card.source_datasets), hub_repos(stats)) or None,
        size_categories=[size_category(total)],
        pretty_name=spec.card.pretty_name or spec.name,
    )
    if spec.license == "other":  # the Hub's fields for a license not on its list (DatasetCardData keeps extra keys)
        card["license_name"] = spec.license_name
        card["license_link"] = license_link_file(spec.license_link) or spec.license_link
    DatasetInfosDict(infos).to_dataset_card_data(card)
    MetadataConfigs(configs).to_dataset_card_data(card)
    return card.to_yaml()


def copy_license_file(spec: Any, spec_dir: Path, folder: Path) -> None:
    """Copy the file the spec's `license_link` names (beside the spec) into the output folder, where the card links it."""
    import shutil

    from specc.licenses import license_link_file

    name = license_link_file(getattr(spec, "license_link", None))
    if name is not None:
        shutil.copyfile(spec_dir / spec.license_link, folder / name)


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


def card_statistics(table: pa.Table, split_order: list[str]) -> dict[str, Any]:
    """`lengths` (characters per row of each text column, per split) and `examples` (each split's first row).

    `table` is the final table with its `_split` column, in output order. Lengths count Unicode code
    points (of every string inside lists and structs, as the length plots do); example strings are cut
    to EXAMPLE_CHARS characters, and internal columns other than `_id` are left out.
    """
    import numpy as np
    import pyarrow.compute as pc

    from specc.card.plots import row_chars, text_columns
    from specc.lengths import length_stats

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
