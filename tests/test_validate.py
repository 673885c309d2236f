"""`specc validate`: every mistake reported at its line and column, all at once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from specc.testing import modules_imported, top_level
from tests.conftest import ROOT, run_cli, write

BAD = Path(__file__).parent / "bad_specs"
BUILTINS_ONLY = {"SPECC_LOAD_PLUGINS": ""}


@pytest.mark.parametrize("spec", sorted(p.name for p in BAD.glob("*.yaml")))
def test_bad_spec_matches_golden_output(spec: str) -> None:
    result = run_cli("validate", spec, cwd=BAD, env=BUILTINS_ONLY)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == (BAD / spec).with_suffix(".expected").read_text()
    assert "Traceback" not in result.stderr


def test_three_mistakes_each_at_its_place() -> None:
    result = run_cli("validate", "three_mistakes.yaml", cwd=BAD, env=BUILTINS_ONLY)
    lines = result.stderr.splitlines()
    assert len(lines) == 3
    assert lines[0].startswith(
        "three_mistakes.yaml:11:12: error: clean[0].type: unknown type 'dedupe'; did you mean 'dedup'?"
    )
    assert lines[1].startswith("three_mistakes.yaml:14:16: error: clean[1].min_chars:")
    assert lines[2].startswith(
        "three_mistakes.yaml:16:5: error: clean[2].colums: unknown key 'colums'; did you mean 'columns'?"
    )


def test_quickstart_is_valid() -> None:
    result = run_cli("validate", "specs/quickstart.yaml", cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "specs/quickstart.yaml: ok"


def test_several_specs_exit_1_when_any_fails() -> None:
    result = run_cli("validate", str(ROOT / "specs/quickstart.yaml"), str(BAD / "syntax.yaml"))
    assert result.returncode == 1
    assert "quickstart.yaml: ok" in result.stdout
    assert "syntax.yaml:4:9: error:" in result.stderr


@pytest.mark.parametrize("command", [["validate"], ["plan"], ["build"], ["lock"], ["card"], ["cache", "info"]])
def test_a_missing_spec_file_is_a_command_line_mistake(tmp_path: Path, command: list[str]) -> None:
    result = run_cli(*command, "nope.yaml", cwd=tmp_path)
    assert (result.returncode, result.stderr) == (2, "nope.yaml:1:1: error: no such file; check the spec's path\n")


def test_a_missing_file_outranks_a_bad_spec(tmp_path: Path) -> None:
    result = run_cli("validate", str(BAD / "syntax.yaml"), "nope.yaml", cwd=tmp_path)
    assert result.returncode == 2
    assert "syntax.yaml:4:9: error:" in result.stderr
    assert "nope.yaml:1:1: error: no such file" in result.stderr


def test_a_missing_annotation_file_is_a_command_line_mistake(tmp_path: Path) -> None:
    result = run_cli("agreement", "nope.csv", "--format", "long-csv", cwd=tmp_path)
    assert (result.returncode, result.stderr) == (2, "nope.csv: error: no such file; check the path\n")


def test_empty_and_non_mapping_specs(tmp_path: Path) -> None:
    write(tmp_path / "empty.yaml", "# nothing\n")
    write(tmp_path / "list.yaml", "- a\n- b\n")
    result = run_cli("validate", "empty.yaml", "list.yaml", cwd=tmp_path)
    assert "empty.yaml:1:1: error: the spec is empty" in result.stderr
    assert "list.yaml:1:1: error: the spec must be a mapping" in result.stderr


def test_yaml_is_loaded_safely(tmp_path: Path) -> None:
    write(tmp_path / "evil.yaml", "specc: 1\nname: !!python/object/apply:os.system ['echo hacked']\n")
    result = run_cli("validate", "evil.yaml", cwd=tmp_path)
    assert result.returncode == 1
    assert "evil.yaml:2:7: error: YAML syntax" in result.stderr
    assert "hacked" not in result.stdout


def test_allow_external_paths(tmp_path: Path) -> None:
    write(tmp_path / "data" / "rows.jsonl", '{"text": "hello there"}\n')
    spec = (
        "specc: 1\nname: ext\ndescription: d\nlicense: mit\n{flag}"
        "sources:\n  rows: {{type: jsonl, path: ../data/rows.jsonl}}\ncard: {{draft: true}}\n"
    )
    write(tmp_path / "specs" / "closed.yaml", spec.format(flag=""))
    write(tmp_path / "specs" / "open.yaml", spec.format(flag="allow_external_paths: true\n"))
    assert run_cli("validate", "specs/closed.yaml", cwd=tmp_path).returncode == 1
    assert run_cli("validate", "specs/open.yaml", cwd=tmp_path).returncode == 0


def test_glob_that_matches_nothing(tmp_path: Path) -> None:
    write(
        tmp_path / "s.yaml",
        "specc: 1\nname: g\ndescription: d\nlicense: mit\n"
        "sources:\n  rows: {type: jsonl, path: 'data/*.jsonl'}\ncard: {draft: true}\n",
    )
    result = run_cli("validate", "s.yaml", cwd=tmp_path)
    assert "s.yaml:6:29: error: sources.rows.path: pattern 'data/*.jsonl' matches no file" in result.stderr


def test_validate_imports_no_heavy_library() -> None:
    imported = modules_imported("validate", str(ROOT / "specs/quickstart.yaml"))
    assert top_level(imported, {"datasets", "torch", "transformers", "nlpaug", "pyarrow", "pandas", "numpy"}) == []
    unused = {
        "specc.builtins.hub",
        "specc.builtins.url",
        "specc.builtins.near_dedup",
        "specc.builtins.annotation.human",
        "specc_nlpaug.chars",
        "specc_nlpaug.words",
        "specc_nlpaug.models",
        "specc_transformers.tokens",
        "specc_transformers.finetune",
        "specc.builtins.card_sections",
        "specc.builtins.annotation.card_section",
        "specc_nlpaug.card",
        "specc_transformers.card_section",
    }
    assert sorted(unused & imported) == []  # the modules of types the spec does not use are not imported


def test_modules_imported_fails_when_the_command_fails(tmp_path: Path) -> None:
    with pytest.raises(AssertionError, match="specc validate missing.yaml exited with 2:\n.*missing.yaml"):
        modules_imported("validate", "missing.yaml", cwd=tmp_path)


NUMERIC_LABELS = """\
specc: 1
name: numeric-labels
description: Reviews rated 1 to 3 stars, the ratings written as numbers.
license: mit
sources:
  reviews: {type: jsonl, path: rows.jsonl, labels: {stars: [1, 3, 2]}}
