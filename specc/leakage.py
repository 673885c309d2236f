"""Leakage between splits: exact and near-duplicate rows shared by train, validation and test.

Also the text units both this report and the `decontaminate` step compare: texts are normalized
like `dedup` does (NFKC, no control characters, collapsed whitespace, lowercase), then cut into

- words: maximal runs of letters, digits and combining marks (punctuation and spaces separate), or
- chars: the letters, digits and marks alone (spaces and punctuation are left out), for scripts
  written without spaces (Chinese, Japanese, Thai, …).

Each unit is hashed to 64 bits (XXH3 for words, a SplitMix64 mix of the code point for chars) and
each window of n units to 64 bits with a polynomial hash computed from prefix sums, so the cost
does not grow with n and nothing loops over rows in Python.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Iterable, Literal, Sequence

from pydantic import BaseModel, ConfigDict, Field

from specc.errors import SpeccError

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

    from specc.components import LeakageParams

Unit = Literal["word", "char"]

# Languages written without spaces between words: `unit: auto` compares characters for them.
CHAR_LANGUAGES = frozenset({"zh", "ja", "ko", "th", "lo", "km", "my", "bo", "dz", "yue", "wuu", "cmn", "nan", "hak"})
# RE2: what besides spaces separates words (and is dropped in char mode). Normalized text has
# only single spaces as whitespace; leaving them out of the class makes replacing 10x faster.
NON_WORD = r"[^\p{L}\p{N}\p{M} ]+"
EXAMPLES = 5
EXAMPLE_CHARS = 200
MAX_NEAR_CANDIDATES = 5_000_000
SHINGLE_BLOCK = 50_000  # texts shingled at once, to bound memory

_Q = 0x9E3779B97F4A7C15  # odd multiplier of the window hash (invertible modulo 2**64)
_Q_INV = pow(_Q, -1, 1 << 64)
_LENGTH_SALT = 0xD6E8FEB86659FD93


class NearParams(BaseModel):
    """How the leakage report finds near-duplicate pairs: Jaccard similarity of n-gram sets."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    threshold: float = Field(0.8, gt=0, le=1,
                             description="Pairs with Jaccard similarity at least this are near duplicates.")
    unit: Literal["auto", "word", "char"] = Field(
        "auto", description="Compare word or character n-grams; auto: characters when the spec's languages "
        "include zh, ja, ko, th, lo, km, my or bo (CJK, Thai …), words otherwise.")
    ngram: int | None = Field(None, ge=1, le=64, description="Units per n-gram; default 3 words or 5 characters.")
    num_perm: int = Field(128, ge=16, le=1024, description="MinHash permutations used to find candidate pairs.")


# --- text units -------------------------------------------------------------------------------

def resolve_unit(unit: str, languages: Iterable[str]) -> Unit:
    """`word` or `char`: `auto` is char when a language is in CHAR_LANGUAGES (zh, ja, ko, th, …)."""
    if unit in ("word", "char"):
        return unit  # type: ignore[return-value]
    primary = {lang.replace("_", "-").split("-")[0].lower() for lang in languages}
    return "char" if primary & CHAR_LANGUAGES else "word"


def normalize_text(values: "pa.Array | pa.ChunkedArray") -> "pa.Array | pa.ChunkedArray":
    """Text as `dedup` compares it: NFKC, no control characters, collapsed whitespace, lowercase."""
    import pyarrow.compute as pc

    from specc.builtins.clean import clean_text

    return pc.utf8_lower(clean_text(values))


def _mix(x: "np.ndarray") -> "np.ndarray":
    """SplitMix64's finalizer over a uint64 array (a bijection that spreads every input bit)."""
    import numpy as np

    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def _flat(values: "pa.Array | pa.ChunkedArray") -> "pa.Array":
    """One contiguous array."""
    import pyarrow as pa

    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values


