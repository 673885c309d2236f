"""Hypothesis strategies for hostile spec files: specs, YAML fragments and raw bytes, spliced together."""

from __future__ import annotations

from hypothesis import strategies as st

# top-level keys a spec has, and keys that mean something to YAML itself
KEYS = st.sampled_from(
    [
        "specc",
        "name",
        "description",
        "license",
        "seed",
        "allow_external_paths",
        "sources",
        "clean",
        "split",
        "format",
        "card",
        "output",
        "languages",
        "task",
        "type",
        "path",
        "columns",
        "ratios",
        "method",
        "draft",
        "<<",
        "=",
        "? k",
        "'q'",
        '"d"',
        "1",
        "~",
        "2024-01-01",
        "x",
    ]
)
TRICKY_SCALARS = st.sampled_from(
    [
        "1",
        "-0",
        "0x_",
        "0b",
        "0o7",
        "0777",
        "0x1F",
        ".inf",
        "-.nan",
        "._",
        "1e999",
        "1_000",
        "1:20:30",
        "+12",
        "~",
        "null",
        "yes",
        "No",
        "off",
        "=",
        "<<",
        "2024-02-30",
        "2024-02-29",
        "2001-12-14t21:59:43.10+99:00",
        "'q'",
        "''",
        '"\\x00"',
        '"\\ud800"',
        '"\\U0010ffff"',
        "|",
        ">-",
        "|+\n  a",
        "!!int x",
        "!!int ''",
        "!!str 1",
        "!!float 1",
        "!!bool maybe",
        "!!timestamp x",
        "!!binary aGk=",
        "!!null x",
        "!!merge x",
        "!!set {a}",
        "!!omap [a: 1]",
        "!foo x",
        "!<tag:yaml.org,2002:int> 3",
        "!!python/object/apply:os.system [x]",
        "*a",
        "&a",
        "&a 1",
        "? ",
        "- ",
        ": ",
        "#",
        "%",
        "@",
        "`",
        "---",
        "...",
        "[",
        "]",
        "{",
        "}",
        ",",
        "jsonl",
        "csv",
        "hash",
        "normalize",
        "dedup",
        "chat",
        "mit",
        "rows.jsonl",
        "../x",
        "/etc/passwd",
        "a\\0b",
    ]
)
CONTROL = st.sampled_from([chr(c) for c in [*range(0, 32), 0x7F, 0x85, 0xA0, 0xFEFF, 0xFFFE, 0xFFFF, 0x2028, 0xD800]])
NUMBERS = st.one_of(
    st.integers(min_value=-(10**120), max_value=10**120).map(str),
    st.floats().map(repr),
    st.builds(lambda n, digit: digit * n, st.integers(90, 6000), st.sampled_from("19")),
)
ANCHORS = st.sampled_from(["a", "b", "c"])
SCALARS = st.one_of(TRICKY_SCALARS, NUMBERS, CONTROL, st.text(max_size=12), ANCHORS.map(lambda a: f"*{a}"))


def _collections(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.lists(children, max_size=5).map(lambda items: "[" + ", ".join(items) + "]"),
        st.lists(st.tuples(KEYS, children), max_size=5).map(
            lambda pairs: "{" + ", ".join(f"{k}: {v}" for k, v in pairs) + "}"
        ),
        st.tuples(ANCHORS, children).map(lambda pair: f"&{pair[0]} {pair[1]}"),
        st.tuples(st.sampled_from(["!!seq", "!!map", "!!str", "!x"]), children).map(" ".join),
    )


VALUES = st.recursive(SCALARS, _collections, max_leaves=25)


@st.composite
def deep_nesting(draw: st.DrawFn) -> str:
    """Flow or block nesting up to 1,500 levels."""
    depth = draw(st.integers(1, 1500))
    if draw(st.booleans()):
        opener, closer = draw(st.sampled_from([("[", "]"), ("{a: ", "}"), ("[{a: ", "}]")]))
        return "x: " + opener * depth + closer * depth
    return "x:" + "".join("\n" + " " * i + f"k{i}:" for i in range(1, depth)) + " 1"


@st.composite
def alias_chain(draw: st.DrawFn) -> str:
    """A billion laughs of random width and depth, in lists or merged mappings."""
    levels, width = draw(st.integers(1, 9)), draw(st.integers(1, 12))
    if draw(st.booleans()):
        lines = ["d0: &d0 [" + ", ".join(["lol"] * width) + "]"]
        lines += [f"d{i}: &d{i} [" + ", ".join([f"*d{i - 1}"] * width) + "]" for i in range(1, levels)]
    else:
        lines = ["d0: &d0 {" + ", ".join(f"k{i}: 1" for i in range(width)) + "}"]
        lines += [f"d{i}: &d{i} {{<<: [" + ", ".join([f"*d{i - 1}"] * width) + "]}" for i in range(1, levels)]
    return "\n".join(lines)


def _spec(extra: list[str]) -> str:
    return (
        "\n".join(
            [
                "specc: 1",
                "name: fuzz",
                "description: d",
                "license: mit",
                "sources:",
                "  rows: {type: jsonl, path: rows.jsonl}",
                "card: {draft: true}",
                *extra,
            ]
        )
        + "\n"
    )


STAGE_ENTRIES = st.sampled_from(
    [
        "sources: {rows: {type: jsonl, path: %s}}",
        "seed: %s",
        "allow_external_paths: %s",
        "languages: %s",
        "clean: [{type: normalize, columns: %s}]",
        "clean: [{type: length, column: text, min_chars: %s}]",
        "split: {method: hash, ratios: %s}",
        "split: %s",
        "format: {type: chat, user: %s, assistant: x}",
        "card: %s",
        "output: {dir: %s}",
        "%s: 1",
        "clean: %s",
        "sources: %s",
    ]
)
LINES = st.one_of(
    st.tuples(KEYS, VALUES).map(lambda pair: f"{pair[0]}: {pair[1]}"),
    st.tuples(STAGE_ENTRIES, VALUES).map(lambda pair: pair[0].replace("%s", pair[1])),
    deep_nesting(),
    alias_chain(),
    st.text(max_size=40),
)


@st.composite
def documents(draw: st.DrawFn) -> bytes:
    """A spec file's bytes: a valid spec with hostile lines, then maybe raw text or bytes spliced in."""
    text = _spec(draw(st.lists(LINES, max_size=6)))
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.one_of(SCALARS, CONTROL, st.text(max_size=8))) + text[at:]
    data = text.encode("utf-8", "surrogatepass")
    if draw(st.integers(0, 9)) == 0:
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.binary(max_size=8)) + data[at:]
    return data


SPEC_FILES = st.one_of(documents(), st.binary(max_size=200), st.text(max_size=200).map(str.encode))
