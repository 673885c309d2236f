"""The built-in executor."""

from __future__ import annotations

from typing import Any

from specc.components import Executor


class LocalExecutor(Executor):
    """Runs every stage on this machine; `--num-proc N` spreads row-wise work over N processes."""

    name = "local"

    def run(self, plan: Any, options: Any) -> Any:
        """Build through the step cache into a staging folder, then move it into place."""
        from specc.executor.local import run_local

        return run_local(plan, options)
