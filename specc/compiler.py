"""Spec + registry -> Plan: the steps in fixed stage order, with seeds and fingerprints."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from specc import stages
from specc.components import Component, Context, Params
from specc.errors import Diagnostic, SpecError
from specc.paths import NotFingerprinted
from specc.plugins import get_registry
from specc.registry import Registered
from specc.rowhash import derive_seed
from specc.spec import Spec
from specc.spec.model import OPERATIONAL
from specc.version import __version__

C = TypeVar("C", bound=Component)

CACHE_ENV = "SPECC_CACHE_DIR"
OUTPUT_FORMAT_VERSION = 2


@dataclass(frozen=True)
class PlanStep:
    """One step of the plan: what runs, with which parameters, seed and fingerprint."""

    id: str
    stage: str
    kind: str
    component: Registered | None
    params: Params | None
    seed: int
    upstream: tuple[str, ...]
    fingerprint: str
    pins: dict[str, Any] = field(default_factory=dict)
    files: tuple[dict[str, Any], ...] = ()
    record: dict[str, Any] = field(default_factory=dict)
    operational: dict[str, Any] = field(default_factory=dict)  # how it runs (resources); not fingerprinted

    @property
    def type(self) -> str:
        """The component's name, as written in the spec."""
        return self.component.name if self.component else self.stage

    def instantiate(
        self,
        spec_dir: Path,
        languages: tuple[str, ...] = (),
        cache_dir: Path | None = None,
        allow_external_paths: bool = False,
    ) -> Component:
        """A fresh component instance for this step."""
        assert self.component is not None and self.params is not None
        name = self.id.removeprefix("sources.") if self.stage == "sources" else self.id
        return self.component.cls(
            self.params, Context(name, self.seed, spec_dir, languages, cache_dir, self.pins, allow_external_paths)
        )

    def fingerprinted_params(self) -> dict[str, Any]:
        """Parameters that change the output, defaults applied (paths and the like left out)."""
        return fingerprinted_params(self.params) if self.params is not None else {}


@dataclass(frozen=True)
class Plan:
    """A compiled spec: steps in execution order (a chain after the parallel sources)."""

    spec: Spec
    steps: tuple[PlanStep, ...]
    cache_dir: Path

    def instantiate(self, step: PlanStep) -> Component:
        """A fresh component instance for one of this plan's steps."""
        return step.instantiate(
            self.spec.dir, tuple(self.spec.model.languages), self.cache_dir, self.spec.model.allow_external_paths
        )

    def instance(self, step: PlanStep, base: type[C]) -> C:
        """`instantiate(step)`, typed as its stage's base class (the registry takes subclasses of it only)."""
        component = self.instantiate(step)
        assert isinstance(component, base), f"{step.id}: {type(component).__name__} is not a {base.__name__}"
        return component

    def stage(self, stage: str) -> list[PlanStep]:
        """The steps of one stage, in order."""
        return [s for s in self.steps if s.stage == stage]

    def where(self, step_id: str, inside: tuple[str | int, ...] = ()) -> str:
        """`file:line:col` in the spec of a step's entry, or of the value at `inside` it (the nearest written)."""
        step = next(s for s in self.steps if s.id == step_id)
        stage = stages.kinds().get(step.kind)
        entry: tuple[str | int, ...] = tuple(stage.field.split(".")) if stage and stage.field else (step.stage,)
        if stage and stage.shape == "list":
            entry += ([s.id for s in self.stage(step.stage)].index(step_id),)
        elif stage and stage.shape == "map":
            entry += (step_id.removeprefix(f"{step.stage}."),)
        line, col = self.spec.positions.value(entry + inside)
        return f"{self.spec.shown}:{line}:{col}"

    def row_steps(self) -> list[PlanStep]:
        """The steps of every row stage of the stage table (`clean`, `annotate` …), in order."""
        rows = {stage.name for stage in stages.pipeline() if stage.rows}
        return [s for s in self.steps if s.stage in rows]

    @property
    def fingerprint(self) -> str:
        """The fingerprint of the whole build (its output step)."""
        return self.steps[-1].fingerprint


def fingerprinted_params(params: Params) -> dict[str, Any]:
    """A params model as JSON, without fields marked NotFingerprinted or the tag and id."""
    dumped = params.model_dump(mode="json")
    for name, info in type(params).model_fields.items():
        if name in ("type", "method", "id") or any(isinstance(m, NotFingerprinted) for m in info.metadata):
            dumped.pop(name, None)
    return dumped


def own_params(model: type[Params], entry: Params) -> Params:
    """The component's own Params from a spec entry (which adds `type` and `id`); picklable."""
    return model.model_construct(**{name: getattr(entry, name) for name in model.model_fields})


def fingerprint(payload: dict[str, Any]) -> str:
    """SHA-256 of canonical JSON."""
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _step_ids(spec: Spec, field_name: str, entries: list[Any]) -> list[str]:
    ids: list[str] = []
    seen: dict[str, int] = {}
    problems: list[Diagnostic] = []
    for i, entry in enumerate(entries):
        base = entry.id or entry.type
        seen[base] = seen.get(base, 0) + 1
        step_id = base if seen[base] == 1 else f"{base}-{seen[base]}"
        if entry.id and seen[base] > 1:
            line, col = spec.positions.value((field_name, i, "id"))
            problems.append(
                Diagnostic(
                    spec.shown,
                    line,
                    col,
                    f"{field_name}[{i}].id",
                    f"id '{entry.id}' is used twice in {field_name}; ids must be unique",
                )
            )
        ids.append(f"{field_name}.{step_id}")
    if problems:
        raise SpecError(problems)
    return ids