def text_units(values: "pa.Array | pa.ChunkedArray", unit: Unit,
               normalized: bool = False) -> tuple["np.ndarray", "np.ndarray"]:
    """Every text's units as uint64 hashes, concatenated, and the offsets (len + 1) where each text starts.

    Null texts have no units. `normalized` says the values already went through `normalize_text`.
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import xxhash

    text = values if normalized else normalize_text(values)
    if unit == "char":
        text = pc.replace_substring(pc.replace_substring_regex(text, NON_WORD, ""), " ", "")
        text = _flat(pc.fill_null(text, "")).cast(pa.large_string())
        lengths = pc.utf8_length(text).to_numpy(zero_copy_only=False).astype(np.int64)
        bounds = np.frombuffer(text.buffers()[1], np.int64)[text.offset:text.offset + len(text) + 1]
        data = text.buffers()[2]
        raw = b"" if data is None else data.to_pybytes()[bounds[0]:bounds[-1]]
        points = np.frombuffer(raw.decode("utf-8").encode("utf-32-le"), np.uint32)
        tokens = _mix(points.astype(np.uint64) + np.uint64(_LENGTH_SALT))
    else:
        text = pc.replace_substring_regex(pc.replace_substring_regex(text, NON_WORD, " "), " {2,}", " ")
        text = pc.utf8_trim(text, " ")
        text = _flat(pc.if_else(pc.equal(text, ""), pa.scalar(None, text.type), text))
        lists = pc.split_pattern(text, " ")
        lengths = pc.fill_null(pc.list_value_length(lists), 0).to_numpy(zero_copy_only=False).astype(np.int64)
        encoded = pc.dictionary_encode(pc.list_flatten(lists))
        digest = xxhash.xxh3_64_intdigest
        words = encoded.dictionary.to_pylist()
        table = np.fromiter((digest(w.encode()) for w in words), np.uint64, count=len(words))
        tokens = table[encoded.indices.to_numpy(zero_copy_only=False)]
    offsets = np.zeros(len(lengths) + 1, np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return tokens, offsets


def window_hashes(tokens: "np.ndarray", offsets: "np.ndarray", n: int,
                  min_length: int = 1) -> tuple["np.ndarray", "np.ndarray"]:
    """The hash of every window of `n` units within each text, and the text each window is in.

    A text with fewer than `n` units (but at least `min_length`) gets one hash of all its units
    instead; hashes include the window length, so a whole short text never equals an n-gram.
    """
    import numpy as np

    lengths = np.diff(offsets)
    powers = np.empty(len(tokens) + 1, np.uint64)
    inverse = np.empty(len(tokens) + 1, np.uint64)
    powers[0] = inverse[0] = 1
    np.cumprod(np.full(len(tokens), _Q, np.uint64), out=powers[1:])
    np.cumprod(np.full(len(tokens), _Q_INV, np.uint64), out=inverse[1:])
    sums = np.zeros(len(tokens) + 1, np.uint64)
    np.cumsum(tokens * powers[:-1], out=sums[1:])

    windows = np.where(lengths >= n, lengths - n + 1, 0)
    texts = np.repeat(np.arange(len(lengths)), windows)
    first = np.repeat(np.cumsum(windows) - windows, windows)
    starts = offsets[texts] + (np.arange(len(texts)) - first)
    sizes = np.full(len(starts), n, np.int64)
    short = np.flatnonzero((lengths < n) & (lengths >= max(min_length, 1)))
    texts = np.concatenate([texts, short])
    starts = np.concatenate([starts, offsets[short]])
    sizes = np.concatenate([sizes, lengths[short]])
    order = np.argsort(texts, kind="stable")
    texts, starts, sizes = texts[order], starts[order], sizes[order]
    body = (sums[starts + sizes] - sums[starts]) * inverse[starts]
    return _mix(body + sizes.astype(np.uint64) * np.uint64(_LENGTH_SALT)), texts


def shingle_sets(texts: "pa.Array | pa.ChunkedArray", unit: Unit, n: int,
                 normalized: bool = False) -> tuple["np.ndarray", "np.ndarray"]:
    """Each text's set of n-gram hashes (sorted, distinct), concatenated, with offsets (len + 1)."""
    import numpy as np

    values = _flat(texts)
    parts, counts = [], []
    for start in range(0, len(values), SHINGLE_BLOCK):
        block = values.slice(start, SHINGLE_BLOCK)
        hashes, rows = window_hashes(*text_units(block, unit, normalized), n)
        order = np.lexsort((hashes, rows))
        hashes, rows = hashes[order], rows[order]
        keep = np.ones(len(hashes), bool)
        keep[1:] = (hashes[1:] != hashes[:-1]) | (rows[1:] != rows[:-1])
        parts.append(hashes[keep])
        counts.append(np.bincount(rows[keep], minlength=len(block)))
    offsets = np.zeros(len(values) + 1, np.int64)
    if counts:
        np.cumsum(np.concatenate(counts), out=offsets[1:])
    return (np.concatenate(parts) if parts else np.zeros(0, np.uint64)), offsets


