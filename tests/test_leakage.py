"""Tests of the leakage report: exact and near-duplicate rows shared across splits, and its limits."""

from __future__ import annotations

import json
import random
import sys
import unicodedata
from collections import Counter, defaultdict
from itertools import combinations
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from specc import leakage, minhash
from specc.builtins.sources import TextLinesSource
from specc.components import Context, LeakageParams
from specc.errors import SpeccError
from specc.leakage import (
    NearParams,
    check_leakage,
    default_columns,
    key_codes,
    leakage_markdown,
    leakage_report,
)
from specc.minhash import TooManyCandidates, confirmed_pairs, resolve_unit, text_units, window_hashes
from tests.conftest import run_cli, write

TWEETEVAL_SPLITS = (("train", "train"), ("validation", "val"), ("test", "test"))


def normalized(text: str | None) -> str:
    """Python's view of the report's key: no control/format characters, NFKC, collapsed whitespace, lowercase."""
    if text is None:
        return ""
    kept = "\t\n\v\f\r\x85\u200c\u200d"
    text = "".join(c for c in text if c in kept or unicodedata.category(c) not in ("Cc", "Cf"))
    return " ".join(unicodedata.normalize("NFKC", text).split()).lower()


def table(texts: list[str | None], splits: list[str], **extra) -> pa.Table:
    """A split table with `_id`, `_split`, `text` and any `extra` columns."""
    return pa.table(
        {"_id": [f"s:{i}" for i in range(len(texts))], "_split": splits, "text": pa.array(texts, pa.string()), **extra}
    )


def read_tweeteval(folder: Path) -> pa.Table:
    """TweetEval hate's three splits (text-lines layout) as one table with `_id` and `_split`."""
    parts = []
    for split, prefix in TWEETEVAL_SPLITS:
        params = TextLinesSource.Params.model_construct(
            text=f"{prefix}_text.txt", label=f"{prefix}_labels.txt", label_names="mapping.txt"
        )
        part = pa.Table.from_batches(list(TextLinesSource(params, Context("hate", 0, folder)).read()))
        part = part.add_column(0, "_id", pa.array([f"{split}:{i}" for i in range(part.num_rows)]))
        parts.append(part.append_column("_split", pa.array([split] * part.num_rows)))
    return pa.concat_tables(parts)


def oracle(rows: pa.Table) -> dict[str, dict]:
    """Brute force: exact pairs, rows and texts per split pair from a dict of normalized text -> splits."""
    where: dict[str, Counter] = defaultdict(Counter)
    for text, split in zip(rows.column("text").to_pylist(), rows.column("_split").to_pylist()):
        if normalized(text):
            where[normalized(text)][split] += 1
    splits = [s for s in ("train", "validation", "test") if s in set(rows.column("_split").to_pylist())]
    out = {}
    for a, b in combinations(splits, 2):
        shared = [c for c in where.values() if c[a] and c[b]]
        out[f"{a}/{b}"] = {
            "exact_pairs": sum(c[a] * c[b] for c in shared),
            "exact_rows": {a: sum(c[a] for c in shared), b: sum(c[b] for c in shared)},
            "exact_texts": len(shared),
        }
    return out


def unicode_words(text: str) -> list[str]:
    """Maximal runs of letters, digits and marks (Unicode categories L, N, M), in Python."""
    return "".join(c if unicodedata.category(c)[0] in "LNM" else " " for c in text).split()


def grams(text: str, n: int = 3) -> set[tuple[str, ...]]:
    """A normalized text's word n-grams; a shorter text: one n-gram of all its words."""
    words = unicode_words(text)
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)} or ({tuple(words)} if words else set())


