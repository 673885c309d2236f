"""Every hook a specc plugin can implement: one `register_*` hook per kind of the stage table, and
`register_commands`; `reference()` renders their docstrings as the hooks reference (docs/reference/hooks.md)."""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Callable
from typing import Any, Protocol

import pluggy

from specc import stages
from specc.components import Component

hookspec = pluggy.HookspecMarker("specc")
hookimpl = pluggy.HookimplMarker("specc")

REGENERATE = "python -c 'import specc.hookspecs as h; print(h.reference(), end=\"\")' > docs/reference/hooks.md"

_CALLED = (
    "Called when specc loads its plugins: once per process, before the first spec is read (at the start of "
    "every `specc` command, or on the first `specc.load_spec` or `specc.build` from Python), and again for "
    "every plugin when one is added at run time (`specc.plugins.add_plugin`, in tests). A type name registered "
    "twice for the same kind is an error naming both plugins; a class that is not a subclass of the kind's base, "
    "or whose `name` differs from the registered one, is an error naming the plugin."
)


class Register(Protocol):
    """What a `register_*` hook is given: call it with a component class, or with a "module:Class" string and
    `name=` the type name, so the module is imported only when a spec uses the type."""

    def __call__(self, component: type | str, *, name: str | None = None) -> None: ...


def _hookspec(stage: stages.Stage, doc: str) -> Callable[[Register], None]:
    def hook(register: Register) -> None:
        pass

    hook.__name__ = hook.__qualname__ = stage.hook
    hook.__doc__ = doc
    return hookspec(hook)


@functools.cache
def stage_hookspec(stage: stages.Stage) -> Callable[[Register], None]:
    """The hookspec of one stage of the table, named `stage.hook` and documented from its entry."""
    return _hookspec(stage, stage_doc(stage))


def _summary(stage: stages.Stage) -> str:
    return f"Register {stage.base.__name__} classes: {stage.used_for()}."


def stage_doc(stage: stages.Stage) -> str:
    """The docstring of a stage's hook: what the kind is for, its argument, when it is called, what it
    registers (from the base class and its methods' docstrings) and an example."""
    base = stage.base.__name__
    return "\n\n".join(
        [
            f"{_summary(stage)} {_placement(stage)}".rstrip(),
            f':param register: call it with each {base} subclass, or with a "module:Class" string and `name=` '
            f"its type name; the module is then imported only when the type is used (or `specc plugins` lists it).",
            _section("When it is called", _CALLED),
            _section("What to register", _registered(stage)),
            _section("Example", _example(stage)),
        ]
    )


def _section(title: str, text: str) -> str:
    return f"{title}\n{'-' * len(title)}\n\n{text}"


def _placement(stage: stages.Stage) -> str:
    """Where the kind's components run in a build, from the stage table."""
    if stage.field is None:
        return ""
    if stage.parent is not None:
        return f"Its entry runs within the `{stage.parent}:` stage."
    if stage.reads is not None:
        return f"It reads the rows after `{stage.reads}:`, beside the chain; the output waits for it."
    chain = [s.field for s in stages.pipeline() if s.parent is None and s.reads is None]
    at = chain.index(stage.field)
    after = f"after `{chain[at - 1]}:`" if at else "first"
    before = f", before `{chain[at + 1]}:`" if at + 1 < len(chain) else ""
    return f"In a build it runs {after}{before}."


def _qualified(cls: type) -> str:
    """How a plugin names a base class: component bases through `specc`'s top level, others by module."""
    return f"specc.{cls.__name__}" if cls.__module__ == "specc.components" else cls.__name__


