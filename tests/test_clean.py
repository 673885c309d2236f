"""Tests of the built-in clean steps: normalize, drop-missing, length, dedup, regex."""

from __future__ import annotations

import csv
import subprocess
import sys
import unicodedata
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from specc.builtins.clean import Dedup, DropMissing, Length, Normalize, Regex
from specc.components import Context, Step, StepResult
from specc.errors import SpeccError
from specc.plugins import get_registry

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
CONTEXT = Context(step_id="clean-0", seed=1, spec_dir=Path("."))
STEPS = (Normalize, DropMissing, Length, Dedup, Regex)

# Valid parameters for each step.
ANY_PARAMS = {
    Normalize: {},
    DropMissing: {"columns": ["text"]},
    Length: {"min_chars": 2, "max_chars": 5},
    Dedup: {},
    Regex: {"pattern": "b"},
}


def run(cls: type[Step], table: pa.Table, **params) -> StepResult:
    """Apply step `cls` with `params` to `table`."""
    return cls(cls.Params(**params), CONTEXT).apply(table)


def masks(result: StepResult) -> dict[str, list[bool]]:
    """The drop masks of `result` as Python lists."""
    return {reason: mask.to_pylist() for reason, mask in result.dropped.items()}


def table(text: list[str | None], **extra) -> pa.Table:
    """A table with `text`, an `_id` per row and any `extra` columns."""
    return pa.table({"_id": [f"s:{i}" for i in range(len(text))], "text": pa.array(text, pa.string()), **extra})


def reference_normalize(text: str) -> str:
    """Python's view of `normalize` with defaults: no controls, NFKC, collapsed whitespace."""
    kept = "\t\n\v\f\r\x85\u200c\u200d"
    text = "".join(c for c in text if c in kept or unicodedata.category(c) not in ("Cc", "Cf"))
    return " ".join(unicodedata.normalize("NFKC", text).split())


def cjk(text: str) -> str:
    """The CJK unified ideographs of `text`, in order."""
    return "".join(c for c in text if "\u4e00" <= c <= "\u9fff")


# --- registration and params -------------------------------------------------------------


def test_every_step_is_registered_under_its_name():
    registered = [get_registry().get("step", cls.name).cls for cls in STEPS]
    assert registered == list(STEPS)
    assert {cls.name: cls.scope for cls in registered}["dedup"] == "global"
    assert all(cls.scope == "row" for cls in registered if cls.name != "dedup")


@pytest.mark.parametrize("cls", STEPS)
def test_every_param_is_described_and_extra_keys_are_rejected(cls):
    assert all(field.description for field in cls.Params.model_fields.values())
    with pytest.raises(ValidationError, match="typo"):
        cls.Params(**ANY_PARAMS[cls], typo=1)


@pytest.mark.parametrize(
    ("cls", "params", "message"),
    [
        (Normalize, {"columns": []}, "at least 1"),
        (Normalize, {"columns": ["text", "text"]}, "'text' is listed twice"),
        (Normalize, {"form": "NFX"}, "NFKC"),
        (DropMissing, {}, "columns"),
        (Length, {}, "give min_chars, max_chars or both"),
        (Length, {"min_chars": 10, "max_chars": 5}, r"min_chars \(10\) is greater than max_chars \(5\)"),
        (Length, {"min_chars": -1}, "greater than or equal to 0"),
        (Dedup, {"columns": ["a", "b", "a"]}, "'a' is listed twice"),
        (Regex, {"pattern": ""}, "at least 1 character"),
        (Regex, {"pattern": "x", "action": "remove"}, "'keep' or 'drop'"),
    ],
)
def test_impossible_params_are_rejected(cls, params, message):
    with pytest.raises(ValidationError, match=message):
        cls.Params(**params)


def test_module_import_stays_light():
    code = "import sys, specc.builtins.clean; print('pyarrow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# --- every step --------------------------------------------------------------------------


@pytest.mark.parametrize("cls", STEPS)
def test_empty_table(cls):
    empty = table([], _source=pa.array([], pa.string()))
    result = run(cls, empty, **ANY_PARAMS[cls])
    assert result.table.schema == empty.schema
    assert result.table.num_rows == 0
    assert all(len(mask) == 0 for mask in result.dropped.values())