def near_oracle(rows: pa.Table, threshold: float) -> tuple[dict[str, dict], dict[tuple[str, str], float]]:
    """Brute force: near pairs and rows per split pair, over every pair of distinct normalized texts."""
    sparse = pytest.importorskip("scipy.sparse")
    where: dict[str, Counter] = defaultdict(Counter)
    for text, split in zip(rows.column("text").to_pylist(), rows.column("_split").to_pylist()):
        if normalized(text):
            where[normalized(text)][split] += 1
    texts = list(where)
    sets = [grams(t) for t in texts]
    ids: dict[tuple[str, ...], int] = {}
    cells = [(i, ids.setdefault(g, len(ids))) for i, grams_i in enumerate(sets) for g in grams_i]
    incidence = sparse.csr_matrix((np.ones(len(cells), np.int32), tuple(zip(*cells))), shape=(len(texts), len(ids)))
    common = sparse.triu(incidence @ incidence.T, k=1).tocoo()  # every pair sharing an n-gram
    similar = {}
    for u, v, c in zip(common.row.tolist(), common.col.tolist(), common.data.tolist()):
        if c / (len(sets[u]) + len(sets[v]) - c) >= threshold - 1e-12:
            similar[(texts[u], texts[v])] = c / (len(sets[u]) + len(sets[v]) - c)
    splits = [s for s in ("train", "validation", "test") if s in set(rows.column("_split").to_pylist())]
    out = {}
    for a, b in combinations(splits, 2):
        pairs, left, right = 0, set(), set()
        for x, y in similar:
            for p, q in ((x, y), (y, x)):
                if where[p][a] and where[q][b]:
                    pairs += where[p][a] * where[q][b]
                    left.add(p)
                    right.add(q)
        out[f"{a}/{b}"] = {
            "near_pairs": pairs,
            "near_rows": {a: sum(where[t][a] for t in left), b: sum(where[t][b] for t in right)},
        }
    return out, similar


# --- exact leaks on real data ---------------------------------------------------------------


@pytest.mark.shared_data
def test_exact_leaks_on_tweeteval_hate_match_brute_force(shared_data: Path) -> None:
    rows = read_tweeteval(shared_data / "tweeteval" / "hate")
    report = leakage_report(rows, order=["train", "validation", "test"])
    expected = oracle(rows)
    assert report["columns"] == ["text"]
    assert list(report["pairs"]) == ["train/validation", "train/test", "validation/test"]
    for name, counts in expected.items():
        got = report["pairs"][name]
        assert {k: got[k] for k in counts} == counts, name
    assert report["total"] == {"exact_pairs": sum(c["exact_pairs"] for c in expected.values())}
    assert report["total"]["exact_pairs"] > 0  # the data set does leak; the test means something
    texts = dict(zip(rows.column("_id").to_pylist(), rows.column("text").to_pylist()))
    for entry in report["pairs"].values():
        assert len(entry["examples"]) == min(5, entry["exact_texts"])
        for example in entry["examples"]:
            keys = {normalized(texts[i]) for ids in example["ids"].values() for i in ids}
            assert len(keys) == 1 and len(example["text"]) <= 200
            assert all(i.startswith(split + ":") for split, ids in example["ids"].items() for i in ids)
    json.dumps(report)
    assert leakage_report(rows, order=["train", "validation", "test"]) == report


@pytest.mark.shared_data
def test_limit_fails_with_the_leaked_texts_listed(shared_data: Path) -> None:
    rows = read_tweeteval(shared_data / "tweeteval" / "hate")
    report = leakage_report(rows, order=["train", "validation", "test"])
    total = report["total"]["exact_pairs"]
    with pytest.raises(SpeccError) as caught:
        check_leakage(report, LeakageParams(max_exact=0))
    message = str(caught.value)
    assert message.startswith(f"error: split: {total} exact-duplicate pairs across splits exceed leakage.max_exact 0:")
    first = report["pairs"]["train/test"]["examples"][0]
    assert json.dumps(first["text"], ensure_ascii=False) in message
    assert ", ".join(first["ids"]["test"]) in message
    assert "validation/test" not in message  # pairs without leaks are not listed
    assert "fix: deduplicate before the split" in message
    check_leakage(report, LeakageParams(max_exact=total))
    check_leakage(report, LeakageParams())


