"""Running a plan: options shared by every executor, and the build's statistics."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class BuildOptions:
    """How to run a build; none of these change the output."""

    num_proc: int = 1
    executor: str = "local"
    progress: Callable[[str], None] | None = None

    def report(self, message: str) -> None:
        """Send a progress line to whoever listens."""
        if self.progress is not None:
            self.progress(message)
