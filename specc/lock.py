"""The lock file: source pins, plugin versions, seeds, fingerprints and output digests of a spec."""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any, NotRequired

from pydantic import TypeAdapter, ValidationError
from typing_extensions import TypedDict

from specc.atomic import replace_text
from specc.compiler import Plan
from specc.errors import SpeccError
from specc.spec import Spec

LOCK_VERSION = 2


class _File(TypedDict):
    path: str
    sha256: str
    size: int


class _Pins(TypedDict):  # besides these, what the step's component pins (Hub revisions ...)
    files: NotRequired[list[_File]]
    sha256: NotRequired[str]  # a download's, which `cache gc` keeps


class _StepOutput(TypedDict):
    xxh3_128: str
    rows: int  # the digest key is specc.cache.DIGEST


class _Step(TypedDict):
    fingerprint: str
    type: str | None
    version: int
    distribution: tuple[str, str]
    params: dict[str, Any]
    seed: int
    upstream: list[str]
    languages: NotRequired[list[str]]
    pins: NotRequired[_Pins]
    output: NotRequired[_StepOutput]


class _OutputFile(TypedDict):
    sha256: str
    rows: int


class _Outputs(TypedDict):
    fingerprint: str
    files: dict[str, _OutputFile]


_Lock = TypedDict(
    "_Lock",
    {
        "lock-version": int,
        "spec": str,
        "seed": int,
        "plugins": dict[str, str],
        "steps": dict[str, _Step],
        "outputs": NotRequired[_Outputs],
    },
)


@lru_cache(maxsize=1)
def _lock_shape() -> TypeAdapter[_Lock]:
    """What specc reads of a lock: a lock that does not fit would fail far from where it is read."""
    return TypeAdapter(_Lock)


def lock_path(spec: Spec) -> Path:
    """`<spec file stem>.lock` beside the spec."""
    return spec.path.with_suffix(".lock")


def _damaged(path: Path, problem: str, line: int | None = None) -> SpeccError:
    """The error for a lock specc cannot use: what is wrong, and how to get a good one."""
    spec = next(
        (p for p in (path.with_suffix(".yaml"), path.with_suffix(".yml")) if p.is_file()), path.with_suffix(".yaml")
    )
    where = f"{path}:{line}" if line else str(path)
    return SpeccError(
        f"{where}: error: {problem}; restore the lock from version control, or delete it and run "
        f"`specc lock` again (`rm {path} && specc lock {spec}`: Hub and URL sources are pinned anew)"
    )


def read_lock(path: Path) -> dict[str, Any] | None:
    """The lock at `path`, None when there is none; a clear error when it cannot be used."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise SpeccError(f"{path}: error: cannot read the lock ({exc.strerror}); check it is a readable file") from None
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise _damaged(path, f"the lock is not UTF-8 text (byte {exc.start})", line) from None
    except ValueError as exc:
        raise _damaged(path, f"the lock is not valid JSON ({exc})", getattr(exc, "lineno", 1)) from None
    version = data.get("lock-version") if isinstance(data, dict) else None
    if version != LOCK_VERSION:
        what = (
            "the lock is not a JSON object"
            if not isinstance(data, dict)
            else (f"lock-version {version!r} is not {LOCK_VERSION}, the version this specc writes")
        )
        raise _damaged(path, what, 1)
    try:
        _lock_shape().validate_python(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = "".join(f"[{json.dumps(part)}]" for part in error["loc"])
        raise _damaged(
            path,
            f"the lock is damaged at {where}: {error['msg'].lower()} (found {json.dumps(error['input'])[:60]})",
            _line(raw.decode(), error["loc"]),
        ) from None
    return data


def _line(text: str, loc: tuple[int | str, ...]) -> int:
    """The line of the innermost key of `loc` in a lock's text (keys are found in order, from the top)."""
    at = 0
    for key in loc:
        if isinstance(key, str) and (found := text.find(f"{json.dumps(key)}:", at)) >= 0:
            at = found
    return text.count("\n", 0, at) + 1


def locked_pins(
    lock: dict[str, Any] | None, upgrade: bool = False, upgrade_sources: Iterable[str] = ()
) -> dict[str, Any]:
    """Pins per step id from a lock, without those to be resolved anew (sources named by --upgrade-source)."""
    if lock is None or upgrade:
        return {}
    again = {f"sources.{name}" for name in upgrade_sources}
    return {
        step_id: entry["pins"] for step_id, entry in lock["steps"].items() if "pins" in entry and step_id not in again
    }


def check_upgrade_sources(plan: Plan, names: Iterable[str]) -> None:
    """An error for `--upgrade-source` names that are not sources of the spec."""
    known = [s.id.removeprefix("sources.") for s in plan.stage("sources")]
    unknown = [n for n in names if n not in known]
    if unknown:
        raise SpeccError(f"error: --upgrade-source {unknown[0]}: no such source; the sources are: {', '.join(known)}")


def lock_data(
    plan: Plan,
    previous: dict[str, Any] | None = None,
    digests: dict[str, Any] | None = None,
    outputs: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
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
        digest = (digests or {}).get(step.id) or (
            old.get("output") if old.get("fingerprint") == step.fingerprint else None
        )
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
        data["outputs"] = {
            "fingerprint": plan.fingerprint,
            "files": {o["path"]: {"sha256": o["sha256"], "rows": o["rows"]} for o in outputs},
        }
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
