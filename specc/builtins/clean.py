"""Built-in clean steps: normalize, drop-missing, length, dedup and regex (all pyarrow.compute); fill-missing: fill.py."""

from __future__ import annotations

import re
import warnings
from typing import TYPE_CHECKING, Literal

from pydantic import Field, field_validator, model_validator

from specc.components import Params, Step, StepResult, Where
from specc.text import WHITESPACE, clean_text, comparison_key, remember_keys

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa


def _unique(columns: list[str]) -> list[str]:
    """The column list itself, or an error naming the first repeated column."""
    seen = set()
    for column in columns:
        if column in seen:
            raise ValueError(f"column '{column}' is listed twice")
        seen.add(column)
    return columns


def _is_text(values: pa.ChunkedArray) -> bool:
    """Whether `values` holds strings that pyarrow's utf8 functions accept."""
    import pyarrow as pa

    return pa.types.is_string(values.type) or pa.types.is_large_string(values.type)


def _text(step: Step, table: pa.Table, name: str) -> pa.ChunkedArray:
    """A string column of `table`, or a clear error naming its type."""
    values = step.column(table, name)
    if not _is_text(values):
        raise step.fail(f"column '{name}' has type {values.type}; {step.name} needs a string column")
    return values


class ColumnStep(Step):
    """A step that reads the columns its `column` or `columns` parameter names and leaves the columns as they are."""

    def columns_read(self) -> dict[str, Where]:
        """The columns `column` or `columns` names (a fill-missing mapping: its keys)."""
        return self.columns_named("column", "columns")

    def columns_after(self, columns: list[str]) -> list[str] | None:
        """The input's columns."""
        return columns


class Normalize(ColumnStep):
    """Unicode-normalize text columns, remove control characters and collapse whitespace."""

    name = "normalize"
    version = 1
    scope = "row"

    class Params(Params):
        """Which columns to normalize and how."""

        columns: list[str] = Field(["text"], min_length=1, description="String columns to normalize.")
        form: Literal["NFC", "NFD", "NFKC", "NFKD"] | None = Field(
            "NFKC",
            description="Unicode normal form; NFKC also turns full-width letters, digits and "
            "punctuation into their ASCII forms. null leaves the form alone.",
        )
        whitespace: bool = Field(
            True,
            description="Collapse each run of Unicode whitespace (tabs, newlines, NBSP, U+3000 …) "
            "into one space and trim both ends.",
        )
        control: bool = Field(
            True,
            description="Remove control and format characters (NUL, BOM, zero-width space …); "
            "tabs and newlines stay for `whitespace`, ZWJ and ZWNJ stay.",
        )

        _columns = field_validator("columns")(_unique)

    params: Params

    def apply(self, table: pa.Table) -> StepResult:
        """The table with its text columns normalized; nulls stay null, no row is dropped."""
        p = self.params
        for name in p.columns:
            values = clean_text(_text(self, table, name), p.form, p.whitespace, p.control)
            table = table.set_column(table.column_names.index(name), name, values)
        return StepResult(table)


class DropMissing(ColumnStep):
    """Drop rows whose value is null (or, for strings, empty or blank) in any listed column."""

    name = "drop-missing"
    version = 1
    scope = "row"

    class Params(Params):
        """The columns that must have a value."""

        columns: list[str] = Field(min_length=1, description="Columns that must not be missing.")
        empty_strings: bool = Field(
            True, description="Also count strings that are empty or only whitespace as missing."
        )

        _columns = field_validator("columns")(_unique)

    params: Params

    def used_columns(self) -> list[str]:
        """None: rows without a value are what it decides about."""
        return []

    def apply(self, table: pa.Table) -> StepResult:
        """Kept rows; each dropped row counts as `missing:<column>` for its first missing column."""
        import pyarrow as pa
        import pyarrow.compute as pc

        dropped = {}
        gone = pa.repeat(False, table.num_rows)
        for name in self.params.columns:
            values = self.column(table, name)
            missing = pc.is_null(values)
            if self.params.empty_strings and _is_text(values):
                blank = pc.match_substring_regex(values, f"^{WHITESPACE}*$")
                missing = pc.or_(missing, pc.fill_null(blank, False))
            dropped[f"missing:{name}"] = pc.and_not(missing, gone)
            gone = pc.or_(gone, missing)
        return StepResult(table.filter(pc.invert(gone)), dropped)


