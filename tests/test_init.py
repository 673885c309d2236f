"""`specc init`: a spec that builds, with the schema its editor modeline names and a .gitignore for the build."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import run_cli

MODELINE = "# yaml-language-server: $schema=specc.schema.json"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder `specc init` made, then built."""
    root = tmp_path_factory.mktemp("init")
    made = run_cli("init", "project", cwd=root)
    assert made.returncode == 0, made.stderr
    built = run_cli("build", "project/spec.yaml", cwd=root)
    assert built.returncode == 0, built.stderr
    return root / "project"


def test_spec_names_the_schema_written_beside_it(project: Path) -> None:
    import jsonschema

    spec = project / "spec.yaml"
    assert spec.read_text().splitlines()[0] == MODELINE
    schema = json.loads((project / "specc.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    assert list(jsonschema.Draft202012Validator(schema).iter_errors(yaml.safe_load(spec.read_text()))) == []


def test_schema_is_the_installed_plugins(project: Path) -> None:
    printed = run_cli("schema")
    assert printed.returncode == 0, printed.stderr
    assert (project / "specc.schema.json").read_text() == printed.stdout


def test_gitignore_keeps_the_build_and_cache_out(project: Path) -> None:
    assert (project / ".gitignore").read_text().splitlines()[1:] == ["build/", ".specc/"]
    built = [project / "build" / "my-dataset" / "README.md", next((project / ".specc").rglob("*.*"))]
    assert all(path.is_file() for path in built)
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    subprocess.run(["git", "init", "-q"], cwd=project, check=True)
    listed = subprocess.run(
        ["git", "ls-files", "--others", "--exclude-standard"], cwd=project, capture_output=True, text=True, check=True
    )
    committed = [".gitignore", "data/questions.jsonl", "spec.lock", "spec.yaml", "specc.schema.json"]
    assert sorted(listed.stdout.split()) == committed
