"""The command line: init, version, help, exit codes, quiet when not a terminal."""

from __future__ import annotations

from pathlib import Path

import pytest

from specc import __version__
from tests.conftest import run_cli, write


def test_version() -> None:
    result = run_cli("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"specc, version {__version__}"


def test_help_lists_commands_and_exit_codes() -> None:
    result = run_cli("--help")
    for command in ("build", "init", "plan", "plugins", "schema", "validate"):
        assert f"  {command} " in result.stdout
    assert "Exit codes: 0 success; 1" in result.stdout


def test_usage_error_exits_2() -> None:
    assert run_cli("build").returncode == 2
    assert run_cli("build", "x.yaml", "--num-proc", "0").returncode == 2


def test_init_then_build(tmp_path: Path) -> None:
    import datasets

    result = run_cli("init", "project", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "project" / "spec.yaml").is_file()
    assert run_cli("validate", "project/spec.yaml", cwd=tmp_path).returncode == 0
    built = run_cli("build", "project/spec.yaml", cwd=tmp_path)
    assert built.returncode == 0, built.stderr
    assert built.stderr == ""  # no progress output when stderr is not a terminal
    assert built.stdout.startswith("built ")
    loaded = datasets.load_dataset(str(tmp_path / "project" / "build" / "my-dataset"))
    assert set(loaded) == {"train", "test"}


def test_init_refuses_a_non_empty_folder(tmp_path: Path) -> None:
    write(tmp_path / "project" / "keep.txt", "mine")
    result = run_cli("init", "project", cwd=tmp_path)
    assert result.returncode == 1
    assert "exists and is not empty" in result.stderr
    assert (tmp_path / "project" / "keep.txt").read_text() == "mine"


def test_unknown_executor(tmp_path: Path) -> None:
    run_cli("init", "p", cwd=tmp_path)
    result = run_cli("build", "p/spec.yaml", "--executor", "spark", cwd=tmp_path, env={"SPECC_LOAD_PLUGINS": ""})
    assert result.returncode == 2  # a mistake in the command line
    assert result.stderr.strip() == "error: unknown executor 'spark'; installed: local"
    result = run_cli("build", "p/spec.yaml", "--executor", "ray", cwd=tmp_path, env={"SPECC_LOAD_PLUGINS": ""})
    assert (result.returncode, result.stderr.strip()) == (
        2,
        "error: executor 'ray' is provided by the plugin specc-ray; install it with pip install specc-ray",
    )


def test_progress_shows_on_a_terminal(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    run_cli("init", "p", cwd=tmp_path)
    leader, follower = os.openpty()
    try:
        result = subprocess.run(
            [sys.executable, "-m", "specc", "build", "p/spec.yaml"],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=follower,
            text=True,
            timeout=300,
        )
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(leader)
    progress = b"".join(chunks).decode()
    assert result.returncode == 0
    for stage in (
        "reading source 'questions'",
        "splitting (stratified)",
        "writing the splits and plots",
        "checking the output folder",
        "moving the output into place",
        "writing the lock",
    ):
        assert stage in progress
    assert "cache miss" not in progress  # details only with -v


@pytest.mark.parametrize(
    ("command", "collecting"), [("validate", False), ("plan", False), ("build", True), ("lock", True), ("card", True)]
)
def test_the_collector_paused_for_start_up_resumes_for_commands_that_work_long(command: str, collecting: bool) -> None:
    import gc

    import click

    from specc.cli import cli

    was = gc.isenabled()
    gc.disable()  # as `specc.cli.run` does
    try:
        cli.resolve_command(click.Context(cli), [command])
        assert gc.isenabled() is collecting
    finally:
        gc.unfreeze()
        gc.enable() if was else gc.disable()
