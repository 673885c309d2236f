"""Columns checked before a build: each source's header, then the columns each stage reads and leaves."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

import specc
from specc.errors import SpecError
from specc.spec import load_spec
from tests.conftest import ROOT, run_cli, write

BAD = Path(__file__).parent / "bad_specs"
BUILTINS_ONLY = {"SPECC_LOAD_PLUGINS": ""}
HEAD = "specc: 1\nname: cols\ndescription: d\nlicense: mit\ncard: {draft: true}\n"
QUESTIONS = "question,intent\nWhere is my parcel?,shipping\nI was charged twice,billing\nMy card was declined,billing\n"
SOURCE = (
    "sources:\n"
    "  questions:\n"
    "    type: csv\n"
    "    path: data/questions.csv\n"
    "    columns: {text: question, label: intent}\n"
    "    labels: {label: [billing, shipping]}\n"
)


def project(tmp_path: Path, body: str) -> Path:
    """A spec with the questions CSV beside it; returns the spec."""
    write(tmp_path / "data" / "questions.csv", QUESTIONS)
    return write(tmp_path / "spec.yaml", HEAD + SOURCE + body)


def problems(spec: Path) -> list[str]:
    """The diagnostics loading `spec` gives, as `LINE:COL: PATH: MESSAGE`."""
    try:
        load_spec(spec)
    except SpecError as exc:
        return [f"{d.line}:{d.column}: {d.path}: {d.message}" for d in exc.diagnostics]
    return []


@pytest.mark.parametrize("command", ["validate", "plan", "build"])
def test_a_wrong_column_stops_each_command_before_any_work(tmp_path: Path, command: str) -> None:
    project(tmp_path, "split:\n  method: stratified\n  stratify: lable\n  ratios: {train: 0.5, test: 0.5}\n")
    before = sorted(p.name for p in tmp_path.iterdir())
    result = run_cli(command, "spec.yaml", cwd=tmp_path, env=BUILTINS_ONLY)
    assert result.returncode == 1
    assert result.stderr == (
        "spec.yaml:14:13: error: split.stratify: no column 'lable' in the rows it reads; did you mean 'label'? "
        "the columns are: text, label\n"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no cache, no lock, no output


def test_a_source_column_is_checked_against_the_file_header(tmp_path: Path) -> None:
    spec = project(tmp_path, "")
    spec.write_text(spec.read_text().replace("text: question", "text: questoin"))
    assert problems(spec) == [
        "10:21: sources.questions.columns.text: no column 'questoin' in data/questions.csv; did you mean "
        "'question'? the columns are: question, intent"
    ]


def test_columns_flow_through_the_stages(tmp_path: Path) -> None:
    """An annotator's label column is there for the split and the templates after it, not for the steps before."""
    body = (
        "clean:\n  - {type: length, column: intent, min_chars: 1}\n"
        "annotate:\n  - type: rules\n    column: intent\n    labels: [billing, shipping]\n"
        "    rules: [{label: billing, keywords: [charged]}]\n"
        "split: {method: stratified, stratify: intent, ratios: {train: 0.5, test: 0.5}}\n"
        "format:\n  type: prompt-completion\n  prompt: '{{ text }} ({{ label_name }})'\n"
        "  completion: '{{ intent_name }}{% for i in range(2) %}{{ i }}{% endfor %}'\n"
        "  keep_columns: [label, intnet]\n"
    )
    assert problems(project(tmp_path, body)) == [
        "13:28: clean[0].column: no column 'intent' in the rows it reads; did you mean 'text'? the columns are: "
        "text, label",
        "24:25: format.keep_columns[1]: no column 'intnet' in the rows it reads (a template sees the columns, "
        "`<label column>_name` and `label_names`); did you mean 'intent'? the columns are: text, label, intent",
    ]


def test_every_example_spec_is_free_of_false_errors(shared_data: Path) -> None:
    specs = [*sorted((ROOT / "specs").glob("*.yaml")), *sorted((ROOT / "plugins").glob("*/examples/*/spec.yaml"))]
    assert len(specs) >= 7
    for spec in specs:
        assert problems(spec) == [], spec


def test_a_step_that_does_not_say_its_columns_stops_the_checks_after_it(tmp_path: Path, register_plugin: Any) -> None:
    class Widen(specc.Step):
        """Adds columns only the data knows."""

        name = "widen"

    class Plugin:
        @specc.hookimpl
        def register_steps(self, register: Any) -> None:
            register(Widen)

    register_plugin(Plugin(), "widen")
    spec = project(tmp_path, "clean:\n  - {type: widen}\nsplit: {method: stratified, stratify: topic}\n")
    assert problems(spec) == []
    spec.write_text(
        spec.read_text().replace("  - {type: widen}", "  - {type: dedup, columns: [txt]}\n  - {type: widen}")
    )
    assert [p.split(": no column")[0] for p in problems(spec)] == ["13:29: clean[0].columns[0]"]


def test_a_jsonl_header_comes_from_the_first_records_only(tmp_path: Path) -> None:
    """A big file is not read whole: what lies past the first records is not parsed."""
    rows = "".join(json.dumps({"text": f"row {i}", "label": "a"}) + "\n" for i in range(5000))
    write(tmp_path / "rows.jsonl", rows + "not json at all\n")
    spec = write(
        tmp_path / "spec.yaml",
        HEAD + "sources:\n  rows: {type: jsonl, path: rows.jsonl}\nclean:\n  - {type: dedup, columns: [txet]}\n",
    )
    assert problems(spec) == [
        "9:29: clean[0].columns[0]: no column 'txet' in the rows it reads; did you mean 'text'? "
        "the columns are: text, label"
    ]