@pytest.mark.shared_data
def test_near_leaks_on_tweeteval_hate_match_brute_force(shared_data: Path) -> None:
    rows = read_tweeteval(shared_data / "tweeteval" / "hate")
    expected, similar = near_oracle(rows, 0.8)
    report = leakage_report(rows, order=["train", "validation", "test"], near=NearParams())
    # LSH may miss a pair near the threshold; with the default seed it finds every one of them
    for name, counts in expected.items():
        assert {k: report["pairs"][name][k] for k in counts} == counts, name
    assert report["total"]["near_pairs"] == sum(c["near_pairs"] for c in expected.values()) > 50
    texts = dict(zip(rows.column("_id").to_pylist(), rows.column("text").to_pylist()))
    for entry in report["pairs"].values():
        for example in entry["near_examples"]:
            x, y = (normalized(texts[ids[0]]) for ids in example["ids"].values())
            assert example["jaccard"] == round(similar.get((x, y), similar.get((y, x), -1.0)), 4)
    assert leakage_report(rows, order=["train", "validation", "test"], near=NearParams()) == report


# --- exact leaks on small tables ------------------------------------------------------------


def test_exact_counts_pairs_rows_and_normalizes() -> None:
    rows = table(
        ["Hello  world", "hello world", "HELLO WORLD\u200b", "other", "hello world", "", None, "  "],
        ["train", "train", "test", "test", "validation", "test", "train", "validation"],
    )
    report = leakage_report(rows)
    assert report["rows"] == {"train": 2, "validation": 1, "test": 2}  # empty and null keys are left out
    assert report["pairs"]["train/test"] == {
        "exact_pairs": 2,
        "exact_rows": {"train": 2, "test": 1},
        "exact_texts": 1,
        "examples": [
            {"text": "Hello  world", "ids": {"train": ["s:0", "s:1"], "test": ["s:2"]}, "rows": {"train": 2, "test": 1}}
        ],
    }
    assert report["pairs"]["train/validation"]["exact_pairs"] == 2
    assert report["pairs"]["validation/test"]["exact_pairs"] == 1
    assert report["total"] == {"exact_pairs": 5} and report["near"] is None


def test_given_key_codes_give_the_same_report_as_computing_them() -> None:
    # texts first seen in rows without a split: the report numbers texts by the rows it compares, not the codes
    texts = [
        "c only unsplit",
        "b text here",
        "a text here",
        "",
        "b text here",
        "a text herE",
        "c only unsplit",
        "a text here!",
        None,
        "b text here",
    ]
    rows = table(texts, [None, None, "test", "train", "train", "test", "train", "validation", "test", "validation"])
    codes = key_codes(rows, ["text"])
    assert codes.is_null().to_pylist() == [t is None or t == "" for t in texts]
    near = NearParams(threshold=0.5, ngram=2)
    assert leakage_report(rows, ["text"], codes=codes, near=near) == leakage_report(rows, near=near)


def test_examples_are_the_first_five_leaked_texts_in_table_order() -> None:
    texts = [f"text number {i}" for i in range(20)]
    rows = table(texts + texts[::-1], ["train"] * 20 + ["test"] * 20)
    examples = leakage_report(rows)["pairs"]["train/test"]["examples"]
    assert [e["text"] for e in examples] == texts[:5]
    long = table(["x" * 300, "X" * 300], ["train", "test"])
    assert leakage_report(long)["pairs"]["train/test"]["examples"][0]["text"] == "x" * 199 + "…"


