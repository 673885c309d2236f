"""Card sections of multi-label data: the label sets (cardinality, co-occurrence) and the one-vs-rest baselines."""

from __future__ import annotations

from specc.card import render_template
from specc.components import CardData, CardSection


class LabelSetsSection(CardSection):
    """Each multi-label column's label cardinality per split and its co-occurrence table over all splits."""

    name = "label_sets"
    order = 410

    def render(self, card: CardData) -> str | None:
        """The tables, or None when no label column holds lists."""
        splits = [(out.split, card.stats.split.splits[out.split]) for out in card.stats.outputs]
        columns = []
        for column, names in sorted(card.stats.label_names.items()):
            sets = [(split, info.label_sets[column]) for split, info in splits if column in (info.label_sets or {})]
            if not sets:
                continue
            both = {(a, b): sum(s.co_occurrence.get(a, {}).get(b, 0) for _, s in sets) for a in names for b in names}
            table = [(a, [None if a == b else both[a, b] for b in names]) for a in names]
            columns.append((column, sets, names, table))
        return render_template("label_sets.md.j2", columns=columns) if columns else None
