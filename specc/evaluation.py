"""Scoring a baseline classifier: its rows per split, metrics, chance levels and warnings.

Every evaluator (the built-in `tfidf-logreg`, plugins that fine-tune a model) turns the table it
is given into labelled rows with `labelled_splits`, trains on one split, predicts the others and
hands the predictions to `evaluation_report`, so that all of them report the same numbers.

Metrics follow scikit-learn's defaults: macro averages are over the classes that occur in the
split's true labels or predictions, and a precision or recall with nothing to divide by is 0.

Warnings (checked per scored split):
- *suspiciously high*: accuracy or macro F1 is at least HIGH_SCORE: a bag-of-words model should not
  solve a real task, so the labels probably leak through the text (templates, duplicates, keywords).
- *at chance*: both accuracy and macro F1 are below their chance level plus CHANCE_MARGIN. The chance
  level of a metric is the better of two trivial predictors on that split: always the most frequent
  class of the training split, and a uniformly random class (its expected score: accuracy 1/k, and
  macro F1 the mean over the split's classes of 2·p_c / (k·p_c + 1), p_c the class's share, k classes).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

HIGH_SCORE = 0.99
CHANCE_MARGIN = 0.05
DIGITS = 4  # metrics are rounded to this many decimals in stats.json


@dataclass(frozen=True)
class LabelledRows:
    """The rows of one split that have both a text and a label: texts, label ids (index into the names) and `_id`s."""

    texts: list[str]
    labels: np.ndarray
    ids: list[str]


def labelled_splits(
    table: pa.Table, text: str, label: str, label_names: Mapping[str, Sequence[str]], fail: Callable[[str], Exception]
) -> tuple[list[str], dict[str, LabelledRows], int]:
    """Class names and each split's labelled rows (in table order), and how many rows lacked a text or label.

    `table` has `_split` and `_id`. Integer labels with declared names keep their ids; other labels
    (integers without names, strings) become ids in the sorted order of their distinct values.
    `fail(message)` makes the error raised for a missing column or a non-text column.
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    for column in (text, label):
        if column not in table.column_names:
            shown = ", ".join(c for c in table.column_names if not c.startswith("_"))
            raise fail(f"no column '{column}'; the columns are: {shown}")
    kind = table.schema.field(text).type
    if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        raise fail(f"column '{text}' holds {kind}, not text; name a text column in `text:`")
    keep = pc.and_(pc.is_valid(table.column(text)), pc.is_valid(table.column(label)))
    missing = table.num_rows - int(pc.sum(keep).as_py() or 0)
    table = table.filter(keep)
    values = table.column(label)
    names = list(label_names.get(label) or [])
    if pa.types.is_floating(values.type) and not names:
        raise fail(
            f"column '{label}' holds {values.type} numbers, not classes: a classifier would treat every distinct "
            f"value as a class; for a numeric target set `task: text-regression` and use the `tfidf-ridge` "
            f"evaluator (or `transformers-finetune` with `problem_type: regression`)"
        )
    if names and pa.types.is_integer(values.type):
        ids = values.to_numpy().astype(np.int64)
        bad = (ids < 0) | (ids >= len(names))
        if bad.any():
            raise fail(f"label id {int(ids[bad][0])} of column '{label}' has no name; the names are {names}")
    else:
        distinct = pc.unique(values).to_pylist()
        names_sorted = sorted(distinct)
        ids = pc.index_in(values, value_set=pa.array(names_sorted, values.type)).to_numpy().astype(np.int64)
        names = [str(v) for v in names_sorted]
    splits = table.column("_split").to_numpy(zero_copy_only=False)
    texts = np.asarray(table.column(text).to_pylist(), dtype=object)
    row_ids = np.asarray(table.column("_id").to_pylist(), dtype=object)
    result = {}
    for split in dict.fromkeys(splits.tolist()):
        mask = splits == split
        result[str(split)] = LabelledRows(texts[mask].tolist(), ids[mask], row_ids[mask].tolist())
    return names, result, missing


def classification_metrics(
    y_true: Sequence[int] | np.ndarray, y_pred: Sequence[int] | np.ndarray, num_classes: int
) -> dict[str, Any]:
    """accuracy, precision_macro, recall_macro, f1_macro, confusion (rows: true class, columns: predicted) and support."""
    import numpy as np

    true = np.asarray(y_true, dtype=np.int64)
    pred = np.asarray(y_pred, dtype=np.int64)
    if true.shape != pred.shape:
        raise ValueError(f"{true.size} true labels but {pred.size} predictions")
    confusion = np.bincount(true * num_classes + pred, minlength=num_classes * num_classes).reshape(
        num_classes, num_classes
    )
    hits = np.diag(confusion).astype(float)
    predicted, actual = confusion.sum(axis=0), confusion.sum(axis=1)
    present = (predicted + actual) > 0
    precision = np.divide(hits, predicted, out=np.zeros(num_classes), where=predicted > 0)
    recall = np.divide(hits, actual, out=np.zeros(num_classes), where=actual > 0)
    both = precision + recall
    f1 = np.divide(2 * precision * recall, both, out=np.zeros(num_classes), where=both > 0)

    def macro(values: np.ndarray) -> float:
        return round(float(values[present].mean()), DIGITS) if present.any() else 0.0

    return {
        "accuracy": round(float(hits.sum() / true.size), DIGITS) if true.size else 0.0,
        "precision_macro": macro(precision),
        "recall_macro": macro(recall),
        "f1_macro": macro(f1),
        "confusion": confusion.tolist(),
        "support": int(true.size),
    }


