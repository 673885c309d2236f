"""Turn pydantic validation errors into file:line:col diagnostics with a fix."""

from __future__ import annotations

import difflib
import re
import types
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic_core import ErrorDetails

from specc import known_plugins, stages
from specc.errors import Diagnostic
from specc.registry import Registry
from specc.spec.yaml_loader import Loc, Positions, dotted


def _unions() -> dict[str, tuple[int, str, str]]:
    """Where a tagged union sits in the spec: field -> (depth of the tag in a loc, kind, tag key)."""
    return {
        stage.name: (2 if stage.shape == "single" else 3, stage.kind, stage.tag)
        for stage in stages.pipeline()
        if stage.parent is None
    }


def _strip_tag(loc: Loc, data: Any) -> Loc:
    """Drop the union tag pydantic puts in a loc (`clean.0.normalize.x` -> `clean.0.x`)."""
    unions = _unions()
    if not loc or loc[0] not in unions:
        return loc
    depth, _, tag = unions[loc[0]]
    if len(loc) < depth:
        return loc
    entry = _get(data, loc[: depth - 1])
    if isinstance(entry, dict) and entry.get(tag) == loc[depth - 1]:
        return loc[: depth - 1] + loc[depth:]
    return loc


def _get(data: Any, loc: Loc) -> Any:
    for part in loc:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[type[BaseModel]] = []
    for arg in typing.get_args(annotation):
        found.extend(_models_in(arg))
    return found


