"""Multi-label columns: a list of label ids per row, as Arrow lists and as 0/1 indicator matrices."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from specc.evaluation import DIGITS

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

    from specc.evaluation import LabelledRows

TASK = "multi-label-classification"


def is_list(type_: pa.DataType) -> bool:
    """Whether a column of this type holds a list per row."""
    import pyarrow as pa

    return bool(pa.types.is_list(type_) or pa.types.is_large_list(type_))


def split_delimited(values: pa.Array | pa.ChunkedArray, delimiter: str) -> pa.ListArray:
    """Each text split on `delimiter` into its labels, trimmed; blank parts are left out, null stays null."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    parts = pc.split_pattern(values.cast(pa.string()), delimiter)
    flat = pc.utf8_trim_whitespace(pc.list_flatten(parts))
    keep = pc.not_equal(flat, "")
    return rebuild(parts, flat.filter(keep), _parents(parts).filter(keep))


def _parents(lists: pa.ListArray) -> pa.Array:
    """The row of each element of the flattened lists."""
    import pyarrow.compute as pc

    return pc.list_parent_indices(lists)


def rebuild(lists: pa.ListArray, values: pa.Array, parents: pa.Array) -> pa.ListArray:
    """A list array of `values` (in row order, each with its row in `parents`) and the nulls of `lists`."""
    import numpy as np
    import pyarrow as pa

    counts = np.bincount(parents.to_numpy(zero_copy_only=False), minlength=len(lists))
    offsets = pa.array(np.concatenate([[0], np.cumsum(counts)]).astype(np.int32))
    return pa.ListArray.from_arrays(offsets, values, mask=lists.is_null())


def encode(lists: pa.Array | pa.ChunkedArray, names: list[str]) -> tuple[pa.ListArray, int | None]:
    """Lists of label names as lists of ids (index in `names`), and the first row holding an unknown name."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(lists, pa.ChunkedArray):
        lists = lists.combine_chunks()
    flat = pc.list_flatten(lists)
    ids = pc.index_in(flat.cast(pa.string()), value_set=pa.array(names, pa.string()))
    parents = _parents(lists)
    unknown = pc.is_null(ids).to_numpy(zero_copy_only=False)
    bad = int(parents[int(np.argmax(unknown))].as_py()) if unknown.any() else None
    return rebuild(lists, ids.cast(pa.int64()), parents), bad


def indicator(lists: pa.Array | pa.ChunkedArray, width: int) -> np.ndarray:
    """A rows × `width` boolean matrix: True where the row's list holds the label id (null: no labels)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(lists, pa.ChunkedArray):
        lists = lists.combine_chunks() if lists.num_chunks else pa.array([], lists.type)
    counts = pc.list_value_length(lists).fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
    ids = pc.list_flatten(lists).to_numpy(zero_copy_only=False).astype(np.int64)
    matrix = np.zeros((len(lists), width), dtype=bool)
    matrix[np.repeat(np.arange(len(lists)), counts), ids] = True
    return matrix


def width(lists: pa.Array | pa.ChunkedArray) -> int:
    """One more than the largest label id in the lists (0 when there are none)."""
    import pyarrow.compute as pc

    top = pc.max(pc.list_flatten(lists)).as_py()
    return 0 if top is None else int(top) + 1


def label_sets(table: pa.Table, label_names: dict[str, list[str]]) -> dict[str, dict[str, Any]]:
    """Each multi-label column of `table`: rows with a list, mean labels per row and co-occurrence by name."""
    import numpy as np
    import pyarrow.compute as pc

    found: dict[str, dict[str, Any]] = {}
    for column, names in label_names.items():
        if column not in table.column_names or not is_list(table.schema.field(column).type):
            continue
        lists = table.column(column)
        given = lists.filter(pc.is_valid(lists))
        matrix = indicator(given, max(len(names), width(given))).astype(np.int64)
        both = matrix.T @ matrix
        shown = [names[i] if i < len(names) else str(i) for i in range(len(both))]
        found[column] = {
            "rows": len(given),
            "cardinality": round(float(matrix.sum() / len(given)), 4) if len(given) else 0.0,
            "co_occurrence": {
                shown[i]: {shown[j]: int(both[i, j]) for j in range(len(both)) if j != i and both[i, j]}
                for i in range(len(both))
                if any(both[i, j] for j in range(len(both)) if j != i)
            },
        }
    return found


