"""Agreement between annotators: percent agreement, Cohen's and Fleiss' kappa, Krippendorff's alpha, bootstrap CIs.

Every metric takes an `Annotations` table and returns a float, NaN where the metric is undefined
(no item with two annotations, or a single label used throughout so chance agreement is 1).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from specc.annotation.table import Annotations
from specc.errors import SpeccError

if TYPE_CHECKING:
    import numpy as np

LEVELS = ("nominal", "ordinal", "interval", "ratio")


def per_item_agreement(a: Annotations) -> np.ndarray:
    """Per item, the share of its annotations that equal its most common label; NaN for unlabelled items."""
    import numpy as np

    counts = a.counts()
    total = counts.sum(axis=1)
    top = counts.max(axis=1, initial=0)
    return np.divide(top, total, out=np.full(len(total), np.nan), where=total > 0)


def percent_agreement(a: Annotations) -> float:
    """Mean over items with at least one annotation of `per_item_agreement` (an item with one annotation counts 1)."""
    import numpy as np

    shares = per_item_agreement(a)
    shares = shares[~np.isnan(shares)]
    return float(shares.mean()) if len(shares) else math.nan


def cohen_kappa(a: Annotations) -> float:
    """Cohen's kappa of exactly two annotators over the items both labelled (equals scikit-learn's)."""
    import numpy as np

    if len(a.annotators) != 2:
        raise SpeccError(
            f"error: Cohen's kappa needs exactly two annotators, the table has {len(a.annotators)}; "
            f"use fleiss_kappa or krippendorff_alpha for more"
        )
    codes = a.codes()
    both = codes[(codes >= 0).all(axis=1)]
    if len(both) == 0:
        return math.nan
    k = len(a.categories)
    confusion = np.zeros((k, k))
    np.add.at(confusion, (both[:, 0], both[:, 1]), 1)
    n = confusion.sum()
    rows, cols = confusion.sum(axis=1), confusion.sum(axis=0)
    if np.count_nonzero(rows + cols) < 2:
        return math.nan
    return _chance_corrected(np.trace(confusion) / n, float(rows @ cols) / n**2)


def fleiss_kappa(a: Annotations) -> float:
    """Fleiss' kappa over the items with at least two annotations.

    With the same number of annotations on every item this is Fleiss (1971) and equals statsmodels'
    `fleiss_kappa`; which annotators labelled an item does not matter. With varying numbers it uses the
    usual generalisation: each item's agreement P_i = sum_j n_ij (n_ij - 1) / (n_i (n_i - 1)) is averaged
    over items, and chance agreement sums the squared label shares of all those items' annotations.
    Krippendorff's alpha is the metric designed for missing annotations.
    """
    import numpy as np

    counts = a.counts().astype(float)
    per_item = counts.sum(axis=1)
    counts, per_item = counts[per_item >= 2], per_item[per_item >= 2]
    if len(counts) == 0:
        return math.nan
    observed = float((((counts * (counts - 1)).sum(axis=1)) / (per_item * (per_item - 1))).mean())
    shares = counts.sum(axis=0) / per_item.sum()
    if np.count_nonzero(shares) < 2:
        return math.nan
    return _chance_corrected(observed, float(shares @ shares))


def krippendorff_alpha(a: Annotations, level: str = "nominal", order: Sequence[Any] | None = None) -> float:
    """Krippendorff's alpha at a level of measurement, missing annotations allowed (equals the `krippendorff` package).

    Ordinal uses `order` (every label, lowest first) or else numeric order of the labels; interval and ratio
    need numeric labels. Items with fewer than two annotations add nothing, as in Krippendorff's definition.
    """
    import numpy as np

    if level not in LEVELS:
        raise SpeccError(f"error: unknown level of measurement '{level}'; use one of {', '.join(LEVELS)}")
    counts = a.counts().astype(float)
    if level == "ordinal":
        ranks = _ordinal_ranks(a.categories, order)
        domain = np.zeros((counts.shape[0], max(ranks, default=-1) + 1))
        domain[:, ranks] = counts
        counts = domain
    return coincidence_alpha(counts, lambda totals: _distances(level, totals, a.categories))


def coincidence_alpha(counts: np.ndarray, distances: Callable[[np.ndarray], np.ndarray]) -> float:
    """Krippendorff's alpha of an items × values count table; `distances(totals)` is the values' distance matrix.

    Items with fewer than two annotations add nothing; NaN when no item has two, or chance disagreement is 0.
    """
    import numpy as np

    per_item = counts.sum(axis=1)
    counts, per_item = counts[per_item >= 2], per_item[per_item >= 2]
    if len(counts) == 0:
        return math.nan
    weighted = counts / (per_item - 1)[:, None]
    coincidences = weighted.T @ counts - np.diag(weighted.sum(axis=0))
    totals = coincidences.sum(axis=0)
    n = totals.sum()
    expected = (np.outer(totals, totals) - np.diag(totals)) / (n - 1)
    distance = distances(totals)
    disagreement_expected = float((expected * distance).sum())
    if disagreement_expected == 0:
        return math.nan
    return 1.0 - float((coincidences * distance).sum()) / disagreement_expected


def _distances(level: str, totals: np.ndarray, categories: list) -> np.ndarray:
    import numpy as np

    if level == "nominal":
        return 1.0 - np.eye(len(totals))
    if level in ("interval", "ratio"):
        numbers = _numeric(categories)
        if numbers is None:
            raise SpeccError(
                f"error: {level} agreement needs numeric labels, got {_shown(categories)}; use level nominal or ordinal"
            )
        values = np.asarray(numbers)
        differences = values[:, None] - values[None, :]
        if level == "interval":
            return differences**2
        # ratio: ((c - k) / (c + k)) squared, 0 where c + k is 0 (both labels 0), as the krippendorff package
        sums = values[:, None] + values[None, :]
        return np.divide(differences, sums, out=np.zeros_like(differences), where=sums != 0) ** 2
    # ordinal: (sum of the totals from rank g to rank h, minus half of the two ends) squared
    cumulative = np.concatenate([[0.0], np.cumsum(totals)])
    ranks = np.arange(len(totals))
    low, high = np.minimum.outer(ranks, ranks), np.maximum.outer(ranks, ranks)
    return (cumulative[high + 1] - cumulative[low] - (totals[low] + totals[high]) / 2) ** 2


def _ordinal_ranks(categories: list, order: Sequence[Any] | None) -> list[int]:
    """Position of each category in the ordinal scale."""
    if order is not None:
        position = {str(label): n for n, label in enumerate(order)}
        missing = [label for label in categories if str(label) not in position]
        if missing:
            raise SpeccError(
                f"error: the ordinal order {_shown(order)} lacks the labels {_shown(missing)}; "
                f"list every label, lowest first"
            )
        return [position[str(label)] for label in categories]
    values = _numeric(categories)
    if values is None:
        raise SpeccError(
            f"error: ordinal agreement needs numeric labels or an order, got {_shown(categories)}; "
            f"give the order of the labels, lowest first"
        )
    ranking = sorted(range(len(values)), key=values.__getitem__)
    return [ranking.index(n) for n in range(len(values))]


def _numeric(categories: list) -> list[float] | None:
    try:
        return [float(label) for label in categories]
    except (TypeError, ValueError):
        return None


def _shown(labels: Sequence[Any]) -> str:
    shown = ", ".join(repr(label) for label in list(labels)[:8])
    return f"[{shown}{', …' if len(labels) > 8 else ''}]"


def _chance_corrected(observed: float, expected: float) -> float:
    """Kappa from observed and chance agreement; callers return NaN first when one label is all there is."""
    return (observed - expected) / (1.0 - expected)


METRICS: dict[str, str] = {
    "percent_agreement": "percent agreement",
    "cohen_kappa": "Cohen's kappa",
    "fleiss_kappa": "Fleiss' kappa",
    "krippendorff_alpha": "Krippendorff's alpha (nominal)",
    "krippendorff_alpha_ordinal": "Krippendorff's alpha (ordinal)",
    "krippendorff_alpha_interval": "Krippendorff's alpha (interval)",
    "krippendorff_alpha_ratio": "Krippendorff's alpha (ratio)",
}


def metric_key(name: str, level: str = "nominal") -> str:
    """A metric's key in METRICS and in reports: 'krippendorff-alpha' at level ordinal is krippendorff_alpha_ordinal."""
    key = name.replace("-", "_")
    return key if level == "nominal" else f"{key}_{level}"


