"""Dataset card rendering: Hub metadata header plus sections from card-section components."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from specc.components import CardData, Context, Params
from specc.errors import SpeccError
from specc.registry import Registry

if TYPE_CHECKING:
    from jinja2.sandbox import SandboxedEnvironment


@lru_cache(maxsize=1)
def environment() -> "SandboxedEnvironment":
    """The sandbox every card template runs in: no Python internals, undefined names are errors."""
    from jinja2 import PackageLoader, StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    env = SandboxedEnvironment(
        loader=PackageLoader("specc.card", "templates"),
        undefined=StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["thousands"] = lambda n: f"{n:,}"
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


def metadata_yaml(spec: Any, stats: dict[str, Any]) -> str:
    """The card's YAML header, built with the Hub's own card-data classes."""
    import datasets
    from datasets.info import DatasetInfo, DatasetInfosDict
    from datasets.utils.metadata import MetadataConfigs
    from huggingface_hub import DatasetCardData

    from specc.card.hub_metadata import size_category

    features = datasets.Features.from_dict(stats["features"])
    outputs = {out["split"]: out for out in stats["outputs"]}
    configurations = stats["split"].get("configurations") or {"default": {s: [s] for s in outputs}}
    infos, configs = {}, {}
    for name, parts in configurations.items():
        splits = datasets.SplitDict(dataset_name=spec.name)
        for split, members in parts.items():
            splits.add(datasets.SplitInfo(split, num_bytes=sum(outputs[m]["num_bytes"] for m in members),
                                          num_examples=sum(outputs[m]["rows"] for m in members)))
        infos[name] = DatasetInfo(features=features, splits=splits)
        configs[name] = {"data_files": [
            {"split": split, "path": outputs[members[0]]["path"] if len(members) == 1
             else [outputs[m]["path"] for m in members]} for split, members in parts.items()]}
    total = sum(out["rows"] for out in stats["outputs"])
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


def render_card(spec: Any, stats: dict[str, Any], registry: Registry, spec_dir: Path) -> str:
    """The whole README.md: metadata header, then every card section in order."""
    data = CardData(spec=spec, stats=stats)
    sections = []
    entries = sorted(registry.entries("card_section"), key=lambda e: (e.cls.order, e.cls.name))
    for entry in entries:
        section = entry.cls(Params(), Context(f"card.{entry.cls.name}", 0, spec_dir))
        try:
            text = section.render(data)
        except SpeccError:
            raise
        except Exception as exc:
            raise SpeccError(
                f"error: card section '{entry.cls.name}' of plugin '{entry.plugin}' "
                f"({entry.distribution}) failed: {exc}"
            ) from exc
        if text:
            sections.append(text.strip() + "\n")
    return "---\n" + metadata_yaml(spec, stats).strip() + "\n---\n\n" + "\n".join(sections)
