"""Table-level work shared by executors: identity columns, step runs, row accounting."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from specc.components import Annotator, Augmenter, Component, Formatter, Source, Step, StepResult
from specc.counts import value_counts
from specc.errors import DataError, SpeccError

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

INTERNAL = ("_id", "_source", "_split")
LINEAGE = INTERNAL + ("_origin_id", "_augmenter", "_parent_id")
SPLIT_NAME = re.compile(r"^\w+(\.\w+)*$")
AUGMENT_BATCH_ROWS = 512  # rows per task sent to a worker; small enough to spread work evenly
SHOWN_IDS = 3  # `_id`s of rows with a null that an error names


class MissingValues(SpeccError):
    """Nulls in a column a component reads; `located` puts the file and line of the first such row in front."""

    def __init__(self, message: str, ids: list[str]):
        super().__init__(message)
        self.ids = ids

    def __reduce__(self) -> tuple:
        # Raised in worker processes: travel with the `_id`s, which the main process locates.
        return (type(self), (str(self), self.ids))

    def located(self, sources: Mapping[str, Source]) -> SpeccError:
        """This error prefixed with where its first row is in the source files (`file:line: error: ...`)."""
        where = row_location(sources, self.ids[0])
        return SpeccError(f"{where}: {self}" if where else str(self))


def row_location(sources: Mapping[str, Source], row_id: str) -> str:
    """Where the source row of `row_id` is (see `Source.locate`), or '' when its source cannot tell.

    An augmented row (`<origin>~<step>.<n>`) is found by its origin, an exploded row (`<parent>.<i>`)
    by its parent.
    """
    name, _, number = row_id.split("~", 1)[0].rpartition(":")
    position = number.split(".", 1)[0]
    source = sources.get(name)
    if source is None or not position.isdigit():
        return ""
    return str(source.locate(int(position)))


def check_nulls(table: pa.Table, columns: Iterable[str], fail: Callable[[str], Exception]) -> None:
    """Raise `MissingValues` when one of `columns` that `table` has holds a null, naming the first rows' `_id`s
    and the fix; `fail(message)` makes the error whose text says who reads the column."""
    import pyarrow.compute as pc

    for column in dict.fromkeys(columns):
        if column not in table.column_names:  # the reader's own error names the missing column
            continue
        values = table.column(column)
        count = values.null_count
        if not count:
            continue
        ids = table.column("_id").filter(pc.is_null(values)).slice(0, SHOWN_IDS).to_pylist()
        rows = f"row{'s' if len(ids) > 1 else ''} _id " + ", ".join(f"'{i}'" for i in ids)
        more = f" and at least {count - len(ids):,} more" if count > len(ids) else ""  # a batch's count, not all
        message = (
            f"column '{column}' is null (missing) in {rows}{more}; add {{type: drop-missing, columns: "
            f"[{column}]}} or {{type: fill-missing, columns: {{{column}: VALUE}}}} to `clean:`, before any "
            f"step that reads '{column}'"
        )
        raise MissingValues(str(fail(message)), ids)


def check_used(component: Component, table: pa.Table) -> None:
    """Fail with `MissingValues` when a column `component` reads holds a null in `table`, its input."""
    check_nulls(table, component.used_columns(), component.fail)


def check_labels(table: pa.Table, label_names: Mapping[str, list[str]], annotators: list[Annotator]) -> None:
    """Fail with `MissingValues` when a label column of the sources holds a null (checked before the split).

    Columns an annotator writes are left to it: it keeps or drops the rows it leaves unlabelled as its
    parameters say.
    """
    written = {column for annotator in annotators for column in annotator.label_names()}
    check_nulls(
        table, [c for c in label_names if c not in written], lambda message: SpeccError(f"error: labels: {message}")
    )


def check_targets(table: pa.Table, column: str) -> None:
    """Fail with `MissingValues` (located at the first row) when the regression target is absent, not numeric,
    null, NaN or infinite (checked before the split)."""
    import pyarrow as pa

    from specc.regression import SHOWN_ROWS, TASK, bad_target_message, bad_target_rows, targets

    if column not in table.column_names:
        shown = ", ".join(c for c in table.column_names if not c.startswith("_"))
        raise SpeccError(
            f"error: {TASK}: no target column '{column}'; map a source's numeric column to it with "
            f"`columns: {{{column}: YOUR_COLUMN}}`; the columns are: {shown}"
        )
    try:
        values = targets(table.column(column))
    except ValueError as exc:
        raise SpeccError(f"error: {TASK}: target column '{column}' {exc}") from None
    bad = bad_target_rows(values)
    if bad.size:
        ids = table.column("_id").take(pa.array(bad[:SHOWN_ROWS])).to_pylist()
        raise MissingValues(f"error: {TASK}: {bad_target_message(column, values, bad, ids)}", ids)


def source_batches(source: Source, counts: dict[str, Any] | None = None) -> Iterator[pa.RecordBatch]:
    """A source's rows with its column mapping applied and `_id`, `_source`, `_split` added.

    With `explode`, each element of the list column is a row whose `_id` is `<parent _id>.<element
    index>`, with `_parent_id`; `counts` (if given) then gets the rows before and after and the
    parents left out because their list was empty or null.
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    name = source.context.step_id
    mapping = source.params.columns
    explode = source.params.explode
    if explode is not None and counts is not None:
        counts.update({"column": explode.column, "rows_before": 0, "rows_after": 0, "empty": 0})
    offset = 0
    for chunk in source.read():
        table = pa.table(chunk) if isinstance(chunk, pa.RecordBatch) else chunk
        read = table.num_rows
        parents = elements = None
        if explode is not None:
            table, parents, elements = explode_rows(name, table, explode.column, explode.prefix)
            if counts is not None:
                counts["rows_before"] += read
                counts["rows_after"] += table.num_rows
                counts["empty"] += read - len(np.unique(parents))
        if mapping is not None:
            missing = [col for col in mapping.values() if col not in table.column_names]
            if missing:
                raise DataError(
                    name,
                    None,
                    None,
                    f"column(s) {', '.join(missing)} not found; the source has: "
                    f"{', '.join(table.column_names)}; fix `columns:`",
                )
            table = pa.table({out: table.column(col) for out, col in mapping.items()})
        rows = np.arange(table.num_rows, dtype=np.int64) if parents is None else parents
        positions = pa.array(offset + rows).cast(pa.string())
        offset += read
        ids = pc.binary_join_element_wise(pa.scalar(name), positions, ":")
        parent_ids = None
        if elements is not None:
            parent_ids, ids = ids, pc.binary_join_element_wise(ids, pa.array(elements).cast(pa.string()), ".")
        table = encode_labels(source, split_label_lists(source, table), ids)
        clash = [c for c in table.column_names if c in LINEAGE]
        if clash:
            raise DataError(name, None, None, f"column '{clash[0]}' is reserved for specc; rename it with `columns:`")
        if parent_ids is not None:
            table = table.add_column(0, "_parent_id", parent_ids)
        table = table.add_column(0, "_id", ids)
        table = table.append_column("_source", pa.repeat(pa.scalar(name), table.num_rows))
        table = table.append_column("_split", pa.repeat(pa.scalar(source.params.split, pa.string()), table.num_rows))
        yield from table.to_batches()


