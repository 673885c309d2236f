"""A build touches only what it owns: user files in every folder it could reach keep every byte."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from specc.staging import MARKER
from tests.conftest import run_cli, snapshot, write


def _project(root: Path) -> Path:
    """`specc init` in root/demo, with a user's folder, file and sibling project around it; returns the spec."""
    assert run_cli("init", str(root / "demo")).returncode == 0
    write(root / "demo" / "notes" / "todo.txt", "call Ana\n")
    write(root / "demo" / "notes.txt", "my notes\n")
    write(root / "sibling" / "thesis.tex", "\\section{Results}\n")
    return root / "demo" / "spec.yaml"


def _set_output(spec: Path, folder: str, external: bool = False) -> None:
    text = spec.read_text(encoding="utf-8")
    extra = "allow_external_paths: true\n" if external else ""
    spec.write_text(text.replace("seed: 1\n", f"seed: 1\n{extra}output: {{dir: '{folder}'}}\n"), encoding="utf-8")


@pytest.mark.parametrize(
    "folder, external, problem",
    [
        (".", False, "holds the spec spec.yaml"),
        ("data", False, "holds data/questions.jsonl, which sources.questions reads"),
        ("..", True, "holds the spec spec.yaml"),
        ("notes", False, "was not made by specc"),
        ("notes.txt", False, "is a file"),
        ("spec.yaml", False, "is the spec spec.yaml"),
        ("data/questions.jsonl", False, "is data/questions.jsonl"),
        (".specc", False, "holds the step cache"),
    ],
)
def test_a_refused_output_changes_no_byte(tmp_path: Path, folder: str, external: bool, problem: str) -> None:
    spec = _project(tmp_path)
    _set_output(spec, folder, external)
    (spec.parent / ".specc" / "cache").mkdir(parents=True)
    before = snapshot(tmp_path)
    for flags in ([], ["--replace-foreign"]):
        result = run_cli("build", str(spec), *flags)
        if folder == "notes" and flags:
            continue  # moving a foreign folder aside is what the flag asks for: see the next test
        assert result.returncode == 1, result.stderr
        assert problem in result.stderr and "output.dir" in result.stderr
        line = spec.read_text(encoding="utf-8").splitlines().index(f"output: {{dir: '{folder}'}}") + 1
        assert f"{spec}:{line}:" in result.stderr  # the spec's line of output.dir
        assert "choose another `output.dir`" in result.stderr and "Traceback" not in result.stderr
        assert snapshot(tmp_path) == before


def test_replace_foreign_moves_the_folder_aside(tmp_path: Path) -> None:
    spec = _project(tmp_path)
    _set_output(spec, "notes")
    result = run_cli("build", str(spec), "--replace-foreign")
    assert result.returncode == 0, result.stderr
    moved = spec.parent / "notes.replaced-1"
    assert f"aside to {moved}" in result.stderr
    assert (moved / "todo.txt").read_text() == "call Ana\n" and len(list(moved.iterdir())) == 1
    assert json.loads((spec.parent / "notes" / MARKER).read_text()) == {"specc-output": 1, "spec": "../spec.yaml"}
    rebuilt = run_cli("build", str(spec))  # now specc's own: replaced without the flag, nothing more moved aside
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert not (spec.parent / "notes.replaced-2").exists()


def test_an_output_of_another_spec_is_refused(tmp_path: Path) -> None:
    spec = _project(tmp_path)
    assert run_cli("build", str(spec)).returncode == 0
    other = spec.with_name("other.yaml")
    other.write_text(
        spec.read_text(encoding="utf-8").replace("seed: 1\n", "seed: 2\noutput: {dir: build/my-dataset}\n"),
        encoding="utf-8",
    )
    before = snapshot(spec.parent / "build")
    result = run_cli("build", str(other))
    assert result.returncode == 1
    assert f"was built from another spec ({spec})" in result.stderr and "--replace-foreign" in result.stderr
    card = run_cli("card", str(other))
    assert card.returncode == 1 and "Traceback" not in card.stderr
    assert f"the output there was built from another spec ({spec}); render its card with that spec" in card.stderr
    assert snapshot(spec.parent / "build") == before


