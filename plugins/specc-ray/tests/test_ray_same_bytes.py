"""Every example spec builds to the same bytes with `--executor ray` as with the local executor,
and each executor's step cache serves the other."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ray_testing import ROOT, SHARED, copy_specs, digests, with_resources

from specc.builder import build
from specc.cache import META_FILE
from specc.executor import record_path
from specc.spec import load_spec

SPECS = [
    pytest.param(p.name, marks=pytest.mark.shared_data) if "shared/data" in p.read_text() else p.name
    for p in sorted((ROOT / "specs").glob("*.yaml"))
]


@pytest.fixture(scope="module")
def copies(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """specs/ copied twice, one copy built by each executor (each with its own locks and step cache);
    the quickstart reserves `resources:` (which the local executor ignores)."""
    found = {executor: copy_specs(tmp_path_factory.mktemp(executor)) for executor in ("local", "ray")}
    for specs in found.values():
        with_resources(specs / "quickstart.yaml")
    return found


def _cache(specs: Path) -> dict[str, str]:
    """Each step cache entry's key and the SHA-256 of its data."""
    return {p.parent.name: json.loads(p.read_text())["xxh3_128"] for p in (specs / ".specc" / "cache").rglob(META_FILE)}


def _units(spec: Path) -> set[str]:
    """Hit or miss, for the units of the spec's last build."""
    record = json.loads(record_path(spec.parent, load_spec(spec).output_dir).read_text())
    return {unit["cache"] for unit in record["units"]}


@pytest.mark.parametrize("name", SPECS)
def test_example_spec_builds_the_same_bytes_on_ray(name: str, copies: dict[str, Path], ray_cluster: str) -> None:
    if "shared/data" in (ROOT / "specs" / name).read_text() and not SHARED.is_dir():
        pytest.skip(f"shared data not found at {SHARED}")
    local, on_ray = copies["local"] / name, copies["ray"] / name
    build(local)
    build(on_ray, executor="ray")
    built = digests(load_spec(local).output_dir)
    assert built and built == digests(load_spec(on_ray).output_dir)
    assert local.with_suffix(".lock").read_bytes() == on_ray.with_suffix(".lock").read_bytes()
    # every stage file too: the same run keys and bytes, so either executor's cache serves the other
    assert _cache(copies["local"]) == _cache(copies["ray"])
    assert json.loads(record_path(on_ray.parent, load_spec(on_ray).output_dir).read_text())["executor"] == "ray"


def test_each_executor_reuses_the_steps_the_other_cached(copies: dict[str, Path], ray_cluster: str) -> None:
    local, on_ray = copies["local"] / "quickstart.yaml", copies["ray"] / "quickstart.yaml"
    for spec in (local, on_ray):
        if not load_spec(spec).output_dir.exists():
            build(spec, executor="ray" if spec == on_ray else "local")
    built = digests(load_spec(local).output_dir)
    build(local, executor="ray")  # with the cache the local build filled
    assert _units(local) == {"hit"}
    build(on_ray)  # locally, with the cache the Ray build filled
    assert _units(on_ray) == {"hit"}
    assert digests(load_spec(local).output_dir) == digests(load_spec(on_ray).output_dir) == built