# --- near-duplicate candidates (swap for specc.builtins.near_dedup once it exists) --------------

def near_candidates(hashes: "np.ndarray", offsets: "np.ndarray", threshold: float, num_perm: int,
                    seed: int) -> "np.ndarray":
    """Candidate pairs (i < j, shape (k, 2), sorted) of sets likely to have Jaccard >= `threshold`.

    MinHash signatures are computed in numpy; datasketch's MinHashLSH bands them. Candidates may
    be false positives (callers verify) and pairs near the threshold may be missed.
    """
    import numpy as np

    try:
        from datasketch import LeanMinHash, MinHashLSH
    except ImportError:
        raise SpeccError("error: the near-duplicate leakage check needs datasketch: pip install datasketch") from None
    sizes = np.diff(offsets)
    nonempty = np.flatnonzero(sizes > 0)
    if len(nonempty) < 2:
        return np.zeros((0, 2), np.int64)
    rng = np.random.default_rng(seed & 0xFFFFFFFFFFFFFFFF)
    top = np.iinfo(np.uint64).max
    a = rng.integers(0, top, num_perm, dtype=np.uint64, endpoint=True) | np.uint64(1)
    b = rng.integers(0, top, num_perm, dtype=np.uint64, endpoint=True)
    signatures = np.empty((len(nonempty), num_perm), np.uint64)
    block = max(1, 1_000_000 // num_perm)  # shingles permuted at once
    ends, done = offsets[nonempty + 1], 0
    while done < len(nonempty):
        stop = max(done + 1, int(np.searchsorted(ends, offsets[nonempty[done]] + block, side="right")))
        sets = nonempty[done:stop]
        chunk = hashes[offsets[sets[0]]:offsets[sets[-1] + 1]]
        starts = offsets[sets] - offsets[sets[0]]
        signatures[done:stop] = np.minimum.reduceat(chunk[:, None] * a + b, starts, axis=0)
        done = stop
    # recall matters more than precision here: every candidate is verified exactly afterwards
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm, weights=(0.2, 0.8))
    sketches = [LeanMinHash(seed=seed, hashvalues=s, scheme="affine64") for s in signatures]
    with lsh.insertion_session() as session:
        for i, sketch in enumerate(sketches):
            session.insert(i, sketch, check_duplication=False)
    pairs: list[tuple[int, int]] = []
    for i, sketch in enumerate(sketches):
        pairs.extend((i, j) for j in lsh.query(sketch) if j > i)
        if len(pairs) > MAX_NEAR_CANDIDATES:
            raise SpeccError(
                f"error: split: more than {MAX_NEAR_CANDIDATES} near-duplicate candidate pairs; the data holds "
                f"large families of similar rows: remove them before the split (clean: near-dedup) "
                f"or leave `leakage.max_near` unset")
    found = np.array(sorted(pairs), np.int64).reshape(-1, 2)
    return nonempty[found]


def jaccard(hashes: "np.ndarray", offsets: "np.ndarray", pairs: "np.ndarray") -> "np.ndarray":
    """The exact Jaccard similarity of each pair of sets."""
    import numpy as np

    out = np.empty(len(pairs))
    for k, (i, j) in enumerate(pairs):
        x, y = hashes[offsets[i]:offsets[i + 1]], hashes[offsets[j]:offsets[j + 1]]
        common = len(np.intersect1d(x, y, assume_unique=True))
        union = len(x) + len(y) - common
        out[k] = common / union if union else 0.0
    return out


# --- the report -------------------------------------------------------------------------------

def default_columns(table: "pa.Table") -> list[str]:
    """`text` when the table has it, else every string column whose name does not start with `_`."""
    import pyarrow as pa

    if "text" in table.column_names:
        return ["text"]
    return [f.name for f in table.schema if not f.name.startswith("_")
            and (pa.types.is_string(f.type) or pa.types.is_large_string(f.type))]


def _keys(table: "pa.Table", columns: Sequence[str]) -> tuple["pa.ChunkedArray", "pa.ChunkedArray"]:
    """Each row's normalized key (columns joined by U+001F) and whether any part is non-empty."""
    import pyarrow as pa
    import pyarrow.compute as pc

    parts = []
    for name in columns:
        if name not in table.column_names:
            shown = ", ".join(c for c in table.column_names if not c.startswith("_"))
            raise SpeccError(f"error: split: leakage check: no column '{name}'; the columns are: {shown}")
        values = table.column(name)
        if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
            raise SpeccError(f"error: split: leakage check: column '{name}' holds {values.type}, not text")
        parts.append(pc.fill_null(normalize_text(values), ""))
    if not parts:
        raise SpeccError("error: split: leakage check: the rows have no text column to compare")
    nonempty = pc.greater(pc.utf8_length(parts[0]), 0)
    for part in parts[1:]:
        nonempty = pc.or_(nonempty, pc.greater(pc.utf8_length(part), 0))
    key = parts[0] if len(parts) == 1 else pc.binary_join_element_wise(*parts, "\x1f")
    return key, nonempty


