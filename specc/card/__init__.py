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

SIZE_CATEGORIES = ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"),
                   (1_000_000, "100K<n<1M"), (10_000_000, "1M<n<10M"), (100_000_000, "10M<n<100M"))


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


def size_category(rows: int) -> str:
    """The Hub's size category for a row count."""
    for limit, label in SIZE_CATEGORIES:
        if rows < limit:
            return label
    return "n>1T"


def metadata_yaml(spec: Any, stats: dict[str, Any]) -> str:
    """The card's YAML header, built with the Hub's own card-data classes."""
    import datasets
    from datasets.info import DatasetInfo, DatasetInfosDict
    from datasets.utils.metadata import MetadataConfigs
    from huggingface_hub import DatasetCardData

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
    card = DatasetCardData(
        license=spec.license,
        language=list(spec.languages) or None,
        task_categories=[spec.task] if spec.task else None,
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