def explode_rows(source: str, table: pa.Table, column: str, prefix: str) -> tuple[pa.Table, np.ndarray, np.ndarray]:
    """One row per element of list `column` (struct elements: one column per field, named `prefix` + field).

    Returns the rows, each row's parent (index into `table`) and its element index; parents with an
    empty or null list have no rows.
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    if column not in table.column_names:
        raise DataError(
            source,
            None,
            None,
            f"explode: no column '{column}'; the source has: {', '.join(table.column_names)}; fix `explode:`",
        )
    lists = table.column(column).combine_chunks()
    if not (pa.types.is_list(lists.type) or pa.types.is_large_list(lists.type)):
        raise DataError(
            source,
            None,
            None,
            f"explode: column '{column}' holds {lists.type}, not lists; explode a column whose values are lists",
        )
    lengths = pc.list_value_length(lists).fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
    parents = np.repeat(np.arange(len(lists), dtype=np.int64), lengths)
    elements = np.arange(parents.size, dtype=np.int64) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    values = pc.list_flatten(lists)
    rest = table.drop_columns([column]).take(pa.array(parents))
    fields = (
        {prefix + values.type.field(i).name: values.field(i) for i in range(values.type.num_fields)}
        if pa.types.is_struct(values.type)
        else {column: values}
    )
    for field, array in fields.items():
        if field in rest.column_names:
            raise DataError(
                source,
                None,
                None,
                f"explode: the elements' field '{field}' has the name of a column "
                f"of the parent rows; set `explode: {{column: {column}, prefix: {column}_}}`",
            )
        rest = rest.append_column(field, array)
    return rest, parents, elements


def split_label_lists(source: Source, table: pa.Table) -> pa.Table:
    """The columns `label_delimiter` names, split from text into lists of labels."""
    from specc.multilabel import is_list, split_delimited

    for column, delimiter in (source.params.label_delimiter or {}).items():
        if column not in table.column_names:
            raise DataError(
                source.context.step_id,
                None,
                None,
                f"label_delimiter: no column '{column}'; the columns are: {', '.join(table.column_names)}; "
                f"fix `label_delimiter:`",
            )
        if is_list(table.schema.field(column).type):  # read as lists by the source itself (text-lines)
            continue
        values = split_delimited(table.column(column), delimiter)
        table = table.set_column(table.column_names.index(column), column, values)
    return table


def encode_labels(source: Source, table: pa.Table, ids: pa.Array) -> pa.Table:
    """Label columns given as names become integer ids (index in the source's label names); `ids` are the
    rows' `_id`s, for errors that name the file and line."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from specc.multilabel import is_list

    name = source.context.step_id
    declared = source.params.labels or {}
    for column, names in source.label_names().items():
        if column not in table.column_names:
            continue
        values = table.column(column)
        numbers = column in declared and all(n.lstrip("-").isdigit() for n in declared[column])
        if is_list(values.type):
            inner = values.type.value_type
            if pa.types.is_string(inner) or (numbers and pa.types.is_integer(inner)):
                table = _encode_lists(source, table, column, names, ids)
            continue
        if numbers and pa.types.is_integer(values.type):
            values = values.cast(pa.string())  # `labels: [1, 3, 2]` names the numbers the data holds, not ids
        elif not pa.types.is_string(values.type):
            continue
        labels = pc.index_in(values, value_set=pa.array(names, pa.string()))
        # a blank label is a missing one (a null id), not an unknown name: drop-missing or fill-missing decide
        given = pc.not_equal(pc.utf8_trim_whitespace(values), "")
        unknown = pc.and_(pc.is_null(labels), given)
        if pc.any(unknown).as_py():
            row = pc.index(unknown, True).as_py()
            row_id = ids[row].as_py()
            raise DataError(
                name,
                row_location({name: source}, row_id) or None,
                None,
                f"label {values[row].as_py()!r} of column '{column}' (row _id '{row_id}') is not one "
                f"of the label names {names}; add it to `labels:` or fix the data",
            )
        table = table.set_column(table.column_names.index(column), column, labels.cast(pa.int64()))
    return table


def _encode_lists(source: Source, table: pa.Table, column: str, names: list[str], ids: pa.Array) -> pa.Table:
    """A list column of label names as lists of ids."""
    from specc.multilabel import encode

    values = table.column(column)
    lists, bad = encode(values, names)
    if bad is not None:
        name = source.context.step_id
        row_id = ids[bad].as_py()
        raise DataError(
            name,
            row_location({name: source}, row_id) or None,
            None,
            f"labels {values[bad].as_py()!r} of column '{column}' (row _id '{row_id}') hold a name that is not "
            f"one of the label names {names}; add it to `labels:` or fix the data",
        )
    return table.set_column(table.column_names.index(column), column, lists)


def new_step_stats() -> dict[str, Any]:
    """Empty row accounting for one step."""
    return {"rows_in": 0, "rows_out": 0, "dropped": {}, "by_source": {}}


def account(stats: dict[str, Any], before: pa.Table, after: pa.Table, dropped: dict[str, Any]) -> None:
    """Add one batch's rows in, out and dropped (per reason and per source) to `stats`."""
    stats["rows_in"] += before.num_rows
    stats["rows_out"] += after.num_rows
    per_source = stats["by_source"]
    for name, n in value_counts(before.column("_source")).items():
        per_source.setdefault(name, {"rows_in": 0, "rows_out": 0, "dropped": {}})["rows_in"] += n
    for name, n in value_counts(after.column("_source")).items():
        per_source[name]["rows_out"] += n
    for reason, mask in dropped.items():
        for name, n in value_counts(before.column("_source").filter(mask)).items():
            stats["dropped"][reason] = stats["dropped"].get(reason, 0) + n
            bucket = per_source[name]["dropped"]
            bucket[reason] = bucket.get(reason, 0) + n


def checked_apply(step: Step, table: pa.Table) -> StepResult:
    """Check the columns it reads for nulls, apply a clean or annotate step and check that it dropped exactly the
    rows its masks say."""
    import pyarrow.compute as pc

    check_used(step, table)
    result = step.apply(table)
    accounted = sum(int(pc.sum(mask).as_py() or 0) for mask in result.dropped.values())
    if table.num_rows - result.table.num_rows != accounted:
        raise SpeccError(
            f"error: step '{step.context.step_id}' ({step.name}, plugin bug): it dropped "
            f"{table.num_rows - result.table.num_rows} rows but reported {accounted}"
        )
    return result


def run_step(step: Step, table: pa.Table, stats: dict[str, Any]) -> pa.Table:
    """Apply a clean or annotate step, check that it only dropped what it says, and account for it."""
    result = checked_apply(step, table)
    account(stats, table, result.table, result.dropped)
    if result.info:
        merge_info(stats.setdefault("info", {}), result.info)
    return result.table


def merge_info(total: dict[str, Any], part: dict[str, Any]) -> None:
    """Add a step's statistics of one batch (or its `info`) to `total`: numbers add up, mappings merge, other
    values replace."""
    for key, value in part.items():
        mine = total.get(key)
        if isinstance(value, dict) and isinstance(mine, dict):
            merge_info(mine, value)
        elif isinstance(value, (int, float)) and not isinstance(value, bool) and isinstance(mine, (int, float)):
            total[key] = mine + value
        else:
            total[key] = value


def annotated_label_names(annotators: list[Annotator], label_names: dict[str, list[str]]) -> dict[str, list[str]]:
    """The sources' label names with those the annotators declare for the columns they write.

    A column may have one set of names only: an annotator that writes ids under other names than
    a source (or an earlier annotator) gave that column is an error.
    """
    merged = dict(label_names)
    owner = {column: "the sources" for column in merged}
    for annotator in annotators:
        for column, names in annotator.label_names().items():
            if column in merged and merged[column] != list(names):
                raise annotator.fail(
                    f"it writes column '{column}' with the label names {list(names)}, but "
                    f"{owner[column]} gave it {merged[column]}; use the same names, or write "
                    f"another column (`column:`)"
                )
            merged[column], owner[column] = list(names), f"step '{annotator.context.step_id}'"
    return dict(sorted(merged.items()))


def run_row_steps(steps: list[Component], batch: pa.RecordBatch) -> tuple[pa.Table, list[dict[str, Any]]]:
    """Run a worker group's row-wise `Step`s over one batch; returns the rows kept and stats per step."""
    import pyarrow as pa

    table = pa.Table.from_batches([batch])
    all_stats = []
    for step in steps:
        assert isinstance(step, Step)
        stats = new_step_stats()
        table = run_step(step, table, stats)
        all_stats.append(stats)
    return table, all_stats


def format_rows(formatter: Formatter, batch: pa.RecordBatch, label_names: dict[str, list[str]]) -> pa.Table:
    """Format one batch, keeping the identity and lineage columns and the `keep_columns` the spec names."""
    import pyarrow as pa

    before = pa.Table.from_batches([batch])
    formatter.label_names = label_names
    check_used(formatter, before)
    try:
        after = formatter.format(before)
    except (MemoryError, pa.ArrowCapacityError) as exc:  # pyarrow's ArrowMemoryError is a MemoryError
        raise formatter.fail(
            f"formatting a batch of {before.num_rows:,} rows ran out of memory ({type(exc).__name__}"
            f"{f': {exc}' if str(exc) else ''}); make the templates write less, or drop very long "
            f"rows first (a `length` step in `clean:`)"
        ) from None
    if after.num_rows != before.num_rows:
        raise SpeccError(f"error: formatter '{formatter.name}' (plugin bug) changed the row count")
    kept = list(getattr(formatter.params, "keep_columns", []))
    for column in kept:
        formatter.column(before, column)
        if column in after.column_names:
            raise formatter.fail(f"keep_columns: '{column}' is a column the formatter writes; leave it out")
    for column in kept + [c for c in LINEAGE if c in before.column_names and c not in after.column_names]:
        after = after.append_column(column, before.column(column))
    return after


def fitting_rows(table: pa.Table) -> pa.Table:
    """The rows `Augmenter.fit` learns from: the train split's rows that came from the sources."""
    import pyarrow.compute as pc

    train = pc.equal(table.column("_split"), "train")
    if "_origin_id" in table.column_names:
        train = pc.and_(train, pc.is_null(table.column("_origin_id")))
    return table.filter(pc.fill_null(train, False))


def augment_inputs(augmenter: Augmenter, table: pa.Table) -> pa.Table:
    """The rows an augmenter is given: source rows of its splits chosen by `fraction`, each repeated
    `copies` times (copies adjacent) with `_seed`, the random state of that copy (step seed, `_id`, copy)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    params = augmenter.params
    present = sorted(value_counts(table.column("_split")))
    for split in params.splits:
        if split not in present:
            raise augmenter.fail(
                f"splits: the data has no split '{split}' (its splits: {', '.join(present)}); fix `splits:`"
            )
    for name in params.columns:
        kind = augmenter.column(table, name).type
        if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
            raise augmenter.fail(f"column '{name}' holds {kind}, not text; name text columns in `columns:`")
    chosen = pc.is_in(table.column("_split"), value_set=pa.array(params.splits, pa.string()))
    if "_origin_id" in table.column_names:  # rows an earlier augmenter made are not augmented again
        chosen = pc.and_(chosen, pc.is_null(table.column("_origin_id")))
    rows = table.filter(chosen).drop_columns([c for c in ("_origin_id", "_augmenter") if c in table.column_names])
    if params.fraction < 1:
        draws = augmenter.context.row_seeds(rows.column("_id"))
        rows = rows.filter(pa.array(draws < np.uint64(int(params.fraction * 2.0**64))))
    rows = rows.take(pa.array(np.repeat(np.arange(rows.num_rows), params.copies)))
    copy = pa.array(np.tile(np.arange(1, params.copies + 1), rows.num_rows // params.copies)).cast(pa.string())
    keys = pc.binary_join_element_wise(rows.column("_id"), copy, "#")
    return rows.append_column("_seed", pa.array(augmenter.context.row_seeds(keys), pa.uint64()))


def augment_batches(rows: pa.Table, copies: int) -> Iterator[pa.Table]:
    """`rows` of `augment_inputs` in compact batches (a slice would pickle its whole parent) that keep
    each row's copies together."""
    import numpy as np
    import pyarrow as pa

    size = max(AUGMENT_BATCH_ROWS // copies, 1) * copies
    for start in range(0, rows.num_rows, size):
        yield rows.take(pa.array(np.arange(start, min(start + size, rows.num_rows))))


def augment_rows(augmenter: Augmenter, batch: pa.Table) -> tuple[pa.Table, dict[str, Any]]:
    """Augment one batch of `augment_inputs`: the new rows with `_id` (`<origin>~<step>.<n>`), their
    origin's `_split` and `_source`, and `_augmenter`, less those identical to their origin in `columns`;
    with the count of those (`unchanged`), the first change (`example`) and the augmenter's own `info`."""
    import pyarrow as pa

    made = augmenter.augment(batch)
    if "_origin_id" not in made.column_names:
        raise SpeccError(f"error: augmenter '{augmenter.name}' (plugin bug) returned rows without `_origin_id`")
    columns = list(augmenter.params.columns)
    origin = {row["_id"]: row for row in batch.select(["_id", "_split", "_source", *columns]).to_pylist()}
    after = [made.column(c).to_pylist() for c in columns]
    counter: dict[str, int] = {}
    ids, splits, sources, keep = [], [], [], []
    example = None
    for i, origin_id in enumerate(made.column("_origin_id").to_pylist()):
        row = origin.get(origin_id)
        if row is None:
            raise SpeccError(
                f"error: augmenter '{augmenter.name}' (plugin bug) returned a row whose `_origin_id` "
                f"{origin_id!r} is not one of the rows it was given"
            )
        counter[origin_id] = counter.get(origin_id, 0) + 1
        ids.append(f"{origin_id}~{augmenter.context.step_id}.{counter[origin_id]}")
        splits.append(row["_split"])
        sources.append(row["_source"])
        changed = [c for c, values in zip(columns, after) if values[i] != row[c]]
        keep.append(bool(changed))
        if changed and example is None:
            example = {
                "_id": origin_id,
                "column": changed[0],
                "before": row[changed[0]],
                "after": after[columns.index(changed[0])][i],
            }
    for name, values in (("_id", ids), ("_split", splits), ("_source", sources)):
        made = made.set_column(made.column_names.index(name), name, pa.array(values, pa.string()))
    made = made.filter(pa.array(keep, pa.bool_()))
    if "_seed" in made.column_names:
        made = made.drop_columns(["_seed"])
    made = made.append_column("_augmenter", pa.array([augmenter.name] * made.num_rows, pa.string()))
    return made, {"unchanged": keep.count(False), "example": example, "info": augmenter.info()}


def load_fitted(augmenter: Augmenter, path: str) -> None:
    """Give `augmenter` the state its `fit` wrote to `path`, unless it has it already (kept between batches)."""
    from pathlib import Path

    if augmenter.__dict__.get("_fitted_from") != path:
        augmenter.load(Path(path).read_bytes())
        augmenter.__dict__["_fitted_from"] = path


def check_split_names(names: pa.Array) -> list[str]:
    """The distinct split names, checked against the pattern the Hub accepts."""
    import pyarrow.compute as pc

    distinct = pc.unique(names).to_pylist()
    for name in distinct:
        if not isinstance(name, str) or not SPLIT_NAME.match(name):
            raise SpeccError(f"error: split name {name!r} is not allowed; use letters, digits and _")
    return distinct