def value_text(value: float | None, digits: int = 3) -> str:
    """A metric value for people: `digits` decimals, 'n/a' when undefined."""
    return "n/a" if value is None else f"{value:.{digits}f}"


def metric(name: str, *, order: Sequence[Any] | None = None) -> Callable[[Annotations], float]:
    """The metric function for a name in METRICS (hyphens allowed: 'krippendorff-alpha'); unknown names raise."""
    key = metric_key(name)
    if key not in METRICS:
        from specc.spec.diagnose import did_you_mean

        hint = did_you_mean(key, list(METRICS)) or ";"
        raise SpeccError(f"error: unknown agreement metric '{name}'{hint} known: {', '.join(METRICS)}")
    if key.startswith("krippendorff_alpha"):
        level = key.removeprefix("krippendorff_alpha").lstrip("_") or "nominal"
        return lambda a: krippendorff_alpha(a, level, order)
    return {"percent_agreement": percent_agreement, "cohen_kappa": cohen_kappa, "fleiss_kappa": fleiss_kappa}[key]


def bootstrap_ci(
    metric: Callable[[Annotations], float],
    a: Annotations,
    *,
    seed: int,
    resamples: int = 1000,
    confidence: float = 0.95,
) -> tuple[float, float]:
    """Percentile interval of `metric` over resamples of the items (with replacement, numpy Generator(seed)).

    Resamples where the metric is undefined (NaN) are left out; (NaN, NaN) when all are.
    """
    return _bootstrap_intervals([metric], a, seed=seed, resamples=resamples, confidence=confidence)[0]