def _entries(spec: Spec, stage: stages.Stage) -> list[tuple[str, Params]]:
    """The spec's entries of a stage after the sources, with their step ids (`clean.dedup`, `split`)."""
    holder = spec.model if stage.parent is None else getattr(spec.model, stage.parent)
    value = getattr(holder, stage.name, None) if holder is not None else None
    if stage.shape == "list":
        entries = value or []
        return list(zip(_step_ids(spec, stage.name, entries), entries))
    return [(stage.name, value)] if value is not None else []


def default_cache_dir(spec_dir: Path, given: str | Path | None = None) -> Path:
    """Where a spec's step cache and downloads live: `given`, else $SPECC_CACHE_DIR, else .specc/cache beside it."""
    return Path(given or os.environ.get(CACHE_ENV) or spec_dir / ".specc" / "cache")


def _fingerprinted_pins(pins: dict[str, Any]) -> dict[str, Any]:
    """Pins without the file paths shown to people (the hashes say what was read)."""
    files = [{k: v for k, v in f.items() if k != "path"} for f in pins.get("files", [])]
    return {**pins, "files": files} if "files" in pins else pins


def _step_pins(
    component: Registered,
    entry: Params,
    step_id: str,
    spec: Spec,
    cache_dir: Path | None,
    locked: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """What a step reads besides its input, pinned by `Component.pin`: file hashes, Hub revisions."""
    if component.cls.files is Component.files and component.cls.pin is Component.pin:
        return {}
    instance = component.cls(
        own_params(component.cls.Params, entry),
        Context(
            step_id,
            0,
            spec.dir,
            tuple(spec.model.languages),
            cache_dir,
            allow_external_paths=spec.model.allow_external_paths,
        ),
    )
    return instance.pin(locked)


def compile_spec(
    spec: Spec, locked_pins: Mapping[str, Mapping[str, Any]] | None = None, cache_dir: Path | None = None
) -> Plan:
    """Resolve every step, derive its seed and fingerprint, in the fixed stage order.

    `locked_pins` maps step ids (`sources.NAME`, `annotate.ID` ...) to the pins a lock holds for them;
    steps reuse those that still apply instead of resolving remote revisions anew.
    """
    registry = get_registry()
    model = spec.model
    cache_dir = default_cache_dir(spec.dir, cache_dir)
    locked_pins = locked_pins or {}
    steps: list[PlanStep] = []

    def add(
        step_id: str,
        stage: str,
        kind: str,
        name: str | None,
        params: Params | None,
        upstream: tuple[str, ...],
        pins: dict[str, Any] | None = None,
        pinned: bool = False,
    ) -> PlanStep:
        component = registry.get(kind, name) if name else None
        if pinned and component is not None and params is not None:  # what the step reads besides its input
            pins = _step_pins(component, params, step_id, spec, cache_dir, locked_pins.get(step_id))
        operational = {
            key: value.model_dump(mode="json", exclude_none=True)
            for key in OPERATIONAL
            if (value := getattr(params, key, None)) is not None
        }
        if component is not None and params is not None:
            params = own_params(component.cls.Params, params)
        seed = derive_seed(model.seed, step_id)
        upstream_fps = [next(s.fingerprint for s in steps if s.id == u) for u in upstream]
        pins = pins or {}
        payload = {
            "step": step_id,
            "component": name,
            "version": component.cls.version if component else OUTPUT_FORMAT_VERSION,
            "distribution": [component.distribution, component.dist_version] if component else ["specc", __version__],
            "params": fingerprinted_params(params) if params is not None else {},
            "seed": seed,
            "upstream": upstream_fps,
            "pins": _fingerprinted_pins(pins),
        }
        if kind not in ("source", "output"):
            payload["languages"] = list(model.languages)  # steps may choose by language (word or char n-grams)
        step = PlanStep(
            step_id,
            stage,
            kind,
            component,
            params,
            seed,
            upstream,
            fingerprint(payload),
            pins,
            tuple(pins.get("files", ())),
            payload,
            operational,
        )
        steps.append(step)
        return step

    for name, source in model.sources.items():
        component = registry.get("source", source.type)
        instance = component.cls(
            own_params(component.cls.Params, source),
            Context(name, 0, spec.dir, (), cache_dir, allow_external_paths=spec.model.allow_external_paths),
        )
        pins = instance.pin(locked_pins.get(f"sources.{name}"))
        add(f"sources.{name}", "sources", "source", source.type, source, (), pins)
    previous = tuple(s.id for s in steps)
    after = {"sources": previous}  # the chain's last steps after each stage, for the branches that read there
    for stage in stages.pipeline()[1:]:  # after the sources, added above
        branch = after[stage.reads] if stage.reads else None
        for step_id, entry in _entries(spec, stage):
            added = add(
                step_id, stage.name, stage.kind, getattr(entry, stage.tag), entry, branch or previous, pinned=True
            ).id
            previous = previous + (added,) if branch else (added,)
        after[stage.name] = previous
    from specc.pins import file_pin
    from specc.spec.card_sections import template_files  # the card's own templates shape the output

    templates = template_files(spec.dir, list(model.card.sections))
    add(
        "output",
        "output",
        "output",
        None,
        None,
        previous,
        {"files": [file_pin(p, spec.dir) for p in templates]} if templates else None,
    )
    return Plan(spec, tuple(steps), cache_dir)
