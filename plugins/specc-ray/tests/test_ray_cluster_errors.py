"""Clear errors: an unreachable cluster, a node without a plugin the spec needs, resources no node has,
a step failing on a worker."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from ray_testing import copy_specs, installed_here, run_cli, write_plugin

from specc.builder import build
from specc.errors import PluginError, SpeccError

MISSING_PLUGIN = '''
"""A step only the machine that starts the build has."""
import specc
from specc.components import Params, Step, StepResult


class OnlyHere(Step):
    name = "only-here"

    def apply(self, table):
        return StepResult(table)


@specc.hookimpl
def register_steps(register):
    register(OnlyHere)
'''


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unreachable_address_is_one_line_and_exit_1(tmp_path: Path) -> None:
    spec = copy_specs(tmp_path) / "quickstart.yaml"
    address = f"127.0.0.1:{_closed_port()}"
    result = run_cli("build", str(spec), "--executor", "ray", "--ray-address", address)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        f"error: cannot reach the Ray cluster at {address} (Connection refused); start one with `ray start --head` "
        f"and pass the address it prints, or fix --ray-address"
    )
    assert not (spec.parent / "build").exists()


def test_address_without_a_port_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SpeccError, match=r"Ray address 'headnode' is not HOST:PORT"):
        build(copy_specs(tmp_path) / "quickstart.yaml", executor="ray", executor_options={"address": "headnode"})


def test_ray_address_with_the_local_executor_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SpeccError) as raised:
        build(copy_specs(tmp_path) / "quickstart.yaml", executor_options={"address": "127.0.0.1:6379"})
    assert str(raised.value) == "error: executor 'local' takes no option 'address'; check --executor and its options"


@pytest.fixture
def plugin_only_here(tmp_path: Path) -> Iterator[None]:
    """A plugin installed in this process only: the cluster's workers cannot import it."""
    write_plugin(tmp_path / "site", "onlyhere", MISSING_PLUGIN)
    with installed_here(tmp_path / "site", "onlyhere"):
        yield


def test_a_node_without_a_plugin_the_spec_needs_is_named(
    tmp_path: Path, ray_cluster: str, plugin_only_here: None
) -> None:
    spec = copy_specs(tmp_path) / "quickstart.yaml"
    spec.write_text(spec.read_text().replace("  - {type: dedup,", "  - {type: only-here}\n  - {type: dedup,"))
    with pytest.raises(PluginError) as raised:
        build(spec, executor="ray", executor_options={"address": ray_cluster})
    message = str(raised.value)
    assert message.startswith("error: Ray node ")
    assert message.endswith(
        ": step 'clean.only-here' needs plugin 'onlyhere' (distribution onlyhere 0.1), which "
        "the node lacks; install it on every node: pip install 'onlyhere==0.1'"
    )
    assert not (spec.parent / "build").exists()


def test_resources_no_node_has_are_an_error_not_a_wait(tmp_path: Path, ray_cluster: str) -> None:
    spec = copy_specs(tmp_path) / "quickstart.yaml"
    spec.write_text(
        spec.read_text().replace(
            "  - {type: dedup, columns: [text]}", "  - {type: dedup, columns: [text], resources: {num_gpus: 1}}"
        )
    )
    with pytest.raises(SpeccError) as raised:
        build(spec, executor="ray")
    assert str(raised.value) == (
        "error: step 'clean.dedup' reserves 1 CPUs and 1 GPUs per worker (`resources:`), but no Ray node has "
        "that much (the largest has 2 CPUs and 0 GPUs); lower `resources:` or add such a node"
    )


def test_a_step_error_on_a_worker_reads_as_it_does_locally(tmp_path: Path, ray_cluster: str) -> None:
    spec = copy_specs(tmp_path) / "quickstart.yaml"
    text = spec.read_text()
    assert "{type: length, column: text," in text
    spec.write_text(text.replace("{type: length, column: text,", "{type: length, column: label,"))
    with pytest.raises(SpeccError) as local:
        build(spec)
    with pytest.raises(SpeccError) as on_ray:  # raised in a Ray task, inside Ray Data's own exceptions
        build(spec, executor="ray")
    assert type(on_ray.value) is SpeccError
    assert str(on_ray.value) == str(local.value)
    assert str(local.value).startswith("error: step 'clean.length' (length): column 'label' has type int64")
