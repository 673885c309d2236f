"""Placeholder replaced by the url source (in progress)."""

from specc.hookspecs import Register, hookimpl


@hookimpl
def register_sources(register: Register) -> None:
    """No types yet."""
