"""Text and token lengths summed up per column and split: rows, min, median, p95, max and mean."""

from __future__ import annotations

from typing import Any


def length_stats(lengths: dict[str, dict[str, Any]]) -> dict[str, dict[str, dict[str, Any]]]:
    """Characters per row -> rows, min, median, p95, max and mean (one decimal), per column and split."""
    import numpy as np

    result: dict[str, dict[str, dict[str, Any]]] = {}
    for column, per_split in lengths.items():
        result[column] = {}
        for split, values in per_split.items():
            values = np.asarray(values, dtype=np.int64)
            if not values.size:
                result[column][split] = {"rows": 0}
                continue
            median, p95 = np.percentile(values, [50, 95])
            result[column][split] = {
                "rows": int(values.size),
                "min": int(values.min()),
                "median": round(float(median), 1),
                "p95": round(float(p95), 1),
                "max": int(values.max()),
                "mean": round(float(values.mean()), 1),
            }
    return result
