"""The pre-commit hooks of .pre-commit-hooks.yaml, run by `pre-commit try-repo` in a new git repository."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, run_cli, write

pytest.importorskip("pre_commit", reason="pre-commit is in the test extra")


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository with `specc init`'s spec, its lock and a YAML file that is not a spec, all staged."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    assert run_cli("init", "data", cwd=tmp_path).returncode == 0
    assert run_cli("lock", "data/spec.yaml", cwd=tmp_path).returncode == 0
    write(tmp_path / ".github" / "workflows" / "data.yml", "on: [push]\njobs: {}\n")
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", "-A")
    return tmp_path


def try_repo(repo: Path, *files: str) -> subprocess.CompletedProcess:
    """Both hooks of this repository (as pre-commit would clone it) on `files` of `repo`."""
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",  # the `specc` beside Python
        "PRE_COMMIT_HOME": str(repo.parent / "pre-commit-home"),
        "GIT_AUTHOR_NAME": "test",
        "GIT_AUTHOR_EMAIL": "test@example.com",
        "GIT_COMMITTER_NAME": "test",
        "GIT_COMMITTER_EMAIL": "test@example.com",
    }
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", "try-repo", str(ROOT), "--files", *files],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _status(output: str, hook: str) -> str:
    (line,) = [line for line in output.splitlines() if line.startswith(hook)]
    return line.rsplit(".", 1)[-1]


def test_a_good_spec_and_other_yaml_pass_both_hooks(repo: Path) -> None:
    result = try_repo(repo, "data/spec.yaml", ".github/workflows/data.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert _status(result.stdout, "specc validate") == "Passed"
    assert _status(result.stdout, "specc plan --check") == "Passed"


def test_a_bad_spec_fails_validate_at_its_line_and_column(repo: Path) -> None:
    spec = repo / "data" / "spec.yaml"
    spec.write_text(spec.read_text().replace("type: dedup,", "type: dedupe,"))
    result = try_repo(repo, "data/spec.yaml")
    assert result.returncode == 1
    assert _status(result.stdout, "specc validate") == "Failed"
    assert "data/spec.yaml:27:12: error: clean[3].type: unknown type 'dedupe'; did you mean 'dedup'?" in result.stdout


def test_a_stale_lock_fails_plan_check(repo: Path) -> None:
    spec = repo / "data" / "spec.yaml"
    spec.write_text(spec.read_text().replace("min_chars: 8", "min_chars: 9"))
    result = try_repo(repo, "data/spec.yaml")
    assert result.returncode == 1
    assert _status(result.stdout, "specc validate") == "Passed"
    assert _status(result.stdout, "specc plan --check") == "Failed"
    assert "clean.length" in result.stdout and "params.min_chars 8 -> 9" in result.stdout
