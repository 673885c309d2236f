"""Every hook a specc plugin can implement; each receives a `register` callback."""

from __future__ import annotations

from typing import Any, Protocol

import pluggy

hookspec = pluggy.HookspecMarker("specc")
hookimpl = pluggy.HookimplMarker("specc")


class Register(Protocol):
    """What a `register_*` hook is given: call it with a component class, or with a "module:Class" string and
    `name=` the type name, so the module is imported only when a spec uses the type."""

    def __call__(self, component: type | str, *, name: str | None = None) -> None: ...


@hookspec
def register_sources(register: Register) -> None:
    """Register Source classes (the `type:` of entries under `sources:`)."""


@hookspec
def register_steps(register: Register) -> None:
    """Register Step classes (the `type:` of entries under `clean:`)."""


@hookspec
def register_annotators(register: Register) -> None:
    """Register Annotator classes (the `type:` of entries under `annotate:`)."""


@hookspec
def register_splitters(register: Register) -> None:
    """Register Splitter classes (the `method:` of `split:`)."""


@hookspec
def register_augmenters(register: Register) -> None:
    """Register Augmenter classes (the `type:` of entries under `augment:`)."""


@hookspec
def register_formatters(register: Register) -> None:
    """Register Formatter classes (the `type:` of `format:`)."""


@hookspec
def register_evaluators(register: Register) -> None:
    """Register Evaluator classes (the `type:` of entries under `evaluate:`)."""


@hookspec
def register_tokenizers(register: Register) -> None:
    """Register TokenCounter classes (the `type:` of `format.tokens`, default `transformers`)."""


@hookspec
def register_card_sections(register: Register) -> None:
    """Register CardSection classes rendered into the dataset card."""


@hookspec
def register_executors(register: Register) -> None:
    """Register Executor classes (chosen with `specc build --executor NAME`)."""


@hookspec
def register_commands(cli: Any) -> None:
    """Add commands to the `specc` click group."""