@pytest.mark.parametrize("cls", STEPS)
def test_other_columns_and_order_are_kept(cls):
    text = ["a", "bb", "ccc", "bb", None, "dddddd", "e\u200bf"]
    before = table(text, _source=["src"] * 7, _split=[None] * 7, label=list(range(7)))
    result = run(cls, before, **ANY_PARAMS[cls])
    kept = [i for i in range(7) if not any(mask[i] for mask in masks(result).values())]
    assert result.table.column_names == before.column_names
    assert result.table.column("_id").to_pylist() == [f"s:{i}" for i in kept]
    assert result.table.column("label").to_pylist() == kept
    assert result.table.column("_source").to_pylist() == ["src"] * len(kept)
    for mask in result.dropped.values():
        assert mask.type == pa.bool_() and mask.null_count == 0 and len(mask) == 7


@pytest.mark.parametrize("cls", [Normalize, Length, Regex])
def test_text_steps_need_a_string_column(cls):
    numbers = pa.table({"text": [1, 2]})
    with pytest.raises(SpeccError, match=r"clean-0.*column 'text' has type int64; .* needs a string column"):
        run(cls, numbers, **ANY_PARAMS[cls])


@pytest.mark.parametrize("cls", STEPS)
def test_missing_column_is_named(cls):
    several = "columns" in cls.Params.model_fields
    params = {**ANY_PARAMS[cls], **({"columns": ["body"]} if several else {"column": "body"})}
    with pytest.raises(SpeccError, match=r"no column 'body'; the columns are: text"):
        run(cls, table(["x"]), **params)


# --- normalize ---------------------------------------------------------------------------


def test_normalize_defaults():
    text = [
        "  Hello\t\tWorld \n",
        "\ufeffＡＢＣ　１２３！",
        "a\x00b\x07c\u200bd\u2060e",
        "no\u00a0break\u3000space\u2028line",
        "family 👨\u200d👩\u200d👧",
        None,
        "",
    ]
    result = run(Normalize, table(text))
    assert result.table.column("text").to_pylist() == [
        "Hello World",
        "ABC 123!",
        "abcde",
        "no break space line",
        "family 👨\u200d👩\u200d👧",
        None,
        "",
    ]
    assert result.dropped == {}


def test_normalize_chinese_text():
    text = ["很快，好吃，味道足，量大", "中\u200b文\ufeff", "送餐\u3000\u3000很快", "（１０分钟）送到", "中\t文"]
    out = run(Normalize, table(text)).table.column("text").to_pylist()
    assert out == ["很快,好吃,味道足,量大", "中文", "送餐 很快", "(10分钟)送到", "中 文"]
    assert [cjk(s) for s in out] == [cjk(s) for s in text]


def test_normalize_options():
    text = ["ＡＢ\u200b\t c\u00a0"]
    assert run(Normalize, table(text), form=None, whitespace=False, control=False).table.equals(table(text))
    assert run(Normalize, table(text), form="NFC").table.column("text").to_pylist() == ["ＡＢ c"]
    assert run(Normalize, table(text), whitespace=False).table.column("text").to_pylist() == ["AB\t c "]
    assert run(Normalize, table(text), control=False).table.column("text").to_pylist() == ["AB\u200b c"]
    assert run(Normalize, table(["e\u0301"]), form="NFC").table.column("text").to_pylist() == ["\u00e9"]
    assert run(Normalize, table(["\u00e9"]), form="NFD").table.column("text").to_pylist() == ["e\u0301"]


def test_normalize_several_columns_keeps_their_types():
    before = pa.table({"q": pa.array(["Ｑ\u3000?"], pa.large_string()), "a": ["\tA "], "n": [1]})
    after = run(Normalize, before, columns=["q", "a"]).table
    assert after.schema == before.schema
    assert after.to_pylist() == [{"q": "Q ?", "a": "A", "n": 1}]


@given(st.lists(st.one_of(st.none(), st.text(alphabet=st.characters(codec="utf-8"))), max_size=20))
@settings(max_examples=150, deadline=None)
def test_normalize_is_idempotent_and_leaves_clean_spaces(text):
    once = run(Normalize, table(text)).table
    assert run(Normalize, once).table.equals(once)
    for before, after in zip(text, once.column("text").to_pylist()):
        assert (before is None) == (after is None)
        if after is not None:
            assert "  " not in after and after == after.strip(" ")
            assert unicodedata.is_normalized("NFKC", after)


