"""The plugin manager: built-ins and entry points of group `specc`, loaded the same way."""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass, field
from importlib import metadata

import pluggy

from specc import hookspecs, stages
from specc.errors import PluginError
from specc.registry import Registry
from specc.version import __version__

ENTRY_POINT_GROUP = "specc"
LOAD_ENV = "SPECC_LOAD_PLUGINS"
DEFAULT_PLUGINS = ("specc.builtins",)


@dataclass
class PluginInfo:
    """One loaded plugin: its name, distribution and the types it provides."""

    name: str
    distribution: str
    version: str
    provides: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class Plugins:
    """The loaded plugin manager with its registry."""

    manager: pluggy.PluginManager
    registry: Registry
    infos: dict[str, PluginInfo]


def _allowed() -> set[str] | None:
    raw = os.environ.get(LOAD_ENV)
    if raw is None:
        return None
    return {part.strip() for part in raw.split(",") if part.strip()}


def _load(manager: pluggy.PluginManager) -> dict[str, PluginInfo]:
    infos: dict[str, PluginInfo] = {}
    for module_name in DEFAULT_PLUGINS:
        manager.register(importlib.import_module(module_name), name=module_name)
        infos[module_name] = PluginInfo(module_name, "specc", __version__)
    allowed = _allowed()
    for ep in sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        dist = ep.dist.name if ep.dist else "?"
        if allowed is not None and ep.name not in allowed and dist not in allowed:
            continue
        if manager.get_plugin(ep.name) is not None:
            continue
        try:
            module = ep.load()
        except Exception as exc:  # a broken plugin must name itself, not crash the CLI
            raise PluginError(f"error: plugin '{ep.name}' ({dist}) failed to load: {exc}") from exc
        manager.register(module, name=ep.name)
        infos[ep.name] = PluginInfo(ep.name, dist, ep.dist.version if ep.dist else "?")
    return infos


def _fill(manager: pluggy.PluginManager, infos: dict[str, PluginInfo]) -> Registry:
    registry = Registry()
    for info in infos.values():
        info.provides.clear()
    for stage in stages.STAGES:
        for impl in reversed(getattr(manager.hook, stage.hook).get_hookimpls()):
            info = infos[impl.plugin_name]

            def add(
                component: type | str, *, name: str | None = None, _info: PluginInfo = info, _kind: str = stage.kind
            ) -> None:
                added = registry.add(_kind, component, _info.name, _info.distribution, _info.version, name)
                _info.provides.setdefault(_kind, []).append(added)

            impl.function(register=add)
    return registry


_loaded: Plugins | None = None


def load_plugins() -> Plugins:
    """The process-wide plugins, loaded once (`SPECC_LOAD_PLUGINS` restricts entry points)."""
    global _loaded
    if _loaded is None:
        manager = pluggy.PluginManager("specc")
        manager.add_hookspecs(hookspecs.current())
        infos = _load(manager)
        _loaded = Plugins(manager, _fill(manager, infos), infos)
    return _loaded


def add_plugin(plugin: object, name: str, distribution: str = "(local)", version: str = "0") -> None:
    """Register one more plugin object (a module or class with hookimpls) and rebuild the registry."""
    plugins = load_plugins()
    plugins.manager.register(plugin, name=name)
    plugins.infos[name] = PluginInfo(name, distribution, version)
    try:
        plugins.registry = _fill(plugins.manager, plugins.infos)
    except PluginError:
        plugins.manager.unregister(name=name)
        del plugins.infos[name]
        plugins.registry = _fill(plugins.manager, plugins.infos)
        raise


def reset_plugins() -> None:
    """Forget the loaded plugins so the next call loads them again (for tests)."""
    global _loaded
    _loaded = None


def get_registry() -> Registry:
    """The registry of every installed component."""
    return load_plugins().registry
