"""Tests of the near-dedup clean step: MinHash + LSH, verified by exact Jaccard, drop or group."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pydantic import ValidationError

from specc import minhash
from specc.builtins.near_dedup import GROUP_COLUMN, NearDedup
from specc.components import Context, StepResult
from specc.errors import SpeccError
from specc.minhash import ShingleSets, resolve_unit
from specc.plugins import get_registry
from tests.conftest import run_cli, write

SEED = 20261128
CONTEXT = Context(step_id="clean.near-dedup", seed=SEED, spec_dir=Path("."), languages=("en",))
WORDS = """time year people way day man thing woman life child world school state family student group
country problem hand part place case week company system program question work government number night
point home water room mother area money story fact month lot right study book eye job word business
issue side kind head house service friend father power hour game line end member law car city
community name president team minute idea kid body information back parent face others level office
door health person art war history party result change morning reason research girl guy moment air
teacher force education""".split()


def run(table: pa.Table, context: Context = CONTEXT, **params) -> StepResult:
    """Apply near-dedup with `params` to `table`."""
    return NearDedup(NearDedup.Params(**params), context).apply(table)


def make_table(text: list[str | None]) -> pa.Table:
    """A table with an `_id` per row, `text`, and a `_source`."""
    n = len(text)
    return pa.table({"_id": [f"s:{i}" for i in range(n)], "text": pa.array(text, pa.string()), "_source": ["s"] * n})


def shingle_sets(values: pa.Array | pa.ChunkedArray, unit: str, ngram: int) -> tuple[np.ndarray, np.ndarray]:
    """Each text's distinct shingles, sorted, concatenated, and offsets (len + 1): what verification compares."""
    sets = ShingleSets(values, unit, ngram)
    return sets.keys & sets.low, sets.offsets


def sentence(rng: random.Random, words: int = 30) -> str:
    """A random English-like sentence."""
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize() + "."


def english_rows() -> tuple[list[str], dict[int, int]]:
    """Distinct sentences with known near duplicates; returns texts and {duplicate row: its first row}."""
    rng = random.Random(3)
    base = [sentence(rng) for _ in range(200)]
    rows = list(base)
    first: dict[int, int] = {}
    for k in range(0, 60, 3):  # every third of the first 60 sentences gets three variants
        words = base[k].rstrip(".").split()
        variants = [
            " ".join(words[:-1]) + ".",  # last word dropped: 27 of 28 3-grams shared
            base[k].upper().replace(" ", "  ") + "!!",  # the same text once normalized
            " ".join(words + ["again"]),  # a word added
        ]
        for text in variants:
            first[len(rows)] = k
            rows.append(text)
    for k in range(60, 80):  # far variants: half the words replaced, never near duplicates
        words = base[k].split()
        rows.append(" ".join(w if i % 2 else rng.choice(WORDS) for i, w in enumerate(words)))
    return rows, first


# --- registration and params -------------------------------------------------------------


def test_register_steps_registers_the_step():
    assert get_registry().get("step", "near-dedup").cls is NearDedup
    assert NearDedup.name == "near-dedup" and NearDedup.scope == "global"


def test_every_param_is_described_and_extra_keys_are_rejected():
    assert all(field.description for field in NearDedup.Params.model_fields.values())
    with pytest.raises(ValidationError, match="typo"):
        NearDedup.Params(typo=1)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"threshold": 0}, "greater than 0"),
        ({"threshold": 1.5}, "less than or equal to 1"),
        ({"threshold": -0.2}, "greater than 0"),
        ({"num_perm": 4}, "greater than or equal to 8"),
        ({"ngram": 0}, "greater than or equal to 1"),
        ({"unit": "token"}, "'auto', 'word' or 'char'"),
        ({"mode": "remove"}, "'drop' or 'group'"),
        ({"bands": 8}, "give both `bands` and `rows`, or neither"),
        ({"rows": 8}, "give both `bands` and `rows`, or neither"),
        ({"bands": 20, "rows": 10}, r"bands x rows \(20 x 10\) is more than num_perm \(128\)"),
        ({"bands": 0, "rows": 4}, "greater than or equal to 1"),
    ],
)
def test_impossible_params_are_rejected(params, message):
    with pytest.raises(ValidationError, match=message):
        NearDedup.Params(**params)


def test_bad_threshold_is_a_spec_error_naming_the_line(tmp_path: Path):
    spec = write(tmp_path / "spec.yaml", SPEC.format(clean="{type: near-dedup, threshold: 1.5}"))
    write(tmp_path / "rows.jsonl", '{"text": "a"}\n')
    result = run_cli("validate", str(spec))
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"{spec}:15:35: error: clean[0].threshold: Input should be less than or equal to 1; got 1.5"
    )


