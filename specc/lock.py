"""The lock file: source pins, plugin versions, seeds, fingerprints and output digests of a spec."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable

from specc.atomic import replace_text
from specc.compiler import Plan
from specc.errors import SpeccError
from specc.spec import Spec

LOCK_VERSION = 2


def lock_path(spec: Spec) -> Path:
    """`<spec file stem>.lock` beside the spec."""
    return spec.path.with_suffix(".lock")


def read_lock(path: Path) -> dict[str, Any] | None:
    """The lock at `path`, None when there is none; a clear error when it cannot be used."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise SpeccError(f"{path}:{getattr(exc, 'lineno', 1)}: error: the lock is not valid JSON ({exc}); "
                         f"delete it and run `specc lock` again") from None
    version = data.get("lock-version") if isinstance(data, dict) else None
    if version != LOCK_VERSION or not isinstance(data.get("steps"), dict):
        raise SpeccError(f"{path}:1: error: lock-version {version!r} is not {LOCK_VERSION}, the version this "
                         f"specc writes; delete the lock and run `specc lock` again")
    return data


def locked_pins(lock: dict[str, Any] | None, upgrade: bool = False,
                upgrade_sources: Iterable[str] = ()) -> dict[str, Any]:
    """Pins per step id from a lock, without those to be resolved anew (sources named by --upgrade-source)."""
    if lock is None or upgrade:
        return {}
    again = {f"sources.{name}" for name in upgrade_sources}
    return {step_id: entry["pins"] for step_id, entry in lock["steps"].items()
            if "pins" in entry and step_id not in again}


def check_upgrade_sources(plan: Plan, names: Iterable[str]) -> None:
    """An error for `--upgrade-source` names that are not sources of the spec."""
    known = [s.id.removeprefix("sources.") for s in plan.stage("sources")]
    unknown = [n for n in names if n not in known]
    if unknown:
        raise SpeccError(f"error: --upgrade-source {unknown[0]}: no such source; the sources are: {', '.join(known)}")


def lock_data(plan: Plan, previous: dict[str, Any] | None = None, digests: dict[str, Any] | None = None,
              outputs: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The lock of a plan; step digests and outputs come from a build or carry over from `previous`.

    Carried-over digests and outputs are kept only where the fingerprint they belong to is unchanged.
    """
    old_steps = (previous or {}).get("steps", {})
    steps: dict[str, Any] = {}
    for step in plan.steps:
        record = step.record
        entry: dict[str, Any] = {
            "fingerprint": step.fingerprint,
            "type": record["component"],
            "version": record["version"],
            "distribution": record["distribution"],
            "params": record["params"],
            "seed": record["seed"],
            "upstream": list(step.upstream),
        }
        if "languages" in record:
            entry["languages"] = record["languages"]
        if step.stage == "sources" or step.pins:
            entry["pins"] = step.pins
        old = old_steps.get(step.id, {})
        digest = (digests or {}).get(step.id) or (old.get("output") if old.get("fingerprint") == step.fingerprint else None)
        if digest:
            entry["output"] = digest
        steps[step.id] = entry
    plugins = {"specc": plan.steps[-1].record["distribution"][1]}
    plugins.update({s.component.distribution: s.component.dist_version for s in plan.steps if s.component})
    data: dict[str, Any] = {
        "lock-version": LOCK_VERSION,
        "spec": plan.spec.path.name,
        "seed": plan.spec.model.seed,
        "plugins": dict(sorted(plugins.items())),
        "steps": steps,
    }
    old_outputs = (previous or {}).get("outputs")
    if outputs is not None:
        data["outputs"] = {"fingerprint": plan.fingerprint,
                           "files": {o["path"]: {"sha256": o["sha256"], "rows": o["rows"]} for o in outputs}}
    elif old_outputs and old_outputs.get("fingerprint") == plan.fingerprint:
        data["outputs"] = old_outputs
    return data


def lock_text(data: dict[str, Any]) -> str:
    """Canonical text of a lock: sorted keys, two-space indent, no timestamps."""
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_lock(path: Path, data: dict[str, Any]) -> bool:
    """Write the lock atomically unless the file already says the same; returns whether it wrote."""
    text = lock_text(data)
    try:
        if path.read_text(encoding="utf-8") == text:
            return False
    except FileNotFoundError:
        pass
    replace_text(path, text)
    return True
