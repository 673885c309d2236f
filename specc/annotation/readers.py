"""Reading annotation files (wide CSV, long CSV, Label Studio JSON export) and writing items to annotate.

Readers return the table and every problem found (duplicates, rows without an item, cancelled or empty
annotations): nothing is dropped without a Problem saying so. A file that cannot be read at all raises
SpeccError naming the file, the line and the fix.
"""

from __future__ import annotations

import csv
import fnmatch
import io
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from specc.annotation.table import Annotations
from specc.atomic import replace_text
from specc.errors import SpeccError

FORMATS = ("wide-csv", "long-csv", "label-studio")
ITEM_COLUMNS = ("_id", "id", "item")
NOT_ANNOTATORS = ("text",)


@dataclass(frozen=True)
class Problem:
    """One annotation that was not taken as it stood: kind is duplicate, empty, malformed, unmatched or cancelled."""

    kind: str
    item: str | None
    annotator: str | None
    detail: str
    line: int | None = None

    def message(self, path: Path | str) -> str:
        """One line: FILE[:LINE]: warning: KIND: DETAIL."""
        where = f"{path}:{self.line}" if self.line else f"{path}"
        return f"{where}: warning: {self.kind}: {self.detail}"


def count_kinds(problems: Iterable[Problem]) -> dict[str, int]:
    """How many problems there are of each kind, by kind name."""
    counts: dict[str, int] = {}
    for problem in problems:
        counts[problem.kind] = counts.get(problem.kind, 0) + 1
    return dict(sorted(counts.items()))


def read_annotations(
    path: Path | str,
    format: str,
    *,
    item: str | None = None,
    annotator: str | Sequence[str] | None = None,
    label: str | None = None,
    from_name: str | None = None,
    exclude: Sequence[str] = NOT_ANNOTATORS,
) -> tuple[Annotations, list[Problem]]:
    """Read an annotation file into a table, with the problems found in it.

    - wide-csv: one row per item, one column per annotator. `item` names the item column (default the
      first of _id, id, item); `annotator` is a list of columns or a glob pattern such as 'label_*'
      (default every column but the item column and the `exclude` columns, 'text' by default).
      Empty cells are missing. A row repeating an item id adds its labels as duplicates.
    - long-csv: one row per annotation; `item` (default _id, id or item), `annotator` (default
      'annotator') and `label` (default 'label') name the columns.
    - label-studio: Label Studio's JSON export; items are matched by data[`item`] (default '_id'),
      annotators by `completed_by` (the user id, or the email when the export carries user details),
      labels from the `choices` (or `rating`/`number`) result of the control `from_name` (needed only
      when the labeling config has several). Cancelled (skipped) annotations are left out and reported.

    A second label for the same item and annotator is reported as a duplicate; the first one is kept.
    """
    if format not in FORMATS:
        raise SpeccError(f"error: unknown annotation format '{format}'; use one of {', '.join(FORMATS)}")
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise SpeccError(
            f"{path}: error: cannot read the annotation file ({exc}); check the path and that it is UTF-8 text"
        ) from None
    if not text.strip():
        raise SpeccError(f"{path}:1: error: the annotation file is empty; export the annotations again")
    if format == "label-studio":
        return _read_label_studio(path, text, item or "_id", from_name)
    if format == "wide-csv":
        return _read_wide(path, text, item, annotator, exclude)
    if annotator is not None and not isinstance(annotator, str):
        raise SpeccError(f"error: a long CSV names one annotator column, got {list(annotator)}")
    return _read_long(path, text, item, annotator or "annotator", label or "label")


class _Cells:
    """Collects (item, annotator) -> label, reporting the second label for a pair as a duplicate."""

    def __init__(self) -> None:
        self.cells: dict[tuple[str, str], tuple[Any, str]] = {}
        self.problems: list[Problem] = []

    def add(self, item: str, annotator: str, label: Any, line: int | None, origin: str | None = None) -> None:
        """Keep the first label of a pair; `origin` says where it came from (default: its line)."""
        first = self.cells.get((item, annotator))
        if first is None:
            self.cells[(item, annotator)] = (label, origin or (f"on line {line}" if line else ""))
            return
        where = f" {first[1]}" if first[1] else ""
        self.problems.append(
            Problem(
                "duplicate",
                item,
                annotator,
                f"item '{item}' labelled again by '{annotator}' ({label!r}; the first label, "
                f"{first[0]!r}{where}, is kept)",
                line,
            )
        )

    def result(self) -> tuple[Annotations, list[Problem]]:
        table = Annotations.from_long((i, a, label) for (i, a), (label, _) in self.cells.items())
        return table, self.problems


