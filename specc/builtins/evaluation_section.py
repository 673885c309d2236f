"""The card section of the baselines' scores (`evaluate:`): metrics per split, chance (or the mean predictor's), warnings, confusion plots."""

from __future__ import annotations

from typing import Any

from specc.card import render_template
from specc.card.cells import params_text
from specc.components import CardData, CardSection
from specc.evaluation import CHANCE_MARGIN, HIGH_SCORE, train_splits
from specc.multilabel import TASK
from specc.regression import REGRESSION_METRICS


def _metric(value: Any) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def _regression_run(step_id: str, result: dict[str, Any], params: dict[str, Any], shown: str) -> dict[str, Any]:
    """A regression baseline's run for the template: each split's metrics beside the mean predictor's."""
    rows = []
    for split, scores in result["splits"].items():
        mean = result["baseline"][split]
        rows.append(
            (split, scores["support"], [f"{_metric(scores[m])} ({_metric(mean[m])})" for m in REGRESSION_METRICS])
        )
    return {
        "id": step_id,
        "type": result["type"],
        "regression": True,
        "params_text": shown,
        "train": "`, `".join(train_splits(params.get("train", "train"))),
        "text": params.get("text"),
        "label": params.get("label"),
        "train_rows": result["train_rows"],
        "train_mean": _metric(result["train_mean"]),
        "rows": rows,
        "warnings": result.get("warnings") or [],
        "plots": [],
    }


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
            if result.get("task") == "regression":
                runs.append(_regression_run(step_id, result, params, params_text(shown)))
                continue
            runs.append(
                {
                    "id": step_id,
                    "type": result["type"],
                    "regression": False,
                    "params_text": params_text(shown),
                    "train": "`, `".join(train_splits(params.get("train", "train"))),
                    "text": params.get("text"),
                    "label": params.get("label"),
                    "labels": result["labels"],
                    "train_rows": result["train_rows"],
                    "splits": [(split, scores, result["chance"][split]) for split, scores in result["splits"].items()],
                    "warnings": result.get("warnings") or [],
                    "plots": result.get("plots") or [],
                }
            )
        regressors = sum(1 for run in runs if run["regression"])
        return render_template(
            "evaluation.md.j2",
            runs=runs,
            high=HIGH_SCORE,
            margin=CHANCE_MARGIN,
            classifiers=len(runs) - regressors,
            regressors=regressors,
        )