def _shown(table: "pa.Table", columns: Sequence[str], row: int) -> str:
    """A row's text in the key columns, joined by ' | ' and cut to EXAMPLE_CHARS characters."""
    values = [table.column(c)[row].as_py() for c in columns]
    text = " | ".join("" if v is None else str(v) for v in values)
    return text if len(text) <= EXAMPLE_CHARS else text[:EXAMPLE_CHARS - 1] + "…"


def leakage_report(table: "pa.Table", columns: Sequence[str] | None = None, *,
                   order: Sequence[str] | None = None, near: NearParams | None = None,
                   languages: Sequence[str] = (), seed: int = 0) -> dict[str, Any]:
    """Rows shared across splits, for every pair of splits: exact (and with `near`, near) duplicates.

    `table` holds `_split`, `_id` and the data columns. Rows compare on `columns` (default:
    `default_columns`), normalized like `dedup` does; rows whose key columns are all empty or
    null are left out. Near pairs have Jaccard >= threshold over n-gram sets and are not exact
    duplicates. Counts are row pairs; `*_rows` count the distinct rows of each split involved.
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    from specc.output import order_splits

    columns = list(columns) if columns else default_columns(table)
    split_col = table.column("_split")
    present = [s for s in pc.unique(split_col).to_pylist() if s is not None]
    splits = [s for s in (order or []) if s in present]
    splits += order_splits([s for s in present if s not in splits], [])
    key, nonempty = _keys(table, columns)
    rank = pc.index_in(split_col, value_set=pa.array(splits, pa.string()))
    rows = pa.table({"key": key, "split": rank, "row": pa.array(np.arange(table.num_rows, dtype=np.int64))})
    rows = rows.filter(pc.and_(nonempty, pc.is_valid(rank)))
    # sorted by first row, so text numbers follow the table's order whatever threads group_by used
    groups = rows.group_by(["key", "split"]).aggregate([("row", "count"), ("row", "min")]).sort_by("row_min")
    encoded = pc.dictionary_encode(groups.column("key")).combine_chunks()
    texts, text_of = encoded.dictionary, encoded.indices.to_numpy(zero_copy_only=False)
    group_split = groups.column("split").to_numpy().astype(np.int64)
    counts = np.zeros((len(texts), len(splits)), np.int64)
    counts[text_of, group_split] = groups.column("row_count").to_numpy()
    firsts = np.full((len(texts), len(splits)), table.num_rows, np.int64)
    firsts[text_of, group_split] = groups.column("row_min").to_numpy()

    pair_names = [(a, b) for a in range(len(splits)) for b in range(a + 1, len(splits))]
    report_pairs: dict[str, dict[str, Any]] = {}
    wanted: set[int] = set()  # texts whose ids the examples show
    shared = np.flatnonzero((counts > 0).sum(axis=1) > 1)
    for a, b in pair_names:
        both = shared[(counts[shared, a] > 0) & (counts[shared, b] > 0)]
        first = np.minimum(firsts[both, a], firsts[both, b])
        chosen = both[np.argsort(first, kind="stable")[:EXAMPLES]]
        wanted.update(chosen.tolist())
        report_pairs[f"{splits[a]}/{splits[b]}"] = {
            "exact_pairs": int((counts[both, a] * counts[both, b]).sum()),
            "exact_rows": {splits[a]: int(counts[both, a].sum()), splits[b]: int(counts[both, b].sum())},
            "exact_texts": len(both),
            "examples": [("exact", int(t), a, b) for t in chosen],
        }
        if near is not None:
            report_pairs[f"{splits[a]}/{splits[b]}"]["near_examples"] = []

    near_info = None
    if near is not None:
        unit = resolve_unit(near.unit, languages)
        n = near.ngram or (3 if unit == "word" else 5)
        near_info = {"threshold": near.threshold, "unit": unit, "ngram": n, "num_perm": near.num_perm}
        found, similarity = _near_pairs(texts, counts, unit, n, near, seed)
        for a, b in pair_names:
            u, v = found[:, 0], found[:, 1]
            forward = counts[u, a] * counts[v, b]
            backward = counts[u, b] * counts[v, a]
            hit = (forward + backward) > 0
            left = np.unique(np.concatenate([u[hit & (counts[u, a] > 0) & (counts[v, b] > 0)],
                                             v[hit & (counts[v, a] > 0) & (counts[u, b] > 0)]]))
            right = np.unique(np.concatenate([v[hit & (counts[u, a] > 0) & (counts[v, b] > 0)],
                                              u[hit & (counts[v, a] > 0) & (counts[u, b] > 0)]]))
            index = np.flatnonzero(hit)
            first = np.minimum(firsts[u[index]].min(axis=1), firsts[v[index]].min(axis=1))
            chosen = index[np.lexsort((v[index], u[index], first))[:EXAMPLES]]
            examples = []
            for k in chosen:
                x, y = (u[k], v[k]) if forward[k] > 0 else (v[k], u[k])
                wanted.update((int(x), int(y)))
                examples.append(("near", (int(x), int(y), round(float(similarity[k]), 4)), a, b))
            entry = report_pairs[f"{splits[a]}/{splits[b]}"]
            entry["near_pairs"] = int((forward + backward).sum())
            entry["near_rows"] = {splits[a]: int(counts[left, a].sum()), splits[b]: int(counts[right, b].sum())}
            entry["near_examples"] = examples

    ids = _example_ids(table, rows, texts, sorted(wanted))
    for entry in report_pairs.values():
        for name in ("examples", "near_examples"):
            if name in entry:
                entry[name] = [_example(table, columns, splits, firsts, ids, *e) for e in entry[name]]
    total = {"exact_pairs": sum(p["exact_pairs"] for p in report_pairs.values())}
    if near_info is not None:
        total["near_pairs"] = sum(p["near_pairs"] for p in report_pairs.values())
    return {
        "columns": columns,
        "rows": {s: int(counts[:, i].sum()) for i, s in enumerate(splits)},
        "pairs": report_pairs,
        "total": total,
        "near": near_info,
    }


def _near_pairs(texts: "pa.Array", counts: "np.ndarray", unit: Unit, n: int, near: NearParams,
                seed: int) -> tuple["np.ndarray", "np.ndarray"]:
    """Verified near pairs (u < v) of distinct texts that can pair rows of two splits, and their Jaccard."""
    import numpy as np

    if counts.shape[1] < 2:
        return np.zeros((0, 2), np.int64), np.zeros(0)
    hashes, offsets = shingle_sets(texts, unit, n, normalized=True)
    candidates = near_candidates(hashes, offsets, near.threshold, near.num_perm, seed)
    single = (counts > 0).sum(axis=1) == 1
    only = np.argmax(counts > 0, axis=1)
    u, v = candidates[:, 0], candidates[:, 1]
    candidates = candidates[~(single[u] & single[v] & (only[u] == only[v]))]  # both in one same split
    similarity = jaccard(hashes, offsets, candidates)
    keep = similarity >= near.threshold
    return candidates[keep], similarity[keep]


def _example_ids(table: "pa.Table", rows: "pa.Table", texts: "pa.Array",
                 wanted: list[int]) -> dict[tuple[int, int], tuple[list[str], int]]:
    """For each wanted text and split: the first EXAMPLES `_id`s (in table order) and how many rows."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not wanted:
        return {}
    keys = texts.take(pa.array(wanted, pa.int64()))
    hits = rows.filter(pc.is_in(rows.column("key"), value_set=keys)).sort_by("row")
    position = {k: i for i, k in zip(wanted, keys.to_pylist())}
    found: dict[tuple[int, int], tuple[list[str], int]] = {}
    id_column = table.column("_id")
    columns = (hits.column(name).to_pylist() for name in ("key", "split", "row"))
    for k, s, r in zip(*columns):
        shown, count = found.get((position[k], s), ([], 0))
        if len(shown) < EXAMPLES:
            shown.append(str(id_column[r].as_py()))
        found[(position[k], s)] = (shown, count + 1)
    return found


