"""Card sections of multi-label data: the label sets (cardinality, co-occurrence) and the one-vs-rest baselines."""

from __future__ import annotations

from specc.card import render_template
from specc.card.cells import cell_text, params_text
from specc.components import CardData, CardSection
from specc.evaluation import CHANCE_MARGIN, HIGH_SCORE
from specc.multilabel import TASK


class LabelSetsSection(CardSection):
    """Each multi-label column's label cardinality per split and its co-occurrence table over all splits."""

    name = "label_sets"
    order = 410

    def render(self, card: CardData) -> str | None:
        """The tables, or None when no label column holds lists."""
        splits = [(out.split, card.stats.split.splits[out.split]) for out in card.stats.outputs]
        columns = []
        for column, names in sorted(card.stats.label_names.items()):
            sets = [(split, found[column]) for split, info in splits if column in (found := info.label_sets or {})]
            if not sets:
                continue
            both = {(a, b): sum(s.co_occurrence.get(a, {}).get(b, 0) for _, s in sets) for a in names for b in names}
            table = [(a, [None if a == b else both[a, b] for b in names]) for a in names]
            columns.append((column, sets, names, table))
        return render_template("label_sets.md.j2", columns=columns) if columns else None


class MultiLabelEvaluationSection(CardSection):
    """Each multi-label baseline's micro and macro scores per split, beside chance, and per label."""

    name = "multilabel_evaluation"
    order = 721

    def render(self, card: CardData) -> str | None:
        """The scores, or None when no baseline scored label sets."""
        runs = []
        for step_id, result in (card.stats.evaluate or {}).items():
            if result.get("task") != TASK:
                continue
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
                    "warnings": [cell_text(w) for w in result.get("warnings") or []],
                }
            )
        if not runs:
            return None
        return render_template("multilabel_evaluation.md.j2", runs=runs, high=HIGH_SCORE, margin=CHANCE_MARGIN)
