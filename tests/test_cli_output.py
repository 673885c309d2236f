"""What the command line prints: -v/-q, --json on validate and build, progress lines and row bars."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from specc.errors import SpeccError
from tests.conftest import run_cli, write

BAD = """\
specc: 1
name: bad
description: A spec with one mistake.
license: cc-by-4.0
sources:
  faq: {type: jsonl, path: data/questions.jsonl, license: cc-by-4.0}
clean:
  - type: dedupe
    columns: [text]
card: {draft: true}
"""
ESCAPES = ("\r", "\x1b")  # what a bar or a cursor movement would leave


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """`specc init`'s project with a spec that has one mistake beside it."""
    assert run_cli("init", "p", cwd=tmp_path).returncode == 0
    write(tmp_path / "p" / "bad.yaml", BAD)
    return tmp_path / "p"


def test_validate_json_gives_each_spec_and_its_errors_as_objects(project: Path) -> None:
    result = run_cli("validate", "--json", "spec.yaml", "bad.yaml", cwd=project)
    assert result.returncode == 1
    assert result.stderr == ""
    document = json.loads(result.stdout)  # stdout is the one document and nothing else
    assert document["ok"] is False
    good, bad = document["specs"]
    assert good == {"file": "spec.yaml", "ok": True, "errors": []}
    assert bad["file"] == "bad.yaml" and bad["ok"] is False
    (error,) = bad["errors"]
    assert {k: error[k] for k in ("file", "line", "column", "severity", "path")} == {
        "file": "bad.yaml",
        "line": 8,
        "column": 11,
        "severity": "error",
        "path": "clean[0].type",
    }
    assert error["message"].startswith("unknown type 'dedupe'; did you mean 'dedup'?")
    assert json.loads(run_cli("validate", "--json", "spec.yaml", cwd=project).stdout)["ok"] is True


def test_validate_quiet_prints_only_errors(project: Path) -> None:
    quiet = run_cli("validate", "-q", "spec.yaml", cwd=project)
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, "", "")
    assert run_cli("validate", "spec.yaml", cwd=project).stdout == "spec.yaml: ok\n"
    failed = run_cli("-q", "validate", "spec.yaml", "bad.yaml", cwd=project)
    assert failed.returncode == 1
    assert failed.stdout == ""
    assert failed.stderr.startswith("bad.yaml:8:11: error: clean[0].type: unknown type 'dedupe'")


def test_build_json_reports_folders_counts_and_cache(project: Path) -> None:
    first = run_cli("build", "--json", "spec.yaml", cwd=project)
    assert first.returncode == 0, first.stderr
    built = json.loads(first.stdout)
    assert built["ok"] is True and built["errors"] == []
    assert built["output_dir"] == str(project.resolve() / "build" / "my-dataset")
    assert built["rows"] == {"train": 31, "test": 7}
    assert [(o["split"], o["path"], o["rows"]) for o in built["outputs"]] == [
        ("train", "data/train-00000-of-00001.parquet", 31),
        ("test", "data/test-00000-of-00001.parquet", 7),
    ]
    assert built["configurations"] == {
        "default": {"train": ["data/train-00000-of-00001.parquet"], "test": ["data/test-00000-of-00001.parquet"]}
    }
    assert built["cache"]["hits"] == 0 and built["cache"]["misses"] > 0
    again = json.loads(run_cli("build", "--json", "spec.yaml", cwd=project).stdout)
    assert again["cache"] == {"hits": built["cache"]["misses"], "misses": 0}
    verified = json.loads(run_cli("build", "--verify", "--json", "spec.yaml", cwd=project).stdout)
    assert verified["ok"] is True and verified["verified"] > len(built["outputs"])


def test_build_json_gives_errors_as_objects_with_the_exit_code_unchanged(project: Path) -> None:
    spec_error = run_cli("build", "--json", "bad.yaml", cwd=project)
    assert spec_error.returncode == 1
    assert spec_error.stderr == ""
    (error,) = json.loads(spec_error.stdout)["errors"]
    assert (error["file"], error["line"], error["column"]) == ("bad.yaml", 8, 11)
    missing = run_cli("build", "--json", "absent.yaml", cwd=project)
    assert missing.returncode == 2 and json.loads(missing.stdout)["ok"] is False  # a command-line mistake

    with (project / "data" / "questions.jsonl").open("a", encoding="utf-8") as rows:
        rows.write('{"question": "Where is my parcel?", "intent": "shiping"}\n')
    data_error = run_cli("build", "--json", "spec.yaml", cwd=project)
    assert data_error.returncode == 1
    document = json.loads(data_error.stdout)
    assert document["ok"] is False
    (error,) = document["errors"]
    assert error["file"] == "data/questions.jsonl" and error["line"] == 41
    assert "shiping" in error["message"]

    usage = run_cli("build", "--json", cwd=project)
    assert usage.returncode == 2 and usage.stdout == ""