def test_module_import_stays_light():
    code = "import sys, specc.builtins.near_dedup; print(sorted({'numpy', 'pyarrow', 'datasketch'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# --- the pieces, pinned against datasketch and brute force ------------------------------------


def test_default_bands_and_rows_match_datasketch():
    lsh = pytest.importorskip("datasketch.lsh")
    for num_perm in (16, 64, 128, 256):
        for threshold in (0.1, 0.3, 0.5, 0.7, 0.8, 0.85, 0.9, 0.95, 1.0):
            for weights in ((0.5, 0.5), (0.1, 0.9), (0.3, 0.7)):
                ours = minhash.optimal_bands(threshold, num_perm, *weights)
                assert ours == lsh._optimal_param(threshold, num_perm, *weights), (threshold, num_perm, weights)
    assert minhash.optimal_bands(0.8, 128, *minhash.LSH_WEIGHTS[True]) == (14, 9)
    assert minhash.optimal_bands(0.8, 128, *minhash.LSH_WEIGHTS[False]) == (9, 13)


def test_signatures_equal_datasketch_minhash():
    datasketch = pytest.importorskip("datasketch")
    rows, _ = english_rows()
    text = minhash._normalized(pa.array(rows[:50] + ["短文本", "x"]))
    hashes, offsets = minhash.shingles(text, "word", 3)
    a, b = minhash.permutations(64, SEED)
    ours = minhash.signatures(hashes, offsets, a, b)
    for k in range(len(offsets) - 1):
        sketch = datasketch.MinHash(num_perm=64, seed=SEED & 0xFFFFFFFF, hashfunc=int, scheme="affine32")
        sketch.update_batch([int(h) >> 32 for h in hashes[offsets[k] : offsets[k + 1]]])
        assert np.array_equal(sketch.hashvalues, ours[k]), k


def test_long_texts_are_signed_in_pieces(monkeypatch):
    rng = np.random.default_rng(0)
    hashes = rng.integers(0, 2**63, 5000, dtype=np.uint64)
    offsets = np.array([0, 3, 4000, 4001, 5000])
    a, b = minhash.permutations(32, 1)
    whole = minhash.signatures(hashes, offsets, a, b)
    monkeypatch.setattr(minhash, "SIGNATURE_BLOCK", 32 * 100)  # 100 shingles per block
    assert np.array_equal(minhash.signatures(hashes, offsets, a, b), whole)
    inputs = minhash._fmix32((hashes >> np.uint64(32)).astype(np.uint32))
    expected = [(inputs[lo:hi, None] * a + b).min(axis=0) for lo, hi in zip(offsets[:-1], offsets[1:])]
    assert np.array_equal(whole, np.array(expected))


def test_units_and_shingles():
    text = pa.array(["the cat  sat, on the mat", "a-b c", "", "猫坐在垫子上。", "x"])
    units, offsets = minhash.text_units(text, "word")
    assert np.diff(offsets).tolist() == [6, 3, 0, 1, 1]  # punctuation separates words
    assert units[0] == units[4]  # "the" twice
    units, offsets = minhash.text_units(text, "char")
    assert np.diff(offsets).tolist() == [17, 3, 0, 6, 1]  # spaces and punctuation left out
    hashes, offsets = minhash.shingles(text, "word", 3)
    assert np.diff(offsets).tolist() == [4, 1, 0, 1, 1]  # short texts: one shingle of all units
    sets, set_offsets = shingle_sets(pa.array(["a b a b a b", None, "A B A B A B!"]), "word", 2)
    assert np.diff(set_offsets).tolist() == [2, 0, 2]  # {"a b", "b a"}; null has none
    assert sets[0:2].tolist() == sets[2:4].tolist()


@pytest.mark.parametrize(
    ("languages", "texts", "unit"),
    [
        (("zh",), ["plain english words"], "char"),
        (("zh-Hant",), [], "char"),
        (("ko",), [], "char"),
        (("th_TH",), [], "char"),
        (("en",), ["plain english words", None], "word"),
        ((), [], "word"),
        ((), ["今天的外卖很好吃", "送餐很快", None, "ok"], "char"),
        (("en",), ["これは日本語の文です", "iPhone 手机很好用"], "char"),
        (("en", "fr"), ["mostly english with one 字"], "word"),
    ],
)
def test_auto_unit(languages, texts, unit):
    assert resolve_unit("auto", languages, pa.chunked_array([pa.array(texts, pa.string())])) == unit


