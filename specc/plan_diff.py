"""The plan diff: each step of a plan against the lock, with the causes of every change."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from specc.compiler import Plan, PlanStep

MARKS = {"new": "+", "changed": "~", "removed": "-", "unchanged": "="}


@dataclass(frozen=True)
class Change:
    """One step's status against the lock: new, changed (with causes), removed or unchanged."""

    step: str
    status: str
    causes: list[str] = field(default_factory=list)
    cached: bool = False

    @property
    def mark(self) -> str:
        """`+`, `~`, `-` or `=`."""
        return MARKS[self.status]

    def summary(self) -> str:
        """The change as one indented line of an error: mark, step and causes."""
        return f"  {self.mark} {self.step}" + (f": {'; '.join(self.causes)}" if self.causes else "")


def _show(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def value_changes(prefix: str, old: Any, new: Any) -> list[str]:
    """Dotted paths where two JSON values differ: `params.ratios.train 0.8 -> 0.7`."""
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for key in sorted(set(old) | set(new), key=str):
            if key not in new:
                out.append(f"{prefix}.{key} removed (was {_show(old[key])})")
            elif key not in old:
                out.append(f"{prefix}.{key} added ({_show(new[key])})")
            else:
                out.extend(value_changes(f"{prefix}.{key}", old[key], new[key]))
        return out
    return [] if old == new else [f"{prefix} {_show(old)} -> {_show(new)}"]


def _pin_changes(old: dict[str, Any], new: dict[str, Any], what: str) -> list[str]:
    old_files = {f.get("path"): f for f in old.get("files", [])}
    new_files = {f.get("path"): f for f in new.get("files", [])}
    out = []
    for path in sorted(set(old_files) | set(new_files), key=str):
        before, after = old_files.get(path), new_files.get(path)
        if before is None:
            out.append(f"{what} bytes: {path} added")
        elif after is None:
            out.append(f"{what} bytes: {path} removed")
        elif (before.get("sha256"), before.get("size")) != (after.get("sha256"), after.get("size")):
            out.append(
                f"{what} bytes: {path} sha256 {str(before.get('sha256'))[:12]} -> {str(after.get('sha256'))[:12]}"
            )
    rest_old = {k: v for k, v in old.items() if k != "files"}
    rest_new = {k: v for k, v in new.items() if k != "files"}
    return out + value_changes("pins", rest_old, rest_new)


def step_causes(step: PlanStep, old: dict[str, Any], locked: dict[str, Any], changed: set[str]) -> list[str]:
    """Why a step's fingerprint differs from the lock's."""
    record = step.record
    causes = []
    if old.get("type") != record["component"]:
        causes.append(f"type {old.get('type')} -> {record['component']}")
    elif old.get("version") != record["version"]:
        causes.append(
            f"{record['component'] or step.stage + ' format'} version {old.get('version')} -> {record['version']}"
        )
    if old.get("distribution") != record["distribution"]:
        before, after = old.get("distribution") or ["?", "?"], record["distribution"]
        causes.append(
            f"plugin {after[0]} {before[1]} -> {after[1]}"
            if before[0] == after[0]
            else f"plugin {before[0]} -> {after[0]}"
        )
    causes += value_changes("params", old.get("params", {}), record["params"])
    if old.get("languages") != record.get("languages"):
        causes.append(f"languages {_show(old.get('languages'))} -> {_show(record.get('languages'))}")
    if old.get("seed") != record["seed"]:
        causes.append(f"seed {old.get('seed')} -> {record['seed']}")
    if step.stage == "sources" or step.pins or old.get("pins"):
        causes += _pin_changes(old.get("pins", {}), step.pins, "source" if step.stage == "sources" else "file")
    if list(step.upstream) != old.get("upstream"):
        causes.append(f"upstream {', '.join(old.get('upstream', [])) or 'none'} -> {', '.join(step.upstream)}")
    else:
        causes += [
            f"upstream {u} changed"
            for u in step.upstream
            if u in changed or locked.get(u, {}).get("fingerprint") is None
        ]
    return causes or ["fingerprint differs (lock edited by hand?)"]


def diff_plan(plan: Plan, lock: dict[str, Any] | None, cached: Callable[[str], bool] | None = None) -> list[Change]:
    """Every step of the plan and every step only in the lock, in plan order, then removed ones.

    `cached(fingerprint)` tells whether the step cache holds a step's output (`StepCache.has`).
    """
    locked = (lock or {}).get("steps", {})
    changes: list[Change] = []
    changed: set[str] = set()
    for step in plan.steps:
        hit = cached(step.fingerprint) if cached is not None and step.stage != "output" else False
        old = locked.get(step.id)
        if old is None:
            changes.append(Change(step.id, "new", [], hit))
            changed.add(step.id)
        elif old.get("fingerprint") == step.fingerprint:
            changes.append(Change(step.id, "unchanged", [], hit))
        else:
            changes.append(Change(step.id, "changed", step_causes(step, old, locked, changed), hit))
            changed.add(step.id)
    ids = {s.id for s in plan.steps}
    changes += [Change(step_id, "removed") for step_id in locked if step_id not in ids]
    return changes


def summary(changes: list[Change]) -> str:
    """`1 new, 3 changed, 0 removed, 4 unchanged (2 cached)`."""
    count = {status: sum(c.status == status for c in changes) for status in MARKS}
    cached = sum(c.cached for c in changes if c.status == "unchanged")
    return (
        f"{count['new']} new, {count['changed']} changed, {count['removed']} removed, "
        f"{count['unchanged']} unchanged ({cached} cached)"
    )


def diff_text(plan: Plan, changes: list[Change], lock_shown: str, has_lock: bool) -> str:
    """The diff for people: a line per step, causes indented, a summary line."""
    lines = [
        f"plan for {plan.spec.model.name} {plan.spec.model.version} against "
        f"{lock_shown if has_lock else 'no lock (' + lock_shown + ' does not exist)'}"
    ]
    steps = {s.id: s for s in plan.steps}
    for change in changes:
        step = steps.get(change.step)
        what = step.type if step else ""
        note = " (cached)" if change.cached else ""
        lines.append(f"{change.mark} {change.step:<28} {what:<14}{note}".rstrip())
        lines += [f"      {cause}" for cause in change.causes]
    lines.append(summary(changes))
    return "\n".join(lines)


def diff_json(plan: Plan, changes: list[Change]) -> dict[str, Any]:
    """The diff for machines."""
    steps = {s.id: s for s in plan.steps}
    return {
        "spec": plan.spec.model.name,
        "fingerprint": plan.fingerprint,
        "changes": [
            {**asdict(c), "mark": c.mark, "fingerprint": steps[c.step].fingerprint if c.step in steps else None}
            for c in changes
        ],
        "summary": summary(changes),
    }