def _csv_rows(path: Path, text: str, problems: list[Problem]) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    """The header and (line, fields) for each non-blank row; rows of the wrong width go to `problems`."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = [name.strip() for name in next(reader)]
    except csv.Error as exc:
        raise SpeccError(f"{path}:1: error: the header is not valid CSV ({exc}); fix the first line") from None
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        raise SpeccError(
            f"{path}:1: error: columns appear more than once: {', '.join(repeated)}; give each column its own name"
        )

    def rows() -> Iterator[tuple[int, list[str]]]:
        line = reader.line_num + 1
        while True:
            try:
                fields = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise SpeccError(
                    f"{path}:{reader.line_num}: error: not valid CSV ({exc}); fix the quoting on this line"
                ) from None
            if len(fields) != len(header) and any(field.strip() for field in fields):
                problems.append(
                    Problem(
                        "malformed",
                        None,
                        None,
                        f"the row has {len(fields)} fields, the header {len(header)}; the row is left out",
                        line,
                    )
                )
            elif any(field.strip() for field in fields):
                yield line, fields
            line = reader.line_num + 1

    return header, rows()


def _column(path: Path, header: list[str], name: str | None, what: str, option: str) -> int:
    if name is None:
        found = [column for column in ITEM_COLUMNS if column in header]
        if not found:
            raise SpeccError(
                f"{path}:1: error: no item column ({', '.join(ITEM_COLUMNS)}) among the columns "
                f"{', '.join(header)}; name it with {option}"
            )
        name = found[0]
    if name not in header:
        raise SpeccError(
            f"{path}:1: error: no {what} column '{name}' among the columns {', '.join(header)}; "
            f"name the right one with {option}"
        )
    return header.index(name)


def _wide_annotators(
    path: Path, header: list[str], item: int, annotator: str | Sequence[str] | None, exclude: Sequence[str]
) -> list[int]:
    others = [n for n in range(len(header)) if n != item]
    if annotator is None:
        chosen = [n for n in others if header[n] not in exclude]
    elif isinstance(annotator, str):
        chosen = [n for n in others if fnmatch.fnmatchcase(header[n], annotator)]
    else:
        unknown = [name for name in annotator if name not in header]
        if unknown:
            raise SpeccError(
                f"{path}:1: error: no annotator column {', '.join(map(repr, unknown))} among the "
                f"columns {', '.join(header)}; name existing columns"
            )
        chosen = [header.index(name) for name in annotator]
    if not chosen:
        wanted = f"matching '{annotator}' " if isinstance(annotator, str) else ""
        raise SpeccError(
            f"{path}:1: error: no annotator columns {wanted}among {', '.join(header)}; "
            f"name them (a list or a pattern such as 'label_*') with --annotator"
        )
    return chosen


def _read_wide(
    path: Path, text: str, item: str | None, annotator: str | Sequence[str] | None, exclude: Sequence[str]
) -> tuple[Annotations, list[Problem]]:
    cells = _Cells()
    header, rows = _csv_rows(path, text, cells.problems)
    item_at = _column(path, header, item, "item", "--item (item=)")
    annotators = _wide_annotators(path, header, item_at, annotator, exclude)
    for line, fields in rows:
        key = fields[item_at].strip()
        labels = [(header[n], fields[n].strip()) for n in annotators if fields[n].strip()]
        if not key:
            cells.problems.append(
                Problem(
                    "empty",
                    None,
                    None,
                    f"the row has no item id in column '{header[item_at]}'; its {len(labels)} labels are left out",
                    line,
                )
            )
            continue
        if not labels:
            cells.problems.append(Problem("empty", key, None, f"item '{key}' has no labels", line))
        for name, value in labels:
            cells.add(key, name, value, line)
    return cells.result()


def _read_long(
    path: Path, text: str, item: str | None, annotator: str, label: str
) -> tuple[Annotations, list[Problem]]:
    cells = _Cells()
    header, rows = _csv_rows(path, text, cells.problems)
    item_at = _column(path, header, item, "item", "--item (item=)")
    annotator_at = _column(path, header, annotator, "annotator", "--annotator (annotator=)")
    label_at = _column(path, header, label, "label", "--label (label=)")
    for line, fields in rows:
        key, who, value = (fields[n].strip() for n in (item_at, annotator_at, label_at))
        if not (key and who and value):
            missing = [name for name, field in zip(("item", "annotator", "label"), (key, who, value)) if not field]
            cells.problems.append(
                Problem(
                    "empty",
                    key or None,
                    who or None,
                    f"the row has no {' and no '.join(missing)}; it is left out",
                    line,
                )
            )
            continue
        cells.add(key, who, value, line)
    return cells.result()


def _json_array(path: Path, text: str) -> list[tuple[Any, int]]:
    """The elements of a top-level JSON array with the line each starts on."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SpeccError(
            f"{path}:{exc.lineno}: error: not valid JSON ({exc.msg} at column {exc.colno}); "
            f"export the project from Label Studio again as JSON"
        ) from None
    if not isinstance(data, list):
        raise SpeccError(
            f"{path}:1: error: expected a list of tasks (Label Studio's JSON export), got a "
            f"{type(data).__name__}; export with the 'JSON' format"
        )
    decoder, elements, at = json.JSONDecoder(), [], text.index("[") + 1
    for _ in data:
        while text[at] in " \t\r\n,":
            at += 1
        element, end = decoder.raw_decode(text, at)
        elements.append((element, text.count("\n", 0, at) + 1))
        at = end
    return elements