def test_verbose_build_off_a_terminal_shows_every_stage_and_the_cache_without_bars(project: Path) -> None:
    result = run_cli("build", "-v", "spec.yaml", cwd=project)
    assert result.returncode == 0, result.stderr
    for line in (
        "reading source 'questions'",
        "splitting (stratified)",
        "checking leakage between splits",
        "writing the splits and plots",
        "checking the output folder",
        "moving the output into place",
        "sources.questions: cache miss, 40 rows",
        "step cache: 0 hits,",
    ):
        assert line in result.stderr
    assert not any(code in result.stderr for code in ESCAPES)
    assert result.stdout.startswith("built ")


@pytest.mark.parametrize("args", [("-q", "build", "spec.yaml"), ("build", "spec.yaml", "--quiet")])
def test_quiet_build_prints_the_result_line_only(project: Path, args: tuple[str, ...]) -> None:
    result = run_cli(*args, cwd=project)
    assert result.returncode == 0
    assert result.stderr == ""
    assert result.stdout.startswith("built ") and result.stdout.count("\n") == 1


def test_verbose_and_quiet_together_are_a_usage_error(project: Path) -> None:
    result = run_cli("-v", "build", "-q", "spec.yaml", cwd=project)
    assert result.returncode == 2
    assert "-v and -q contradict each other" in result.stderr


def test_plan_checks_several_specs_and_skips_files_that_are_not_specs(project: Path) -> None:
    assert run_cli("lock", "spec.yaml", cwd=project).returncode == 0
    write(project / "other.yaml", "steps: [1, 2]\n")
    write(project / "second.yaml", (project / "spec.yaml").read_text().replace("min_chars: 8", "min_chars: 9"))
    assert run_cli("plan", "--check", "--specs-only", "spec.yaml", "other.yaml", cwd=project).returncode == 0
    stale = run_cli("plan", "--check", "spec.yaml", "second.yaml", cwd=project)
    assert stale.returncode == 2
    assert "against no lock (second.lock does not exist)" in stale.stdout
    assert run_cli("plan", "--json", "spec.yaml", "second.yaml", cwd=project).returncode == 2
    assert run_cli("validate", "other.yaml", cwd=project).returncode == 1
    skipped = run_cli("validate", "--specs-only", "other.yaml", "spec.yaml", cwd=project)
    assert (skipped.returncode, skipped.stdout) == (0, "spec.yaml: ok\n")


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("a.yaml:3:7: error: clean[0]: bad", ("a.yaml", 3, 7, "error", "clean[0]: bad")),
        ("data/x.csv:12: error: source 's': no", ("data/x.csv", 12, None, "error", "source 's': no")),
        (
            "/p/s.lock: error: stale:\n  ~ split\nrun it",
            ("/p/s.lock", None, None, "error", "stale:\n  ~ split\nrun it"),
        ),
        ("error: unknown executor 'spark'", (None, None, None, "error", "unknown executor 'spark'")),
        ("out of luck", (None, None, None, "error", "out of luck")),
    ],
)
def test_error_objects_find_file_line_and_column(message: str, expected: tuple) -> None:
    from specc.cli import error_objects

    (found,) = error_objects(SpeccError(message))
    assert tuple(found[k] for k in ("file", "line", "column", "severity", "message")) == expected


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_bars_only_on_a_terminal_and_never_quiet_or_with_json() -> None:
    from specc.progress import Verbosity, shows_bars

    assert shows_bars(_Terminal(), Verbosity.NORMAL, as_json=False)
    assert shows_bars(_Terminal(), Verbosity.VERBOSE, as_json=False)
    assert not shows_bars(_Terminal(), Verbosity.QUIET, as_json=False)
    assert not shows_bars(_Terminal(), Verbosity.NORMAL, as_json=True)
    assert not shows_bars(io.StringIO(), Verbosity.NORMAL, as_json=False)
    assert not shows_bars(io.StringIO(), Verbosity.VERBOSE, as_json=False)


def test_a_row_bar_counts_the_rows_of_the_results_and_shows_an_eta(monkeypatch: pytest.MonkeyPatch) -> None:
    from specc import progress

    monkeypatch.setattr(progress, "BAR_DELAY_SECONDS", 0)
    monkeypatch.setattr(progress, "BAR_REDRAW_SECONDS", 0)
    terminal = _Terminal()
    shown = progress.Progress.on(terminal, progress.Verbosity.NORMAL)
    batches = [list(range(300))] * 4
    with progress.row_bar(shown, total=1200) as bar:
        done = list(bar.outputs(batch[:1] for batch in bar.inputs(batches)))  # results of other sizes than inputs
    assert done == [[0]] * 4
    drawn = terminal.getvalue()
    assert "1.20k/1.20k" in drawn and "rows/s" in drawn and "<" in drawn  # the count, the rate and the ETA

    piped = io.StringIO()
    with progress.row_bar(progress.Progress.on(piped, progress.Verbosity.VERBOSE), total=1200) as bar:
        assert list(bar.outputs(bar.inputs(batches))) == batches
    assert piped.getvalue() == ""
