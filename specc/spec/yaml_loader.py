"""Safe, bounded YAML loading that remembers where every key and value came from."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import yaml
from yaml.constructor import ConstructorError

from specc.errors import Diagnostic, SpeccError, SpecError, SpecNotFound
from specc.spec.yaml_errors import explain

Loc = tuple[str | int, ...]
PLAIN_TAGS = ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")
STR_TAG = "tag:yaml.org,2002:str"
VALUE_TAG = "tag:yaml.org,2002:value"  # a plain `=`; PyYAML resolves it but cannot construct it
IMPLICIT_TAGS = frozenset(tag for found in yaml.SafeLoader.yaml_implicit_resolvers.values() for tag, _ in found)
NUMBER_TAGS = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")

MAX_BYTES_ENV = "SPECC_MAX_SPEC_BYTES"
DEFAULT_MAX_BYTES = 4 * 2**20
MAX_VALUES = 100_000
MAX_DEPTH = 64
MAX_NUMBER_CHARS = 100

# the line breaks PyYAML counts in its marks
_LINE_BREAK = re.compile("\r\n|[\n\r\x85\u2028\u2029]")


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


def _line_col(text: str, index: int) -> tuple[int, int]:
    """1-based line and column of `text[index]`."""
    line, start = 1, 0
    for match in _LINE_BREAK.finditer(text, 0, index):
        line, start = line + 1, match.end()
    return line, index - start + 1


class _Mark(Protocol):
    """Where an event starts, as PyYAML's Python and C parsers both mark it (0-based)."""

    line: int
    column: int


@dataclass(frozen=True)
class _Anchored:
    """What an anchored value expands to: how many keys and values, how many levels deep."""

    values: int
    height: int


