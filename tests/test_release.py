"""The release artefacts: every distribution builds and passes `twine check`, and the built wheels work in a new venv.

Slow (one to three minutes): deselect with `-m "not release"`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

import specc
from tests.conftest import ROOT

pytestmark = pytest.mark.release

PROJECTS = [ROOT, *sorted(p.parent for p in (ROOT / "plugins").glob("*/pyproject.toml"))]
CORE = "specc-sft"


def _run(*args: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    done = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{' '.join(map(str, args))} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _name(project: Path) -> str:
    return tomllib.loads((project / "pyproject.toml").read_text())["project"]["name"]


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An sdist and a wheel (built from the sdist) of the core and each plugin, the builds run side by side.

    Without build isolation (a new venv with hatchling per build would double the test's time): the build
    backend comes from the test extra, and `build` still checks it satisfies each `build-system.requires`.
    """
    out = tmp_path_factory.mktemp("dist")
    builds = [
        subprocess.Popen(
            [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(project)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for project in PROJECTS
    ]
    for project, build in zip(PROJECTS, builds):
        output, _ = build.communicate(timeout=600)
        assert build.returncode == 0, f"building {project.name}:\n{output}"
    return out


def _wheel(dist: Path, name: str) -> Path:
    (wheel,) = dist.glob(f"{name.replace('-', '_')}-*.whl")
    return wheel


def test_every_distribution_builds_and_passes_twine_check(dist: Path) -> None:
    for project in PROJECTS:
        stem = _name(project).replace("-", "_")
        assert len(list(dist.glob(f"{stem}-*.tar.gz"))) == 1 and len(list(dist.glob(f"{stem}-*.whl"))) == 1, stem
    _run(sys.executable, "-m", "twine", "check", "--strict", *sorted(dist.iterdir()))


def test_core_wheel_carries_schema_templates_and_version(dist: Path) -> None:
    with zipfile.ZipFile(_wheel(dist, CORE)) as wheel:
        names = set(wheel.namelist())
        assert wheel.read("specc/schemas/specc.schema.json") == (ROOT / "schemas" / "specc.schema.json").read_bytes()
        metadata = Parser().parsestr(wheel.read(f"specc_sft-{specc.__version__}.dist-info/METADATA").decode())
    assert metadata["Name"] == CORE and metadata["Version"] == specc.__version__
    for folder in ("card/templates", "init_template"):
        shipped = {str(p.relative_to(ROOT)) for p in (ROOT / "specc" / folder).rglob("*") if p.is_file()}
        assert shipped and shipped <= names, f"specc/{folder} is not all in the wheel"


def test_plugins_require_the_core_by_its_distribution_name(dist: Path) -> None:
    for project in PROJECTS[1:]:
        with zipfile.ZipFile(_wheel(dist, _name(project))) as wheel:
            (metadata,) = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
            requires = Parser().parsestr(wheel.read(metadata).decode()).get_all("Requires-Dist")
        assert any(r.startswith(f"{CORE}>=") for r in requires), (project.name, requires)


def test_wheels_work_in_a_new_venv(dist: Path, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "SPECC_LOAD_PLUGINS")}
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", venv)  # this pip installs into it: no ensurepip wait
    # the core and the light example plugin; the others' dependencies (torch, ray) are too big for a test
    wheels = [_wheel(dist, CORE), _wheel(dist, "specc-example")]
    install = ["install", "--quiet", "--no-compile", *wheels]
    _run(sys.executable, "-m", "pip", "--python", venv / "bin" / "python", *install, env=env)
    found = _run(
        venv / "bin" / "python",
        "-c",
        "import specc; from importlib import resources; "
        "print(specc.__file__); print(resources.files('specc') / 'schemas' / 'specc.schema.json')",
        cwd=tmp_path,
        env=env,
    ).split()
    assert Path(found[0]).is_relative_to(venv)
    assert Path(found[1]).read_bytes() == (ROOT / "schemas" / "specc.schema.json").read_bytes()

    specc_command = venv / "bin" / "specc"
    assert _run(specc_command, "--version", env=env).strip() == f"specc, version {specc.__version__}"
    assert "example  (specc-example " in _run(specc_command, "plugins", env=env)
    _run(specc_command, "init", "project", cwd=tmp_path, env=env)
    built = _run(specc_command, "build", "project/spec.yaml", cwd=tmp_path, env=env)
    assert built.startswith("built ")
    assert (tmp_path / "project" / "build" / "my-dataset" / "README.md").is_file()
