"""PyYAML's syntax errors in plain words, at the line where the mistake is, with the fix."""

from __future__ import annotations

import re

import yaml

_QUOTE_MAX = 40  # longest value quoted back in a suggestion
_CANNOT_START = re.compile(r"found character '(.+)' that cannot start any token")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _word(line: str) -> str:
    """What a line starts with, as a reader names it: `-` for a list item, else its key."""
    text = line.strip()
    if text.startswith("-"):
        return "-"
    key = text.split(":", 1)[0].strip()
    return key if len(key) <= _QUOTE_MAX else key[: _QUOTE_MAX - 3] + "..."


def _content(line: str) -> bool:
    text = line.strip()
    return bool(text) and not text.startswith("#")


def _levels_above(lines: list[str], number: int, indent: int) -> list[tuple[int, str, int]]:
    """(line, word, indent) of the lines above `number` that open each level, innermost first, out to the first
    one indented less than `indent` (its parent)."""
    levels: list[tuple[int, str, int]] = []
    for above in range(number - 1, 0, -1):
        line = lines[above - 1]
        if not _content(line) or (levels and _indent(line) >= levels[-1][2]):
            continue
        levels.append((above, _word(line), _indent(line)))
        if levels[-1][2] < indent:
            break
    return levels


def _spaces(n: int) -> str:
    return f"{n} space" if n == 1 else f"{n} spaces"


def _misindented(lines: list[str], number: int) -> str:
    """Why the line `number` does not line up, naming the lines above it that it should line up with."""
    line = lines[number - 1]
    word, indent = _word(line), _indent(line)
    levels = _levels_above(lines, number, indent)
    same = next(((at, key) for at, key, n in levels if n == indent), None)
    if same is not None and word == "-" and same[1] != "-":
        return (
            f"bad indentation: this '-' is at the column of `{same[1]}` on line {same[0]}, a key, so it cannot start "
            "a list item there; put a list item's '-' at the column of the other '-' of its list"
        )
    if same is not None and word != "-" and same[1] == "-":
        item = lines[same[0] - 1][indent + 1 :]
        inner = 1 + len(item) - len(item.lstrip(" ")) if item.strip() else 2
        return (
            f"bad indentation: `{word}` is at the column of the '-' on line {same[0]}, so it belongs to neither that "
            f"list item nor the mapping around the list; indent it {_spaces(inner)} more to put it in the item"
        )
    if same is not None:
        return f"bad indentation: `{word}` does not fit here; check that it lines up with the lines it belongs with"
    shown = ", ".join(f"`{key}` on line {at} has {_spaces(n)}" for at, key, n in levels[:3])
    siblings = "the other '-' of its list" if word == "-" else "the keys it belongs with"
    what = "this '-'" if word == "-" else f"`{word}`"
    return (
        f"bad indentation: {what} is indented {_spaces(indent)} and lines up with nothing above it ({shown}); "
        f"indent it as much as {siblings}"
    )


def _value_with_colon(line: str, column: int) -> str | None:
    """The fix for a ': ' inside a plain value on one line (`key: Rows: many`), or None when the colon is a key's."""
    content = line.lstrip(" ").removeprefix("- ")
    offset = len(line) - len(content)
    key, _, value = content.partition(": ")
    if offset + len(key) >= column:  # the line's first ': ' is the one PyYAML refused: this line's own key
        return None
    value = value.strip()
    quote = "'" if '"' in value else '"'
    shown = value if len(value) <= 2 * _QUOTE_MAX and quote not in value else "..."
    return f"YAML syntax: ': ' inside a value starts a key; put the value in quotes: {key}: {quote}{shown}{quote}"


def _unclosed(lines: list[str], number: int, quote: str) -> tuple[int, int, str] | None:
    """Where a quoted value that ran on past its line began: the line above with an odd number of `quote`."""
    for above in range(number - 1, max(number - 20, 0), -1):
        line = lines[above - 1]
        if line.count(quote) % 2:
            return (
                above,
                line.rindex(quote) + 1,
                f"YAML syntax: the value quoted here has no closing {quote}, so it runs on to line {number}; "
                f"end it with {quote}",
            )
    return None