def test_columns_default_and_multi_column_keys() -> None:
    rows = pa.table(
        {
            "_id": ["a", "b", "c"],
            "_split": ["train", "test", "test"],
            "prompt": ["Q", "q", "q"],
            "answer": ["A", "a", "b"],
            "label": [1, 2, 3],
        }
    )
    assert default_columns(rows) == ["prompt", "answer"]
    assert default_columns(rows.append_column("text", pa.array(["", "", ""]))) == ["text"]
    report = leakage_report(rows)
    assert report["columns"] == ["prompt", "answer"]
    assert report["pairs"]["train/test"]["exact_pairs"] == 1
    assert report["pairs"]["train/test"]["examples"][0]["text"] == "Q | A"
    with pytest.raises(SpeccError, match="column 'label' holds int64, not text"):
        leakage_report(rows, ["label"])
    with pytest.raises(SpeccError, match="no column 'missing'"):
        leakage_report(rows, ["missing"])


def test_split_order_and_single_split() -> None:
    rows = table(["a", "a", "b"], ["fold1", "fold0", "fold1"])
    assert list(leakage_report(rows)["pairs"]) == ["fold0/fold1"]
    assert list(leakage_report(rows, order=["fold1", "fold0"])["pairs"]) == ["fold1/fold0"]
    assert leakage_report(table(["a", "a"], ["train", "train"]))["pairs"] == {}


def test_exact_report_scales_without_python_loops_over_rows() -> None:
    n = 200_000
    texts = [f"row {i % (n // 2)}" for i in range(n)]  # every text twice
    splits = np.where(np.arange(n) < n // 2, "train", "test").tolist()
    report = leakage_report(table(texts, splits))
    assert report["pairs"]["train/test"]["exact_pairs"] == n // 2


# --- near leaks ----------------------------------------------------------------------------


def sentence(rng: random.Random, words: int = 20) -> str:
    """Random lowercase words."""
    return " ".join("".join(rng.choice("abcdefghij") for _ in range(6)) for _ in range(words))


def python_jaccard(x: str, y: str, n: int) -> float:
    """Jaccard of word n-gram sets, in Python."""
    a, b = grams(normalized(x), n), grams(normalized(y), n)
    return len(a & b) / len(a | b)


def planted() -> tuple[pa.Table, set[tuple[str, str]]]:
    """Unrelated sentences with near copies planted across splits (and within train, not to be reported)."""
    rng = random.Random(7)
    texts, splits, across = [], [], set()
    for i in range(150):
        texts.append(sentence(rng))
        splits.append(["train", "validation", "test"][i % 3])
    for i in range(0, 60, 3):  # a train row's copy with its last word changed, in test or validation
        copy = texts[i].rsplit(" ", 1)[0] + " changed!"
        texts.append(copy)
        splits.append("test" if i % 2 else "validation")
        across.add((f"s:{i}", f"s:{len(texts) - 1}"))
    for i in range(60, 90, 3):  # near copies within train only
        texts.append(texts[i] + " more")
        splits.append("train")
    texts.append(texts[3].upper())  # an exact copy across splits: exact, not near
    splits.append("test")
    return table(texts, splits), across


def test_near_leaks_are_found_across_splits_only() -> None:
    rows, across = planted()
    report = leakage_report(rows, near=NearParams(threshold=0.8), seed=5)
    assert report["near"] == {"threshold": 0.8, "unit": "word", "ngram": 3, "num_perm": 128}
    assert report["total"] == {"exact_pairs": 1, "near_pairs": len(across)}
    found = set()
    for name, entry in report["pairs"].items():
        assert entry["near_pairs"] == len(entry["near_examples"]) or len(entry["near_examples"]) == 5
        for example in entry["near_examples"]:
            (a, ids_a), (b, ids_b) = example["ids"].items()
            assert f"{a}/{b}" == name and example["jaccard"] >= 0.8
            found.add((ids_a[0], ids_b[0]))
    assert found <= across
    texts = rows.column("text").to_pylist()
    split = rows.column("_split").to_pylist()
    brute = sum(
        1
        for i, j in combinations(range(len(texts)), 2)
        if split[i] != split[j]
        and normalized(texts[i]) != normalized(texts[j])
        and python_jaccard(texts[i], texts[j], 3) >= 0.8
    )
    assert brute == len(across)
    assert report["pairs"]["train/test"]["near_rows"]["train"] == report["pairs"]["train/test"]["near_pairs"]
    assert leakage_report(rows, near=NearParams(threshold=0.8), seed=5) == report
    with pytest.raises(SpeccError, match=r"near-duplicate pairs across splits exceed leakage.max_near 3:") as caught:
        check_leakage(report, LeakageParams(max_near=3))
    assert "jaccard" in str(caught.value) and "near-dedup" in str(caught.value)
    assert "| train/test |" in leakage_markdown(report)


def test_near_leaks_in_chinese_compare_characters() -> None:
    assert resolve_unit("auto", ["zh-Hans"]) == resolve_unit("auto", ["en", "ko"]) == "char"
    assert resolve_unit("auto", ["en", "de_CH"]) == resolve_unit("auto", []) == "word"
    base = "今天天气很好我们一起去公园散步然后在湖边喝茶聊天"
    other = "完全不同的一句话没有任何相同的内容在这里出现过"
    rows = table([base, base[:-1] + "吧", other], ["train", "test", "test"])
    words = leakage_report(rows, near=NearParams(unit="word"), languages=["zh"])
    assert words["total"]["near_pairs"] == 0  # one "word" per text: nothing near
    chars = leakage_report(rows, near=NearParams(), languages=["zh"])
    assert chars["near"]["unit"] == "char" and chars["near"]["ngram"] == 5
    assert chars["total"]["near_pairs"] == 1
    assert chars["pairs"]["train/test"]["near_examples"][0]["ids"] == {"train": ["s:0"], "test": ["s:1"]}


def test_near_report_runs_without_datasketch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "datasketch", None)  # `import datasketch` fails
    rows, across = planted()
    report = leakage_report(rows, near=NearParams(), seed=5)
    assert report["total"]["near_pairs"] == len(across)
    check_leakage(report, LeakageParams(max_near=len(across)))