def _element(annotation: Any) -> Any:
    """The element type of list[X] / dict[str, X], through Optional and Annotated."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _element(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            if arg is not type(None):
                return _element(arg)
    if origin in (list, dict):
        return typing.get_args(annotation)[-1]
    return annotation


def _pick(annotation: Any, data: Any) -> type[BaseModel] | None:
    models = _models_in(annotation)
    if len(models) == 1:
        return models[0]
    for model in models:
        for tag in dict.fromkeys(stage.tag for stage in stages.STAGES):
            field = model.model_fields.get(tag)
            if field is not None and isinstance(data, dict) and typing.get_args(field.annotation) == (data.get(tag),):
                return model
    return None


def model_at(root: type[BaseModel], loc: Loc, data: Any) -> type[BaseModel] | None:
    """The model whose fields apply at `loc` (a loc without union tags)."""
    annotation: Any = root
    for i, part in enumerate(loc):
        model = _pick(annotation, _get(data, loc[:i]))
        if model is not None and isinstance(part, str) and part in model.model_fields:
            annotation = model.model_fields[part].annotation
        else:
            annotation = _element(annotation)
    return _pick(annotation, _get(data, loc))


def _installed(registry: Registry, kind: str) -> str:
    names = registry.names(kind)
    if names:
        return f"installed: {', '.join(names)}"
    providers = " ".join(known_plugins.distributions(kind))
    if not providers:
        return f"no {kind} is installed"
    return f"no {kind} is installed; plugins provide them: pip install {providers}"


def _unknown_type(registry: Registry, kind: str, tag: str, given: str) -> str:
    """Why `given` is no installed type of `kind`: the plugin that provides it, or the closest names."""
    hint = known_plugins.install_hint(kind, given)
    if hint is not None:
        return hint
    installed = registry.names(kind)
    close = difflib.get_close_matches(given, installed + known_plugins.known_names(kind), n=1, cutoff=0.6)
    if close and close[0] not in installed:
        return f"unknown {tag} '{given}'; did you mean '{close[0]}'? {known_plugins.install_hint(kind, close[0])}"
    return f"unknown {tag} '{given}'{did_you_mean(given, installed) or ';'} {_installed(registry, kind)}"


def did_you_mean(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


def _only_value(root: type[BaseModel], loc: Loc, data: Any) -> str:
    """For a missing key that takes one value only (`specc: 1`): the line to add."""
    model = model_at(root, loc[:-1], data)
    field = model.model_fields.get(str(loc[-1])) if model else None
    if field is None or typing.get_origin(field.annotation) is not typing.Literal:
        return ""
    values = typing.get_args(field.annotation)
    return f"; add `{loc[-1]}: {values[0]}`" if len(values) == 1 else ""


def _written_outside(root: type[BaseModel], loc: Loc, data: Any, positions: Positions) -> str:
    """For a missing key written further out, where it is no key of its own (indented too little): where it is
    and where it belongs."""
    key = loc[-1]
    for end in range(len(loc) - 2, -1, -1):
        outer, model = _get(data, loc[:end]), model_at(root, loc[:end], data)
        if isinstance(outer, dict) and key in outer and (model is None or key not in model.model_fields):
            line, _ = positions.key(loc[:end] + (key,))
            return (
                f"; the `{key}` on line {line} is a key of `{dotted(loc[:end]) or 'the spec'}`: "
                f"indent it under `{dotted(loc[:-1])}`"
            )
    return ""


def _taken_by_sibling(root: type[BaseModel], loc: Loc, data: Any, positions: Positions) -> str:
    """For an unknown key that a neighbouring entry takes (it was indented too little): which one."""
    neighbours = _get(data, loc[:-1])
    for name, value in neighbours.items() if isinstance(neighbours, dict) else ():
        model = model_at(root, loc[:-1] + (name,), data) if isinstance(value, dict) else None
        if model is not None and loc[-1] in model.model_fields and loc[-1] not in value:
            line, _ = positions.key(loc[:-1] + (name,))
            return f"; `{name}` (line {line}) takes it: indent it under `{name}`"
    return ""


def diagnose(
    error: ErrorDetails, data: Any, positions: Positions, file: Path, root: type[BaseModel], registry: Registry
) -> Diagnostic:
    """One pydantic error as a diagnostic at the right line and column, with a fix."""
    kind = error["type"]
    loc = _strip_tag(tuple(error["loc"]), data)
    line, col = positions.value(loc)
    if loc and loc[-1] == "[key]":  # pydantic's loc of a mapping key's own error
        loc = loc[:-1]
        line, col = positions.key(loc)
    path = dotted(loc)
    message = error["msg"]
    unions = _unions()
    if kind in ("union_tag_invalid", "union_tag_not_found") and loc and loc[0] in unions:
        _, comp_kind, tag = unions[loc[0]]
        if kind == "union_tag_invalid":
            message = _unknown_type(registry, comp_kind, tag, str(error["ctx"]["tag"]))
            line, col = positions.value(loc + (tag,))
            path = dotted(loc + (tag,))
        elif registry.names(comp_kind):
            message = f"missing `{tag}`; set it to one of: {', '.join(registry.names(comp_kind))}"
        else:
            message = f"missing `{tag}`; {_installed(registry, comp_kind)}"
    elif kind == "extra_forbidden":
        line, col = positions.key(loc)
        model = model_at(root, loc[:-1], data)
        allowed = sorted(model.model_fields) if model else []
        hint = did_you_mean(str(loc[-1]), allowed)
        under = _taken_by_sibling(root, loc, data, positions)
        message = f"unknown key '{loc[-1]}'" + (under or f"{hint or ';'} allowed keys: {', '.join(allowed)}")
    elif kind == "missing":
        line, col = positions.value(loc[:-1])
        message = f"missing required key '{loc[-1]}'{_only_value(root, loc, data)}{_written_outside(root, loc, data, positions)}"
    elif kind == "value_error":
        message = str(error["ctx"]["error"]) if "ctx" in error else message
    elif kind == "literal_error":
        choices = re.findall(r"'([^']*)'", str(error.get("ctx", {}).get("expected", "")))
        message = f"{message}; got {error['input']!r}{did_you_mean(str(error['input']), choices)}"
    elif kind in ("dict_type", "model_attributes_type", "model_type"):
        shown = "a list" if isinstance(error["input"], list) else repr(error["input"])
        message = f"write a mapping of keys to values; got {shown}"
    elif kind == "list_type" and not isinstance(error["input"], dict):
        message = f"write a list, such as [{error['input']}]; got {error['input']!r}"
    elif kind == "string_type" and isinstance(error["input"], list):
        message = f"write one value, not a list; got {error['input']}"
    elif kind == "too_short" and error["ctx"]["actual_length"] == 0:
        message = "empty; give at least one entry"
    elif "input" in error and not isinstance(error["input"], (dict, list)):
        message = f"{message}; got {error['input']!r}"
    return Diagnostic(file, line, col, path, message)
