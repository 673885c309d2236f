"""Confusion matrix plots of the baselines' scores, as deterministic PNGs beside the card's other plots."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from specc.card.plots import escape_text, plot_file_name, png_figure, short_name

MAX_ANNOTATED = 20  # more classes than this: cells are coloured, not numbered


def confusion_plot(folder: Path, step_id: str, split: str, names: list[str], matrix: list[list[int]]) -> dict[str, Any]:
    """A heat map of true (rows) against predicted (columns) classes, each row scaled to its share."""
    import numpy as np

    counts = np.asarray(matrix, dtype=np.int64)
    totals = counts.sum(axis=1, keepdims=True)
    shares = np.divide(counts, totals, out=np.zeros(counts.shape), where=totals > 0)
    k = len(names)
    side = min(max(4.8, 1.6 + 0.4 * k), 16.0)
    labels = [escape_text(short_name(n)) for n in names]
    path = plot_file_name("confusion", f"{step_id}-{split}")
    with png_figure(folder / path, figsize=(side + 1.2, side), layout="constrained") as figure:
        axes = figure.add_subplot()
        image = axes.imshow(shares, cmap="Blues", vmin=0.0, vmax=1.0)
        figure.colorbar(image, ax=axes, label="share of the true class's rows")
        axes.set_xticks(np.arange(k), labels, rotation=45 if k > 4 else 0, ha="right" if k > 4 else "center")
        axes.set_yticks(np.arange(k), labels)
        axes.set_xlabel("predicted")
        axes.set_ylabel("true")
        if k <= MAX_ANNOTATED:
            for i in range(k):
                for j in range(k):
                    axes.text(
                        j,
                        i,
                        f"{counts[i, j]:,}",
                        ha="center",
                        va="center",
                        fontsize="small",
                        color="white" if shares[i, j] > 0.5 else "black",
                    )
        title = f"Confusion matrix of {step_id} on {split}"
        axes.set_title(escape_text(title))
    cells = "; ".join(
        f"true {names[i]}: " + ", ".join(f"{names[j]} {int(counts[i, j]):,}" for j in range(k)) for i in range(k)
    )
    return {
        "path": path,
        "title": title,
        "kind": "confusion",
        "split": split,
        "alt": f"Confusion matrix of the {step_id} baseline on split {split}, rows per true and predicted "
        f"class: {cells}.",
    }


def confusion_plots(folder: Path, step_id: str, result: dict[str, Any]) -> list[dict[str, Any]]:
    """One confusion plot per scored split of a classifier's result (none for a regression baseline's)."""
    if result.get("task") == "regression":
        return []
    return [
        confusion_plot(Path(folder), step_id, split, list(result["labels"]), scores["confusion"])
        for split, scores in result["splits"].items()
    ]
