"""Safe YAML loading that remembers where every key and value came from."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from specc.errors import Diagnostic, SpecError

Loc = tuple[str | int, ...]
PLAIN_TAGS = ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")


@dataclass
class Positions:
    """Line and column (1-based) of each value and each mapping key, by path."""

    values: dict[Loc, tuple[int, int]] = field(default_factory=dict)
    keys: dict[Loc, tuple[int, int]] = field(default_factory=dict)

    def value(self, loc: Loc) -> tuple[int, int]:
        """Position of the value at `loc`, or of the nearest enclosing value."""
        for end in range(len(loc), -1, -1):
            if loc[:end] in self.values:
                return self.values[loc[:end]]
        return (1, 1)

    def key(self, loc: Loc) -> tuple[int, int]:
        """Position of the key that names `loc`, falling back to the value."""
        return self.keys.get(loc) or self.value(loc)


def _mark(node: yaml.Node) -> tuple[int, int]:
    return (node.start_mark.line + 1, node.start_mark.column + 1)


class _Builder:
    def __init__(self, loader: yaml.SafeLoader, file: Path):
        self.loader = loader
        self.file = file
        self.positions = Positions()
        self.problems: list[Diagnostic] = []

    def build(self, node: yaml.Node, loc: Loc) -> Any:
        self.positions.values[loc] = _mark(node)
        if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)) and node.tag not in PLAIN_TAGS:
            raise yaml.constructor.ConstructorError(
                None, None, f"tag {node.tag!r} is not allowed; specs are plain YAML", node.start_mark)
        if isinstance(node, yaml.MappingNode):
            self.loader.flatten_mapping(node)
            out: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                key = self.loader.construct_object(key_node, deep=True)
                if not isinstance(key, (str, int)):
                    key = str(key)
                if key in out:
                    line, col = _mark(key_node)
                    self.problems.append(
                        Diagnostic(self.file, line, col, dotted(loc + (key,)),
                                   f"duplicate key '{key}'; remove one of them")
                    )
                    continue
                self.positions.keys[loc + (key,)] = _mark(key_node)
                out[key] = self.build(value_node, loc + (key,))
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, loc + (i,)) for i, item in enumerate(node.value)]
        return self.loader.construct_object(node, deep=True)


def dotted(loc: Loc) -> str:
    """Render a location as `clean[1].columns`."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def load_yaml(file: Path) -> tuple[Any, Positions]:
    """Load one YAML document safely; syntax errors become a SpecError with line and column."""
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError([Diagnostic(file, 1, 1, "", f"cannot read the spec: {exc.strerror}")]) from None
    except UnicodeDecodeError:
        raise SpecError([Diagnostic(file, 1, 1, "", "the spec is not UTF-8 text; save it as UTF-8")]) from None
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise SpecError([Diagnostic(file, 1, 1, "", "the spec is empty; start from `specc init`")])
        builder = _Builder(loader, file)
        data = builder.build(node, ())
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = exc.problem or exc.context or "invalid YAML"
        raise SpecError([Diagnostic(file, line, col, "", f"YAML syntax: {problem}")]) from None
    except yaml.YAMLError as exc:
        raise SpecError([Diagnostic(file, 1, 1, "", f"YAML syntax: {exc}")]) from None
    finally:
        loader.dispose()
    if builder.problems:
        raise SpecError(builder.problems)
    return data, builder.positions
