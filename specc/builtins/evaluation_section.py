"""The card section of the baselines' scores (`evaluate:`): metrics per split, chance, warnings, confusion plots."""

from __future__ import annotations

from specc.card import render_template
from specc.card.cells import params_text
from specc.components import CardData, CardSection
from specc.evaluation import CHANCE_MARGIN, HIGH_SCORE
from specc.multilabel import TASK


class EvaluationSection(CardSection):
    """Each evaluator's scores on each split it scored, beside chance, with its warnings and confusion matrices."""

    name = "evaluation"
    order = 720

    def render(self, card: CardData) -> str | None:
        """The scores, or None when the spec evaluates nothing."""
        # multi-label baselines have their own section (specc.builtins.multilabel_sections)
        results = {k: v for k, v in (card.stats.evaluate or {}).items() if v.get("task") != TASK}
        if not results:
            return None
        runs = []
        for step_id, result in results.items():
            params = result.get("params") or {}
            shown = {k: v for k, v in params.items() if k not in ("text", "label", "train", "splits")}
            runs.append(
                {
                    "id": step_id,
                    "type": result["type"],
                    "params_text": params_text(shown),
                    "train": params.get("train", "train"),
                    "text": params.get("text"),
                    "label": params.get("label"),
                    "labels": result["labels"],
                    "train_rows": result["train_rows"],
                    "splits": [(split, scores, result["chance"][split]) for split, scores in result["splits"].items()],
                    "warnings": result.get("warnings") or [],
                    "plots": result.get("plots") or [],
                }
            )
        return render_template("evaluation.md.j2", runs=runs, high=HIGH_SCORE, margin=CHANCE_MARGIN)