def test_explicit_unit_wins():
    assert resolve_unit("word", ("zh",), pa.array(["中文"])) == "word"
    assert resolve_unit("char", ("en",), pa.array(["english"])) == "char"


# --- behaviour of the step -----------------------------------------------------------------


def test_drop_keeps_the_first_row_of_each_cluster():
    rows, first = english_rows()
    before = make_table(rows)
    result = run(before)
    dropped = result.dropped["near-duplicate"].to_pylist()
    assert [i for i, d in enumerate(dropped) if d] == sorted(first)
    assert result.table.column("_id").to_pylist() == [f"s:{i}" for i in range(len(rows)) if i not in first]
    assert result.table.column_names == before.column_names


def test_drop_keeps_the_first_in_input_order_even_when_it_is_the_variant():
    rng = random.Random(9)
    original = sentence(rng)
    variant = original.rstrip(".") + " indeed."
    other = sentence(rng)
    result = run(make_table([other, variant, original, variant]))
    assert result.table.column("text").to_pylist() == [other, variant]
    assert result.dropped["near-duplicate"].to_pylist() == [False, False, True, True]


def test_group_adds_the_position_of_the_clusters_first_row():
    rows, first = english_rows()
    result = run(make_table(rows), mode="group")
    assert result.dropped == {}
    assert result.table.num_rows == len(rows)
    assert result.table.schema.field(GROUP_COLUMN).type == pa.int64()
    groups = result.table.column(GROUP_COLUMN).to_pylist()
    expected = [None] * len(rows)
    for row, head in first.items():
        expected[row] = expected[head] = head
    assert groups == expected


def test_group_replaces_an_existing_group_column():
    rows, first = english_rows()
    before = make_table(rows).append_column(GROUP_COLUMN, pa.array([7] * len(rows), pa.int64()))
    result = run(before, mode="group")
    assert result.table.column_names == before.column_names
    assert result.table.column(GROUP_COLUMN).null_count == len(rows) - 4 * len(set(first.values()))


def test_empty_and_null_texts_are_never_duplicates():
    text = ["", None, "", None, "  ", "...", "!!!", "\u200b", "real text here", "REAL text here!"]
    result = run(make_table(text), mode="group")
    assert result.table.column(GROUP_COLUMN).to_pylist() == [None] * 8 + [8, 8]
    dropped = run(make_table(text)).dropped["near-duplicate"].to_pylist()
    assert dropped == [False] * 9 + [True]


def test_empty_table():
    empty = make_table([])
    result = run(empty)
    assert result.table.num_rows == 0 and len(result.dropped["near-duplicate"]) == 0
    assert run(empty, mode="group").table.column_names == [*empty.column_names, GROUP_COLUMN]


def test_threshold_decides():
    base = " ".join(f"w{i}" for i in range(12))  # 10 word 3-grams
    near = base + " w12"  # 11 3-grams, 10 shared: Jaccard 10/11 = 0.909
    table = make_table([base, near])
    assert run(table, threshold=0.9).dropped["near-duplicate"].to_pylist() == [False, True]
    assert run(table, threshold=0.92).dropped["near-duplicate"].to_pylist() == [False, False]
    assert run(table, threshold=1.0).dropped["near-duplicate"].to_pylist() == [False, False]
    assert run(make_table([base, base.upper()]), threshold=1.0).dropped["near-duplicate"].to_pylist() == [False, True]


def test_large_families_of_duplicates_are_one_cluster():
    rng = random.Random(4)
    family = sentence(rng, 40)
    words = family.split()
    rows = [family] * 50 + [" ".join(words[:-1])] * 30 + [sentence(rng, 40) for _ in range(20)]
    rows += [" ".join(words[1:]) + " more"] * 3
    order = list(range(len(rows)))
    random.Random(5).shuffle(order)
    shuffled = [rows[i] for i in order]
    groups = run(make_table(shuffled), mode="group").table.column(GROUP_COLUMN).to_pylist()
    in_family = [i for i, k in enumerate(order) if k < 80 or k >= 100]
    assert {groups[i] for i in in_family} == {in_family[0]}
    assert all(groups[i] is None for i, k in enumerate(order) if 80 <= k < 100)


