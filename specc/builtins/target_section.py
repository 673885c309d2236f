"""The card section of a regression target (`task: text-regression`): its quantile bins and distribution per split."""

from __future__ import annotations

from typing import Any

from specc.card import render_template
from specc.components import CardData, CardSection
from specc.regression import QUANTILES


def _cell(value: Any) -> str:
    return "" if value is None else f"{value:.4g}"


class TargetSection(CardSection):
    """Rows, mean, standard deviation and quantiles of the target per split, and the bins the split kept."""

    name = "target"
    order = 420

    def render(self, card: CardData) -> str | None:
        """The target's table, or None when the task is not regression."""
        target = card.stats.target
        if target is None:
            return None
        splits = []
        for out in card.stats.outputs:
            s = target.splits.get(out.split, {"rows": 0})
            cells = [_cell(s.get("mean")), _cell(s.get("std"))]
            cells += [_cell(s.get("quantiles", {}).get(f"{q:g}")) for q in QUANTILES]
            splits.append((out.split, s["rows"], cells))
        bins = card.stats.split.bins
        shown = None
        if bins is not None and bins.column == target.column:
            shown = {
                "count": bins.count,
                "edges": ", ".join(_cell(e) for e in bins.edges),
                "rows": ", ".join(f"{n:,}" for n in bins.rows),
            }
        return render_template("target.md.j2", column=target.column, bins=shown, splits=splits)
