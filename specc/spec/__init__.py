"""The spec language: load a YAML spec, validate it against the installed components."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from specc.errors import Diagnostic, SpecError
from specc.plugins import get_registry
from specc.registry import Registry
from specc.spec.columns import column_problems
from specc.spec.diagnose import diagnose
from specc.spec.model import build_spec_model, used_types
from specc.spec.yaml_loader import Positions, load_yaml


@dataclass(frozen=True)
class Spec:
    """A validated spec with where it came from."""

    path: Path
    model: Any
    positions: Positions
    sha256: str
    shown: Path

    @property
    def dir(self) -> Path:
        """The spec's folder: relative paths resolve against it."""
        return self.path.parent

    @property
    def output_dir(self) -> Path:
        """Where the build writes the data set."""
        return (self.dir / (self.model.output.dir or f"build/{self.model.name}")).resolve()


@lru_cache(maxsize=8)
def _spec_model(registry: Registry, only: frozenset[tuple[str, str]] | None) -> type[BaseModel]:
    return build_spec_model(registry, only)


def spec_model(registry: Registry | None = None, only: frozenset[tuple[str, str]] | None = None) -> type[BaseModel]:
    """The spec model for the installed (or given) components, limited to `only` when given."""
    return _spec_model(registry or get_registry(), only)


def load_spec(path: str | Path, max_bytes: int | None = None) -> Spec:
    """Load and validate a spec file; raises SpecError with every problem found.

    `max_bytes` bounds the file's size; by default $SPECC_MAX_SPEC_BYTES, or 4 MiB.
    """
    shown = Path(path)
    path = shown.resolve()
    data, positions = load_yaml(shown, max_bytes)
    if not isinstance(data, dict):
        raise SpecError([Diagnostic(shown, 1, 1, "", "the spec must be a mapping of keys to values")])
    registry = get_registry()
    model = spec_model(registry, used_types(data, registry))
    context = {
        "spec_dir": path.parent,
        "allow_external_paths": data.get("allow_external_paths") is True,
        "registry": registry,
    }
    try:
        validated = model.model_validate(data, context=context)
    except ValidationError as exc:
        raise SpecError([diagnose(e, data, positions, shown, model, registry) for e in exc.errors()]) from None
    problems = column_problems(validated, positions, shown, path.parent, registry)
    if problems:
        raise SpecError(problems)
    return Spec(path, validated, positions, hashlib.sha256(path.read_bytes()).hexdigest(), shown)