def test_clusters_equal_brute_force_components_when_every_pair_is_a_candidate():
    # bands of one value each: nearly every overlapping pair is a candidate, buckets are large
    rng = random.Random(11)
    rows = []
    for _ in range(40):
        words = sentence(rng, 12).split()
        rows.append(" ".join(words))
        for _ in range(rng.randrange(0, 4)):
            edited = list(words)
            edited[rng.randrange(len(edited))] = rng.choice(WORDS)
            rows.append(" ".join(edited if rng.random() < 0.5 else words[:-1]))
    rng.shuffle(rows)
    groups = run(make_table(rows), mode="group", threshold=0.7, bands=128, rows=1).table.column(GROUP_COLUMN)
    sets, offsets = shingle_sets(pa.array(rows), "word", 3)
    parent = list(range(len(rows)))
    for i in range(len(rows)):
        for j in range(i + 1, len(rows)):
            x, y = set(sets[offsets[i] : offsets[i + 1]]), set(sets[offsets[j] : offsets[j + 1]])
            if len(x & y) >= 0.7 * len(x | y):
                ri, rj = i, j
                while parent[ri] != ri:
                    ri = parent[ri]
                while parent[rj] != rj:
                    rj = parent[rj]
                parent[max(ri, rj)] = min(ri, rj)

    def root(i: int) -> int:
        """The representative of i's component."""
        while parent[i] != i:
            i = parent[i]
        return i

    roots = [root(i) for i in range(len(rows))]
    expected = [r if roots.count(r) > 1 else None for r in roots]
    assert groups.to_pylist() == expected


def test_non_string_and_missing_columns_are_errors():
    with pytest.raises(SpeccError, match=r"clean.near-dedup.*column 'text' has type int64"):
        run(pa.table({"text": [1, 2]}))
    with pytest.raises(SpeccError, match="no column 'body'"):
        run(make_table(["a"]), column="body")


def test_seed_changes_nothing_for_clear_duplicates():
    rows, first = english_rows()
    for seed in (1, 2, 3):
        context = Context(step_id="x", seed=seed, spec_dir=Path("."), languages=("en",))
        dropped = run(make_table(rows), context).dropped["near-duplicate"].to_pylist()
        assert [i for i, d in enumerate(dropped) if d] == sorted(first)


# --- precision and recall against brute force on real Chinese text ------------------------------


def perturbed_copies(texts: list[str], count: int, seed: int) -> list[str]:
    """Copies of random texts of 20+ characters with one to three characters deleted, replaced or inserted."""
    rng = np.random.default_rng(seed)
    long = [t for t in texts if len(t) >= 20]
    alphabet = list("好吃味道送餐快慢一般不错很")
    copies = []
    for k in rng.choice(len(long), count, replace=False):
        chars = list(long[k])
        for _ in range(int(rng.integers(1, 4))):
            op, at = int(rng.integers(0, 3)), int(rng.integers(0, len(chars)))
            if op == 0 and len(chars) > 1:
                del chars[at]
            elif op == 1:
                chars[at] = alphabet[int(rng.integers(0, len(alphabet)))]
            else:
                chars.insert(at, alphabet[int(rng.integers(0, len(alphabet)))])
        copies.append("".join(chars))
    return copies