def test_unit_auto_looks_at_the_texts_when_the_languages_do_not_decide() -> None:
    base = "今天天气很好我们一起去公园散步然后在湖边喝茶聊天"
    rows = table([base, base[:-1] + "吧"], ["train", "test"])
    report = leakage_report(rows, near=NearParams())
    assert report["near"]["unit"] == "char" and report["total"]["near_pairs"] == 1


def test_too_many_near_candidates_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    rows, across = planted()
    monkeypatch.setattr(leakage, "MAX_NEAR_CANDIDATES", len(across) - 1)
    with pytest.raises(
        SpeccError,
        match=rf"more than {len(across) - 1} near-duplicate candidate pairs across "
        r"splits; .*clean: \{type: near-dedup\}",
    ):
        leakage_report(rows, near=NearParams(), seed=5)
    monkeypatch.setattr(leakage, "MAX_NEAR_CANDIDATES", len(across) + 1)  # within-split pairs are never made
    assert leakage_report(rows, near=NearParams(), seed=5)["total"]["near_pairs"] == len(across)


# --- confirmed pairs ------------------------------------------------------------------------


def families(rng: random.Random, count: int, size: int) -> list[str]:
    """`count` families of `size` texts: a sentence and copies with one word changed."""
    texts = []
    for _ in range(count):
        words = sentence(rng, 30).split()
        texts.append(" ".join(words))
        for _ in range(size - 1):
            edited = list(words)
            edited[rng.randrange(len(edited))] = "x" + str(rng.randrange(1000))
            texts.append(" ".join(edited))
    rng.shuffle(texts)
    return texts