def _registered(stage: stages.Stage) -> str:
    """The base class's docstring, its class attributes and its methods by what a subclass does with them."""
    base = stage.base
    attributes = [("name", "its type name, which a spec or the command line names; required, and the name registered")]
    if stage.field is not None:  # the kinds a spec does not name are made without parameters, and not fingerprinted
        attributes.append(("version", "1 by default; bump it when the same parameters start giving other output"))
        attributes.append(("Params", f"the parameters of a spec entry, a subclass of `{_qualified(base.Params)}`"))
    for owner in reversed(base.__mro__[: base.__mro__.index(Component)]):  # the class attributes bases add
        for name, annotation in vars(owner).get("__annotations__", {}).items():
            if re.match(r"(typing\.)?ClassVar\b", str(annotation)) and name != "kind":
                attributes.append((name, f"`{getattr(base, name)!r}` by default"))
    methods: dict[str, list[str]] = {"Must override": [], "May override": [], "Helpers to call": []}
    for name, function, group in _methods(stage):
        methods[group].append(_item(f"{name}{_signature(function)}", inspect.getdoc(function) or ""))
    parts = [
        f"A subclass of `{_qualified(base)}`.",
        f"`{base.__name__}`: {inspect.getdoc(base)}",
        "Class attributes:\n" + "\n".join(f"- `{name}`: {text}" for name, text in attributes),
    ]
    parts += [f"{group}:\n" + "\n".join(items) for group, items in methods.items() if items]
    return "\n\n".join(parts)


def _methods(stage: stages.Stage) -> list[tuple[str, Callable[..., Any], str]]:
    """The public methods of the stage's base and its bases up to `Component`, each with what a subclass does with
    it: "Must override" (it raises NotImplementedError), "Helpers to call" (`typing.final`) or "May override"."""
    found: dict[str, tuple[str, Callable[..., Any], str]] = {}
    for owner in stage.base.__mro__[: stage.base.__mro__.index(Component) + 1]:
        for name, function in vars(owner).items():
            if name.startswith("_") or name in found or not inspect.isfunction(function):
                continue
            if getattr(function, "__final__", False):
                group = "Helpers to call"
            elif "NotImplementedError" in function.__code__.co_names:
                group = "Must override"
            elif owner is Component and stage.field is None:
                continue  # what a plan's step reads and pins: not asked of card sections and executors
            else:
                group = "May override"
            found[name] = (name, function, group)
    return list(found.values())


def _item(head: str, text: str) -> str:
    """A list item `head`: `text`, its later lines indented under it."""
    lines = (f"- `{head}`: {text}" if text else f"- `{head}`").splitlines()
    return "\n".join([lines[0], *(f"  {line}" if line else "" for line in lines[1:])])


def _signature(function: Callable[..., Any]) -> str:
    """`(name: annotation = default, ...) -> annotation` without `self`, annotations as written."""
    signature = inspect.signature(function)

    def shown(annotation: Any) -> str:
        return annotation if isinstance(annotation, str) else inspect.formatannotation(annotation)

    params = []
    for param in list(signature.parameters.values())[1:]:
        stars = "*" if param.kind is param.VAR_POSITIONAL else "**" if param.kind is param.VAR_KEYWORD else ""
        text = stars + param.name
        if param.annotation is not param.empty:
            text += f": {shown(param.annotation)}"
        if param.default is not param.empty:
            text += f" = {param.default!r}"
        params.append(text)
    returns = "" if signature.return_annotation is signature.empty else f" -> {shown(signature.return_annotation)}"
    return f"({', '.join(params)}){returns}"


def _example(stage: stages.Stage) -> str:
    """A plugin module that subclasses the base, overrides what it must and registers the class."""
    base = stage.base
    cls = f"My{base.__name__}"
    name = "my-" + stage.kind.replace("_", "-")
    imports = ["import specc"]
    if base.__module__ != "specc.components":
        imports.append(f"from {base.__module__} import {base.__name__}")
    lines = [*imports, "", "", f"class {cls}({_qualified(base)}):", '    """What it does, in one line."""', ""]
    lines.append(f'    name = "{name}"')
    for method, function, group in _methods(stage):
        if group == "Must override":
            args = ", ".join(inspect.signature(function).parameters)
            lines += ["", f"    def {method}({args}):", "        ..."]
    lines += [
        "",
        "",
        "@specc.hookimpl",
        f"def {stage.hook}(register):",
        f"    register({cls})",
        "    # or by name, so that its module is imported only when the type is used:",
        f'    # register("my_plugin.components:{cls}", name="{name}")',
    ]
    return "\n".join(f"    {line}" if line else "" for line in lines)


