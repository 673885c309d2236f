"""Agreement on multi-label items: each annotation is a set of labels.

Two measures: Krippendorff's alpha with the MASI distance between sets (Passonneau 2006: one minus
Jaccard times a monotonicity weight: 1 for equal sets, 2/3 when one holds the other, 1/3 when they
overlap, 0 when they are disjoint), and per label a binary Krippendorff's alpha (nominal) over
"holds the label or not". Two empty sets are equal (distance 0).
"""

from __future__ import annotations

import math
from collections.abc import Collection
from typing import TYPE_CHECKING, Any

from specc.annotation.agreement import _bootstrap_intervals, _json_float, coincidence_alpha, krippendorff_alpha
from specc.annotation.table import Annotations, natural_key

if TYPE_CHECKING:
    pass

MASI_KEY = "krippendorff_alpha_masi"
MASI_NAME = "Krippendorff's alpha (MASI)"


def as_sets(a: Annotations, delimiter: str) -> Annotations:
    """The table with each annotation split on `delimiter` into a set of labels (a sorted tuple; blank parts dropped)."""
    import numpy as np

    def split(label: Any) -> tuple[str, ...] | None:
        if label is None:
            return None
        parts = label if isinstance(label, (list, tuple, set, frozenset)) else str(label).split(delimiter)
        return tuple(sorted({str(p).strip() for p in parts} - {""}, key=natural_key))

    labels = np.array([split(label) for label in a.labels.flat], dtype=object).reshape(a.labels.shape)
    return Annotations(a.items, a.annotators, labels)


def masi_distance(x: Collection[Any], y: Collection[Any]) -> float:
    """MASI distance between two label sets."""
    first, second = set(x), set(y)
    if first == second:
        return 0.0
    union, common = len(first | second), len(first & second)
    weight = 2 / 3 if first <= second or second <= first else 1 / 3 if common else 0.0
    return 1.0 - common / union * weight


def masi_alpha(a: Annotations) -> float:
    """Krippendorff's alpha of a table of label sets with the MASI distance."""
    import numpy as np

    sets = a.categories
    distance = np.array([[masi_distance(x, y) for y in sets] for x in sets], dtype=float).reshape(len(sets), len(sets))
    return coincidence_alpha(a.counts().astype(float), lambda totals: distance)


def set_labels(a: Annotations) -> list[str]:
    """Every label any annotation holds, in natural order."""
    return sorted({label for labels in a.categories for label in labels}, key=natural_key)


def label_alpha(a: Annotations, label: str) -> float:
    """Binary Krippendorff's alpha of one label: whether each annotation holds it."""
    import numpy as np

    held = np.array([None if s is None else label in s for s in a.labels.flat], dtype=object).reshape(a.labels.shape)
    return krippendorff_alpha(Annotations(a.items, a.annotators, held))


def set_agreement_report(
    a: Annotations, *, seed: int, resamples: int = 1000, confidence: float = 0.95
) -> dict[str, Any]:
    """Counts, the share of items whose annotators gave one same set, MASI alpha with its bootstrap CI and each
    label's binary alpha with its share of annotations; JSON-ready (undefined values are None)."""
    import numpy as np

    per_item = a.annotations_per_item()
    labels = set_labels(a)
    shares = _held_shares(a, labels)
    given = [[s for s in row if s is not None] for row in a.labels]
    exact = [len(set(sets)) == 1 for sets in given if len(sets) >= 2]
    (interval,) = _bootstrap_intervals([masi_alpha], a, seed=seed, resamples=resamples, confidence=confidence)
    return {
        "items": len(a.items),
        "annotators": len(a.annotators),
        "annotations": int(per_item.sum()),
        "labels": labels,
        "exact_set_agreement": _json_float(float(np.mean(exact))) if exact else None,
        MASI_KEY: _json_float(masi_alpha(a)),
        "ci": {MASI_KEY: [_json_float(interval[0]), _json_float(interval[1])]},
        "per_label": {
            label: {"krippendorff_alpha": _json_float(label_alpha(a, label)), "share": shares[label]}
            for label in labels
        },
        "bootstrap": {"seed": seed, "resamples": resamples, "confidence": confidence},
    }


def _held_shares(a: Annotations, labels: list[str]) -> dict[str, float | None]:
    """Per label, the share of annotations that hold it."""
    given = [s for s in a.labels.flat if s is not None]
    return {label: round(sum(label in s for s in given) / len(given), 4) if given else None for label in labels}


def set_report_text(report: dict[str, Any], source: str) -> str:
    """The set report as an aligned, human-readable table."""
    boot = report["bootstrap"]
    low, high = report["ci"][MASI_KEY]

    def shown(value: float | None) -> str:
        return "n/a" if value is None or math.isnan(value) else f"{value:.4f}"

    lines = [
        f"{source}: {report['items']} items, {report['annotators']} annotators, {report['annotations']} "
        f"annotations of label sets",
        f"labels: {', '.join(report['labels'])}",
        "",
        f"{'exact set agreement':<34}{shown(report['exact_set_agreement']):>8}",
        f"{MASI_NAME:<34}{shown(report[MASI_KEY]):>8}   [{shown(low)}, {shown(high)}] "
        f"{boot['confidence']:.0%} CI ({boot['resamples']} resamples, seed {boot['seed']})",
        "",
        f"{'label':<34}{'alpha':>8}{'share':>8}",
    ]
    for label, found in report["per_label"].items():
        lines.append(f"{label:<34}{shown(found['krippendorff_alpha']):>8}{shown(found['share']):>8}")
    return "\n".join(lines)