@pytest.mark.shared_data
def test_normalize_real_chinese_reviews():
    path = SHARED_DATA / "zh" / "waimai_10k.csv"
    if not path.exists():
        pytest.skip(f"{path} is absent")
    with path.open(encoding="utf-8", newline="") as f:
        reviews = [row["review"] for _, row in zip(range(2000), csv.DictReader(f))]
    out = run(Normalize, table(reviews)).table.column("text").to_pylist()
    assert out == [reference_normalize(r) for r in reviews]
    assert [cjk(s) for s in out] == [cjk(s) for s in reviews]


# --- drop-missing ------------------------------------------------------------------------


def test_drop_missing_counts_each_row_under_its_first_missing_column():
    before = table(
        ["a", None, "", " \u3000\n", "b", None, "c"],
        label=pa.array([1, 2, None, 3, None, None, 0]),
    )
    result = run(DropMissing, before, columns=["text", "label"])
    assert masks(result) == {
        "missing:text": [False, True, True, True, False, True, False],
        "missing:label": [False, False, False, False, True, False, False],
    }
    assert result.table.column("text").to_pylist() == ["a", "c"]


def test_drop_missing_can_keep_empty_strings():
    result = run(DropMissing, table(["a", "", " ", None]), columns=["text"], empty_strings=False)
    assert masks(result) == {"missing:text": [False, False, False, True]}


# --- length ------------------------------------------------------------------------------


def test_length_counts_code_points():
    text = ["你好", "你好吗", "外卖送得很快", "ab", "abcdefg", None, "👍👍👍"]
    result = run(Length, table(text), min_chars=3, max_chars=6)
    assert masks(result) == {
        "too-short": [True, False, False, True, False, False, False],
        "too-long": [False, False, False, False, True, False, False],
    }
    assert result.table.column("text").to_pylist() == ["你好吗", "外卖送得很快", None, "👍👍👍"]


def test_length_with_one_bound():
    result = run(Length, table(["", "a", "abc"]), min_chars=1)
    assert masks(result) == {"too-short": [True, False, False], "too-long": [False, False, False]}
    result = run(Length, table(["", "a", "abc"]), max_chars=1)
    assert masks(result) == {"too-short": [False, False, False], "too-long": [False, False, True]}


@given(
    st.lists(st.one_of(st.none(), st.text(max_size=12)), max_size=30),
    st.integers(0, 6),
    st.integers(0, 6),
)
@settings(max_examples=100, deadline=None)
def test_length_keeps_rows_within_bounds(text, low, extra):
    result = run(Length, table(text), min_chars=low, max_chars=low + extra)
    expected = [s for s in text if s is None or low <= len(s) <= low + extra]
    assert result.table.column("text").to_pylist() == expected
    short, long = result.dropped["too-short"].to_pylist(), result.dropped["too-long"].to_pylist()
    assert sum(short) + sum(long) == len(text) - len(expected)
    assert not any(s and lg for s, lg in zip(short, long))


# --- dedup -------------------------------------------------------------------------------


def test_dedup_keeps_first_of_near_identical_rows():
    text = ["Hello  World", "hello world", "HELLO\u3000WORLD\u200b", "Ｈｅｌｌｏ world", "other", "Other "]
    result = run(Dedup, table(text))
    assert masks(result) == {"duplicate": [False, True, True, True, False, True]}
    assert result.table.column("text").to_pylist() == ["Hello  World", "other"]
    assert result.table.column("_id").to_pylist() == ["s:0", "s:4"]


def test_dedup_without_normalize_is_exact():
    result = run(Dedup, table(["Hello  World", "hello world", "hello world"]), normalize=False)
    assert masks(result) == {"duplicate": [False, False, True]}


def test_dedup_on_several_columns_and_null_keys():
    before = table(["a", "a", "a", None, None, "中文", "中文 "], label=[1, 2, 1, None, None, 3, 3])
    result = run(Dedup, before, columns=["text", "label"])
    assert masks(result) == {"duplicate": [False, False, True, False, True, False, True]}


