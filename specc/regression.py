"""The regression task (`task: text-regression`): float targets, their quantile bins, summary and baseline metrics.

The target is the `label` column (a source maps its own column there with `columns:`). Every row's
target must be a finite number: null, NaN and the infinities are errors naming the row's file and line.

Baselines (`tfidf-ridge`, `transformers-finetune` with `problem_type: regression`) report MSE, RMSE,
MAE, R² and Spearman's ρ per scored split, beside the same metrics of the mean predictor (the
training split's mean for every row), the regression counterpart of a classifier's chance level.
Metrics follow scikit-learn's definitions (R² of a split whose targets are all equal is 1 when
predicted exactly, else 0); Spearman's ρ is null when either side is constant.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

    from specc.evaluation import LabelledRows

TASK = "text-regression"
TARGET = "label"
QUANTILES = (0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0)
REGRESSION_METRICS = ("mse", "rmse", "mae", "r2", "spearman")
DIGITS = 4
SHOWN_ROWS = 5


def is_regression(spec: Any) -> bool:
    """Whether the spec's task is text regression."""
    return getattr(spec, "task", None) == TASK


def is_float(kind: pa.DataType) -> bool:
    """Whether an Arrow type holds floating-point numbers (a regression target, not classes)."""
    import pyarrow as pa

    return bool(pa.types.is_floating(kind) or pa.types.is_decimal(kind))


