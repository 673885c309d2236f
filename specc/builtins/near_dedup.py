"""Placeholder replaced by the near_dedup step (in progress)."""

from specc.hookspecs import Register, hookimpl


@hookimpl
def register_steps(register: Register) -> None:
    """No types yet."""
