"""Nulls are decided, not passed: a null in a column a step, split, format or label uses stops the build with
the file, the line and the `_id` of the row, unless the spec drops it (drop-missing) or fills it (fill-missing);
the card counts what was dropped or filled."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pydantic import ValidationError

from specc.builtins.fill import FillMissing
from specc.builtins.sources import JsonlSource
from specc.components import Context, StepResult
from specc.errors import SpeccError
from specc.executor.tables import row_location
from tests.conftest import run_cli, write

HEAD = "specc: 1\nname: nulls\ndescription: Rows with holes.\nlicense: mit\ncard: {draft: true}\n"
FIX = "add {type: drop-missing, columns: [%s]} or {type: fill-missing, columns: {%s: VALUE}} to `clean:`"

# Line 3 has no `text` key, line 5 an explicit null; line 2 is blank and holds no record.
JSONL = (
    '{"text": "the first question", "label": "a"}\n\n{"label": "b"}\n{"text": "the third question", "label": "a"}\n'
    '{"text": null, "label": "b"}\n{"text": "the fifth question", "label": "b"}\n'
)
# A quoted value spans lines 3-4; line 5 has an empty label.
CSV = (
    'text,label\nfirst row,a\n"a row over\ntwo lines",b\nno label here,\nthird row,a\nfourth row,b\nfifth row,a\n'
    "sixth row,b\n"
)
CSV_SOURCE = "rows: {type: csv, path: rows.csv, labels: {label: [a, b]}}"
# `domain` is null on line 2; `note` is null everywhere but read by nothing.
DOMAINS = "".join(
    json.dumps({"text": f"text number {i}", "domain": None if i == 1 else "ab"[i % 2], "note": None}) + "\n"
    for i in range(8)
)
STRATIFIED = "split: {method: stratified, stratify: domain, ratios: {train: 0.5, test: 0.5}}\n"
# `answer` is null on line 2.
PAIRS = '{"question": "What is two and two?", "answer": "four"}\n{"question": "Why?", "answer": null}\n'
FORMAT = 'format: {type: prompt-completion, prompt: "{{ question }}", completion: "{{ answer }}"}\n'


def build(folder: Path, files: dict[str, str], body: str, *options: str) -> subprocess.CompletedProcess:
    """Write `files` and a spec with `body` into `folder` and build it through the CLI."""
    for name, text in files.items():
        write(folder / name, text)
    write(folder / "s.yaml", HEAD + body)
    return run_cli("build", "s.yaml", *options, cwd=folder)


def output(folder: Path) -> dict[str, list]:
    """Every output row, all splits together, by column."""
    files = sorted((folder / "build" / "nulls" / "data").glob("*.parquet"))
    return pa.concat_tables([pq.read_table(f) for f in files]).to_pydict()


def processing_row(folder: Path, step: str) -> str:
    """The card's Processing row of `step`."""
    card = (folder / "build" / "nulls" / "README.md").read_text()
    return next(line for line in card.splitlines() if line.startswith(f"| `{step}` |"))


def failed(result: subprocess.CompletedProcess, where: str, who: str, column: str, ids: str) -> None:
    """The build failed with one clear message naming the file and line, the step, the column, the rows and
    the fix."""
    assert result.returncode == 1, result.stdout
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith(
        f"{where}: error: {who}: column '{column}' is null (missing) in {ids}; {FIX % (column, column)}"
    ), result.stderr


# --- each use of a column stops at a null, naming file, line and _id --------------------------------------------


def test_null_text_in_jsonl_names_the_line_of_the_missing_key(tmp_path: Path) -> None:
    result = build(
        tmp_path,
        {"rows.jsonl": JSONL},
        "sources:\n  rows: {type: jsonl, path: rows.jsonl}\nclean:\n  - {type: normalize, columns: [text]}\n",
    )
    failed(result, "rows.jsonl:3", "step 'clean.normalize' (normalize)", "text", "rows _id 'rows:1', 'rows:3'")
    assert not (tmp_path / "build" / "nulls").exists()


def test_explicit_null_is_named_at_its_own_line(tmp_path: Path) -> None:
    rows = JSONL.replace('{"label": "b"}', '{"text": "no hole here", "label": "b"}')
    result = build(
        tmp_path,
        {"rows.jsonl": rows},
        "sources:\n  rows: {type: jsonl, path: rows.jsonl}\nclean:\n  - {type: length, column: text, min_chars: 1}\n",
        "--num-proc",
        "2",
    )
    failed(result, "rows.jsonl:5", "step 'clean.length' (length)", "text", "row _id 'rows:3'")


def test_empty_label_in_csv_names_its_line_after_a_quoted_line_break(tmp_path: Path) -> None:
    result = build(tmp_path, {"rows.csv": CSV}, f"sources:\n  {CSV_SOURCE}\n")
    failed(result, "rows.csv:5", "labels", "label", "row _id 'rows:2'")


def test_null_in_a_stratify_column(tmp_path: Path) -> None:
    result = build(
        tmp_path, {"rows.jsonl": DOMAINS}, "sources:\n  rows: {type: jsonl, path: rows.jsonl}\n" + STRATIFIED
    )
    failed(result, "rows.jsonl:2", "step 'split' (stratified)", "domain", "row _id 'rows:1'")