def test_a_jsonl_field_that_only_later_records_have_is_no_error(tmp_path: Path) -> None:
    rows = [{"text": f"row {i}", "label": "a"} for i in range(5000)] + [{"text": "late", "label": "a", "note": "n"}]
    write(tmp_path / "rows.jsonl", "".join(json.dumps(row) + "\n" for row in rows))
    spec = HEAD + "sources:\n  rows: {type: jsonl, path: rows.jsonl}\nclean:\n  - {type: dedup, columns: [COLUMN]}\n"
    assert problems(write(tmp_path / "late.yaml", spec.replace("COLUMN", "note"))) == []
    assert [p.split("; ")[1] for p in problems(write(tmp_path / "typo.yaml", spec.replace("COLUMN", "txet")))] == [
        "did you mean 'text'? the columns are: text, label"
    ]


def test_jsonl_records_with_differing_fields_leave_the_columns_unknown(tmp_path: Path) -> None:
    write(tmp_path / "rows.jsonl", '{"text": "a"}\n{"text": "b", "extra": 1}\n')
    spec = write(
        tmp_path / "spec.yaml",
        HEAD + "sources:\n  rows: {type: jsonl, path: rows.jsonl}\nclean:\n  - {type: dedup, columns: [extra]}\n",
    )
    assert problems(spec) == []


def test_a_parquet_header_is_its_schema(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"text": ["a"], "label": [0]}), tmp_path / "rows.parquet")
    spec = write(
        tmp_path / "spec.yaml",
        HEAD + "sources:\n  rows: {type: parquet, path: rows.parquet, columns: {text: txt}}\n",
    )
    assert problems(spec) == [
        "7:61: sources.rows.columns.text: no column 'txt' in rows.parquet; did you mean 'text'? "
        "the columns are: text, label"
    ]


def test_text_lines_give_text_and_label(tmp_path: Path) -> None:
    write(tmp_path / "t.txt", "a\nb\n")
    write(tmp_path / "l.txt", "0\n1\n")
    body = (
        "sources:\n  rows: {type: text-lines, text: t.txt, label: l.txt}\nclean:\n  - {type: dedup, columns: [lable]}\n"
    )
    assert [p.split("; ")[1] for p in problems(write(tmp_path / "spec.yaml", HEAD + body))] == [
        "did you mean 'label'? the columns are: text, label"
    ]


DATA_ERRORS = sorted(p.name for p in (BAD / "data_errors").glob("*.yaml"))


def test_the_data_error_corpus_is_there() -> None:
    assert len(DATA_ERRORS) >= 2


@pytest.mark.parametrize("spec", DATA_ERRORS)
def test_data_errors_name_the_file_the_line_and_the_row(tmp_path: Path, spec: str) -> None:
    shutil.copytree(BAD / "data", tmp_path / "data")
    shutil.copy(BAD / "data_errors" / spec, tmp_path / spec)
    result = run_cli("build", spec, cwd=tmp_path, env=BUILTINS_ONLY)
    assert result.returncode == 1
    assert result.stderr == (BAD / "data_errors" / spec).with_suffix(".expected").read_text()


def test_an_explode_column_is_checked_and_its_elements_left_unknown(tmp_path: Path) -> None:
    write(tmp_path / "tasks.jsonl", '{"name": "x", "instances": [{"input": "1"}]}\n')
    source = "sources:\n  tasks: {type: jsonl, path: tasks.jsonl, explode: instancez}\n"
    spec = write(tmp_path / "spec.yaml", HEAD + source + "clean:\n  - {type: dedup, columns: [input]}\n")
    assert problems(spec) == [
        "7:52: sources.tasks.explode: no column 'instancez' in tasks.jsonl; did you mean 'instances'? "
        "the columns are: name, instances"
    ]
    spec.write_text(spec.read_text().replace("instancez", "instances"))
    assert problems(spec) == []  # the elements' fields are known only from the data


def test_a_bad_gold_label_names_its_row(tmp_path: Path) -> None:
    from tests.test_annotate_human import long_csv, round_step, rows

    long_csv(tmp_path / "ann.csv", {f"rows:{i}": ["pos", "pos", "neg"] for i in range(3)})
    step = round_step(
        tmp_path, results=[{"path": "ann.csv", "format": "long-csv"}], gold={"column": "gold", "min_accuracy": 0.5}
    )
    with pytest.raises(specc.SpeccError, match=r"gold column 'gold' holds 'postive' \(row _id 'rows:1'\), which is"):
        step.apply(rows(3, gold=[None, "postive", "pos"]))


def test_a_bad_label_id_in_a_later_file_names_its_line_and_row(tmp_path: Path) -> None:
    """The `_id` counts the rows of the files before; the line is the file's own."""
    from specc.builtins.sources import TextLinesSource
    from tests.test_sources import data_error, make

    write(tmp_path / "a_text.txt", "x\ny\n")
    write(tmp_path / "a_labels.txt", "0\n1\n")
    write(tmp_path / "b_text.txt", "z\nw\n")
    write(tmp_path / "b_labels.txt", "1\n7\n")
    write(tmp_path / "mapping.txt", "0\tno\n1\tyes\n")
    source = make(TextLinesSource, tmp_path, text="*_text.txt", label="*_labels.txt", label_names="mapping.txt")
    assert data_error(source).startswith(
        "b_labels.txt:2: error: source 'src': label id 7 (row _id 'src:3') has no name"
    )