class _BoundedLoader(yaml.SafeLoader):
    """A SafeLoader that refuses, while composing, documents too large, too deep or with cyclic aliases.

    Counting happens before anything is constructed, and an alias counts the whole value it
    repeats, so a billion-laughs document is refused before anything is expanded.
    """

    def __init__(self, text: str, file: Path):
        super().__init__(text)
        self.file = file
        self.values = 0  # keys and values the document expands to so far
        self.depth = 0  # collections open around the event being composed
        self.deepest = 0  # the deepest level reached inside the anchored value being measured
        self.open: set[str] = set()  # anchors of collections still being composed
        self.anchored: dict[str, _Anchored] = {}

    def refuse(self, mark: _Mark | None, message: str) -> SpecError:
        """A located error that stops loading (at the start of the file when PyYAML gives no mark)."""
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        return SpecError([Diagnostic(self.file, line, column, "", message)])

    def too_deep(self, mark: _Mark | None) -> SpecError:
        """The error for nesting past MAX_DEPTH."""
        return self.refuse(mark, f"nested more than {MAX_DEPTH} levels deep; flatten this value")

    def fetch_flow_collection_start(self, token_class: type) -> None:
        """Scan `[` or `{`, refusing flow nesting past MAX_DEPTH here: the scanner looks ahead further."""
        # Each open flow level keeps a possible simple key that every later token checks, so a
        # line of 1,000 `[` costs the scanner a second before the composer would see the depth.
        if self.flow_level >= MAX_DEPTH:
            raise self.too_deep(self.get_mark())
        super().fetch_flow_collection_start(token_class)

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        """Compose one node, charging it (or, for an alias, what it repeats) to the limits."""
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            return self._alias(event, parent, index)
        self.values += 1
        if self.values > MAX_VALUES:
            raise self.refuse(
                event.start_mark,
                (
                    f"the spec has more than {MAX_VALUES:,} keys and values; keep long lists in data files "
                    f"and point the spec at them"
                ),
            )
        if not isinstance(event, yaml.CollectionStartEvent):
            return super().compose_node(parent, index)
        if self.depth + 1 > MAX_DEPTH:
            raise self.too_deep(event.start_mark)
        return self._collection(event, parent, index)

    def _collection(self, event: yaml.CollectionStartEvent, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        anchor, values, deepest = event.anchor, self.values - 1, self.deepest
        self.depth += 1
        self.deepest = max(self.deepest, self.depth)
        if anchor is not None:
            self.open.add(anchor)
            self.deepest = self.depth
        node = super().compose_node(parent, index)
        self.depth -= 1
        if anchor is not None:
            self.open.discard(anchor)
            self.anchored[anchor] = _Anchored(self.values - values, self.deepest - self.depth)
            self.deepest = max(deepest, self.deepest)
        return node

    def _alias(self, event: yaml.AliasEvent, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        anchor = event.anchor or ""  # an alias always names its anchor
        if anchor in self.open:
            raise self.refuse(
                event.start_mark,
                (
                    f"alias *{anchor} is inside the value &{anchor} it repeats, so that value never ends; "
                    f"write the value out or repeat another one"
                ),
            )
        node = super().compose_node(parent, index)  # raises for an undefined alias
        repeated = self.anchored.get(anchor, _Anchored(1, 0))
        self.values += repeated.values
        if self.values > MAX_VALUES:
            raise self.refuse(
                event.start_mark,
                (
                    f"alias *{anchor} repeats {repeated.values:,} keys and values and takes the spec past "
                    f"{MAX_VALUES:,}; repeat smaller values, or keep long lists in data files"
                ),
            )
        if self.depth + repeated.height > MAX_DEPTH:
            raise self.refuse(
                event.start_mark,
                (f"alias *{anchor} nests the spec more than {MAX_DEPTH} levels deep; flatten the value it repeats"),
            )
        self.deepest = max(self.deepest, self.depth + repeated.height)
        return node


class _Builder:
    def __init__(self, loader: _BoundedLoader, file: Path):
        self.loader = loader
        self.file = file
        self.positions = Positions()
        self.problems: list[Diagnostic] = []

    def build(self, node: yaml.Node, loc: Loc) -> Any:
        self.positions.values[loc] = _mark(node)
        if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)) and node.tag not in PLAIN_TAGS:
            raise ConstructorError(
                None, None, f"tag {_tag(node.tag)!r} is not allowed; specs are plain YAML", node.start_mark
            )
        if isinstance(node, yaml.MappingNode):
            return self.mapping(node, loc)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, loc + (i,)) for i, item in enumerate(node.value)]
        assert isinstance(node, yaml.ScalarNode)  # PyYAML composes mappings, sequences and scalars only
        return self.scalar(node)

    def mapping(self, node: yaml.MappingNode, loc: Loc) -> dict[Any, Any]:
        self.loader.flatten_mapping(node)
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                if node.flow_style and key_node.start_mark.index == node.start_mark.index + 1:
                    raise ConstructorError(
                        None,
                        None,
                        'a value that starts with {{ must be in quotes, such as "{{ text }}"',
                        node.start_mark,
                    )
                raise ConstructorError(None, None, "a key must be text, not a list or a mapping", key_node.start_mark)
            key = self.scalar(key_node)
            if not isinstance(key, (str, int)):
                key = str(key)
            if key in out:
                line, col = _mark(key_node)
                self.problems.append(
                    Diagnostic(self.file, line, col, dotted(loc + (key,)), f"duplicate key '{key}'; remove one of them")
                )
                continue
            self.positions.keys[loc + (key,)] = _mark(key_node)
            out[key] = self.build(value_node, loc + (key,))
        return out

    def scalar(self, node: yaml.ScalarNode) -> Any:
        """A scalar's value; only a tag plain YAML would give the text, or `!!str`, is allowed."""
        if node.tag not in IMPLICIT_TAGS | {STR_TAG}:
            raise ConstructorError(
                None, None, f"tag {_tag(node.tag)!r} is not allowed; specs are plain YAML", node.start_mark
            )
        if node.tag not in (STR_TAG, self.loader.resolve(yaml.ScalarNode, node.value, (True, False))):
            raise ConstructorError(
                None,
                None,
                f"tag {_tag(node.tag)!r} does not fit {_short(node.value)!r}; remove the tag",
                node.start_mark,
            )
        if node.tag == VALUE_TAG:
            return node.value
        if node.tag in NUMBER_TAGS and len(node.value) > MAX_NUMBER_CHARS:
            raise self.loader.refuse(
                node.start_mark,
                (
                    f"a number {len(node.value):,} characters long; numbers in a spec have at most "
                    f"{MAX_NUMBER_CHARS}; quote it to keep it as text"
                ),
            )
        try:
            return self.loader.construct_object(node, deep=True)
        except ValueError as exc:  # a date such as 2024-02-30, or a number such as `0b_`
            raise self.loader.refuse(
                node.start_mark, (f"cannot read {_short(node.value)!r}: {exc}; fix it, or quote it to keep it as text")
            ) from None