def test_null_in_a_column_a_template_uses(tmp_path: Path) -> None:
    result = build(tmp_path, {"pairs.jsonl": PAIRS}, "sources:\n  pairs: {type: jsonl, path: pairs.jsonl}\n" + FORMAT)
    failed(result, "pairs.jsonl:2", "step 'format' (prompt-completion)", "answer", "row _id 'pairs:1'")


def test_exploded_row_is_found_at_its_parents_line(tmp_path: Path) -> None:
    tasks = (
        '{"name": "t0", "instances": [{"input": "1", "output": "one"}]}\n'
        '{"name": "t1", "instances": [{"input": "2", "output": "two"}, {"input": "3", "output": null}]}\n'
    )
    result = build(
        tmp_path,
        {"tasks.jsonl": tasks},
        "sources:\n  seed: {type: jsonl, path: tasks.jsonl, "
        "explode: instances}\nformat: {type: prompt-completion, prompt: '{{ input }}', "
        "completion: '{{ output }}'}\n",
    )
    failed(result, "tasks.jsonl:2", "step 'format' (prompt-completion)", "output", "row _id 'seed:1.1'")


def test_parquet_rows_are_named_by_their_index(tmp_path: Path) -> None:
    pq.write_table(pa.table({"text": ["one", "two"]}), tmp_path / "a.parquet")
    pq.write_table(pa.table({"text": ["three", None]}), tmp_path / "b.parquet")
    result = build(tmp_path, {}, "sources:\n  rows: {type: parquet, path: '*.parquet'}\nclean:\n  - {type: dedup}\n")
    failed(result, "b.parquet (row index 1)", "step 'clean.dedup' (dedup)", "text", "row _id 'rows:3'")


def test_unknown_label_names_file_and_line(tmp_path: Path) -> None:
    result = build(tmp_path, {"rows.csv": CSV.replace("third row,a", "third row,c")}, f"sources:\n  {CSV_SOURCE}\n")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith(
        "rows.csv:6: error: source 'rows': label 'c' of column 'label' (row _id "
        "'rows:3') is not one of the label names ['a', 'b']"
    ), result.stderr


def test_a_column_nothing_uses_may_hold_nulls(tmp_path: Path) -> None:
    rows = DOMAINS.replace('"domain": null', '"domain": "a"')
    result = build(
        tmp_path,
        {"rows.jsonl": rows},
        "sources:\n  rows: {type: jsonl, path: rows.jsonl}\n"
        + STRATIFIED
        + "clean:\n  - {type: normalize, columns: [text]}\n",
    )
    assert result.returncode == 0, result.stderr
    assert output(tmp_path)["note"] == [None] * 8
    assert "filled" not in processing_row(tmp_path, "clean.normalize")


# --- drop-missing and fill-missing decide ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "files,sources,steps,rest,column",
    [
        (
            {"rows.jsonl": JSONL},
            "rows: {type: jsonl, path: rows.jsonl}",
            ["{type: normalize, columns: [text]}"],
            "",
            "text",
        ),
        ({"rows.csv": CSV}, CSV_SOURCE, [], "", "label"),
        ({"rows.jsonl": DOMAINS}, "rows: {type: jsonl, path: rows.jsonl}", [], STRATIFIED, "domain"),
        ({"pairs.jsonl": PAIRS}, "pairs: {type: jsonl, path: pairs.jsonl}", [], FORMAT, "answer"),
    ],
    ids=["jsonl-text", "csv-label", "stratify", "template"],
)
def test_drop_missing_drops_and_the_card_counts_it(
    tmp_path: Path, files: dict[str, str], sources: str, steps: list[str], rest: str, column: str
) -> None:
    steps = [f"{{type: drop-missing, columns: [{column}]}}", *steps]
    result = build(tmp_path, files, f"sources:\n  {sources}\nclean:\n" + "".join(f"  - {s}\n" for s in steps) + rest)
    assert result.returncode == 0, result.stderr
    assert None not in output(tmp_path).get(column, [])
    nulls = {"text": 2, "label": 1, "domain": 1, "answer": 1}[column]
    row = processing_row(tmp_path, "clean.drop-missing")
    assert row.endswith(f"| {nulls} missing:{column} |"), row


def test_fill_missing_fills_and_the_card_counts_it(tmp_path: Path) -> None:
    result = build(
        tmp_path,
        {"rows.jsonl": JSONL},
        "sources:\n  rows: {type: jsonl, path: rows.jsonl}\n"
        "clean:\n  - {type: fill-missing, columns: {text: '(no text)'}}\n"
        "  - {type: normalize, columns: [text]}\n",
    )
    assert result.returncode == 0, result.stderr
    assert output(tmp_path)["text"].count("(no text)") == 2
    assert processing_row(tmp_path, "clean.fill-missing").endswith("| 5 | 5 | 0; filled: 2 in text |")
    stats = json.loads((tmp_path / "build" / "nulls" / "stats.json").read_text())
    assert stats["steps"][0]["info"] == {"filled": {"text": 2}}


