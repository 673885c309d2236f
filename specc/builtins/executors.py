"""The built-in executor."""

from __future__ import annotations

from specc.hookspecs import hookimpl


@hookimpl
def register_executors(register) -> None:  # type: ignore[no-untyped-def]
    """Register the local executor (imported lazily: it pulls in the build machinery)."""
    from specc.executor.local import LocalExecutor

    register(LocalExecutor)
