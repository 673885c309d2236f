"""Every hook a specc plugin can implement: one `register_*` hook per kind of the stage table, and
`register_commands`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import pluggy

from specc import stages

hookspec = pluggy.HookspecMarker("specc")
hookimpl = pluggy.HookimplMarker("specc")


class Register(Protocol):
    """What a `register_*` hook is given: call it with a component class, or with a "module:Class" string and
    `name=` the type name, so the module is imported only when a spec uses the type."""

    def __call__(self, component: type | str, *, name: str | None = None) -> None: ...


def stage_hookspec(stage: stages.Stage) -> Callable[[Register], None]:
    """The hookspec of one stage of the table, named `stage.hook` and documented from its entry."""

    def hook(register: Register) -> None:
        pass

    hook.__name__ = hook.__qualname__ = stage.hook
    hook.__doc__ = (
        f"Register {stage.base.__name__} classes: {stage.used_for()}.\n\n"
        f':param register: call it with each {stage.base.__name__} subclass, or with a "module:Class" string '
        f"and `name=` its type name (imported only when a spec uses it).\n\n"
        f"Called when specc loads its plugins, before any spec is read; a name registered twice for "
        f"the same kind is an error naming both plugins."
    )
    return hookspec(hook)


@hookspec
def register_commands(cli: Any) -> None:
    """Add commands to the `specc` click group.

    :param cli: the `specc` click group; add commands with `@cli.command()`.

    Called when the command line starts, before it parses its arguments.
    """


def current() -> type:
    """The hookspecs of the stage table as it is now (a test may add a kind), for the plugin manager."""
    hooks = {stage.hook: staticmethod(stage_hookspec(stage)) for stage in stages.STAGES}
    return type("Hookspecs", (), {"register_commands": staticmethod(register_commands), **hooks})


globals().update({stage.hook: stage_hookspec(stage) for stage in stages.STAGES})  # documented module attributes