def test_fill_missing_gives_labels_an_id_and_templates_a_value(tmp_path: Path) -> None:
    result = build(
        tmp_path,
        {"rows.csv": CSV},
        f"sources:\n  {CSV_SOURCE}\nclean:\n  - {{type: fill-missing, columns: {{label: 1}}}}\n",
    )
    assert result.returncode == 0, result.stderr
    labels = dict(zip(output(tmp_path)["_id"], output(tmp_path)["label"]))
    assert labels["rows:2"] == 1
    assert processing_row(tmp_path, "clean.fill-missing").endswith("| 0; filled: 1 in label |")

    result = build(
        tmp_path / "pairs",
        {"pairs.jsonl": PAIRS},
        "sources:\n  pairs: {type: jsonl, path: pairs.jsonl}\n"
        "clean:\n  - {type: fill-missing, columns: {answer: I do not know.}}\n" + FORMAT,
    )
    assert result.returncode == 0, result.stderr
    assert output(tmp_path / "pairs")["completion"] == ["four", "I do not know."]


def test_nothing_to_fill_shows_nothing_new(tmp_path: Path) -> None:
    result = build(
        tmp_path,
        {"pairs.jsonl": PAIRS.replace("null", '"because"')},
        "sources:\n  pairs: {type: jsonl, path: pairs.jsonl}\n"
        "clean:\n  - {type: fill-missing, columns: {answer: x}}\n" + FORMAT,
    )
    assert result.returncode == 0, result.stderr
    assert processing_row(tmp_path, "clean.fill-missing").endswith("| 2 | 2 | 0 |")


# --- fill-missing's values and types -----------------------------------------------------------------------------

CONTEXT = Context(step_id="clean.fill-missing", seed=1, spec_dir=Path("."))
TABLE = pa.table(
    {
        "_id": ["s:0", "s:1"],
        "text": ["a", None],
        "label": pa.array([None, 2], pa.int64()),
        "tags": pa.array([["x"], None], pa.list_(pa.string())),
        "empty": pa.nulls(2),
    }
)


def fill(table: pa.Table = TABLE, **columns: object) -> StepResult:
    """fill-missing with `columns` applied to `table`."""
    return FillMissing(FillMissing.Params(columns=columns), CONTEXT).apply(table)


def test_fill_values_keep_the_column_types() -> None:
    result = fill(text="", label=0, empty="none")
    assert result.table.column("text").to_pylist() == ["a", ""]
    assert result.table.column("label").to_pylist() == [0, 2]
    assert result.table.column("label").type == pa.int64()
    assert result.table.column("empty").to_pylist() == ["none", "none"]
    assert result.info == {"filled": {"text": 1, "label": 1, "empty": 2}}
    assert fill(label="7").table.column("label").to_pylist() == [7, 2]
    assert result.dropped == {}


@pytest.mark.parametrize(
    "columns,parts",
    [
        (
            {"label": "unknown"},
            [
                "columns: 'unknown' cannot fill column 'label', which holds int64 (",
                (
                    "give a value of type int64; a label column with class names holds their ids: give the "
                    "class's id (its position in `labels:`)"
                ),
            ],
        ),
        (
            {"label": 1.5},
            ["columns: 1.5 cannot fill column 'label', which holds int64 (", "truncated", "give a value of type int64"],
        ),
        ({"tags": "x"}, ["columns: 'x' cannot fill column 'tags', which holds list<item: string> ("]),
        ({"title": "x"}, ["no column 'title'; the columns are: text, label, tags, empty"]),
    ],
)
def test_fill_values_that_do_not_fit_are_clear_errors(columns: dict, parts: list[str]) -> None:
    with pytest.raises(SpeccError) as caught:
        fill(**columns)
    message = str(caught.value)
    assert message.startswith("error: step 'clean.fill-missing' (fill-missing): ")
    assert all(part in message for part in parts), message


@pytest.mark.parametrize(
    "params",
    [{}, {"columns": {}}, {"columns": ["text"]}, {"columns": {"text": None}}, {"columns": {"text": ""}, "value": "x"}],
)
def test_fill_params_are_checked(params: dict) -> None:
    with pytest.raises(ValidationError):
        FillMissing.Params(**params)


def test_fill_missing_decides_nulls_itself() -> None:
    assert FillMissing(FillMissing.Params(columns={"text": ""}), CONTEXT).used_columns() == []


# --- locating rows ------------------------------------------------------------------------------------------------


def test_augmented_and_exploded_rows_are_found_by_the_row_they_came_from(tmp_path: Path) -> None:
    write(tmp_path / "rows.jsonl", JSONL)
    source = JsonlSource(JsonlSource.Params(path="rows.jsonl"), Context("rows", 0, tmp_path))
    sources = {"rows": source}
    assert row_location(sources, "rows:3") == "rows.jsonl:5"
    assert row_location(sources, "rows:3~augment.keyboard.2") == "rows.jsonl:5"
    assert row_location(sources, "rows:0.4") == "rows.jsonl:1"
    assert row_location(sources, "rows:9") == ""
    assert row_location(sources, "other:1") == ""
