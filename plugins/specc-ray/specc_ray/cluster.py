"""The Ray cluster: connecting with a clear error, and checking that every node can run the plan's components."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from specc.plugin import PluginError, SpeccError

if TYPE_CHECKING:
    from specc.plugin import Component, Plan

CONNECT_SECONDS = 5
MISSING = "(not installed)"
# The distributions every node needs besides the plan's plugins.
CORE = ("specc-sft", "specc-ray")
# The name plans and locks give the core's own components (fingerprinted, so it kept the import package's name).
BUILTIN = "specc"
START_HINT = "start one with `ray start --head` and pass the address it prints, or fix --ray-address"


def check_reachable(address: str) -> None:
    """Fail fast, naming `address`, when nothing listens there (Ray itself retries for minutes)."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise SpeccError(
            f"error: Ray address '{address}' is not HOST:PORT; give the address `ray start --head` "
            f"printed, e.g. 10.0.0.1:6379"
        )
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_SECONDS).close()
    except OSError as exc:
        raise SpeccError(
            f"error: cannot reach the Ray cluster at {address} ({exc.strerror or type(exc).__name__}); {START_HINT}"
        ) from None


@contextmanager
def connected(address: str | None) -> Iterator[None]:
    """Ray connected while the block runs: to `address`, else as `ray.init()` finds one ($RAY_ADDRESS, the
    cluster `ray start` started on this machine), else a new local instance.

    A connection this process already has is used (and kept open afterwards), unless `address`
    names another cluster.
    """
    import ray

    target = address or os.environ.get("RAY_ADDRESS") or None
    if target not in (None, "auto", "local"):
        check_reachable(target)  # type: ignore[arg-type]
    if ray.is_initialized():
        current = ray.get_runtime_context().gcs_address
        if address is not None and address.removeprefix("ray://") != current:
            raise SpeccError(
                f"error: this process is already connected to the Ray cluster at {current}, not "
                f"{address}; leave out the address or disconnect first (ray.shutdown())"
            )
        with _data_settings():
            yield
        return
    try:
        ray.init(address=target)
    except Exception as exc:  # ConnectionError, a version mismatch (RuntimeError), a bad address (ValueError)
        raise SpeccError(
            f"error: cannot connect to the Ray cluster at {target or 'a new local instance'}: "
            f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}; {START_HINT}"
        ) from None
    try:
        with _data_settings():
            yield
    finally:
        ray.shutdown()


@contextmanager
def _data_settings() -> Iterator[None]:
    """Ray Data as a build needs it: results in input order; group-bys by sort shuffle (tasks, no actors
    to start); a component's error raised as itself (for `pool.worker_errors`)."""
    import ray.data
    from ray.data.context import ShuffleStrategy

    context = ray.data.DataContext.get_current()
    saved = context.execution_options.preserve_order, context.shuffle_strategy, context.raise_original_map_exception
    context.execution_options.preserve_order = True
    context.shuffle_strategy = ShuffleStrategy.SORT_SHUFFLE_PULL_BASED
    context.raise_original_map_exception = True
    try:
        yield
    finally:
        (context.execution_options.preserve_order, context.shuffle_strategy, context.raise_original_map_exception) = (
            saved
        )


def check_nodes(plan: Plan, components: list[Component]) -> None:
    """Fail naming the node, step, plugin and distribution when a node cannot load one of `components`."""
    import ray
    import ray.cloudpickle
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    steps = {s.id: s for s in plan.steps}
    wanted = []
    for component in components:
        registered = steps[component.context.step_id].component
        assert registered is not None
        wanted.append(
            (
                component.context.step_id,
                registered.plugin,
                registered.distribution,
                registered.dist_version,
                ray.cloudpickle.dumps(component),
            )
        )
    ours = {dist: _version(dist) for dist in CORE}
    check = ray.remote(node_problems)
    pending = {
        node["NodeManagerAddress"]: check.options(
            num_cpus=0, max_retries=0, scheduling_strategy=NodeAffinitySchedulingStrategy(node["NodeID"], soft=False)
        ).remote(wanted, ours)
        for node in ray.nodes()
        if node["Alive"]
    }
    _check_resources(plan, components)
    for address, ref in sorted(pending.items()):
        try:
            problems = ray.get(ref)
        except ray.exceptions.RayError as exc:  # the node cannot even load this check: no specc-ray there
            cause = getattr(exc, "cause", None) or exc
            problems = [
                f"it cannot load specc-ray ({type(cause).__name__}: {str(cause).splitlines()[0]}); "
                f"install it there: pip install 'specc-ray=={ours['specc-ray']}'"
            ]
        if problems:
            raise PluginError(f"error: Ray node {address}: " + "; ".join(problems))


def _check_resources(plan: Plan, components: list[Component]) -> None:
    """Fail, naming the step, when no node has what one worker of it reserves (Ray would wait forever)."""
    import ray

    nodes = [node["Resources"] for node in ray.nodes() if node["Alive"]]
    ids = {c.context.step_id for c in components}
    for step in plan.steps:
        wanted = step.operational.get("resources", {})
        if step.id not in ids or not wanted:
            continue
        need = {"CPU": wanted.get("num_cpus", 1), "GPU": wanted.get("num_gpus", 0)}
        if not any(all(node.get(kind, 0) >= amount for kind, amount in need.items()) for node in nodes):
            biggest = max(nodes, key=lambda n: (n.get("GPU", 0), n.get("CPU", 0)), default={})
            raise SpeccError(
                f"error: step '{step.id}' reserves {need['CPU']:g} CPUs and {need['GPU']:g} GPUs per "
                f"worker (`resources:`), but no Ray node has that much (the largest has "
                f"{biggest.get('CPU', 0):g} CPUs and {biggest.get('GPU', 0):g} GPUs); lower "
                f"`resources:` or add such a node"
            )


def _version(distribution: str) -> str:
    from importlib import metadata

    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return MISSING


def node_problems(wanted: list[tuple[str, str, str, str, bytes]], ours: dict[str, str]) -> list[str]:
    """On a node: what it lacks to run the components in `wanted` with the versions this driver has."""
    import ray.cloudpickle

    problems = []
    for dist, version in ours.items():
        theirs = _version(dist)
        if theirs != version:
            has = f"it lacks {dist}" if theirs == MISSING else f"it has {dist} {theirs}"
            problems.append(
                f"{has}, this machine {version}; install the same version on every node: "
                f"pip install '{dist}=={version}'"
            )
    for step_id, plugin, dist, version, pickled in wanted:
        fix = f"install it on every node: pip install '{dist}=={version}'"
        installed = _version(dist) if dist not in (*CORE, BUILTIN, "(local)") else version
        if installed != version:
            there = "which the node lacks" if installed == MISSING else f"but the node has {dist} {installed}"
            problems.append(f"step '{step_id}' needs plugin '{plugin}' (distribution {dist} {version}), {there}; {fix}")
            continue
        try:
            ray.cloudpickle.loads(pickled)
        except Exception as exc:  # a missing module, or one that fails to import there
            problems.append(
                f"step '{step_id}' needs plugin '{plugin}' (distribution {dist} {version}), which "
                f"the node cannot load ({type(exc).__name__}: {exc}); {fix}"
            )
    return list(dict.fromkeys(problems))
