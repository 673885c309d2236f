"""Placeholder replaced by the hub source (in progress)."""

from specc.hookspecs import Register, hookimpl


@hookimpl
def register_sources(register: Register) -> None:
    """No types yet."""