@hookspec
def register_commands(cli: Any) -> None:
    """Add commands to the `specc` click group.

    :param cli: the `specc` click group (`click.Group`); add commands with `@cli.command()` or `cli.add_command(...)`.

    When it is called
    -----------------

    Called by the `specc` command line (the console script and `python -m specc`) on every run, after the
    plugins are loaded and their `register_*` hooks have run, before it parses its arguments; never by the
    Python API (`specc.build`). Import what a command needs inside the command, not in the hook: every
    `specc` run calls it.

    What to register
    ----------------

    Click commands: `specc NAME` runs a command added as `NAME`. A name an installed command already has
    replaces that command; choose names no built-in command uses.

    Example
    -------

        import click
        import specc


        @specc.hookimpl
        def register_commands(cli):
            @cli.command()
            @click.argument("file", type=click.File(encoding="utf-8"))
            def words(file):
                \"\"\"Print the number of lines and words in FILE.\"\"\"
                lines = file.read().splitlines()
                click.echo(f"{len(lines)} lines, {sum(len(line.split()) for line in lines)} words")
    """


def current() -> type:
    """The hookspecs of the stage table as it is now (a test may add a kind), for the plugin manager.

    The manager reads no docstrings, so these carry only their first line: the whole docstrings take milliseconds
    to build, and every `specc` command loads the plugins.
    """
    hooks = {stage.hook: staticmethod(_hookspec(stage, _summary(stage))) for stage in stages.STAGES}
    return type("Hookspecs", (), {"register_commands": staticmethod(register_commands), **hooks})


def reference() -> str:
    """The hooks reference in Markdown, from the hookspecs of the stage table as it is now."""
    hooks = [*(stage_hookspec(stage) for stage in stages.STAGES), register_commands]
    rows = [
        f"| [`{stage.hook}`](#{stage.hook}) | `{_qualified(stage.base)}` | {stage.used_for()} |"
        for stage in stages.STAGES
    ]
    parts = [
        "# Hooks",
        f"<!-- Generated from the hookspecs in specc/hookspecs.py; regenerate with `{REGENERATE}`. -->",
        "A plugin implements these hooks in the module its entry point (group `specc`) names, each function "
        "marked with `@specc.hookimpl`; [Writing a plugin](../plugins/index.md) shows how to write, test "
        "and publish one. There is one `register_*` hook per kind of component in the stage table "
        "(`specc/stages.py`), and `register_commands` for the command line.",
        "| hook | registers subclasses of | used as |\n|---|---|---|\n"
        + "\n".join(rows)
        + "\n| [`register_commands`](#register_commands) | click commands | `specc NAME` |",
    ]
    for hook in hooks:
        names = ", ".join(inspect.signature(hook).parameters)
        parts += [f"## {hook.__name__}", f"`{hook.__name__}({names})`", _markdown(inspect.getdoc(hook) or "")]
    return "\n\n".join(parts) + "\n"


def _markdown(doc: str) -> str:
    """A hook docstring as Markdown: its underlined sections become headings, its `:param:` fields bold names."""
    doc = re.sub(r"^(\S.*)\n-+$", r"### \1", doc, flags=re.MULTILINE)
    return re.sub(r"^:param (\w+): ", r"**`\1`**: ", doc, flags=re.MULTILINE)


def __getattr__(name: str) -> Callable[[Register], None]:
    """The documented hookspec of a stage by its hook's name (`hookspecs.register_steps`), built on first use."""
    for stage in stages.STAGES:
        if stage.hook == name:
            return stage_hookspec(stage)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *(stage.hook for stage in stages.STAGES)])
