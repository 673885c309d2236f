"""The build entry points: lock, plan against the lock, build, verify."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from specc import known_plugins
from specc.cache import DIGEST
from specc.compiler import Plan, compile_spec
from specc.components import Context, Executor, Params
from specc.errors import CommandLineError, SpeccError
from specc.executor import BuildOptions, BuildResult
from specc.lock import check_upgrade_sources, lock_data, lock_path, locked_pins, read_lock, write_lock
from specc.plan_diff import Change, diff_plan
from specc.plugins import get_registry
from specc.publish import write_outputs
from specc.spec import Spec, load_spec


def _plan(
    spec: Spec,
    lock: dict[str, Any] | None,
    cache_dir: str | Path | None,
    upgrade: bool = False,
    upgrade_sources: Iterable[str] = (),
) -> Plan:
    return compile_spec(spec, locked_pins(lock, upgrade, upgrade_sources), Path(cache_dir) if cache_dir else None)


def lock(
    spec_path: str | Path,
    *,
    upgrade: bool = False,
    upgrade_sources: Iterable[str] = (),
    cache_dir: str | Path | None = None,
) -> tuple[Path, bool]:
    """Write the spec's lock (pins kept unless upgraded); returns its path and whether it changed."""
    spec = load_spec(spec_path)
    path = lock_path(spec)
    previous = read_lock(path)
    upgrade_sources = list(upgrade_sources)
    plan = _plan(spec, previous, cache_dir, upgrade, upgrade_sources)
    check_upgrade_sources(plan, upgrade_sources)
    return path, write_lock(path, lock_data(plan, previous))


def plan_changes(
    spec_path: str | Path, *, cache_dir: str | Path | None = None
) -> tuple[Plan, list[Change], Path, bool]:
    """The plan and each step's change against the lock; also the lock's path and whether it exists."""
    from specc.cache import StepCache

    spec = load_spec(spec_path)
    path = lock_path(spec)
    previous = read_lock(path)
    plan = _plan(spec, previous, cache_dir)
    return plan, diff_plan(plan, previous, StepCache(plan.cache_dir).has), path, previous is not None


def _check_fresh(changes: list[Change], spec: Spec) -> None:
    stale = [c for c in changes if c.status != "unchanged"]
    if stale:
        lines = [c.summary() for c in stale]
        raise SpeccError(
            f"{lock_path(spec)}: error: the lock is stale (--frozen); it differs from the spec and "
            "sources in:\n" + "\n".join(lines) + f"\nrun `specc lock {spec.path.name}` and commit the "
            "lock, or undo the change"
        )


def _run(plan: Plan, options: BuildOptions) -> BuildResult:
    registry = get_registry()
    executor = options.executor
    if executor not in registry.names("executor"):
        hint = known_plugins.install_hint("executor", executor)
        installed = ", ".join(registry.names("executor"))
        raise CommandLineError(
            f"error: executor {hint}" if hint else f"error: unknown executor '{executor}'; installed: {installed}"
        )
    cls = registry.get("executor", executor).cls
    runner = cls(
        _executor_params(executor, cls.Params, options.executor_options),
        Context(f"executor.{executor}", 0, plan.spec.dir),
    )
    assert isinstance(runner, Executor)  # the registry takes subclasses of the kind's base only
    return runner.run(plan, options)


def _executor_params(name: str, model: type[Params], options: Mapping[str, Any]) -> Params:
    """An executor's Params from the options given on the command line, or an error naming the bad one."""
    from pydantic import ValidationError

    given = {k: v for k, v in options.items() if v is not None}
    try:
        return model(**given)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            key = ".".join(str(part) for part in error["loc"])
            problems.append(
                f"executor '{name}' takes no option '{key}'"
                if error["type"] == "extra_forbidden"
                else f"executor '{name}', option '{key}': {error['msg']}"
            )
        raise SpeccError(f"error: {'; '.join(problems)}; check --executor and its options") from None


def build(
    spec_path: str | Path,
    *,
    num_proc: int = 1,
    executor: str = "local",
    progress: Callable[[str], None] | None = None,
    frozen: bool = False,
    cache_dir: str | Path | None = None,
    executor_options: Mapping[str, Any] | None = None,
    replace_foreign: bool = False,
    wait: bool = False,
    notify: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Build the data set a spec describes and update its lock; returns the statistics (stats.json).

    With `frozen`, refuse to build when the lock is missing or differs from the spec and sources,
    and leave the lock as it is. `replace_foreign` moves an output folder specc did not make aside
    (`notify` hears where); `wait` waits for another build of the same output instead of failing.
    """
    if num_proc < 1:
        raise SpeccError("error: --num-proc must be at least 1")
    spec = load_spec(spec_path)
    path = lock_path(spec)
    previous = read_lock(path)
    if frozen and previous is None:
        raise SpeccError(f"{path}: error: no lock (--frozen); run `specc lock {spec.path.name}` and commit the lock")
    plan = _plan(spec, previous, cache_dir)
    if frozen:
        _check_fresh(diff_plan(plan, previous), spec)
    result = _run(
        plan,
        BuildOptions(
            write_outputs,
            num_proc=num_proc,
            executor=executor,
            progress=progress,
            executor_options=dict(executor_options or {}),
            replace_foreign=replace_foreign,
            wait=wait,
            notify=notify,
        ),
    )
    if not frozen:
        if progress is not None:
            progress("writing the lock")
        write_lock(
            path, lock_data(plan, previous, result.digests, [o.model_dump() for o in result.stats.all_outputs()])
        )
    return result.stats.json_data()


def verify(
    spec_path: str | Path,
    *,
    num_proc: int = 1,
    executor: str = "local",
    progress: Callable[[str], None] | None = None,
    executor_options: Mapping[str, Any] | None = None,
) -> list[str]:
    """Rebuild in a scratch cache and output folder and compare every digest with the lock.

    Returns what was compared; raises naming each step or file whose bytes differ.
    """
    spec = load_spec(spec_path)
    path = lock_path(spec)
    previous = read_lock(path)
    if previous is None or "outputs" not in previous:
        raise SpeccError(f"{path}: error: no digests to verify against; run `specc build {spec.path.name}` first")
    with tempfile.TemporaryDirectory(prefix="specc-verify-") as scratch:
        plan = _plan(spec, previous, Path(scratch) / "cache")
        _check_fresh(diff_plan(plan, previous), spec)
        options = BuildOptions(
            write_outputs,
            num_proc=num_proc,
            executor=executor,
            progress=progress,
            output_dir=Path(scratch) / "output",
            executor_options=dict(executor_options or {}),
        )
        result = _run(plan, options)
    differ, checked = [], []
    for step_id, entry in previous["steps"].items():
        if "output" in entry:
            checked.append(step_id)
            got = result.digests.get(step_id, {}).get(DIGEST)
            if got != entry["output"].get(DIGEST):
                differ.append(
                    f"  step {step_id}: {DIGEST} {str(entry['output'].get(DIGEST))[:12]} in the lock, "
                    f"{str(got)[:12]} rebuilt"
                )
    built = {o.path: o.sha256 for o in result.stats.all_outputs()}
    for file, entry in previous["outputs"]["files"].items():
        checked.append(file)
        if built.get(file) != entry["sha256"]:
            differ.append(
                f"  file {file}: sha256 {entry['sha256'][:12]} in the lock, {str(built.get(file))[:12]} rebuilt"
            )
    if differ:
        raise SpeccError(
            f"{path}: error: the rebuild differs from the lock; these outputs are not deterministic "
            "(the first step listed is where it starts):\n" + "\n".join(differ)
        )
    return checked