def _example(table: "pa.Table", columns: Sequence[str], splits: list[str], firsts: "np.ndarray",
             ids: dict[tuple[int, int], tuple[list[str], int]], kind: str, what: Any, a: int,
             b: int) -> dict[str, Any]:
    """One example as JSON: the text(s), up to EXAMPLES ids per split and the rows per split."""
    if kind == "exact":
        t = what
        first = int(min(firsts[t, a], firsts[t, b]))
        return {"text": _shown(table, columns, first),
                "ids": {splits[a]: ids[(t, a)][0], splits[b]: ids[(t, b)][0]},
                "rows": {splits[a]: ids[(t, a)][1], splits[b]: ids[(t, b)][1]}}
    x, y, similarity = what
    return {"jaccard": similarity,
            "texts": {splits[a]: _shown(table, columns, int(firsts[x, a])),
                      splits[b]: _shown(table, columns, int(firsts[y, b]))},
            "ids": {splits[a]: ids[(x, a)][0], splits[b]: ids[(y, b)][0]},
            "rows": {splits[a]: ids[(x, a)][1], splits[b]: ids[(y, b)][1]}}


# --- limits and display -----------------------------------------------------------------------

def _example_lines(example: dict[str, Any]) -> list[str]:
    """An example as indented lines: the text(s) quoted, then the ids per split."""
    def ids(split: str) -> str:
        shown, count = example["ids"][split], example["rows"][split]
        more = f" (+{count - len(shown)} more)" if count > len(shown) else ""
        return f"{split}: {', '.join(shown)}{more}"

    splits = list(example["ids"])
    if "text" in example:
        return [f"    {json.dumps(example['text'], ensure_ascii=False)}", f"      {'; '.join(ids(s) for s in splits)}"]
    lines = [f"    jaccard {example['jaccard']}:"]
    lines += [f"      {ids(s)}: {json.dumps(example['texts'][s], ensure_ascii=False)}" for s in splits]
    return lines


