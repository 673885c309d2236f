"""specc: compile a declarative dataset spec into a reproducible, carded SFT data set."""

from __future__ import annotations

import gc as _gc
from typing import TYPE_CHECKING, Any

from specc.version import __version__

if TYPE_CHECKING:
    from pathlib import Path

    from specc.compiler import Plan
    from specc.spec import Spec

# Importing builds pydantic's machinery and many model classes: the cyclic collector would walk those new
# objects again and again (about 5% of `specc validate`), so it pauses for the imports.
_collecting = _gc.isenabled()
_gc.disable()
try:
    from specc.components import (  # noqa: E402
        Annotator,
        Augmenter,
        AugmenterParams,
        CardData,
        CardSection,
        Component,
        Context,
        Evaluator,
        EvaluatorParams,
        Executor,
        Formatter,
        Imputer,
        Params,
        Source,
        SourceParams,
        Splitter,
        SplitterParams,
        Step,
        StepResult,
        TokenBudget,
        TokenCounter,
    )
    from specc.errors import DataError, SpeccError, SpecError  # noqa: E402
    from specc.hookspecs import hookimpl  # noqa: E402
    from specc.paths import NOT_FINGERPRINTED, InputPath, OutputPath  # noqa: E402
finally:
    if _collecting:
        _gc.enable()


def load_spec(path: str | Path) -> Spec:
    """Load and validate a spec file (see specc.spec.load_spec)."""
    from specc.spec import load_spec as _load

    return _load(path)


def compile_spec(spec: Spec) -> Plan:
    """Compile a loaded spec into a Plan (see specc.compiler.compile_spec)."""
    from specc.compiler import compile_spec as _compile

    return _compile(spec)


def build(spec_path: str | Path, **options: Any) -> dict[str, Any]:
    """Validate, compile and build a spec; returns the build's statistics."""
    from specc.builder import build as _build

    return _build(spec_path, **options)


__all__ = [
    "Annotator",
    "Augmenter",
    "AugmenterParams",
    "CardData",
    "CardSection",
    "Component",
    "Context",
    "DataError",
    "Evaluator",
    "EvaluatorParams",
    "Executor",
    "Formatter",
    "Imputer",
    "InputPath",
    "NOT_FINGERPRINTED",
    "OutputPath",
    "Params",
    "Source",
    "SourceParams",
    "SpecError",
    "SpeccError",
    "Splitter",
    "SplitterParams",
    "Step",
    "StepResult",
    "TokenBudget",
    "TokenCounter",
    "__version__",
    "build",
    "compile_spec",
    "hookimpl",
    "load_spec",
]