def chance_scores(
    train_labels: Sequence[int] | np.ndarray, y_true: Sequence[int] | np.ndarray, num_classes: int
) -> dict[str, float]:
    """Accuracy and macro F1 of the better trivial predictor on a split (see the module's docstring)."""
    import numpy as np

    true = np.asarray(y_true, dtype=np.int64)
    majority = int(np.bincount(np.asarray(train_labels, dtype=np.int64), minlength=num_classes).argmax())
    constant = classification_metrics(true, np.full(true.size, majority), num_classes)
    shares = np.bincount(true, minlength=num_classes) / max(1, true.size)
    shares = shares[shares > 0]
    uniform_f1 = float(np.mean(2 * shares / (num_classes * shares + 1))) if shares.size else 0.0
    return {
        "accuracy": round(max(constant["accuracy"], 1 / num_classes), DIGITS),
        "f1_macro": round(max(constant["f1_macro"], uniform_f1), DIGITS),
    }


def score_warnings(
    split: str,
    metrics: Mapping[str, Any],
    chance: Mapping[str, float],
    names: tuple[str, str] = ("accuracy", "f1_macro"),
) -> list[str]:
    """The card's warnings for one scored split: suspiciously high, or at chance, by the two metrics `names`."""
    first, second = names
    warnings = []
    high = [m for m in names if metrics[m] >= HIGH_SCORE]
    if high:
        warnings.append(
            f"{split}: {' and '.join(f'{m} {metrics[m]:.4f}' for m in high)} is at least {HIGH_SCORE}: "
            f"suspiciously high for a baseline; the label may leak through the text (templates, "
            f"duplicates across splits, label words)"
        )
    if all(metrics[m] < chance[m] + CHANCE_MARGIN for m in names):
        warnings.append(
            f"{split}: {first} {metrics[first]:.4f} and {second} {metrics[second]:.4f} are "
            f"within {CHANCE_MARGIN} of chance ({chance[first]:.4f} and {chance[second]:.4f}): "
            f"the baseline learned next to nothing; check the labels, or the task needs more than "
            f"the words"
        )
    return warnings


def evaluation_report(
    names: Sequence[str],
    train_labels: Sequence[int] | np.ndarray,
    scored: Mapping[str, tuple[Any, Any]],
    warnings: Sequence[str] = (),
) -> dict[str, Any]:
    """What an Evaluator returns: `{labels, train_rows, splits: {split: metrics}, chance: {split: ...}, warnings}`.

    `scored` maps each scored split to (true label ids, predicted label ids); `warnings` are the
    evaluator's own (rows left out, splits missing), listed before the score warnings.
    """
    k = len(names)
    splits, chance, found = {}, {}, list(warnings)
    for split, (y_true, y_pred) in scored.items():
        splits[split] = classification_metrics(y_true, y_pred, k)
        chance[split] = chance_scores(train_labels, y_true, k)
        found += score_warnings(split, splits[split], chance[split])
    return {
        "labels": list(names),
        "train_rows": int(len(train_labels)),
        "splits": splits,
        "chance": chance,
        "warnings": found,
    }


def train_splits(train: str | Sequence[str]) -> list[str]:
    """The splits an evaluator's `train:` names: one, or several (the folds of a k-fold split)."""
    return [train] if isinstance(train, str) else list(train)


def training_rows(
    rows: Mapping[str, LabelledRows], train: str | Sequence[str], having: str, fail: Callable[[str], Exception]
) -> LabelledRows:
    """The rows of the splits `train:` names, joined in that order; an error when a split is missing or all are
    empty (`having`: what a row needs, for the message)."""
    import numpy as np

    wanted = train_splits(train)
    absent = [s for s in wanted if s not in rows]
    parts = [rows[s] for s in wanted if s in rows]
    if absent or not any(p.texts for p in parts):
        raise fail(
            f"split '{absent[0] if absent else ', '.join(wanted)}' has no rows with {having} to train on; the splits "
            f"are: {', '.join(sorted(rows)) or 'none'}; set `train:` to one of them"
        )
    return LabelledRows(
        [t for p in parts for t in p.texts],
        np.concatenate([p.labels for p in parts]),
        [i for p in parts for i in p.ids],
    )


def train_and_score(
    table: pa.Table,
    label_names: Mapping[str, Sequence[str]],
    params: Any,
    predict: Callable[[LabelledRows, list[str], dict[str, LabelledRows]], Mapping[str, Any]],
    fail: Callable[[str], Exception],
) -> dict[str, Any]:
    """Train on `params.train`, score `params.splits`: the report of `predict(train, names, {split: rows})`.

    `params` has `text`, `label`, `train` and `splits` (EvaluatorParams); `predict` returns the predicted
    label ids of each split it is given. Splits with no labelled rows are left out with a warning.
    """
    import numpy as np

    names, rows, missing = labelled_splits(table, params.text, params.label, label_names, fail)
    train = training_rows(rows, params.train, f"both '{params.text}' and '{params.label}'", fail)
    trained_on = ", ".join(train_splits(params.train))
    classes = np.unique(train.labels)
    if classes.size < 2:
        raise fail(
            f"split '{trained_on}' holds one class only ({names[int(classes[0])]!r}); a classifier needs at least two"
        )
    warnings = [f"{missing:,} rows without '{params.text}' or '{params.label}' were left out"] if missing else []
    wanted = {s: rows[s] for s in params.splits if s in rows and rows[s].texts}
    warnings += [f"{s}: no labelled rows; not scored" for s in params.splits if s not in wanted]
    predicted = predict(train, names, wanted) if wanted else {}
    scored = {s: (wanted[s].labels, np.asarray(predicted[s], dtype=np.int64)) for s in wanted}
    return evaluation_report(names, train.labels, scored, warnings)