def pair_scores(groups: np.ndarray, left: np.ndarray, right: np.ndarray, true: np.ndarray) -> tuple[float, float]:
    """Recall and precision of "same group" as the pair decision; `true` marks the pairs at or over the threshold."""
    # left/right list every pair that shares a shingle; the decided pairs are all pairs within each
    # group (a pair sharing no shingle can only be in a group through a chain of near duplicates)
    same = (groups[left] >= 0) & (groups[left] == groups[right])
    hits = int(np.count_nonzero(same & true))
    _, sizes = np.unique(groups[groups >= 0], return_counts=True)
    decided = int((sizes * (sizes - 1) // 2).sum())
    return hits / max(int(true.sum()), 1), hits / max(decided, 1)


@pytest.mark.shared_data
def test_precision_and_recall_against_brute_force_on_chinese_reviews(shared_data: Path):
    sparse = pytest.importorskip("scipy.sparse")
    import pyarrow.csv as pcsv

    reviews = pcsv.read_csv(shared_data / "zh" / "waimai_10k.csv")
    assert reviews.column_names == ["label", "review"]
    texts = reviews.column("review").to_pylist()
    texts += perturbed_copies(texts, 1000, seed=5)  # near duplicates around the threshold
    order = np.random.default_rng(6).permutation(len(texts))
    texts = [texts[i] for i in order]
    table = pa.table({"_id": [f"w:{i}" for i in range(len(texts))], "text": texts})
    threshold = 0.8

    # brute force: the exact Jaccard of every pair of texts that share a character 5-gram
    sets, offsets = shingle_sets(table.column("text"), "char", 5)
    sizes = np.diff(offsets)
    _, column = np.unique(sets, return_inverse=True)
    incidence = sparse.csr_matrix((np.ones(len(sets), np.int32), (np.repeat(np.arange(len(texts)), sizes), column)))
    common = sparse.triu(incidence @ incidence.T, k=1).tocoo()
    left, right = common.row, common.col
    jaccard = common.data / (sizes[left] + sizes[right] - common.data)
    true = jaccard >= threshold
    assert true.sum() > 250  # 89 exact duplicates among the reviews, the rest from the copies

    zh = Context(step_id="clean.near-dedup", seed=SEED, spec_dir=Path("."), languages=("zh",))
    result = run(table, zh, mode="group", threshold=threshold)
    groups = result.table.column(GROUP_COLUMN).fill_null(-1).to_numpy()
    recall, precision = pair_scores(groups, left, right, true)
    report = f"recall {recall:.4f}, precision {precision:.4f} over {int(true.sum())} true pairs of {len(texts)} texts"
    print(f"\nnear-dedup on waimai_10k + 1000 edited copies (char 5-grams, threshold {threshold}): {report}")
    assert recall >= 0.9 and precision >= 0.9, report

    # the measure can fail: one band of 64 values finds few pairs, no verification merges too many
    groups = run(table, zh, mode="group", threshold=threshold, bands=1, rows=64).table.column(GROUP_COLUMN)
    assert pair_scores(groups.fill_null(-1).to_numpy(), left, right, true)[0] < 0.9
    groups = run(table, zh, mode="group", threshold=threshold, bands=64, rows=2, verify=False).table[GROUP_COLUMN]
    assert pair_scores(groups.fill_null(-1).to_numpy(), left, right, true)[1] < 0.9


# --- real builds through the CLI ------------------------------------------------------------

SPEC = """\
specc: 1
name: near-dedup-test
version: 1.0.0
description: Rows with known near duplicates.
license: cc-by-4.0
languages: [en]
task: text-classification
seed: 7
sources:
  rows:
    type: jsonl
    path: rows.jsonl
    license: cc-by-4.0
clean:
  - {clean}
card: {{draft: true}}
output: {{dir: out}}
"""


def write_build(folder: Path, clean: str) -> Path:
    """A spec reading the English rows with known near duplicates, and its data; returns the spec."""
    rows, _ = english_rows()
    write(folder / "rows.jsonl", "".join(json.dumps({"text": t, "label": i % 3}) + "\n" for i, t in enumerate(rows)))
    return write(folder / "spec.yaml", SPEC.format(clean=clean))


def output_file(folder: Path) -> Path:
    """The one Parquet file of the build in `folder`."""
    (path,) = (folder / "out" / "data").glob("*.parquet")
    return path


def test_build_counts_near_duplicates_in_stats(tmp_path: Path):
    spec = write_build(tmp_path, "{type: near-dedup, threshold: 0.8}")
    result = run_cli("build", str(spec), "--cache-dir", str(tmp_path / "cache"))
    assert result.returncode == 0, result.stderr
    rows, first = english_rows()
    stats = json.loads((tmp_path / "out" / "stats.json").read_text())
    (step,) = [s for s in stats["steps"] if s["id"] == "clean.near-dedup"]
    assert step["dropped"] == {"near-duplicate": len(first)}
    assert step["rows_in"] == len(rows) and step["rows_out"] == len(rows) - len(first)
    kept = pq.read_table(output_file(tmp_path)).column("_id").to_pylist()
    assert kept == [f"rows:{i}" for i in range(len(rows)) if i not in first]


def test_build_in_group_mode_writes_the_group_column(tmp_path: Path):
    spec = write_build(tmp_path, "{type: near-dedup, mode: group}")
    result = run_cli("build", str(spec), "--cache-dir", str(tmp_path / "cache"))
    assert result.returncode == 0, result.stderr
    out = pq.read_table(output_file(tmp_path))
    rows, first = english_rows()
    assert out.num_rows == len(rows)
    groups = out.column(GROUP_COLUMN).to_pylist()
    assert {row: groups[row] for row in first} == first


def test_output_bytes_do_not_depend_on_pythonhashseed(tmp_path: Path):
    spec = write_build(tmp_path, "{type: near-dedup, threshold: 0.7, mode: group}")
    digests = []
    for hashseed in ("1", "987654"):
        result = run_cli(
            "build", str(spec), "--cache-dir", str(tmp_path / f"cache-{hashseed}"), env={"PYTHONHASHSEED": hashseed}
        )
        assert result.returncode == 0, result.stderr
        digests.append(output_file(tmp_path).read_bytes())
    assert digests[0] == digests[1]
    assert pq.read_table(output_file(tmp_path)).column(GROUP_COLUMN).null_count < len(english_rows()[0])
