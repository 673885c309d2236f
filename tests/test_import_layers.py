"""The import contracts hold the core's layers: a copy of specc with one upward import fails lint-imports."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
LAYERS = "The core's layers import only downward"
ACYCLIC = "No import cycles inside specc"


@pytest.fixture(scope="module")
def copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """specc, the first-party plugins' packages and pyproject.toml in a folder of their own."""
    folder = tmp_path_factory.mktemp("layers")
    skip = shutil.ignore_patterns("__pycache__")
    shutil.copytree(ROOT / "specc", folder / "specc", ignore=skip)
    for package in ROOT.glob("plugins/*/specc_*"):
        shutil.copytree(package, folder / package.name, ignore=skip)
    shutil.copy(ROOT / "pyproject.toml", folder)
    return folder


def _lint(folder: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(folder), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([str(LINT_IMPORTS)], cwd=folder, env=env, capture_output=True, text=True, timeout=300)


def test_the_core_as_it_is_keeps_every_contract(copy: Path) -> None:
    done = _lint(copy)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{LAYERS} KEPT" in done.stdout and f"{ACYCLIC} KEPT" in done.stdout


def _lint_with(folder: Path, module: str, statement: str) -> subprocess.CompletedProcess[str]:
    """lint-imports on the copy with `statement` added to `module`, imported inside a function (as most of specc's
    imports are: they count all the same); the module is restored after."""
    path = folder / "specc" / module
    text = path.read_text(encoding="utf-8")
    try:
        path.write_text(f"{text}\n\ndef _added() -> None:\n    {statement}  # noqa\n", encoding="utf-8")
        return _lint(folder)
    finally:
        path.write_text(text, encoding="utf-8")


def test_an_import_from_a_lower_layer_upward_breaks_the_layers_and_makes_a_cycle(copy: Path) -> None:
    done = _lint_with(copy, "compiler.py", "from specc.builder import build")
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"{LAYERS} BROKEN" in done.stdout and f"{ACYCLIC} BROKEN" in done.stdout
    assert "specc.compiler -> specc.builder" in done.stdout


def test_an_import_of_the_builtins_from_the_core_breaks_its_contract(copy: Path) -> None:
    done = _lint_with(copy, "stages.py", "import specc.builtins.clean")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "The core does not import the built-ins (plugins.py loads them by name) BROKEN" in done.stdout