class Length(ColumnStep):
    """Drop rows whose text is shorter or longer than given bounds, in Unicode code points."""

    name = "length"
    version = 1
    scope = "row"

    class Params(Params):
        """Inclusive bounds on the number of characters (code points); nulls are left alone."""

        column: str = Field("text", description="The string column to measure.")
        min_chars: int | None = Field(None, ge=0, description="Drop rows with fewer characters.")
        max_chars: int | None = Field(None, ge=0, description="Drop rows with more characters.")

        @model_validator(mode="after")
        def _bounds(self) -> Length.Params:
            if self.min_chars is None and self.max_chars is None:
                raise ValueError("give min_chars, max_chars or both")
            if self.min_chars is not None and self.max_chars is not None and self.min_chars > self.max_chars:
                raise ValueError(f"min_chars ({self.min_chars}) is greater than max_chars ({self.max_chars})")
            return self

    params: Params

    def apply(self, table: pa.Table) -> StepResult:
        """Kept rows; the others are `too-short` or `too-long` (null text is kept)."""
        import pyarrow as pa
        import pyarrow.compute as pc

        lengths = pc.utf8_length(_text(self, table, self.params.column))
        none = pa.repeat(False, table.num_rows)
        short = none if self.params.min_chars is None else pc.less(lengths, self.params.min_chars)
        long = none if self.params.max_chars is None else pc.greater(lengths, self.params.max_chars)
        short, long = pc.fill_null(short, False), pc.fill_null(long, False)
        kept = pc.invert(pc.or_(short, long))
        return StepResult(table.filter(kept), {"too-short": short, "too-long": long})


class Dedup(ColumnStep):
    """Drop exact duplicates on key columns, keeping each key's first row in input order.

    Null keys compare equal to each other, as in SQL DISTINCT.
    """

    name = "dedup"
    version = 1
    scope = "global"

    class Params(Params):
        """The key columns and how to compare them."""

        columns: list[str] = Field(["text"], min_length=1, description="Columns that together form the key.")
        normalize: bool = Field(
            True,
            description="Compare string keys after `normalize` (NFKC, no control characters, "
            "collapsed whitespace) and lowercasing; stored values are unchanged.",
        )

        _columns = field_validator("columns")(_unique)

    params: Params

    def partition_key(self, table: pa.Table) -> list[pa.ChunkedArray]:
        """The key columns as compared: a row's fate depends only on the earlier rows with its key."""
        return list(self._keys(table).values())

    def _keys(self, table: pa.Table) -> dict[str, pa.ChunkedArray]:
        """The key columns by position; text normalized and lowercased when `normalize`."""
        keys = {}
        for i, name in enumerate(self.params.columns):
            values = self.column(table, name)
            keys[str(i)] = comparison_key(values) if self.params.normalize and _is_text(values) else values
        return keys

    def apply(self, table: pa.Table) -> StepResult:
        """Kept rows; later rows with an already seen key are dropped as `duplicate`."""
        import numpy as np
        import pyarrow as pa

        keys = self._keys(table)
        texts = {
            str(i): table.column(name)
            for i, name in enumerate(self.params.columns)
            if self.params.normalize and _is_text(table.column(name))
        }
        try:
            firsts = _first_rows(list(keys.values()))
        except pa.ArrowNotImplementedError as exc:
            types = ", ".join(f"{n}: {table.column(n).type}" for n in self.params.columns)
            raise self.fail(f"cannot compare keys of these column types ({types}): {exc}") from exc
        kept = np.zeros(table.num_rows, dtype=bool)
        kept[firsts] = True
        mask = pa.array(kept)
        for i, text in texts.items():
            remember_keys(text.filter(mask), keys[i].filter(mask))
        return StepResult(table.filter(mask), {"duplicate": pa.array(~kept)})


