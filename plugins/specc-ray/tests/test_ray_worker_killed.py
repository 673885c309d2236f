"""A Ray worker killed in the middle of a build: Ray reruns its task and the output keeps its bytes."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from ray_testing import copy_specs, digests, installed_here

from specc.builder import build
from specc.spec import load_spec


@pytest.fixture
def fault_plugin(ray_site: Path) -> Iterator[None]:
    """The `kill-worker-once` step installed here too (the cluster's workers have it on their path)."""
    with installed_here(ray_site, "rayfault"):
        yield


def _with_kill_step(specs: Path, marker: Path) -> Path:
    spec = specs / "quickstart.yaml"
    text = spec.read_text()
    normalize = "  - {type: normalize, columns: [text]}"
    assert normalize in text
    shown = os.path.relpath(marker, specs)  # the card shows the step's parameters: no absolute path
    spec.write_text(text.replace(normalize, f"{normalize}\n  - {{type: kill-worker-once, marker: '{shown}'}}"))
    return spec


def test_a_killed_worker_is_replaced_and_the_output_keeps_its_bytes(
    tmp_path: Path, ray_cluster: str, fault_plugin: None
) -> None:
    marker = tmp_path / "killed-worker-pid"
    local = _with_kill_step(copy_specs(tmp_path / "local"), marker)
    build(local)
    assert not marker.exists()  # the local executor ran the step in this process and kept every row
    on_ray = _with_kill_step(copy_specs(tmp_path / "ray"), marker)
    build(on_ray, executor="ray")
    assert marker.exists()  # a worker died running the step; Ray ran its task again elsewhere
    assert digests(load_spec(on_ray).output_dir) == digests(load_spec(local).output_dir)