def brute_pairs(texts: list[str], threshold: float, groups: list[int] | None = None) -> dict[tuple[int, int], float]:
    """Every pair (i < j, in different groups if given) whose word 3-gram sets have Jaccard >= threshold."""
    sets = [grams(normalized(t)) for t in texts]
    out = {}
    for i, j in combinations(range(len(texts)), 2):
        common = len(sets[i] & sets[j])  # empty sets have no pairs
        if (groups is None or groups[i] != groups[j]) and common and common >= threshold * len(sets[i] | sets[j]):
            out[(i, j)] = common / len(sets[i] | sets[j])
    return out


@pytest.mark.parametrize("use_groups", [False, True])
def test_confirmed_pairs_are_every_pair_when_every_pair_is_a_candidate(use_groups: bool) -> None:
    # bands of one value each: every pair over the threshold shares a bucket, and buckets are large
    rng = random.Random(12)
    texts = families(rng, 8, 12) + [sentence(rng, 30) for _ in range(20)] + [None, "", "!!"]
    groups = [rng.randrange(3) for _ in texts] if use_groups else None
    left, right, similarity = confirmed_pairs(
        pa.array(texts), "word", 3, 0.6, bands=128, rows=1, seed=3, groups=None if groups is None else np.array(groups)
    )
    expected = brute_pairs([t or "" for t in texts], 0.6, groups)
    assert list(zip(left.tolist(), right.tolist())) == sorted(expected)  # every pair, i < j, sorted
    assert np.allclose(similarity, [expected[p] for p in sorted(expected)])
    assert len(expected) > 2 * 8 * 11  # far more than a spanning forest of the families


def test_confirmed_pairs_with_default_bands_find_whole_families_across_groups() -> None:
    rng = random.Random(13)
    words = sentence(rng, 40).split()
    family = [" ".join(words + [f"tail{k}"]) for k in range(40)]  # 40 texts, pairwise Jaccard 38/40
    texts = family + [sentence(rng, 40) for _ in range(100)]
    groups = np.array([k % 3 for k in range(40)] + [0] * 100)
    left, right, _ = confirmed_pairs(pa.array(texts), "word", 3, 0.8, groups=groups)
    expected = brute_pairs(texts, 0.8, groups.tolist())
    assert len(expected) == 40 * 39 // 2 - 14 * 13 // 2 - 2 * (13 * 12 // 2)  # pairs across groups (14, 13, 13)
    assert set(zip(left.tolist(), right.tolist())) == set(expected)
    with pytest.raises(TooManyCandidates):
        confirmed_pairs(pa.array(texts), "word", 3, 0.8, groups=groups, max_candidates=len(expected) - 1)


def test_confirmed_pairs_make_pairs_in_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(14)
    texts = pa.array(families(rng, 5, 20))
    whole = confirmed_pairs(texts, "word", 3, 0.75, bands=64, rows=2)
    monkeypatch.setattr(minhash, "PAIR_BLOCK", 7)
    assert all(np.array_equal(x, y) for x, y in zip(confirmed_pairs(texts, "word", 3, 0.75, bands=64, rows=2), whole))


def test_check_near_limit_needs_the_near_report() -> None:
    report = leakage_report(table(["a"], ["train"]))
    with pytest.raises(SpeccError, match="near-duplicate check did not run"):
        check_leakage(report, LeakageParams(max_near=0))


# --- text units ----------------------------------------------------------------------------


def test_window_hashes_match_shared_ngrams() -> None:
    rng = random.Random(3)
    vocab = [f"w{i}" for i in range(30)]
    texts = [" ".join(rng.choice(vocab) for _ in range(rng.randint(0, 25))) for _ in range(300)]
    hashes, rows = window_hashes(*text_units(pa.array(texts), "word"), 4)
    by_text: dict[int, set[int]] = defaultdict(set)
    for h, r in zip(hashes.tolist(), rows.tolist()):
        by_text[r].add(h)

    def grams(words: list[str]) -> set[tuple[str, ...]]:
        if len(words) < 4:
            return {tuple(words)} if words else set()
        return {tuple(words[k : k + 4]) for k in range(len(words) - 3)}

    for i, j in combinations(range(60), 2):
        shared = grams(texts[i].split()) & grams(texts[j].split())
        assert bool(shared) == bool(by_text[i] & by_text[j]), (texts[i], texts[j])