def _first_rows(keys: list[pa.ChunkedArray]) -> np.ndarray:
    """The position of the first row of each distinct key (nulls equal to each other)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    if len(keys) == 1:  # dictionary codes and numpy: about twice as fast as a group-by on one column
        codes = pc.dictionary_encode(keys[0], null_encoding="encode")
        codes = codes.combine_chunks() if isinstance(codes, pa.ChunkedArray) else codes
        return np.unique(codes.indices.to_numpy(zero_copy_only=False), return_index=True)[1]
    columns = {str(i): key for i, key in enumerate(keys)}
    rows = pa.table({**columns, "row": pa.array(np.arange(len(keys[0])))})
    return rows.group_by(list(columns)).aggregate([("row", "min")]).column("row_min").to_numpy()


_RE2_MISSING = {
    "(?<=": "lookbehind",
    "(?<!": "negative lookbehind",
    "(?=": "lookahead",
    "(?!": "negative lookahead",
    "(?>": "atomic groups",
    "(?(": "conditional groups",
}


def re2_syntax(pattern: str) -> str:
    """`pattern` rewritten so Python's `re` can check its syntax, or an error for what RE2 lacks."""
    out, i = [], 0
    while i < len(pattern):
        if pattern[i] != "\\":
            for opener, what in _RE2_MISSING.items():
                if pattern.startswith(opener, i):
                    raise ValueError(f"RE2 (the regex engine) does not support {what} '{opener}'")
            out.append(pattern[i])
            i += 1
            continue
        escape = pattern[i + 1 : i + 2]
        if escape in ("p", "P"):  # Unicode classes like \p{Han}, \pL: Python's re has none
            match = re.match(r"\\[pP](\{\^?\w+\}|[A-Za-z])", pattern[i:])
            if not match:
                raise ValueError(rf"bad Unicode class at position {i}; write \p{{Name}} or \pL")
            out.append(r"\w")
            i += match.end()
        elif escape == "Q":  # \Q...\E quotes literal text
            end = pattern.find(r"\E", i + 2)
            end = len(pattern) if end < 0 else end
            out.append(re.escape(pattern[i + 2 : end]))
            i = end + 2
        elif escape.isdigit() and escape != "0":
            raise ValueError(rf"RE2 (the regex engine) does not support backreferences like '\{escape}'")
        elif escape == "Z":
            raise ValueError(r"RE2 (the regex engine) does not support '\Z'; use '\z' for the end of text")
        else:
            out.append(r"\Z" if escape == "z" else pattern[i : i + 2])
            i += 2
    return "".join(out)


class Regex(ColumnStep):
    """Keep or drop rows whose text matches a regular expression (RE2 syntax)."""

    name = "regex"
    version = 1
    scope = "row"

    class Params(Params):
        """The pattern, where to search it, and what to do with matching rows."""

        column: str = Field("text", description="The string column to search.")
        pattern: str = Field(
            min_length=1,
            description="RE2 regular expression searched anywhere in the text (anchor with ^ and $); "
            r"no lookarounds or backreferences; \d and \w are ASCII-only, \p{Han} and other "
            "Unicode classes work.",
        )
        action: Literal["keep", "drop"] = Field(
            "drop", description="keep: keep only matching rows; drop: drop matching rows."
        )
        ignore_case: bool = Field(False, description="Match without regard to case.")

        @field_validator("pattern")
        @classmethod
        def _pattern(cls, pattern: str) -> str:
            try:
                with warnings.catch_warnings():  # POSIX classes like [[:alpha:]] are fine in RE2
                    warnings.simplefilter("ignore", FutureWarning)
                    re.compile(re2_syntax(pattern))
            except re.error as exc:
                raise ValueError(f"invalid regular expression: {exc}") from exc
            return pattern

    params: Params

    def apply(self, table: pa.Table) -> StepResult:
        """Kept rows; the others are `match` (action drop) or `no-match` (action keep; nulls never match)."""
        import pyarrow as pa
        import pyarrow.compute as pc

        p = self.params
        values = _text(self, table, p.column)
        try:
            matches = pc.match_substring_regex(values, p.pattern, ignore_case=p.ignore_case)
        except pa.ArrowInvalid as exc:
            raise self.fail(f"pattern {p.pattern!r} is not valid RE2: {exc}") from exc
        matches = pc.fill_null(matches, False)
        if p.action == "keep":
            return self.keep(table, matches, "no-match")
        return self.keep(table, pc.invert(matches), "match")
