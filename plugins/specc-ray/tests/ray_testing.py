"""Helpers of the specc-ray tests: plugins written as installed distributions, spec copies, digests, the CLI."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
SHARED = ROOT.parent / "shared"

# A row step that kills the Ray worker process running it, once (a marker file remembers), and
# otherwise keeps every row. On the cluster's PYTHONPATH, so workers can load it.
FAULT_PLUGIN = '''
"""A step that kills its Ray worker the first time it runs on one."""
import os

import specc
from specc.components import Params, Step, StepResult


class KillWorkerOnce(Step):
    """Keeps every row; on a Ray worker, first kills that worker (like an OOM kill or a lost node)."""

    name = "kill-worker-once"

    class Params(Params):
        marker: str

    def apply(self, table):
        import ray

        marker = self.context.spec_dir / self.params.marker  # relative: an absolute path would be published
        if ray.is_initialized() and ray.get_runtime_context().get_task_id() is not None and not marker.exists():
            marker.write_text(str(os.getpid()))
            os._exit(1)
        return StepResult(table)


@specc.hookimpl
def register_steps(register):
    register(KillWorkerOnce)
'''


def write_plugin(site: Path, module: str, source: str, version: str = "0.1") -> None:
    """An installed plugin distribution: a module and its dist-info (entry point `module`) in `site`."""
    site.mkdir(parents=True, exist_ok=True)
    (site / f"{module}.py").write_text(source, encoding="utf-8")
    info = site / f"{module}-{version}.dist-info"
    info.mkdir(exist_ok=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: {version}\n", encoding="utf-8")
    (info / "entry_points.txt").write_text(f"[specc]\n{module} = {module}\n", encoding="utf-8")


def copy_specs(folder: Path) -> Path:
    """specs/ copied to folder/main/specs (their data, locks and card templates), with ../../shared beside it."""
    target = folder / "main" / "specs"
    shutil.copytree(ROOT / "specs", target, ignore=shutil.ignore_patterns("build", ".specc"))
    if SHARED.is_dir():
        (folder / "shared").symlink_to(SHARED)
    return target


def digests(folder: Path) -> dict[str, str]:
    """SHA-256 of every file under `folder`."""
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def run_cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """`specc ARGS...` through the real entry point."""
    return subprocess.run(
        [sys.executable, "-m", "specc", *args],
        env={**os.environ, **(env or {})},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
    )


# Resources for two steps of the quickstart: a task of `normalize` takes the whole 2-CPU test cluster.
RESOURCES = {
    "  - {type: normalize, columns: [text]}": "  - {type: normalize, columns: [text], resources: {num_cpus: 2}}",
    "  - {type: dedup, columns: [text]}": "  - {type: dedup, columns: [text], resources: {num_cpus: 0.5, num_gpus: 0}}",
}


def with_resources(spec: Path) -> Path:
    """The quickstart `spec` with `resources:` on normalize and dedup."""
    text = spec.read_text()
    for old, new in RESOURCES.items():
        assert old in text
        text = text.replace(old, new)
    spec.write_text(text)
    return spec


@contextmanager
def installed_here(site: Path, module: str) -> Iterator[None]:
    """The plugin `module` in `site` installed in this process while the block runs (its entry point found)."""
    from specc.plugins import reset_plugins

    sys.path.insert(0, str(site))
    reset_plugins()
    try:
        yield
    finally:
        sys.path.remove(str(site))
        sys.modules.pop(module, None)
        reset_plugins()
