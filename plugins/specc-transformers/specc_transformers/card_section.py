"""The card section of the model labelers: which model labelled which rows, with what confidence."""

from __future__ import annotations

from specc.plugin import CardData, CardSection
from specc_transformers.labeler import ModelLabeler


class ModelLabelsSection(CardSection):
    """Each `transformers-classify` step: the model (and its commit), task, threshold and the labels it gave."""

    name = "model_labels"
    order = 730
    title = "Model labels"

    def render(self, card: CardData) -> str | None:
        """Markdown for the model labelers of the build, or None when it has none."""
        steps = [s for s in card.stats.steps if s.type == ModelLabeler.name and s.info]
        if not steps:
            return None
        lines = ["## Model labels", ""]
        for step in steps:
            params, info = step.params, step.info or {}
            below = (
                "left without a label"
                if params["below_threshold"] == "unlabeled"
                else f"kept and marked for review in column `{params['review_column']}`"
            )
            given = ", ".join(f"{label} {n:,}" for label, n in info["by_label"].items()) or "none"
            lines += [
                f"### `{step.id}`",
                "",
                f"Model `{info['model']}` ({params['task']}) labels column `{params['column']}` from "
                f"`{params['text']}` ({params['mode']} mode). It scored {info['scored']:,} of "
                f"{info['rows']:,} rows; {info['below_threshold']:,} scored below the threshold "
                f"{params['threshold']} and were {below}. Labels given: {given}; {info['unlabeled']:,} rows "
                f"have no label.",
                "",
            ]
        return "\n".join(lines)