def iterative_stratification(matrix: np.ndarray, order: np.ndarray, ratios: list[float], seed: int) -> np.ndarray:
    """The split index of each row: Sechidis et al.'s iterative stratification (iterative-stratification's) of
    the rows taken in `order`, seeded, so each label keeps its share in every split.

    Raises ImportError without the iterative-stratification package.
    """
    import numpy as np
    from iterstrat.ml_stratifiers import IterativeStratification

    index = np.empty(len(order), dtype=np.int32)
    index[order] = IterativeStratification(
        labels=matrix[order].astype(bool),
        r=np.asarray(ratios, dtype=np.float64),
        random_state=np.random.RandomState(seed % 2**32),
    )
    return index


def labelled_sets(
    table: pa.Table, text: str, label: str, names: list[str], fail: Callable[[str], Exception]
) -> tuple[dict[str, LabelledRows], int]:
    """Each split's rows with a text and a list of labels (labels: a rows × names boolean matrix), and how many
    rows lacked either."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    from specc.evaluation import LabelledRows

    kind = table.schema.field(text).type if text in table.column_names else None
    if kind is None or label not in table.column_names:
        shown = ", ".join(c for c in table.column_names if not c.startswith("_"))
        raise fail(f"no column '{text if kind is None else label}'; the columns are: {shown}")
    if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        raise fail(f"column '{text}' holds {kind}, not text; name a text column in `text:`")
    if not names:
        raise fail(f"column '{label}' holds lists without label names; name them with the source's `labels:`")
    keep = pc.and_(pc.is_valid(table.column(text)), pc.is_valid(table.column(label)))
    missing = table.num_rows - int(pc.sum(keep).as_py() or 0)
    table = table.filter(keep)
    if width(table.column(label)) > len(names):
        raise fail(f"label id {width(table.column(label)) - 1} of column '{label}' has no name; the names are {names}")
    matrix = indicator(table.column(label), len(names))
    splits = table.column("_split").to_numpy(zero_copy_only=False)
    texts = np.asarray(table.column(text).to_pylist(), dtype=object)
    row_ids = np.asarray(table.column("_id").to_pylist(), dtype=object)
    return {
        str(split): LabelledRows(
            texts[splits == split].tolist(), matrix[splits == split], row_ids[splits == split].tolist()
        )
        for split in dict.fromkeys(splits.tolist())
    }, missing


def set_metrics(y_true: np.ndarray, y_pred: np.ndarray, names: list[str]) -> dict[str, Any]:
    """Micro and macro precision, recall and F1, subset accuracy, and each label's counts and scores.

    As scikit-learn's on indicator matrices with `zero_division=0`: macro averages are over every label.
    """
    import numpy as np

    true, pred = np.asarray(y_true, dtype=bool), np.asarray(y_pred, dtype=bool)
    if true.shape != pred.shape:
        raise ValueError(f"true labels of shape {true.shape} but predictions of shape {pred.shape}")
    tp, fp, fn = (true & pred).sum(0), (~true & pred).sum(0), (true & ~pred).sum(0)

    def scores(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        tp, fp, fn = (np.atleast_1d(x).astype(float) for x in (tp, fp, fn))
        precision = np.divide(tp, tp + fp, out=np.zeros(tp.shape), where=tp + fp > 0)
        recall = np.divide(tp, tp + fn, out=np.zeros(tp.shape), where=tp + fn > 0)
        f1 = np.divide(2 * tp, 2 * tp + fp + fn, out=np.zeros(tp.shape), where=2 * tp + fp + fn > 0)
        return precision, recall, f1

    precision, recall, f1 = scores(tp, fp, fn)
    micro = [float(x[0]) for x in scores(tp.sum(), fp.sum(), fn.sum())]
    return {
        "f1_micro": round(micro[2], DIGITS),
        "f1_macro": round(float(f1.mean()), DIGITS) if len(names) else 0.0,
        "precision_micro": round(micro[0], DIGITS),
        "recall_micro": round(micro[1], DIGITS),
        "precision_macro": round(float(precision.mean()), DIGITS) if len(names) else 0.0,
        "recall_macro": round(float(recall.mean()), DIGITS) if len(names) else 0.0,
        "subset_accuracy": round(float((true == pred).all(1).mean()), DIGITS) if len(true) else 0.0,
        "per_label": {
            name: {
                "precision": round(float(precision[i]), DIGITS),
                "recall": round(float(recall[i]), DIGITS),
                "f1": round(float(f1[i]), DIGITS),
                "tp": int(tp[i]),
                "fp": int(fp[i]),
                "fn": int(fn[i]),
            }
            for i, name in enumerate(names)
        },
        "support": len(true),
    }


def train_and_score_sets(
    table: pa.Table,
    label_names: Mapping[str, Sequence[str]],
    params: Any,
    predict: Callable[[LabelledRows, list[str], dict[str, LabelledRows]], Mapping[str, Any]],
    fail: Callable[[str], Exception],
) -> dict[str, Any]:
    """`specc.evaluation.train_and_score` for a multi-label column: `predict` gets and returns boolean
    rows × labels matrices; chance is predicting every label on every row."""
    import numpy as np

    from specc.evaluation import score_warnings, train_splits, training_rows

    names = list(label_names.get(params.label) or [])
    rows, missing = labelled_sets(table, params.text, params.label, names, fail)
    train = training_rows(rows, params.train, f"both '{params.text}' and '{params.label}'", fail)
    if not train.labels.any():
        raise fail(
            f"no row of split '{', '.join(train_splits(params.train))}' holds a label; a classifier needs labelled rows"
        )
    warnings = [f"{missing:,} rows without '{params.text}' or '{params.label}' were left out"] if missing else []
    wanted = {s: rows[s] for s in params.splits if s in rows and rows[s].texts}
    warnings += [f"{s}: no labelled rows; not scored" for s in params.splits if s not in wanted]
    predicted = predict(train, names, wanted) if wanted else {}
    splits, chance = {}, {}
    for split, part in wanted.items():
        splits[split] = set_metrics(part.labels, np.asarray(predicted[split], dtype=bool), names)
        every = set_metrics(part.labels, np.ones(part.labels.shape, dtype=bool), names)
        chance[split] = {"f1_micro": every["f1_micro"], "f1_macro": every["f1_macro"]}
        warnings += score_warnings(split, splits[split], chance[split], ("f1_micro", "f1_macro"))
    return {
        "task": TASK,
        "labels": names,
        "train_rows": len(train.texts),
        "splits": splits,
        "chance": chance,
        "warnings": warnings,
    }


def set_audit(scores: Mapping[str, Any]) -> dict[str, Any]:
    """The micro and macro scores and each label's precision, recall and F1 again, from its stated counts."""
    import numpy as np

    labels = scores["per_label"]
    tp, fp, fn = (np.array([labels[name][k] for name in labels], dtype=np.int64) for k in ("tp", "fp", "fn"))
    # rows that make up these counts: each label's hits, false alarms and misses on rows of their own
    n, k = int(tp.sum() + fp.sum() + fn.sum()), len(labels)
    true, pred = np.zeros((n, k), dtype=bool), np.zeros((n, k), dtype=bool)
    row = 0
    for j in range(k):
        for count, (t, p) in ((tp[j], (1, 1)), (fp[j], (0, 1)), (fn[j], (1, 0))):
            true[row : row + count, j], pred[row : row + count, j] = t, p
            row += count
    found = set_metrics(true, pred, list(labels))
    keys = ("f1_micro", "f1_macro", "precision_micro", "recall_micro", "precision_macro", "recall_macro")
    return {key: found[key] for key in keys} | {"per_label": found["per_label"]}
