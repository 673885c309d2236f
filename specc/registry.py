"""Component lookup by (kind, name); every name is registered exactly once."""

from __future__ import annotations

import importlib
import re
from typing import Any

from specc import stages
from specc.components import Component
from specc.errors import PluginError

_TARGET = re.compile(r"[A-Za-z_][\w.]*:[A-Za-z_][\w.]*")


class Registered:
    """A component with the plugin and distribution that provided it; a class named by a "module:Class"
    string is imported on first use of `cls`."""

    def __init__(
        self, kind: str, name: str, target: type[Component] | str, plugin: str, distribution: str, dist_version: str
    ):
        self.kind, self.name, self.plugin = kind, name, plugin
        self.distribution, self.dist_version = distribution, dist_version
        self._target = target

    @property
    def cls(self) -> type[Component]:
        """The component class (imported now if it was registered by name)."""
        if isinstance(self._target, str):
            self._target = self._load(self._target)
        return self._target

    def _load(self, target: str) -> type[Component]:
        module, _, qualname = target.partition(":")
        try:
            found: Any = importlib.import_module(module)
            for part in qualname.split("."):
                found = getattr(found, part)
        except Exception as exc:  # a broken plugin must name itself, not crash the CLI
            raise PluginError(
                f"error: plugin '{self.plugin}' ({self.distribution} {self.dist_version}): "
                f"{self.kind} type '{self.name}' could not be loaded from '{target}': {exc}"
            ) from exc
        return _checked(self.kind, found, self.name, self.plugin, self.distribution)


def _checked(kind: str, cls: Any, name: str | None, plugin: str, distribution: str) -> type[Component]:
    """`cls` if it is a component of `kind` called `name` (any name when None), else a PluginError."""
    base = stages.kinds()[kind].base
    if not (isinstance(cls, type) and issubclass(cls, base)):
        raise PluginError(
            f"error: plugin '{plugin}' ({distribution}) registered {cls!r} as a {kind}, "
            f"but it is not a subclass of specc.{base.__name__}"
        )
    own = getattr(cls, "name", None)
    if not isinstance(own, str) or not own:
        raise PluginError(f"error: plugin '{plugin}' ({distribution}): {cls.__name__} has no `name`")
    if name is not None and own != name:
        raise PluginError(
            f"error: plugin '{plugin}' ({distribution}) registered {cls.__name__} as {kind} type "
            f"'{name}', but its `name` is '{own}'; make them the same"
        )
    return cls


class Registry:
    """All installed components, by kind and name."""

    def __init__(self) -> None:
        self._entries: dict[str, dict[str, Registered]] = {stage.kind: {} for stage in stages.STAGES}

    def add(
        self,
        kind: str,
        component: type | str,
        plugin: str,
        distribution: str,
        dist_version: str,
        name: str | None = None,
    ) -> str:
        """Register a component class, or a "module:Class" string with its `name` (imported on first use), as a
        component of `kind`; a taken name is an error naming both plugins. Returns the name."""
        if isinstance(component, str):
            if not name or not _TARGET.fullmatch(component):
                raise PluginError(
                    f"error: plugin '{plugin}' ({distribution}) registered {component!r} as a {kind}; "
                    "register a class, or a 'module:Class' string with `name=` its type name"
                )
        else:
            name = _checked(kind, component, name, plugin, distribution).name
        taken = self._entries[kind].get(name)
        if taken is not None:
            raise PluginError(
                f"error: {kind} type '{name}' is registered twice: by plugin '{taken.plugin}' "
                f"({taken.distribution} {taken.dist_version}) and by plugin '{plugin}' "
                f"({distribution} {dist_version}); uninstall one, or restrict loading with "
                f"SPECC_LOAD_PLUGINS"
            )
        self._entries[kind][name] = Registered(kind, name, component, plugin, distribution, dist_version)
        return name

    def get(self, kind: str, name: str) -> Registered:
        """The component of `kind` called `name` (KeyError if absent)."""
        return self._entries[kind][name]

    def names(self, kind: str) -> list[str]:
        """Sorted names of the installed components of `kind`."""
        return sorted(self._entries[kind])

    def entries(self, kind: str) -> list[Registered]:
        """The installed components of `kind`, sorted by name."""
        return [self._entries[kind][n] for n in self.names(kind)]

    def load_all(self) -> None:
        """Import every component registered by name, so a broken registration fails here (`specc plugins`)."""
        for entries in self._entries.values():
            for entry in entries.values():
                entry.cls  # noqa: B018 - imports and checks the class