def explain(lines: list[str], error: yaml.MarkedYAMLError) -> tuple[int, int, str]:
    """Line, column (1-based) and message for a YAML syntax error in a text of `lines` (split where PyYAML counts
    line breaks): where the mistake is, and how to fix it."""
    problem, context = error.problem or "", error.context or ""
    mark = error.problem_mark or error.context_mark
    line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    if not 1 <= line <= len(lines):  # at the end of the text: PyYAML's words, where it says
        return line, column, f"YAML syntax: {problem or context or 'invalid YAML'}"
    at = lines[line - 1]
    start = error.context_mark if error.context_mark is not None and error.context_mark.line < len(lines) else None
    if (bad := _CANNOT_START.fullmatch(problem)) is not None:
        char = bad.group(1)
        if char == "\\t":
            if not at[: column - 1].strip():
                return (
                    line,
                    column,
                    "bad indentation: a tab indents this line; YAML indents with spaces only: replace the tab with spaces",
                )
            return line, column, "YAML syntax: a tab here; YAML separates with spaces: replace the tab with a space"
        return line, column, f"YAML syntax: a value cannot start with '{char}'; put the value in quotes"
    if problem == "could not find expected ':'" and start is not None:
        return (
            start.line + 1,
            start.column + 1,
            "YAML syntax: this line has no ':' after a key; write `key: value`, or, if it continues the text of "
            "the line above, indent it as much as that text",
        )
    if problem == "mapping values are not allowed here":
        fix = _value_with_colon(at, column - 1)
        if fix is not None:
            return line, column, fix
        previous = next((n for n in range(line - 1, 0, -1) if _content(lines[n - 1])), None)
        above = f"`{_word(lines[previous - 1])}` on line {previous}" if previous else "the line above"
        return (
            line,
            _indent(at) + 1,
            f"bad indentation: `{_word(at)}` is indented more than {above}, so YAML reads it as more of that "
            f"line's value; indent `{_word(at)}` as much as the keys it belongs with (or, if it is more text, put "
            "the whole value in quotes)",
        )
    if problem.startswith("expected <block end>, but found"):
        found = problem.partition("but found ")[2]
        if found.startswith("'<block") or found in ("'?'", "'-'"):  # a mapping or a list starts, a key, an item
            return line, _indent(at) + 1, _misindented(lines, line)
        quote = at[: column - 1].rstrip()[-1:]
        if found == "'<scalar>'" and quote in ("'", '"'):
            return _unclosed(lines, line, quote) or (
                line,
                column,
                "YAML syntax: text after a quoted value; put all of the value inside the quotes",
            )
    if context.startswith("while parsing a flow") and problem.startswith("expected ','") and start is not None:
        opening = "{" if "mapping" in context else "["
        closing = "}" if opening == "{" else "]"
        if mark is not None and mark.line > start.line:
            return (
                start.line + 1,
                start.column + 1,
                f"YAML syntax: this '{opening}' is not closed; end it with '{closing}'",
            )
        return (
            line,
            column,
            f"YAML syntax: a ',' is missing; separate the entries inside '{opening} {closing}' with ','",
        )
    if problem == "but found another document":
        return (
            line,
            column,
            "YAML syntax: a second document starts here ('---'); a spec is one document: remove the line or the "
            "document after it",
        )
    if context == "while scanning a quoted scalar" and start is not None:
        quote = lines[start.line][start.column : start.column + 1] or '"'
        return start.line + 1, start.column + 1, f"YAML syntax: this quoted value has no closing {quote}; add one"
    if context in ("while scanning an alias", "while scanning an anchor") and start is not None:
        sign = "*" if "alias" in context else "&"
        return (
            start.line + 1,
            start.column + 1,
            f"YAML syntax: a value cannot start with '{sign}' (YAML reads an {context.rsplit(' ', 1)[1]}); "
            "put the value in quotes",
        )
    return line, column, f"YAML syntax: {problem or context or 'invalid YAML'}"