def targets(values: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """A numeric column as float64 (nulls as NaN); a ValueError naming its type when it is not numeric."""
    import numpy as np
    import pyarrow as pa

    kind = values.type
    if not (pa.types.is_integer(kind) or is_float(kind)):
        raise ValueError(f'holds {kind}, not numbers; a regression target is a number per row (write 3.5, not "3.5")')
    return np.asarray(values.cast(pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64)


def bad_target_rows(values: np.ndarray) -> np.ndarray:
    """Indices of the rows whose target is null, NaN or infinite."""
    import numpy as np

    return np.flatnonzero(~np.isfinite(values))


def bad_target_message(column: str, values: np.ndarray, rows: np.ndarray, ids: list[str]) -> str:
    """The error for non-finite targets: what each of the first rows holds, and the fix."""
    import numpy as np

    shown = ", ".join(
        f"'{row_id}' ({'null or NaN' if np.isnan(values[i]) else 'infinity' if values[i] > 0 else '-infinity'})"
        for i, row_id in zip(rows[:SHOWN_ROWS].tolist(), ids)
    )
    more = f" and {len(rows) - SHOWN_ROWS:,} more" if len(rows) > SHOWN_ROWS else ""
    return (
        f"regression target '{column}' is not a finite number in rows _id {shown}{more}; fix the value, or drop "
        f"those rows with {{type: drop-missing, columns: [{column}]}} in `clean:` (NaN and infinities cannot be scored)"
    )


def quantile_edges(values: np.ndarray, bins: int) -> list[float]:
    """The inner edges of `bins` quantile bins of `values` (equal edges merged, so there may be fewer bins)."""
    import numpy as np

    if not values.size:
        return []
    inner = np.quantile(values, np.arange(1, bins) / bins)
    return sorted({float(x) for x in inner})


def bin_codes(values: np.ndarray, edges: list[float]) -> np.ndarray:
    """The quantile bin of each value: bin i holds edges[i-1] < value <= edges[i] (as pandas.qcut)."""
    import numpy as np

    return np.searchsorted(np.asarray(edges, dtype=np.float64), values, side="left").astype(np.int64)


def _rounded(value: float) -> float | None:
    import math

    return round(value, DIGITS) if math.isfinite(value) else None


def summary(values: np.ndarray) -> dict[str, Any]:
    """Rows, mean, standard deviation and the QUANTILES of a split's targets (none but rows when empty)."""
    import numpy as np

    if not values.size:
        return {"rows": 0}
    quantiles = np.quantile(values, QUANTILES)
    return {
        "rows": int(values.size),
        "mean": _rounded(float(values.mean())),
        "std": _rounded(float(values.std())),
        "quantiles": {f"{q:g}": _rounded(float(v)) for q, v in zip(QUANTILES, quantiles)},
    }


def target_summary(parts: Mapping[str, pa.Table], column: str) -> dict[str, Any]:
    """`stats["target"]`: the target column and each split's summary (the splits that hold the column)."""
    found = {
        split: summary(targets(table.column(column))) for split, table in parts.items() if column in table.column_names
    }
    return {"column": column, "splits": found}


def spearman(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Spearman's rank correlation (average ranks for ties); NaN when either side is constant."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    def ranks(values: np.ndarray) -> np.ndarray:
        array = pa.array(values)
        low = pc.rank(array, tiebreaker="min").to_numpy()
        high = pc.rank(array, tiebreaker="max").to_numpy()
        return (low + high).astype(np.float64) / 2

    a, b = ranks(y_true), ranks(y_pred)
    a, b = a - a.mean(), b - b.mean()
    scale = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / scale) if scale else float("nan")


def regression_metrics(y_true: np.ndarray | list[float], y_pred: np.ndarray | list[float]) -> dict[str, Any]:
    """mse, rmse, mae, r2, spearman (null when undefined) and support of predictions against true targets."""
    import math

    import numpy as np

    true = np.asarray(y_true, dtype=np.float64)
    pred = np.asarray(y_pred, dtype=np.float64)
    if true.shape != pred.shape:
        raise ValueError(f"{true.size} true targets but {pred.size} predictions")
    if not true.size:
        return {"mse": None, "rmse": None, "mae": None, "r2": None, "spearman": None, "support": 0}
    error = true - pred
    mse = float(np.mean(error**2))
    total = float(np.sum((true - true.mean()) ** 2))
    residual = float(np.sum(error**2))
    r2 = 1 - residual / total if total else (1.0 if residual == 0 else 0.0)  # scikit-learn's force_finite
    return {
        "mse": _rounded(mse),
        "rmse": _rounded(math.sqrt(mse)),
        "mae": _rounded(float(np.mean(np.abs(error)))),
        "r2": _rounded(r2),
        "spearman": _rounded(spearman(true, pred)),
        "support": int(true.size),
    }


def regression_splits(
    table: pa.Table, text: str, label: str, fail: Callable[[str], Exception]
) -> tuple[dict[str, LabelledRows], int]:
    """Each split's rows with a text and a finite target (`labels` float64, in table order), and how many lacked a text."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    from specc.evaluation import LabelledRows

    for column in (text, label):
        if column not in table.column_names:
            shown = ", ".join(c for c in table.column_names if not c.startswith("_"))
            raise fail(f"no column '{column}'; the columns are: {shown}")
    kind = table.schema.field(text).type
    if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        raise fail(f"column '{text}' holds {kind}, not text; name a text column in `text:`")
    try:
        values = targets(table.column(label))
    except ValueError as exc:
        raise fail(f"column '{label}' {exc}") from None
    bad = bad_target_rows(values)
    if bad.size:
        ids = table.column("_id").take(pa.array(bad[:SHOWN_ROWS])).to_pylist()
        raise fail(bad_target_message(label, values, bad, ids))
    keep = pc.is_valid(table.column(text)).to_numpy(zero_copy_only=False)
    missing = int((~keep).sum())
    splits = table.column("_split").to_numpy(zero_copy_only=False)
    texts = np.asarray(table.column(text).to_pylist(), dtype=object)
    row_ids = np.asarray(table.column("_id").to_pylist(), dtype=object)
    result = {}
    for split in dict.fromkeys(splits[keep].tolist()):
        mask = keep & (splits == split)
        result[str(split)] = LabelledRows(texts[mask].tolist(), values[mask], row_ids[mask].tolist())
    return result, missing


def regression_report(
    target: str, train: np.ndarray, scored: Mapping[str, tuple[Any, Any]], warnings: list[str]
) -> dict[str, Any]:
    """What a regression evaluator returns: `{task, target, train_rows, train_mean, splits, baseline, warnings}`.

    `scored` maps each scored split to (true targets, predictions); `baseline` holds the metrics of the
    mean predictor on each split, and a split where the model does no better than it gets a warning.
    """
    import numpy as np

    mean = float(np.mean(train))
    splits, baseline, found = {}, {}, list(warnings)
    for split, (y_true, y_pred) in scored.items():
        splits[split] = regression_metrics(y_true, y_pred)
        baseline[split] = regression_metrics(y_true, np.full(len(y_true), mean))
        if splits[split]["mse"] is not None and splits[split]["mse"] >= baseline[split]["mse"]:
            found.append(
                f"{split}: MSE {splits[split]['mse']:.4f} is no better than the mean predictor's "
                f"({baseline[split]['mse']:.4f}): the baseline learned next to nothing from the words"
            )
    return {
        "task": "regression",
        "target": target,
        "train_rows": int(len(train)),
        "train_mean": _rounded(mean),
        "splits": splits,
        "baseline": baseline,
        "warnings": found,
    }


def train_and_score_regression(
    table: pa.Table,
    params: Any,
    predict: Callable[[LabelledRows, dict[str, LabelledRows]], Mapping[str, Any]],
    fail: Callable[[str], Exception],
) -> dict[str, Any]:
    """Train on `params.train`, score `params.splits`: the report of `predict(train, {split: rows})` (float predictions)."""
    import numpy as np

    from specc.evaluation import training_rows

    rows, missing = regression_splits(table, params.text, params.label, fail)
    train = training_rows(rows, params.train, f"'{params.text}'", fail)
    warnings = [f"{missing:,} rows without '{params.text}' were left out"] if missing else []
    wanted = {s: rows[s] for s in params.splits if s in rows and rows[s].texts}
    warnings += [f"{s}: no rows; not scored" for s in params.splits if s not in wanted]
    predicted = predict(train, wanted) if wanted else {}
    scored = {s: (wanted[s].labels, np.asarray(predicted[s], dtype=np.float64).reshape(-1)) for s in wanted}
    return regression_report(params.label, train.labels, scored, warnings)