def test_an_empty_folder_is_used(tmp_path: Path) -> None:
    spec = _project(tmp_path)
    (spec.parent / "empty").mkdir()
    _set_output(spec, "empty")
    assert run_cli("build", str(spec)).returncode == 0
    assert (spec.parent / "empty" / MARKER).is_file()


@pytest.mark.parametrize("umask", [0o022, 0o027])
def test_output_folders_follow_the_umask(tmp_path: Path, umask: int) -> None:
    spec = _project(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "specc", "build", str(spec)],
        capture_output=True,
        text=True,
        preexec_fn=lambda: os.umask(umask),
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    out = spec.parent / "build" / "my-dataset"
    for path in [out, out / "data"]:
        assert path.stat().st_mode & 0o777 == 0o777 & ~umask
    assert (out / "README.md").stat().st_mode & 0o777 == 0o666 & ~umask


def test_crash_leftovers_are_cleared_only_when_they_are_specc_s(tmp_path: Path) -> None:
    spec = _project(tmp_path)
    assert run_cli("build", str(spec)).returncode == 0
    build = spec.parent / "build"
    dead = build / ".my-dataset.building-dead"
    write(dead / ".specc-staging", "")
    write(dead / "data" / "train-00000-of-00001.parquet", "half")
    user = write(build / ".my-dataset.building-mine" / "keep.txt", "not specc's\n")
    unmarked_previous = write(build / ".my-dataset.previous-mine" / "keep.txt", "not specc's either\n")
    assert run_cli("build", str(spec)).returncode == 0
    assert not dead.exists()
    assert user.read_text() == "not specc's\n" and unmarked_previous.read_text() == "not specc's either\n"


def test_an_output_set_aside_mid_publish_comes_back(tmp_path: Path) -> None:
    spec = _project(tmp_path)
    assert run_cli("build", str(spec)).returncode == 0
    out = spec.parent / "build" / "my-dataset"
    aside = out.with_name(".my-dataset.previous-0123")
    out.rename(aside)  # a crash between setting the old output aside and moving the new one in
    _set_output(spec, "build/my-dataset")
    spec.write_text(spec.read_text().replace("min_chars: 8", "min_chars: 10000"), encoding="utf-8")  # fails
    result = run_cli("build", str(spec))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert (out / MARKER).is_file() and not aside.exists()


def test_builds_and_card_renders_change_no_user_file_in_any_folder_they_touch(tmp_path: Path) -> None:
    """Build, rebuild from the cache, rebuild with a change, render the card and check it for publishing: user
    files in the spec's folder, the data folder, the output's parent, the cache's parent and a sibling project
    keep every byte, and everything new is specc's (the output, the cache, the build record, the lock)."""
    spec = _project(tmp_path)
    for mine in ("demo/build/mine.txt", "demo/.specc/mine.txt", "demo/data/mine.txt"):
        write(tmp_path / mine, f"{mine}\n")
    before = snapshot(tmp_path)
    for step in ("build", "build", "edit", "build", "card"):
        if step == "edit":
            spec.write_text(spec.read_text(encoding="utf-8").replace("seed: 1\n", "seed: 2\n"), encoding="utf-8")
            continue
        result = run_cli(step, str(spec))
        assert result.returncode == 0, result.stderr
    dry_run = run_cli("publish", str(spec.parent / "build" / "my-dataset"), "--repo", "me/my-dataset", "--dry-run")
    assert dry_run.returncode == 0, dry_run.stderr
    after = snapshot(tmp_path)
    owned = ("demo/build/my-dataset", "demo/.specc/cache", "demo/.specc/builds", "demo/spec.lock")
    assert {path: after.get(path) for path in before if path != "demo/spec.yaml" and not path.startswith(owned)} == {
        path: data for path, data in before.items() if path != "demo/spec.yaml" and not path.startswith(owned)
    }
    assert all(path.startswith(owned) for path in set(after) - set(before))