annotate:
  - type: rules
    column: mood
    labels: [0, 1]
    rules:
      - {label: 1, keywords: [great, wonderful, superb, lovely, fine, okay, average]}
      - {label: 0, keywords: [cold, never, terrible]}
split:
  method: stratified
  ratios: {train: 0.6, test: 0.4}
  stratify: stars
format:
  type: chat
  user: "{{ text }}"
  assistant: "{{ stars_name }} stars, mood {{ mood_name }}"
card: {draft: true}
"""
REVIEWS = [
    ("great food, fast delivery", 3),
    ("cold and late", 1),
    ("fine I guess", 2),
    ("wonderful, will order again", 3),
    ("never again", 1),
    ("okay portion", 2),
    ("superb taste", 3),
    ("terrible service", 1),
    ("average", 2),
    ("lovely", 3),
]


def _numeric_labels(folder: Path) -> None:
    write(folder / "spec.yaml", NUMERIC_LABELS)
    write(folder / "rows.jsonl", "".join(json.dumps({"text": t, "stars": s}) + "\n" for t, s in REVIEWS))


def test_numeric_labels_are_valid(tmp_path: Path) -> None:
    _numeric_labels(tmp_path)
    result = run_cli("validate", "spec.yaml", cwd=tmp_path, env=BUILTINS_ONLY)
    assert (result.returncode, result.stdout, result.stderr) == (0, "spec.yaml: ok\n", "")


def test_numeric_labels_name_the_numbers_in_the_data(tmp_path: Path) -> None:
    """`labels: [1, 3, 2]` over a column of numbers: 3 is the class named "3" (id 1), not id 3."""
    import pyarrow.parquet as pq

    _numeric_labels(tmp_path)
    assert run_cli("build", "spec.yaml", cwd=tmp_path, env=BUILTINS_ONLY).returncode == 0
    out = tmp_path / "build" / "numeric-labels"
    rows = [r for f in sorted(out.glob("data/*.parquet")) for r in pq.read_table(f).to_pylist()]
    answers = {r["messages"][0]["content"]: r["messages"][1]["content"] for r in rows}
    for text, stars in REVIEWS:
        mood = "0" if any(word in text for word in ("cold", "never", "terrible")) else "1"
        assert answers[text] == f"{stars} stars, mood {mood}"
    card = (out / "README.md").read_text()
    assert "| stars | train | test |\n|---|---:|---:|\n| 1 |" in card


def test_labels_that_are_not_whole_numbers_or_text_are_quoted(tmp_path: Path) -> None:
    _numeric_labels(tmp_path)
    write(tmp_path / "spec.yaml", NUMERIC_LABELS.replace("[1, 3, 2]", "[1.5, true, 2]"))
    result = run_cli("validate", "spec.yaml", cwd=tmp_path, env=BUILTINS_ONLY)
    assert result.stderr == (
        "spec.yaml:6:61: error: sources.reviews.labels.stars[0]: write this label in quotes, such as '1.5', so that "
        "it keeps the text you wrote\n"
        "spec.yaml:6:66: error: sources.reviews.labels.stars[1]: write this label in quotes, such as 'True', so that "
        "it keeps the text you wrote\n"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: {type: jsonl path: x}\n", "1:21: error: YAML syntax: a ',' is missing; separate the entries inside '{ }'"),
        ("a: [x, y\nb: 1\n", "1:4: error: YAML syntax: this '[' is not closed; end it with ']'"),
        ("a: @user\n", "1:4: error: YAML syntax: a value cannot start with '@'; put the value in quotes"),
        ("a: *bold*\n", "1:4: error: YAML syntax: a value cannot start with '*' (YAML reads an alias); put the value"),
        ('a: "x" y\n', "1:8: error: YAML syntax: text after a quoted value; put all of the value inside the quotes"),
        ("a:\tb\n", "1:3: error: YAML syntax: a tab here; YAML separates with spaces: replace the tab with a space"),
        ("a: 'it''s\nb: 1\n", "1:4: error: YAML syntax: this quoted value has no closing '; add one"),
        (
            "a:\n  - b: 1\n    c: 2\n    - d\n",
            "4:5: error: bad indentation: this '-' is at the column of `c` on line 3",
        ),
        ("a: *x\n", "1:4: error: YAML syntax: found undefined alias 'x'"),  # rare: PyYAML's own words
    ],
)
def test_yaml_mistakes_in_words(tmp_path: Path, text: str, expected: str) -> None:
    from specc import load_spec
    from specc.errors import SpecError

    write(tmp_path / "s.yaml", text)
    with pytest.raises(SpecError) as raised:
        load_spec(tmp_path / "s.yaml")
    assert str(raised.value).startswith(f"{tmp_path / 's.yaml'}:{expected}")
