"""One local Ray instance for the session (2 CPUs, a 500 MB object store), with the fault plugin on its path."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from ray_testing import FAULT_PLUGIN, write_plugin


@pytest.fixture(scope="session")
def ray_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder on the cluster's PYTHONPATH holding the fault plugin."""
    site = tmp_path_factory.mktemp("ray-site")
    write_plugin(site, "rayfault", FAULT_PLUGIN)
    return site


@pytest.fixture(scope="session")
def ray_cluster(ray_site: Path) -> Iterator[str]:
    """A local Ray instance started once for the session; its address (for --ray-address)."""
    import ray

    saved = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(ray_site), saved) if p)
    try:
        ray.init(num_cpus=2, object_store_memory=500 * 2**20, include_dashboard=False)
    finally:
        if saved is None:
            del os.environ["PYTHONPATH"]
        else:
            os.environ["PYTHONPATH"] = saved
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()