def _bootstrap_intervals(
    metrics: Sequence[Callable[[Annotations], float]], a: Annotations, *, seed: int, resamples: int, confidence: float
) -> list[tuple[float, float]]:
    """`bootstrap_ci` of each metric, every metric measured on the same resamples (each is taken once)."""
    import numpy as np

    if not 0 < confidence < 1:
        raise SpeccError(f"error: confidence must be between 0 and 1, got {confidence}")
    if resamples < 1:
        raise SpeccError(f"error: resamples must be at least 1, got {resamples}")
    rng = np.random.default_rng(seed)
    n = len(a.items)
    if n == 0:
        return [(math.nan, math.nan)] * len(metrics)
    values = np.empty((resamples, len(metrics)))
    for row in values:
        resample = a.take(rng.integers(0, n, n))
        row[:] = [metric(resample) for metric in metrics]
    tail = (1 - confidence) / 2
    intervals = []
    for column in values.T:
        column = column[np.isfinite(column)]
        low, high = np.quantile(column, [tail, 1 - tail]) if len(column) else (math.nan, math.nan)
        intervals.append((float(low), float(high)))
    return intervals


def agreement_report(
    a: Annotations,
    *,
    seed: int,
    metrics: Sequence[str] | None = None,
    level: str = "nominal",
    order: Sequence[Any] | None = None,
    resamples: int = 1000,
    confidence: float = 0.95,
) -> dict[str, Any]:
    """Every metric with its bootstrap CI, plus counts of items, annotators and annotations; JSON-ready.

    By default: percent agreement, Fleiss' kappa, Krippendorff's alpha (nominal; also at `level` when
    that is ordinal, interval or ratio, as krippendorff_alpha_<level>) and Cohen's kappa when there are exactly
    two annotators. Undefined values are None. Metric keys hold the value, `ci` holds [low, high] per metric.
    """
    if metrics is None:
        metrics = ["percent_agreement"] + (["cohen_kappa"] if len(a.annotators) == 2 else [])
        metrics += ["fleiss_kappa", "krippendorff_alpha"]
        if level != "nominal":
            metrics.append(metric_key("krippendorff_alpha", level))
    per_item = a.annotations_per_item()
    report: dict[str, Any] = {
        "items": len(a.items),
        "annotators": len(a.annotators),
        "annotations": int(per_item.sum()),
        "annotations_per_item": {
            "min": int(per_item.min()) if len(per_item) else 0,
            "max": int(per_item.max()) if len(per_item) else 0,
            "mean": _json_float(per_item.mean()) if len(per_item) else None,
        },
        "labels": [label if isinstance(label, (str, int, float)) else str(label) for label in a.categories],
    }
    functions = {metric_key(name): metric(name, order=order) for name in metrics}
    for key, function in functions.items():
        report[key] = _json_float(function(a))
    intervals = _bootstrap_intervals(list(functions.values()), a, seed=seed, resamples=resamples, confidence=confidence)
    report["ci"] = {key: [_json_float(low), _json_float(high)] for key, (low, high) in zip(functions, intervals)}
    report["bootstrap"] = {"seed": seed, "resamples": resamples, "confidence": confidence}
    return report


def _json_float(value: float) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def report_text(report: dict[str, Any], source: str) -> str:
    """The report as an aligned, human-readable table."""
    per_item = report["annotations_per_item"]
    boot = report["bootstrap"]
    mean = "-" if per_item["mean"] is None else f"{per_item['mean']:.1f}"
    lines = [
        f"{source}: {report['items']} items, {report['annotators']} annotators, {report['annotations']} "
        f"annotations ({mean} per item, min {per_item['min']}, max {per_item['max']})",
        f"labels: {', '.join(map(str, report['labels']))}",
        "",
        f"{'metric':<34}{'value':>8}   {boot['confidence']:.0%} CI ({boot['resamples']} resamples, "
        f"seed {boot['seed']})",
    ]
    for key, (low, high) in report["ci"].items():
        lines.append(
            f"{METRICS[key]:<34}{value_text(report[key], 4):>8}   [{value_text(low, 4)}, {value_text(high, 4)}]"
        )
    return "\n".join(lines)