def _tag(tag: str) -> str:
    return tag.replace("tag:yaml.org,2002:", "!!", 1)


def _short(text: str) -> str:
    return text if len(text) <= 40 else text[:37] + "..."


def dotted(loc: Loc) -> str:
    """Render a location as `clean[1].columns`."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def max_spec_bytes() -> int:
    """The largest spec file loaded: $SPECC_MAX_SPEC_BYTES, or 4 MiB."""
    raw = os.environ.get(MAX_BYTES_ENV, "").strip()
    if not raw:
        return DEFAULT_MAX_BYTES
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise SpeccError(
            f"error: {MAX_BYTES_ENV} must be a positive whole number of bytes, "
            f"such as {2 * DEFAULT_MAX_BYTES}; got {_short(raw)!r}"
        )
    return value


def _read(file: Path, max_bytes: int) -> str:
    """The spec's text, refused when it is larger than `max_bytes` or not UTF-8."""
    try:
        with file.open("rb") as stream:
            raw = stream.read(max_bytes + 1)
    except FileNotFoundError:
        raise SpecNotFound([Diagnostic(file, 1, 1, "", "no such file; check the spec's path")]) from None
    except OSError as exc:
        raise SpecError([Diagnostic(file, 1, 1, "", f"cannot read the spec: {exc.strerror}")]) from None
    if len(raw) > max_bytes:
        raise SpecError(
            [
                Diagnostic(
                    file,
                    1,
                    1,
                    "",
                    (
                        f"the spec is larger than {max_bytes:,} bytes; keep data in source files, or raise the limit "
                        f"with {MAX_BYTES_ENV}=<bytes>"
                    ),
                )
            ]
        )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start].decode("utf-8")
        line, col = _line_col(before, len(before))
        raise SpecError([Diagnostic(file, line, col, "", "the spec is not UTF-8 text; save it as UTF-8")]) from None


def _bad_character(file: Path, text: str, exc: yaml.reader.ReaderError) -> SpecError:
    line, col = _line_col(text, exc.position)
    code = exc.character
    escape = f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
    return SpecError(
        [
            Diagnostic(
                file,
                line,
                col,
                "",
                (
                    f'character U+{code:04X} is not allowed in YAML; delete it, or write it as "{escape}" '
                    f"inside a double-quoted string"
                ),
            )
        ]
    )


def load_yaml(file: Path, max_bytes: int | None = None) -> tuple[Any, Positions]:
    """Load one YAML document safely and within limits; every problem becomes a SpecError with line and column.

    `max_bytes` bounds the file's size (default: `max_spec_bytes()`); the document may hold at most
    MAX_VALUES keys and values (an alias counts what it repeats), MAX_DEPTH levels of nesting and
    numbers of MAX_NUMBER_CHARS characters.
    """
    text = _read(file, max_spec_bytes() if max_bytes is None else max_bytes)
    try:
        loader = _BoundedLoader(text, file)
    except yaml.reader.ReaderError as exc:
        raise _bad_character(file, text, exc) from None
    try:
        node = loader.get_single_node()
        if node is None:
            raise SpecError([Diagnostic(file, 1, 1, "", "the spec is empty; start from `specc init`")])
        builder = _Builder(loader, file)
        data = builder.build(node, ())
    except yaml.MarkedYAMLError as exc:
        line, col, message = explain(_LINE_BREAK.split(text), exc)
        raise SpecError([Diagnostic(file, line, col, "", message)]) from None
    except yaml.YAMLError as exc:
        raise SpecError([Diagnostic(file, 1, 1, "", f"YAML syntax: {exc}")]) from None
    finally:
        loader.dispose()
    if builder.problems:
        raise SpecError(builder.problems)
    return data, builder.positions
