"""Component lookup by (kind, name); every name is registered exactly once."""

from __future__ import annotations

from dataclasses import dataclass

from specc.components import (
    Annotator, Augmenter, CardSection, Component, Evaluator, Executor, Formatter, Source, Splitter, Step,
    TokenCounter,
)
from specc.errors import PluginError

KINDS: dict[str, type[Component]] = {
    "source": Source,
    "step": Step,
    "annotator": Annotator,
    "splitter": Splitter,
    "augmenter": Augmenter,
    "formatter": Formatter,
    "evaluator": Evaluator,
    "tokenizer": TokenCounter,
    "card_section": CardSection,
    "executor": Executor,
}


@dataclass(frozen=True)
class Registered:
    """A component class with the plugin and distribution that provided it."""

    cls: type[Component]
    plugin: str
    distribution: str
    dist_version: str


class Registry:
    """All installed components, by kind and name."""

    def __init__(self) -> None:
        self._entries: dict[str, dict[str, Registered]] = {kind: {} for kind in KINDS}

    def add(self, kind: str, cls: type, plugin: str, distribution: str, dist_version: str) -> None:
        """Register `cls` as a component of `kind`; a taken name is an error naming both plugins."""
        base = KINDS[kind]
        if not (isinstance(cls, type) and issubclass(cls, base)):
            raise PluginError(
                f"plugin '{plugin}' ({distribution}) registered {cls!r} as a {kind}, "
                f"but it is not a subclass of specc.{base.__name__}"
            )
        name = getattr(cls, "name", None)
        if not isinstance(name, str) or not name:
            raise PluginError(f"plugin '{plugin}' ({distribution}): {cls.__name__} has no `name`")
        taken = self._entries[kind].get(name)
        if taken is not None:
            raise PluginError(
                f"{kind} type '{name}' is registered twice: by plugin '{taken.plugin}' "
                f"({taken.distribution} {taken.dist_version}) and by plugin '{plugin}' "
                f"({distribution} {dist_version}); uninstall one, or restrict loading with "
                f"SPECC_LOAD_PLUGINS"
            )
        self._entries[kind][name] = Registered(cls, plugin, distribution, dist_version)

    def get(self, kind: str, name: str) -> Registered:
        """The component of `kind` called `name` (KeyError if absent)."""
        return self._entries[kind][name]

    def names(self, kind: str) -> list[str]:
        """Sorted names of the installed components of `kind`."""
        return sorted(self._entries[kind])

    def entries(self, kind: str) -> list[Registered]:
        """The installed components of `kind`, sorted by name."""
        return [self._entries[kind][n] for n in self.names(kind)]
