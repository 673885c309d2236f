"""Text as specc compares it: Unicode cleaning (control characters, normal form, whitespace) and the comparison
key that dedup, hash splits, MinHash and the leakage report share, remembered for the build that made it."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa

# Unicode White_Space, in RE2 syntax (RE2's \s is ASCII only).
WHITESPACE = r"[\s\v\x{85}\p{Z}]"
# Runs to collapse: two or more whitespace characters, or one that is not a plain space. Plain
# single spaces, by far the most common case, are not matched, which makes replacing 4x faster.
WHITESPACE_RUN = (
    WHITESPACE + r"{2,}|[\t\n\v\f\r\x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}]"
)
# Control (Cc) and format (Cf) characters, except whitespace controls (left to the whitespace
# rule) and ZWNJ/ZWJ, which carry meaning in emoji sequences and Persian/Indic scripts.
CONTROL = r"[^\P{Cc}\t\n\v\f\r\x{85}]|[^\P{Cf}\x{200C}\x{200D}]"


def clean_text(
    values: pa.ChunkedArray, form: str | None = "NFKC", whitespace: bool = True, control: bool = True
) -> pa.ChunkedArray:
    """Remove control characters, apply a Unicode normal form, collapse and trim whitespace."""
    import pyarrow.compute as pc

    if control:
        values = _where(
            values, lambda v: pc.match_substring_regex(v, CONTROL), lambda v: pc.replace_substring_regex(v, CONTROL, "")
        )
    if form:
        values = _where(values, lambda v: pc.invert(pc.string_is_ascii(v)), lambda v: pc.utf8_normalize(v, form=form))
    if whitespace:
        values = _where(
            values,
            lambda v: pc.match_substring_regex(v, WHITESPACE_RUN),
            lambda v: pc.replace_substring_regex(v, WHITESPACE_RUN, " "),
        )
        values = pc.utf8_trim(values, " ")
    return values


def _where(values: pa.ChunkedArray | pa.Array, needs: Callable, change: Callable) -> pa.ChunkedArray | pa.Array:
    """`change` applied to the values where `needs` is true, chunk by chunk.

    Checking is about half the cost of changing; most rows need no change (text already clean,
    ASCII, which every normal form leaves alone), and then only those that do are changed.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(values, pa.ChunkedArray):
        return pa.chunked_array([_where(chunk, needs, change) for chunk in values.chunks], values.type)
    hit = pc.fill_null(needs(values), False)
    count = pc.sum(hit).as_py() or 0
    if count == 0:
        return values
    if count > len(values) // 4:
        return change(values)
    return pc.replace_with_mask(values, hit, change(values.filter(hit)))


# (text, key) pairs `dedup` computed for the rows it kept: the leakage report after the split
# usually compares the same text, and reusing the keys saves normalizing it all again.
_REMEMBERED: list[tuple[pa.ChunkedArray, pa.ChunkedArray]] = []
_REMEMBER_AT_MOST = 4


def comparison_key(values: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    """Text as dedup, hash splits and the leakage report compare it: `clean_text`, then lowercase."""
    import pyarrow as pa
    import pyarrow.compute as pc

    chunked = values if isinstance(values, pa.ChunkedArray) else pa.chunked_array([values])
    for text, key in _REMEMBERED:
        if len(text) == len(chunked) and text.type == chunked.type and text.equals(chunked):
            return key if isinstance(values, pa.ChunkedArray) else key.combine_chunks()
    return pc.utf8_lower(clean_text(values))


def remember_keys(text: pa.ChunkedArray, key: pa.ChunkedArray) -> None:
    """Keep `key` as the comparison key of exactly this `text` for later calls in this process."""
    _REMEMBERED.insert(0, (text, key))
    del _REMEMBERED[_REMEMBER_AT_MOST:]


def forget_keys() -> None:
    """Drop the remembered keys (at the end of a build)."""
    _REMEMBERED.clear()


def holds_text(kind: pa.DataType) -> bool:
    """Whether an Arrow type is text, or a dictionary, list or struct with text inside."""
    import pyarrow as pa

    if pa.types.is_dictionary(kind):
        return holds_text(kind.value_type)
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return True
    if pa.types.is_struct(kind):
        return any(holds_text(kind.field(i).type) for i in range(kind.num_fields))
    if pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_fixed_size_list(kind):
        return holds_text(kind.value_type)
    return False