def test_dedup_rejects_keys_it_cannot_compare():
    before = pa.table({"messages": [[1], [1]]})
    with pytest.raises(SpeccError, match=r"cannot compare keys .*messages: list<item: int64>"):
        run(Dedup, before, columns=["messages"])


@given(
    st.lists(st.one_of(st.none(), st.sampled_from(["a", "A", " a", "b", "b\t", "中", "中\u200b", "ｂ"])), max_size=40)
)
@settings(max_examples=100, deadline=None)
def test_dedup_output_is_a_subsequence_with_unique_keys(text):
    result = run(Dedup, table(text))
    ids = result.table.column("_id").to_pylist()
    positions = [int(i.removeprefix("s:")) for i in ids]
    assert positions == sorted(positions)
    keys = [None if s is None else reference_normalize(s).lower() for s in text]
    assert [keys[i] for i in positions] == list(dict.fromkeys(keys))
    assert result.dropped["duplicate"].to_pylist() == [i not in positions for i in range(len(text))]


# --- regex -------------------------------------------------------------------------------


def test_regex_drop_and_keep():
    text = ["visit http://x.y now", "plain", None, "HTTP://Z"]
    result = run(Regex, table(text), pattern=r"https?://")
    assert masks(result) == {"match": [True, False, False, False]}
    result = run(Regex, table(text), pattern=r"https?://", ignore_case=True)
    assert masks(result) == {"match": [True, False, False, True]}
    result = run(Regex, table(text), pattern=r"https?://", action="keep")
    assert masks(result) == {"no-match": [False, True, True, True]}
    assert result.table.column("text").to_pylist() == ["visit http://x.y now"]


def test_regex_unicode_classes():
    text = ["外卖很快", "fast delivery", "OK 好"]
    result = run(Regex, table(text), pattern=r"\p{Han}", action="keep")
    assert result.table.column("text").to_pylist() == ["外卖很快", "OK 好"]
    result = run(Regex, table(text), pattern=r"^[\p{Han}]+\z", action="drop")
    assert masks(result) == {"match": [True, False, False]}


@pytest.mark.parametrize("pattern", [r"\p{Han}+", r"[[:alpha:]]+", r"end\z", r"\Qa.b\E", r"(?i)x", r"(?P<n>a)"])
def test_regex_accepts_re2_syntax(pattern):
    assert Regex.Params(pattern=pattern).pattern == pattern


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("(", "invalid regular expression: missing \\)"),
        (r"(a)\1", r"does not support backreferences like '\\1'"),
        (r"(?=a)b", "does not support lookahead"),
        (r"a(?!b)", "does not support negative lookahead"),
        (r"(?<=a)b", "does not support lookbehind"),
        (r"(?<!a)b", "does not support negative lookbehind"),
        (r"a\Z", r"use '\\z'"),
        (r"\p{", "bad Unicode class"),
    ],
)
def test_regex_rejects_what_re2_cannot_run(pattern, message):
    with pytest.raises(ValidationError, match=message):
        Regex.Params(pattern=pattern)


def test_regex_error_from_re2_names_the_step():
    with pytest.raises(SpeccError, match=r"step 'clean-0' \(regex\): pattern 'a\*\+' is not valid RE2"):
        run(Regex, table(["a"]), pattern="a*+")


def test_remembered_keys_are_reused_only_for_the_same_text() -> None:
    """dedup hands its keys to the leakage report; other text of the same length is keyed afresh."""
    import pyarrow as pa

    from specc.text import comparison_key, forget_keys, remember_keys

    text = pa.chunked_array([["Hello  World", "B"], ["c"]])
    other = pa.chunked_array([["Hello  Earth", "B", "c"]])
    marker = pa.chunked_array([["remembered", "b", "c"]])
    try:
        remember_keys(text, marker)
        assert comparison_key(pa.chunked_array([text.combine_chunks()])) is marker
        assert comparison_key(text.combine_chunks()).to_pylist() == marker.to_pylist()
        assert comparison_key(other).to_pylist() == ["hello earth", "b", "c"]
    finally:
        forget_keys()
    assert comparison_key(text).to_pylist() == ["hello world", "b", "c"]
