"""The build entry point: validate, compile, run the chosen executor."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from specc.compiler import compile_spec
from specc.components import Context, Params
from specc.errors import SpeccError
from specc.executor import BuildOptions
from specc.plugins import get_registry
from specc.spec import load_spec


def build(spec_path: str | Path, *, num_proc: int = 1, executor: str = "local",
          progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Build the data set a spec describes; returns the statistics written to stats.json."""
    if num_proc < 1:
        raise SpeccError("error: --num-proc must be at least 1")
    spec = load_spec(spec_path)
    plan = compile_spec(spec)
    registry = get_registry()
    if executor not in registry.names("executor"):
        raise SpeccError(f"error: unknown executor '{executor}'; installed: {', '.join(registry.names('executor'))}")
    runner = registry.get("executor", executor).cls(Params(), Context(f"executor.{executor}", 0, spec.dir))
    return runner.run(plan, BuildOptions(num_proc=num_proc, executor=executor, progress=progress))
