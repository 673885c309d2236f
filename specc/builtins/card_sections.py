"""Built-in card sections: summary, sources, processing, splits, plots, prose and reproducibility."""

from __future__ import annotations

import json
from typing import Any

from specc.card import render_template
from specc.components import CardData, CardSection
from specc.hookspecs import hookimpl
from specc.leakage import leakage_markdown
from specc.licenses import license_report


def _params_text(params: dict[str, Any]) -> str:
    if not params:
        return "—"
    return ", ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in sorted(params.items())).replace("|", "\\|")


def _dropped_text(dropped: dict[str, int]) -> str:
    return ", ".join(f"{n:,} {reason}" for reason, n in sorted(dropped.items())) or "—"


class SummarySection(CardSection):
    """Title, description and the headline facts."""

    name = "summary"
    order = 100

    def render(self, card: CardData) -> str:
        """The card's opening."""
        spec = card.spec
        return render_template(
            "summary.md.j2", title=spec.card.pretty_name or spec.name, description=spec.description,
            summary=spec.card.summary, version=spec.version, license=spec.license,
            languages=spec.languages, task=spec.task,
            total=sum(out["rows"] for out in card.stats["outputs"]),
            draft=spec.card.draft, missing_prose=spec.card.missing_prose(),
            licensing=card.stats.get("license") or license_report(spec),
        )


class SourcesSection(CardSection):
    """Every source with its files, hashes, license and rows read."""

    name = "sources"
    order = 200

    def render(self, card: CardData) -> str:
        """The source table."""
        return render_template("sources.md.j2", sources=card.stats["sources"])


class ProcessingSection(CardSection):
    """The processing funnel: each step with parameters and rows in, out and dropped."""

    name = "processing"
    order = 300

    def render(self, card: CardData) -> str | None:
        """The funnel table, per step and per source."""
        steps = [dict(step, params_text=_params_text(step["params"]),
                      dropped_text=_dropped_text(step["dropped"])) for step in card.stats["steps"]]
        if not steps:
            return None
        names = sorted(card.stats["sources"])
        return render_template("processing.md.j2", steps=steps, source_names=names,
                               per_source=len(names) > 1)


class SplitsSection(CardSection):
    """Split method and seed, rows per split, per source and per label."""

    name = "splits"
    order = 400

    def render(self, card: CardData) -> str:
        """The split tables."""
        split = card.stats["split"]
        splits = [(out["split"], split["splits"][out["split"]]) for out in card.stats["outputs"]]
        labels = []
        for column, names in sorted(card.stats["label_names"].items()):
            rows = [(label, [info["by_label"].get(column, {}).get(label, 0) for _, info in splits])
                    for label in names]
            labels.append((column, rows))
        leakage = split.get("leakage")
        return render_template("splits.md.j2", method=split["method"], seed=split["seed"],
                               splits=splits, source_names=sorted(card.stats["sources"]), labels=labels,
                               leakage=leakage, leakage_table=leakage_markdown(leakage) if leakage else "")


class PlotsSection(CardSection):
    """Label distribution and text length histograms per split, as PNG files beside the data."""

    name = "plots"
    order = 500

    def render(self, card: CardData) -> str | None:
        """The plots, linked."""
        plots = card.stats.get("plots") or []
        return render_template("plots.md.j2", plots=plots) if plots else None


class ProseSection(CardSection):
    """What the build cannot know: uses, out-of-scope uses, limitations, personal information."""

    name = "prose"
    order = 600

    def render(self, card: CardData) -> str | None:
        """The spec's own words, where given."""
        prose = card.spec.card
        parts = [(title, text) for title, text in (
            ("Uses", prose.uses), ("Out-of-scope uses", prose.out_of_scope),
            ("Limitations", prose.limitations), ("Personal and sensitive information", prose.personal_information),
        ) if text]
        return render_template("prose.md.j2", parts=parts) if parts else None


class ReproducibilitySection(CardSection):
    """Versions, the spec's digest, output digests and the command that rebuilds it."""

    name = "reproducibility"
    order = 900

    def render(self, card: CardData) -> str:
        """How to rebuild exactly this data set."""
        build = card.stats["build"]
        return render_template(
            "reproducibility.md.j2", specc_version=build["specc_version"], spec_sha256=build["spec_sha256"],
            command=build["command"], plugins=build["plugins"], outputs=card.stats["outputs"],
        )


@hookimpl
def register_card_sections(register) -> None:  # type: ignore[no-untyped-def]
    """Register the built-in card sections."""
    for cls in (SummarySection, SourcesSection, ProcessingSection, SplitsSection, PlotsSection, ProseSection,
                ReproducibilitySection):
        register(cls)