def _plural(n: int, noun: str) -> str:
    """'1 pair', '2 pairs'."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def check_leakage(report: dict[str, Any], limits: "LeakageParams") -> None:
    """Raise a SpeccError listing the offending split pairs and examples when a limit is exceeded."""
    messages = []
    checks = [("exact", "max_exact", "exact-duplicate",
               "deduplicate before the split (clean: {type: dedup}), split by a group column so copies share "
               "a split, or raise leakage.max_exact"),
              ("near", "max_near", "near-duplicate",
               "remove near duplicates before the split (clean: {type: near-dedup}), split by a group column, "
               "or raise leakage.max_near")]
    for kind, limit_name, what, fix in checks:
        limit = getattr(limits, limit_name)
        if limit is None:
            continue
        if kind == "near" and report.get("near") is None:
            raise SpeccError("error: split: leakage.max_near is set but the near-duplicate check did not run "
                             "(executor bug: pass `near` to leakage_report)")
        found = report["total"][f"{kind}_pairs"]
        if found <= limit:
            continue
        verb = "exceeds" if found == 1 else "exceed"
        lines = [f"error: split: {_plural(found, what + ' pair')} across splits {verb} leakage.{limit_name} {limit}:"]
        for name, entry in report["pairs"].items():
            pairs = entry[f"{kind}_pairs"]
            if not pairs:
                continue
            rows = ", ".join(f"{_plural(n, s + ' row')}" for s, n in entry[f"{kind}_rows"].items())
            lines.append(f"  {name}: {_plural(pairs, 'pair')} ({rows})")
            for example in entry["examples" if kind == "exact" else "near_examples"]:
                lines += _example_lines(example)
        near = report.get("near")
        if kind == "near" and near:
            lines.append(f"  (Jaccard >= {near['threshold']} over {near['ngram']}-{near['unit']} n-grams)")
        lines.append(f"  fix: {fix}")
        messages.append("\n".join(lines))
    if messages:
        raise SpeccError("\n".join(messages))


def _counts(rows: dict[str, int]) -> str:
    """'train: 3, test: 2'."""
    return ", ".join(f"{split}: {n}" for split, n in rows.items())


def leakage_markdown(report: dict[str, Any]) -> str:
    """A Markdown table of the report for the dataset card: one line per pair of splits."""
    near = report.get("near") is not None
    head = "| Splits | Exact-duplicate pairs | Rows involved |"
    head += " Near-duplicate pairs | Rows involved |" if near else ""
    rule = "|---|---:|---|" + ("---:|---|" if near else "")
    lines = [head, rule]
    for name, entry in report["pairs"].items():
        line = f"| {name} | {entry['exact_pairs']} | {_counts(entry['exact_rows'])} |"
        if near:
            line += f" {entry['near_pairs']} | {_counts(entry['near_rows'])} |"
        lines.append(line)
    return "\n".join(lines)