_VALUE_KEYS = ("choices", "rating", "number")


def _read_label_studio(path: Path, text: str, key: str, from_name: str | None) -> tuple[Annotations, list[Problem]]:
    tasks = _json_array(path, text)
    for task, line in tasks:
        if not isinstance(task, dict) or not isinstance(task.get("data"), dict):
            raise SpeccError(
                f"{path}:{line}: error: a task without a 'data' object; this is not a Label Studio "
                f"JSON export (export with the 'JSON' format)"
            )
        if not isinstance(task.get("annotations"), list):
            raise SpeccError(
                f"{path}:{line}: error: task {task.get('id', '?')} has no 'annotations' list; export "
                f"with Label Studio's 'JSON' format (JSON-MIN and CSV exports drop the annotators)"
            )
    if tasks and not any(key in task["data"] for task, _ in tasks):
        keys = sorted({name for task, _ in tasks for name in task["data"]})
        raise SpeccError(
            f"{path}:{tasks[0][1]}: error: no task has data['{key}'], so items cannot be matched; "
            f"name the key with --item (item=); data keys: {', '.join(keys)}"
        )
    control = from_name or _only_control(path, tasks)
    cells = _Cells()
    for task, line in tasks:
        if key not in task["data"]:
            cells.problems.append(
                Problem(
                    "unmatched",
                    None,
                    None,
                    f"task {task.get('id', '?')} has no "
                    f"data['{key}']; its {len(task['annotations'])} annotations are left out",
                    line,
                )
            )
            continue
        item = str(task["data"][key])
        for annotation in task["annotations"]:
            _label_studio_annotation(cells, item, annotation, control, line)
    return cells.result()


def _only_control(path: Path, tasks: list[tuple[Any, int]]) -> str | None:
    """The one labeling control with choices in the export; an error naming them when there are several."""
    names = sorted(
        {
            region.get("from_name")
            for task, _ in tasks
            for annotation in task["annotations"]
            if isinstance(annotation, dict)
            for region in annotation.get("result") or []
            if isinstance(region, dict) and any(k in (region.get("value") or {}) for k in _VALUE_KEYS)
        },
        key=str,
    )
    if len(names) > 1:
        raise SpeccError(
            f"{path}: error: the annotations hold several labeling controls "
            f"({', '.join(map(str, names))}); "
            f"choose one with --from-name (from_name=)"
        )
    return names[0] if names else None


