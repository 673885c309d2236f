"""Symbolic links in a spec's folder: what a glob or a folder leads to obeys the same rule as a direct path."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from specc.components import Context
from specc.errors import SpeccError
from specc.paths import expand
from tests.conftest import run_cli, write

HEAD = "specc: 1\nname: links\ndescription: d\nlicense: mit\ncard: {draft: true}\n"
ROW = '{"text": "an ordinary row of text", "label": "a"}\n'
SECRET = '{"text": "the secret row outside", "label": "a"}\n'
FIX = "move the data beside the spec, or set `allow_external_paths: true` at the top of the spec"


@pytest.fixture
def folders(tmp_path: Path) -> tuple[Path, Path]:
    """A spec folder with data/a.jsonl, and a folder beside it holding a secret file and a sub-folder."""
    project, elsewhere = tmp_path / "project", tmp_path / "elsewhere"
    write(project / "data" / "a.jsonl", ROW)
    write(elsewhere / "secret.jsonl", SECRET)
    write(elsewhere / "sub" / "secret.jsonl", SECRET)
    return project, elsewhere


def _spec(project: Path, sources: str, extra: str = "") -> Path:
    return write(project / "s.yaml", f"{HEAD}{extra}sources:\n{sources}")


def _refused(result, spec_line: str, pattern: str, matched: str, target: Path) -> None:
    """Exit 1, no traceback, a diagnostic at the path field naming the match, its target and the fix."""
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    position = re.escape(spec_line) + r":\d+: error: "
    message = (
        f"pattern '{pattern}' matches {matched}, which resolves through a symbolic link to {target}, "
        f"outside the spec's folder"
    )
    assert re.search(position + r"\S+: " + re.escape(message), result.stderr), result.stderr
    assert FIX in result.stderr


def test_a_file_link_matched_by_a_glob_is_refused(folders: tuple[Path, Path]) -> None:
    project, elsewhere = folders
    (project / "data" / "zz.jsonl").symlink_to(elsewhere / "secret.jsonl")
    spec = _spec(project, "  rows: {type: jsonl, path: data/*.jsonl}\n")
    _refused(
        run_cli("validate", "s.yaml", cwd=project),
        "s.yaml:7",
        "data/*.jsonl",
        "data/zz.jsonl",
        elsewhere / "secret.jsonl",
    )
    build = run_cli("build", str(spec))
    assert build.returncode == 1 and "Traceback" not in build.stderr
    assert "data/zz.jsonl" in build.stderr
    assert not (project / "build").exists()


def test_a_folder_link_under_a_double_star_glob_is_refused(folders: tuple[Path, Path]) -> None:
    project, elsewhere = folders
    (project / "data" / "more").symlink_to(elsewhere / "sub", target_is_directory=True)
    _spec(project, "  rows: {type: jsonl, path: 'data/**/*.jsonl'}\n")
    _refused(
        run_cli("validate", "s.yaml", cwd=project),
        "s.yaml:7",
        "data/**/*.jsonl",
        "data/more/secret.jsonl",
        elsewhere / "sub" / "secret.jsonl",
    )


def test_a_direct_path_through_a_link_names_its_target(folders: tuple[Path, Path]) -> None:
    project, elsewhere = folders
    (project / "data" / "zz.jsonl").symlink_to(elsewhere / "secret.jsonl")
    _spec(project, "  rows: {type: jsonl, path: data/zz.jsonl}\n")
    result = run_cli("validate", "s.yaml", cwd=project)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert (
        f"s.yaml:7:29: error: sources.rows.path: path 'data/zz.jsonl' resolves through a symbolic link to "
        f"{elsewhere / 'secret.jsonl'}, outside the spec's folder"
    ) in result.stderr


def _parquet(path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({"text": ["a parquet row of text"], "label": ["a"]}), path)


@pytest.mark.parametrize("kind", ["json", "csv", "tsv", "parquet", "text-lines", "decontaminate"])
def test_every_source_that_takes_a_glob_refuses_a_link_out(folders: tuple[Path, Path], kind: str) -> None:
    project, elsewhere = folders
    suffix = {
        "json": "json",
        "csv": "csv",
        "tsv": "tsv",
        "parquet": "parquet",
        "text-lines": "txt",
        "decontaminate": "jsonl",
    }[kind]
    inside, outside = project / "in" / f"a.{suffix}", elsewhere / f"secret.{suffix}"
    if kind == "parquet":
        _parquet(inside)
        _parquet(outside)
    else:
        body = {
            "json": '[{"text": "a row", "label": "a"}]\n',
            "csv": "text,label\na row,a\n",
            "tsv": "text\tlabel\na row\ta\n",
            "text-lines": "a row\n",
            "decontaminate": ROW,
        }[kind]
        write(inside, body)
        write(outside, body)
    (project / "in" / f"zz.{suffix}").symlink_to(outside)
    pattern = f"in/*.{suffix}"
    if kind == "text-lines":
        sources = f"  rows: {{type: text-lines, text: '{pattern}'}}\n"
    elif kind == "decontaminate":
        sources = (
            f"  rows: {{type: jsonl, path: data/a.jsonl}}\nclean:\n"
            f"  - {{type: decontaminate, against: [{{path: '{pattern}', column: text}}]}}\n"
        )
    else:
        sources = f"  rows: {{type: {kind}, path: '{pattern}'}}\n"
    _spec(project, sources)
    line = "s.yaml:9" if kind == "decontaminate" else "s.yaml:7"
    _refused(run_cli("validate", "s.yaml", cwd=project), line, pattern, f"in/zz.{suffix}", outside)


def _rows_read(spec: Path) -> int:
    """Build `spec`; the rows its source read."""
    result = run_cli("build", str(spec))
    assert result.returncode == 0, result.stderr
    return json.loads((spec.parent / "build" / "links" / "stats.json").read_text())["sources"]["rows"]["rows"]


def test_allow_external_paths_lets_the_link_in(folders: tuple[Path, Path]) -> None:
    project, elsewhere = folders
    (project / "data" / "zz.jsonl").symlink_to(elsewhere / "secret.jsonl")
    spec = _spec(project, "  rows: {type: jsonl, path: data/*.jsonl}\n", "allow_external_paths: true\n")
    assert _rows_read(spec) == 2


def test_links_that_stay_inside_the_folder_are_fine(folders: tuple[Path, Path]) -> None:
    project, _ = folders
    write(project / "real" / "b.jsonl", '{"text": "a second ordinary row", "label": "a"}\n')
    write(project / "real" / "deep" / "c.jsonl", '{"text": "a third ordinary row", "label": "a"}\n')
    (project / "data" / "zz.jsonl").symlink_to(project / "real" / "b.jsonl")
    (project / "data" / "deep").symlink_to(project / "real" / "deep", target_is_directory=True)
    spec = _spec(project, "  rows: {type: jsonl, path: 'data/**/*.jsonl'}\n")
    assert _rows_read(spec) == 3


def test_a_link_made_after_validation_is_refused_at_build_time(folders: tuple[Path, Path]) -> None:
    project, elsewhere = folders
    assert expand(project, "data/*.jsonl") == [(project / "data" / "a.jsonl").resolve()]
    (project / "data" / "zz.jsonl").symlink_to(elsewhere / "secret.jsonl")
    with pytest.raises(
        SpeccError,
        match=re.escape(
            f"matches data/zz.jsonl, which resolves through a symbolic link to {elsewhere / 'secret.jsonl'}"
        ),
    ):
        Context("rows", 0, project).files("data/*.jsonl")
    with pytest.raises(SpeccError, match="resolves through a symbolic link"):
        Context("rows", 0, project).path("data/zz.jsonl")
    allowed = Context("rows", 0, project, allow_external_paths=True)
    assert [p.name for p in allowed.files("data/*.jsonl")] == ["a.jsonl", "zz.jsonl"]