@pytest.mark.parametrize("unit", ["word", "char"])
def test_text_units_and_windows_are_the_same_made_in_blocks(unit: str, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(8)
    texts = pa.chunked_array(
        [[sentence(rng, rng.randint(0, 40)) for _ in range(200)] + [None, ""], [sentence(rng, 500)]]
    )  # one text longer than a block
    whole = window_hashes(*text_units(texts, unit), 5, 2)
    monkeypatch.setattr(minhash, "BATCH_BYTES", 300)
    assert all(np.array_equal(x, y) for x, y in zip(window_hashes(*text_units(texts, unit), 5, 2), whole))


def test_text_units_normalize_and_split() -> None:
    texts = ["Hello, WORLD!", None, "", "hello world", "ｈｅｌｌｏ\u200b world"]
    tokens, offsets = text_units(pa.array(texts), "word")
    assert offsets.tolist() == [0, 2, 2, 2, 4, 6]
    assert tokens[0:2].tolist() == tokens[2:4].tolist() == tokens[4:6].tolist()
    chars, char_offsets = text_units(pa.array(["你好，世界", "你好世界!"]), "char")
    assert char_offsets.tolist() == [0, 4, 8] and chars[:4].tolist() == chars[4:].tolist()


def test_tweeteval_hate_predefined_build_reports_and_max_exact_fails(shared_data: Path, tmp_path: Path) -> None:
    """The source's own splits leak; the build report finds it and `max_exact: 0` fails listing the texts."""
    hate = shared_data / "tweeteval" / "hate"
    sources = "".join(
        f"  {prefix}:\n    type: text-lines\n    text: {hate}/{prefix}_text.txt\n"
        f"    label: {hate}/{prefix}_labels.txt\n    label_names: {hate}/mapping.txt\n    split: {prefix}\n"
        for prefix in ("train", "val", "test")
    )
    head = (
        "specc: 1\nname: tweet-hate\ndescription: TweetEval hate.\nlicense: other\n"
        "license_name: tweeteval\nlicense_link: https://github.com/cardiffnlp/tweeteval\n"
        f"allow_external_paths: true\nlanguages: [en]\ncard: {{draft: true}}\nsources:\n{sources}"
    )
    write(tmp_path / "ok.yaml", head + "split:\n  method: predefined\n  rename: {val: validation}\n")
    result = run_cli("build", "ok.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    stats = json.loads((tmp_path / "build" / "tweet-hate" / "stats.json").read_text())
    report = stats["split"]["leakage"]
    assert report["total"]["exact_pairs"] == 239
    assert report["pairs"]["train/test"]["exact_pairs"] == 236
    card = (tmp_path / "build" / "tweet-hate" / "README.md").read_text()
    assert "### Leakage between splits" in card and "| train/test | 236 |" in card
    before = (tmp_path / "build" / "tweet-hate" / "stats.json").read_bytes()

    write(
        tmp_path / "strict.yaml",
        head + "split:\n  method: predefined\n  rename: {val: validation}\n  leakage: {max_exact: 0}\n"
        "output: {dir: build/strict}\n",
    )
    strict = run_cli("build", "strict.yaml", cwd=tmp_path)
    assert strict.returncode == 1 and "Traceback" not in strict.stderr
    assert "error: split: 239 exact-duplicate pairs across splits exceed leakage.max_exact 0:" in strict.stderr
    example = report["pairs"]["train/test"]["examples"][0]
    assert example["text"][:60] in strict.stderr
    assert (tmp_path / "build" / "tweet-hate" / "stats.json").read_bytes() == before