def _label_studio_annotation(cells: _Cells, item: str, annotation: Any, control: str | None, line: int) -> None:
    if not isinstance(annotation, dict) or annotation.get("completed_by") in (None, ""):
        cells.problems.append(
            Problem(
                "malformed",
                item,
                None,
                f"an annotation of item '{item}' names no annotator (completed_by); it is left out",
                line,
            )
        )
        return
    who = annotation["completed_by"]
    if isinstance(who, dict):
        who = who.get("email") or who.get("id")
    who = str(who)
    if annotation.get("was_cancelled"):
        cells.problems.append(Problem("cancelled", item, who, f"'{who}' skipped item '{item}'", line))
        return
    values = [
        region["value"]
        for region in annotation.get("result") or []
        if isinstance(region, dict) and region.get("from_name") == control and isinstance(region.get("value"), dict)
    ]
    labels = [value[k] for value in values for k in _VALUE_KEYS if k in value]
    labels = [label for value in labels for label in (value if isinstance(value, list) else [value])]
    if not labels:
        cells.problems.append(Problem("empty", item, who, f"'{who}' submitted item '{item}' without a label", line))
    elif len(labels) > 1:
        cells.problems.append(
            Problem(
                "malformed",
                item,
                who,
                f"'{who}' gave item '{item}' several labels "
                f"{labels}; a single label is needed, the annotation is left out",
                line,
            )
        )
    else:
        cells.add(item, who, labels[0] if isinstance(labels[0], str) else str(labels[0]), line)


def merge_annotations(parts: Iterable[tuple[str, Annotations]]) -> tuple[Annotations, list[tuple[str, Problem]]]:
    """One table from several (file name, table) parts of a round; an annotator in two parts is one person.

    A pair labelled in two parts keeps the first part's label; the other is a duplicate Problem,
    returned with the name of the part it was found in.
    """
    cells, problems = _Cells(), []
    for name, table in parts:
        before = len(cells.problems)
        for item, annotator, label in table.to_long():
            cells.add(item, annotator, label, None, origin=f"in {name}")
        problems += [(name, problem) for problem in cells.problems[before:]]
    return cells.result()[0], problems


def match_items(a: Annotations, keys: Iterable[str]) -> tuple[Annotations, list[Problem]]:
    """The table restricted to items among `keys`, with an 'unmatched' Problem for each other annotated item."""
    wanted = set(map(str, keys))
    problems = [
        Problem("unmatched", item, None, f"item '{item}' is not in the data; its {int(count)} annotations are left out")
        for item, count in zip(a.items, a.annotations_per_item())
        if item not in wanted
    ]
    return a.subset(items=[item for item in a.items if item in wanted]), problems


def _columns(rows: Iterable[Mapping[str, Any]], columns: Sequence[str], path: Path) -> list[list[Any]]:
    table = []
    for n, row in enumerate(rows):
        missing = [column for column in columns if column not in row]
        if missing:
            raise SpeccError(
                f"{path}: error: row {n} has no column {', '.join(map(repr, missing))} to export; name existing columns"
            )
        table.append([row[column] for column in columns])
    return table


def write_label_studio_tasks(
    rows: Iterable[Mapping[str, Any]], path: Path | str, text_column: str, key: str = "_id", extra: Sequence[str] = ()
) -> int:
    """Write a Label Studio import file, a list of {"data": {key, text_column, *extra}}; returns the task count."""
    from specc.output import write_json

    path = Path(path)
    columns = [key, text_column, *extra]
    tasks = [{"data": dict(zip(columns, values))} for values in _columns(rows, columns, path)]
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json(path, tasks)
    return len(tasks)


def write_annotation_csv(
    rows: Iterable[Mapping[str, Any]],
    path: Path | str,
    text_column: str,
    key: str = "_id",
    annotators: Sequence[str] = ("label",),
    extra: Sequence[str] = (),
) -> int:
    """Write a wide CSV to fill in: key, text, the `extra` columns and an empty column per annotator.

    Returns the row count. Read it back with read_annotations(..., "wide-csv", item=key,
    annotator=list(annotators)).
    """
    path = Path(path)
    table = _columns(rows, [key, text_column, *extra], path)
    write_csv(path, [key, text_column, *extra, *annotators], [[*values, *([""] * len(annotators))] for values in table])
    return len(table)


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Write a CSV (`\\n` line ends, None as an empty cell) through a temporary file beside `path`."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    replace_text(path, out.getvalue(), newline="")
