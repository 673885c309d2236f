"""The `near-dedup` clean step: near-duplicate rows found with MinHash and LSH banding.

How it works, all in numpy (no Python loop over rows, no Python `hash()`):

1. Texts are normalized like `dedup` does (`clean_text`: NFKC, no control characters, collapsed
   whitespace; then lowercase) and cut into units: words (maximal runs of letters, digits and
   combining marks) or characters (letters, digits and marks only; spaces and punctuation are
   left out), the same units as the leakage report. Each unit is hashed to 64 bits (a polynomial
   hash of its code points, then a SplitMix64 mix) and each window of `ngram` units to 64 bits
   from prefix sums, so the cost does not grow with `ngram`. A text with fewer units than
   `ngram` has one shingle of all its units.
2. MinHash signatures use datasketch's `affine32` scheme bit for bit: the top 32 bits of a
   shingle hash, MurmurHash3's fmix32, then `a * h + b mod 2**32` with odd `a`, `a` and `b` from
   `numpy.random.RandomState(seed mod 2**32)` as datasketch draws them. Texts are shingled and
   signed about 4 MB of text at a time and the signatures turned into band keys at once, so
   memory stays bounded: only `bands` 64-bit keys per row are kept across batches.
3. LSH banding: each band's rows are hashed to a 64-bit key and rows are grouped by sorting the
   keys. Buckets of up to 32 rows give all their pairs as candidates; larger buckets (big
   families of duplicates) are resolved in rounds: the first remaining row is compared with the
   others and those that match leave the bucket.
4. With `verify` (the default) every candidate pair is confirmed by the exact Jaccard similarity
   of the two shingle sets (recomputed only for rows in some candidate pair), so no pair below
   the threshold is ever merged by chance. Clusters are the connected components of the
   confirmed pairs; a cluster's id is the position of its first row in the step's input.

Empty and null texts, and texts without a letter or digit, have no shingles: they are never
near duplicates of anything, each other included (exact `dedup` handles repeated empty texts).

Why numpy and not datasketch (benchmarks/bench_near_dedup.py, 1M synthetic English rows, word
3-grams, 128 permutations, 2 CPUs): this step takes 16-18 s and 0.7 GB; datasketch 2.0's
`MinHash.bulk` and `MinHashLSH.insert(prepickle=False)` on the same shingles with the same
bands, verified and clustered the same way, take 285-377 s and 7.4 GB (its per-row Python work
dominates), and find the same clusters. So datasketch is not needed at run time; tests check
that the signatures and the default bands x rows equal datasketch's.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Literal

from pydantic import Field, model_validator

from specc.components import Params, Step, StepResult
from specc.hookspecs import Register, hookimpl

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

Unit = Literal["word", "char"]

GROUP_COLUMN = "_near_dup_group"
# Languages written without spaces between words (or, for Korean, whose words are long
# agglutinated forms): `unit: auto` compares characters for them.
CHAR_LANGUAGES = frozenset({"zh", "ja", "ko", "th", "lo", "km", "my", "bo", "dz", "yue", "wuu", "cmn", "nan", "hak"})
# Characters of scripts written without spaces, to detect them in the text itself.
NO_SPACE_SCRIPTS = r"[\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}\p{Thai}\p{Lao}\p{Khmer}\p{Myanmar}\p{Tibetan}]"
SAMPLE_ROWS = 1000  # texts looked at by `unit: auto` when the languages do not decide
CHAR_SHARE = 0.3  # share of letters in those scripts from which `auto` compares characters
DEFAULT_NGRAM = {"word": 3, "char": 5}
# False positive and false negative weights for the default bands and rows. Verified
# candidates cost only a comparison, a missed pair is lost, so verification leans to recall.
LSH_WEIGHTS = {True: (0.1, 0.9), False: (0.5, 0.5)}
BATCH_BYTES = 4 << 20  # text bytes shingled at once
SIGNATURE_BLOCK = 1 << 18  # permuted shingle values (uint32) computed at once
BUCKET_ALL_PAIRS = 32  # buckets up to this size yield all their pairs; larger ones go in rounds
VERIFY_BLOCK = 1 << 22  # shingle look-ups per verification block

_Q = 0x9E3779B97F4A7C15  # odd multiplier of the polynomial hashes (invertible modulo 2**64)
_Q_INV = pow(_Q, -1, 1 << 64)
_UNIT_SALT = 0xD6E8FEB86659FD93
_WINDOW_SALT = 0xA0761D6478BD642F
_BAND_SALT = 0xE7037ED1A0B428DB


class NearDedup(Step):
    """Find near-duplicate texts (Jaccard similarity of n-gram sets) and drop or group them."""

    name = "near-dedup"
    version = 1
    scope = "global"

    class Params(Params):
        """What to compare, how similar is a duplicate, and what to do with them."""

        column: str = Field("text", description="The string column to compare.")
        unit: Literal["auto", "word", "char"] = Field(
            "auto",
            description="Compare word or character n-grams. auto: characters when the spec's "
            "languages include one written without spaces (zh, ja, ko, th, …) or, failing that, "
            f"when at least {CHAR_SHARE:.0%} of the letters in a sample of the texts are in such "
            "a script; words otherwise.",
        )
        ngram: int | None = Field(
            None, ge=1, le=64, description="Units per n-gram (shingle); default 3 words or 5 characters."
        )
        threshold: float = Field(
            0.8, gt=0, le=1,
            description="Rows whose n-gram sets have Jaccard similarity at least this are near duplicates.",
        )
        num_perm: int = Field(128, ge=8, le=1024, description="MinHash permutations per row.")
        bands: int | None = Field(
            None,
            ge=1,
            description="LSH bands; give with `rows` (bands x rows <= num_perm). Default: the pair "
            "that minimizes the weighted chance of false positives and negatives at the threshold, "
            "as datasketch chooses it (weights 0.1/0.9 with verify, 0.5/0.5 without).",
        )
        rows: int | None = Field(None, ge=1, description="MinHash values per LSH band; give with `bands`.")
        mode: Literal["drop", "group"] = Field(
            "drop",
            description="drop: keep the first row (in input order) of each cluster of near duplicates "
            f"and drop the others as `near-duplicate`; group: keep every row and add an int64 column "
            f"`{GROUP_COLUMN}`, the input position of its cluster's first row (null outside clusters), "
            "which group-aware splitters keep in one split.",
        )
        verify: bool = Field(
            True,
            description="Confirm each LSH candidate pair by the exact Jaccard similarity of the n-gram "
            "sets; false: every pair sharing a band is a duplicate (faster, less precise).",
        )

        @model_validator(mode="after")
        def _bands(self) -> "NearDedup.Params":
            if (self.bands is None) != (self.rows is None):
                raise ValueError("give both `bands` and `rows`, or neither")
            if self.bands is not None and self.rows is not None and self.bands * self.rows > self.num_perm:
                raise ValueError(f"bands x rows ({self.bands} x {self.rows}) is more than num_perm ({self.num_perm})")
            return self

    def apply(self, table: "pa.Table") -> StepResult:
        """Drop mode: rows kept, the rest `near-duplicate`; group mode: every row with its group."""
        import numpy as np
        import pyarrow as pa

        p = self.params
        values = self.column(table, p.column)
        if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
            raise self.fail(f"column '{p.column}' has type {values.type}; {self.name} needs a string column")
        unit = resolve_unit(p.unit, self.context.languages, values)
        found = near_duplicates(values, unit, p.ngram or DEFAULT_NGRAM[unit], p.threshold, p.num_perm,
                                p.bands, p.rows, self.context.seed, p.verify)
        if p.mode == "group":
            group = pa.array(found.groups, pa.int64(), mask=found.groups < 0)
            if GROUP_COLUMN in table.column_names:
                return StepResult(table.set_column(table.column_names.index(GROUP_COLUMN), GROUP_COLUMN, group))
            return StepResult(table.append_column(GROUP_COLUMN, group))
        dropped = (found.groups >= 0) & (found.groups != np.arange(table.num_rows))
        return StepResult(table.filter(pa.array(~dropped)), {"near-duplicate": pa.array(dropped)})


@hookimpl
def register_steps(register: Register) -> None:
    """Register the near-dedup step."""
    register(NearDedup)


# --- units and shingles -----------------------------------------------------------------------

def resolve_unit(unit: str, languages: "tuple[str, ...] | list[str]", values: "pa.ChunkedArray | pa.Array") -> Unit:
    """`word` or `char`; `auto` asks the languages, then the share of no-space scripts in a sample."""
    import numpy as np
    import pyarrow.compute as pc

    if unit in ("word", "char"):
        return unit  # type: ignore[return-value]
    primary = {lang.replace("_", "-").split("-")[0].lower() for lang in languages}
    if primary & CHAR_LANGUAGES:
        return "char"
    texts = values.drop_null()
    if len(texts) == 0:
        return "word"
    sample = texts.take(np.unique(np.linspace(0, len(texts) - 1, min(len(texts), SAMPLE_ROWS)).astype(np.int64)))
    script = pc.sum(pc.count_substring_regex(sample, NO_SPACE_SCRIPTS)).as_py() or 0
    letters = pc.sum(pc.count_substring_regex(sample, r"\pL")).as_py() or 0
    return "char" if letters and script >= CHAR_SHARE * letters else "word"


def normalize_text(values: "pa.ChunkedArray | pa.Array") -> "pa.ChunkedArray | pa.Array":
    """Text as `dedup` compares it: NFKC, no control characters, collapsed whitespace, lowercase."""
    import pyarrow.compute as pc

    from specc.builtins.clean import clean_text

    return pc.utf8_lower(clean_text(values))


def _mix(x: "np.ndarray") -> "np.ndarray":
    """SplitMix64's finalizer over a uint64 array (a bijection that spreads every input bit)."""
    import numpy as np

    x = x ^ (x >> np.uint64(30))
    x *= np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(27)
    x *= np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def _fmix32(h: "np.ndarray") -> "np.ndarray":
    """MurmurHash3's 32-bit finalizer, as datasketch pre-mixes hashes in its affine32 scheme."""
    import numpy as np

    h = h ^ (h >> np.uint32(16))
    h *= np.uint32(0x85EBCA6B)
    h ^= h >> np.uint32(13)
    h *= np.uint32(0xC2B2AE35)
    return h ^ (h >> np.uint32(16))


@lru_cache(maxsize=1)
def _bmp_word_chars() -> "np.ndarray":
    """For each code point below 0x10000: is it a letter, digit or mark (Unicode L, N, M)?"""
    import unicodedata

    import numpy as np

    return np.array([unicodedata.category(chr(c))[0] in "LNM" for c in range(0x10000)], dtype=bool)


def _word_chars(points: "np.ndarray") -> "np.ndarray":
    """Whether each code point is a letter, digit or combining mark."""
    import unicodedata

    import numpy as np

    table = _bmp_word_chars()
    out = table[points & np.uint32(0xFFFF)]
    astral = np.flatnonzero(points > 0xFFFF)
    if len(astral):
        found, inverse = np.unique(points[astral], return_inverse=True)
        kinds = np.array([unicodedata.category(chr(int(c)))[0] in "LNM" for c in found], dtype=bool)
        out[astral] = kinds[inverse]
    return out


_POWERS: list["np.ndarray"] = []


def _powers(n: int) -> tuple["np.ndarray", "np.ndarray"]:
    """Q**k and Q**-k modulo 2**64 for k in 0..n (the last tables made are kept for reuse)."""
    import numpy as np

    if not _POWERS or len(_POWERS[0]) <= n:
        _POWERS.clear()
        size = max(n + 1, 1 << 16)
        for q in (_Q, _Q_INV):
            low = np.empty(1024, np.uint64)  # q**j for j < 1024, then q**(1024 i) times those
            low[0] = 1
            np.cumprod(np.full(1023, q, np.uint64), out=low[1:])
            high = np.empty(size // 1024 + 1, np.uint64)
            high[0] = 1
            np.cumprod(np.full(len(high) - 1, pow(q, 1024, 1 << 64), np.uint64), out=high[1:])
            _POWERS.append((high[:, None] * low).ravel()[:size])
    return _POWERS[0][:n + 1], _POWERS[1][:n + 1]


def _range_hashes(values: "np.ndarray", starts: "np.ndarray", sizes: "np.ndarray") -> "np.ndarray":
    """A hash of each run values[start:start + size] (order-sensitive, with its length)."""
    import numpy as np

    powers, inverse = _powers(len(values))
    sums = np.zeros(len(values) + 1, np.uint64)
    np.cumsum(values * powers[:-1], out=sums[1:])
    body = (sums[starts + sizes] - sums[starts]) * inverse[starts]
    return _mix(body + sizes.astype(np.uint64) * np.uint64(_WINDOW_SALT))


def _codepoints(text: "pa.Array") -> tuple["np.ndarray", "np.ndarray"]:
    """The code points of a string array without nulls, concatenated, and each text's offsets."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    text = text.cast(pa.large_string())
    lengths = pc.utf8_length(text).to_numpy(zero_copy_only=False).astype(np.int64)
    offsets = np.zeros(len(text) + 1, np.int64)
    np.cumsum(lengths, out=offsets[1:])
    bounds = np.frombuffer(text.buffers()[1], np.int64)[text.offset:text.offset + len(text) + 1]
    data = text.buffers()[2]
    raw = b"" if data is None or not len(text) else memoryview(data)[bounds[0]:bounds[-1]]
    points = np.frombuffer(str(raw, "utf-8").encode("utf-32-le"), np.uint32)
    return points, offsets


def text_units(text: "pa.Array", unit: Unit) -> tuple["np.ndarray", "np.ndarray"]:
    """Each normalized text's units (words or characters) as uint64 hashes, and offsets per text."""
    import numpy as np

    points, offsets = _codepoints(text)
    word = _word_chars(points)
    if unit == "char":
        tokens = _mix(points[word].astype(np.uint64) + np.uint64(_UNIT_SALT))
        counts = np.zeros(len(points) + 1, np.int64)
        np.cumsum(word, out=counts[1:])
        return tokens, counts[offsets]
    before = np.zeros(len(points), bool)
    before[1:] = word[:-1]
    after = np.zeros(len(points), bool)
    after[:-1] = word[1:]
    ends = offsets[1:][offsets[1:] > 0] - 1  # words never run across texts
    starts = offsets[:-1][offsets[:-1] < len(points)]
    after[ends] = False
    before[starts] = False
    first = np.flatnonzero(word & ~before)
    last = np.flatnonzero(word & ~after)
    tokens = _range_hashes(points.astype(np.uint64) + np.uint64(_UNIT_SALT), first, last + 1 - first)
    return tokens, np.searchsorted(first, offsets)


def shingles(text: "pa.Array", unit: Unit, ngram: int) -> tuple["np.ndarray", "np.ndarray"]:
    """Each normalized text's n-gram hashes (uint64, in text order, repeats kept) and offsets per text."""
    import numpy as np

    tokens, offsets = text_units(text, unit)
    lengths = np.diff(offsets)
    windows = np.where(lengths >= ngram, lengths - ngram + 1, np.minimum(lengths, 1))
    bounds = np.zeros(len(lengths) + 1, np.int64)
    np.cumsum(windows, out=bounds[1:])
    owner = np.repeat(np.arange(len(lengths)), windows)
    starts = offsets[owner] + np.arange(len(owner)) - bounds[owner]
    sizes = np.minimum(lengths[owner], ngram)
    return _range_hashes(tokens, starts, sizes), bounds


def shingle_sets(values: "pa.ChunkedArray | pa.Array", unit: Unit, ngram: int) -> tuple["np.ndarray", "np.ndarray"]:
    """Each text's distinct n-gram hashes, sorted, concatenated, and offsets (len + 1); nulls are empty."""
    import numpy as np

    parts, counts = [], []
    for start, stop in _batches(values):
        hashes, offsets = shingles(_normalized(values.slice(start, stop - start)), unit, ngram)
        owner = np.repeat(np.arange(stop - start, dtype=np.int64), np.diff(offsets))
        order = np.lexsort((hashes, owner))
        hashes, owner = hashes[order], owner[order]
        keep = np.ones(len(hashes), bool)
        keep[1:] = (hashes[1:] != hashes[:-1]) | (owner[1:] != owner[:-1])
        parts.append(hashes[keep])
        counts.append(np.bincount(owner[keep], minlength=stop - start))
    offsets = np.zeros(len(values) + 1, np.int64)
    if counts:
        np.cumsum(np.concatenate(counts), out=offsets[1:])
    return (np.concatenate(parts) if parts else np.zeros(0, np.uint64)), offsets


def _normalized(values: "pa.ChunkedArray | pa.Array") -> "pa.Array":
    """Normalized texts as one array, nulls as empty strings."""
    import pyarrow as pa
    import pyarrow.compute as pc

    text = pc.fill_null(normalize_text(values), "")
    return text.combine_chunks() if isinstance(text, pa.ChunkedArray) else text


def _batches(values: "pa.ChunkedArray | pa.Array") -> list[tuple[int, int]]:
    """Row ranges [start, stop) of about BATCH_BYTES of text each (at least one row)."""
    import numpy as np
    import pyarrow.compute as pc

    sizes = pc.fill_null(pc.binary_length(values), 0).to_numpy(zero_copy_only=False).astype(np.int64) + 1
    ends = np.cumsum(sizes)
    out, start = [], 0
    while start < len(values):
        stop = max(start + 1, int(np.searchsorted(ends, (ends[start - 1] if start else 0) + BATCH_BYTES, "right")))
        out.append((start, min(stop, len(values))))
        start = stop
    return out


# --- MinHash and LSH --------------------------------------------------------------------------

def permutations(num_perm: int, seed: int) -> tuple["np.ndarray", "np.ndarray"]:
    """The affine permutations (a odd, b) as datasketch's affine32 MinHash draws them for `seed`."""
    import numpy as np

    gen = np.random.RandomState(seed & 0xFFFFFFFF)
    a = gen.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    return a, b


def signatures(hashes: "np.ndarray", offsets: "np.ndarray", a: "np.ndarray", b: "np.ndarray") -> "np.ndarray":
    """MinHash signatures (texts x num_perm, uint32) of non-empty shingle lists given as 64-bit hashes."""
    import numpy as np

    # Texts go in order of length, a block of similar lengths at a time, each padded to the
    # block's longest by repeating its last shingle (which leaves the minimum alone), so the
    # permutations and the minimum run over dense (length x texts x num_perm) arrays.

    perms = len(a)
    inputs = _fmix32((hashes >> np.uint64(32)).astype(np.uint32))
    lengths = np.diff(offsets)
    order = np.argsort(lengths, kind="stable")
    by_length, starts = lengths[order], offsets[:-1][order]
    out = np.empty((len(lengths), perms), np.uint32)
    per_block = max(1, SIGNATURE_BLOCK // perms)  # shingles (counting padding) per block
    buffer = np.empty(max(SIGNATURE_BLOCK, perms), np.uint32)
    i = 0
    while i < len(lengths):
        count = max(1, per_block // int(by_length[i]))
        while count > 1 and count * int(by_length[min(i + count, len(lengths)) - 1]) > per_block:
            count //= 2
        j = min(i + count, len(lengths))
        longest = int(by_length[j - 1])
        result = np.full((j - i, perms), np.iinfo(np.uint32).max, np.uint32)
        for lo in range(0, longest, per_block):  # one text longer than a block: in pieces
            width = min(per_block, longest - lo)
            steps = np.arange(lo, lo + width)[:, None]
            taken = inputs[starts[i:j] + np.minimum(steps, by_length[i:j] - 1)]
            permuted = buffer[:width * (j - i) * perms].reshape(width, j - i, perms)
            np.multiply(taken[:, :, None], a, out=permuted)
            permuted += b
            np.minimum(result, np.minimum.reduce(permuted, axis=0), out=result)
        out[order[i:j]] = result
        i = j
    return out


def band_keys(sigs: "np.ndarray", bands: int, rows: int) -> "np.ndarray":
    """A 64-bit key per band and text (bands x texts): texts share a key when their band matches."""
    import numpy as np

    columns = sigs[:, :bands * rows].reshape(len(sigs), bands, rows)
    key = np.empty((len(sigs), bands), np.uint64)
    key[:] = np.uint64(_BAND_SALT) + np.arange(bands, dtype=np.uint64)
    for column in range(rows):  # a polynomial hash of the band's values, then a mix
        key *= np.uint64(_Q)
        key += columns[:, :, column]
    return np.ascontiguousarray(_mix(key).T)


def _lsh_probabilities(threshold: float, num_perm: int) -> tuple[list[tuple[int, int]], "np.ndarray", "np.ndarray"]:
    """Every (bands, rows) in datasketch's search order, with its false positive and negative areas."""
    import numpy as np

    # The probability 1 - (1 - s**r)**b is a polynomial of degree b*r <= num_perm, which
    # Gauss-Legendre with num_perm // 2 + 1 nodes integrates exactly.
    nodes, weights = np.polynomial.legendre.leggauss(num_perm // 2 + 1)
    pairs = [(b, r) for b in range(1, num_perm + 1) for r in range(1, num_perm // b + 1)]
    b = np.array([p[0] for p in pairs], float)[:, None]
    r = np.array([p[1] for p in pairs], float)[:, None]

    def area(lo: float, hi: float) -> "np.ndarray":
        """The integral of each pair's candidate probability from lo to hi."""
        s = (hi - lo) / 2 * nodes + (hi + lo) / 2
        return ((1 - (1 - s ** r) ** b) * weights).sum(axis=1) * (hi - lo) / 2

    return pairs, area(0.0, threshold), (1 - threshold) - area(threshold, 1.0)


@lru_cache(maxsize=64)
def optimal_bands(threshold: float, num_perm: int, fp_weight: float = 0.5, fn_weight: float = 0.5) -> tuple[int, int]:
    """(bands, rows) minimizing fp_weight * P(false positive) + fn_weight * P(false negative), as datasketch."""
    import numpy as np

    pairs, fp, fn = _lsh_probabilities(threshold, num_perm)
    return pairs[int(np.argmin(fp * fp_weight + fn * fn_weight))]


# --- candidates, verification, clusters -------------------------------------------------------

def _bucket_pairs(keys: "np.ndarray", verify: bool) -> tuple["np.ndarray", list["np.ndarray"]]:
    """Candidate pairs (i < j, as i * n + j) from one band's keys, and the members of large buckets."""
    import numpy as np

    n = len(keys)
    bits = np.uint64(max(1, n.bit_length()))
    # sort (key, row) at once: the key's top bits above the row number. With 2**20 rows, two
    # different keys share their top 44 bits with odds of 1 in 30 per band over all rows: at
    # worst one more candidate pair, as likely as a false positive of the banding itself
    packed = np.sort(((keys >> bits) << bits) | np.arange(n, dtype=np.uint64))
    ordered = packed >> bits
    same = ordered[1:] == ordered[:-1]
    shared = np.zeros(n, bool)
    shared[1:] = same
    shared[:-1] |= same
    where = np.flatnonzero(shared)  # sorted positions in buckets of two or more rows
    members = (packed[where] & ((np.uint64(1) << bits) - np.uint64(1))).astype(np.int64)
    new = np.ones(len(where), bool)
    new[1:] = ~same[where[1:] - 1]
    starts = np.flatnonzero(new)
    bucket = np.cumsum(new) - 1
    if not verify:  # a star from each bucket's first row is enough for the clusters
        return members[starts][bucket[~new]] * n + members[~new], []
    sizes = np.diff(np.append(starts, len(where)))
    size = sizes[bucket]
    rank = np.arange(len(where)) - starts[bucket]
    codes = []
    left = np.flatnonzero(size <= BUCKET_ALL_PAIRS)
    for gap in range(1, BUCKET_ALL_PAIRS):
        left = left[rank[left] + gap < size[left]]
        if not len(left):
            break
        codes.append(members[left] * n + members[left + gap])
    large = [members[s:s + k] for s, k in zip(starts[sizes > BUCKET_ALL_PAIRS], sizes[sizes > BUCKET_ALL_PAIRS])]
    return (np.concatenate(codes) if codes else np.zeros(0, np.int64)), large


def _distinct(values: "np.ndarray") -> "np.ndarray":
    """The distinct values, sorted."""
    import numpy as np

    values = np.sort(values)
    keep = np.ones(len(values), bool)
    keep[1:] = values[1:] != values[:-1]
    return values[keep]


class _Sets:
    """Sorted distinct shingle sets of some texts, to compute exact Jaccard similarities."""

    def __init__(self, values: "pa.ChunkedArray | pa.Array", unit: Unit, ngram: int):
        """Shingle `values` (raw texts) into sorted keys of (text, shingle)."""
        import numpy as np

        # one key per (text, shingle): the text's number in the top bits, the shingle's top bits
        # below (at least 40 of them: two shingles of one pair collide with odds below 1e-8)
        self.bits = max(1, len(values).bit_length())
        self.low = np.uint64((1 << (64 - self.bits)) - 1)
        parts = []
        for start, stop in _batches(values):
            hashes, offsets = shingles(_normalized(values.slice(start, stop - start)), unit, ngram)
            owner = np.repeat(np.arange(start, stop, dtype=np.uint64), np.diff(offsets))
            keys = np.sort((owner << np.uint64(64 - self.bits)) | (hashes >> np.uint64(self.bits)))
            distinct = np.ones(len(keys), bool)
            distinct[1:] = keys[1:] != keys[:-1]
            parts.append(keys[distinct])
        self.keys = np.concatenate(parts) if parts else np.zeros(0, np.uint64)
        owners = (self.keys >> np.uint64(64 - self.bits)).astype(np.int64)
        self.offsets = np.searchsorted(owners, np.arange(len(values) + 1))

    def confirmed(self, left: "np.ndarray", right: "np.ndarray", threshold: float) -> "np.ndarray":
        """Whether each pair of texts (numbers in `values`) has Jaccard similarity >= threshold."""
        import numpy as np

        sizes = np.diff(self.offsets)
        swap = sizes[left] > sizes[right]  # look the smaller set's shingles up in the larger one
        i, j = np.where(swap, right, left), np.where(swap, left, right)
        small = sizes[i]
        common = np.zeros(len(i), np.int64)
        done = 0
        while done < len(i):
            stop = done + max(1, int(np.searchsorted(np.cumsum(small[done:]), VERIFY_BLOCK, "right")))
            count = small[done:stop]
            pair = np.repeat(np.arange(done, stop), count)
            position = self.offsets[i[pair]] + np.arange(len(pair)) - np.repeat(np.cumsum(count) - count, count)
            wanted = (j[pair].astype(np.uint64) << np.uint64(64 - self.bits)) | (self.keys[position] & self.low)
            found = np.minimum(np.searchsorted(self.keys, wanted), len(self.keys) - 1)
            hit = self.keys[found] == wanted
            common[done:stop] = np.bincount(pair[hit] - done, minlength=stop - done)
            done = stop
        union = sizes[i] + sizes[j] - common
        return common >= threshold * union * (1 - 1e-9)


def _resolve_large(buckets: list["np.ndarray"], sets: _Sets, threshold: float) -> "np.ndarray":
    """Confirmed pairs (2 x k: left, right) in large buckets, found in rounds."""
    import numpy as np

    # Each round compares the first remaining row of every bucket with the bucket's other
    # remaining rows; the rows it matches, and the first row, leave the bucket.

    if not buckets:
        return np.zeros((2, 0), np.int64)
    members = np.concatenate(buckets)
    bucket = np.repeat(np.arange(len(buckets)), [len(b) for b in buckets])
    found = []
    while len(members) > 1:
        new = np.ones(len(members), bool)
        new[1:] = bucket[1:] != bucket[:-1]
        starts = np.flatnonzero(new)
        leader = members[starts][np.cumsum(new) - 1]
        others = ~new
        ok = np.zeros(len(members), bool)
        ok[others] = sets.confirmed(leader[others], members[others], threshold)
        found.append(np.stack([leader[ok], members[ok]]))
        keep = others & ~ok
        members, bucket = members[keep], bucket[keep]
        alone = np.ones(len(bucket), bool)  # drop buckets left with a single row
        if len(bucket):
            same_next = np.zeros(len(bucket), bool)
            same_next[:-1] = bucket[1:] == bucket[:-1]
            same_prev = np.zeros(len(bucket), bool)
            same_prev[1:] = same_next[:-1]
            alone = ~(same_next | same_prev)
        members, bucket = members[~alone], bucket[~alone]
    return np.concatenate(found, axis=1) if found else np.zeros((2, 0), np.int64)


def components(n: int, left: "np.ndarray", right: "np.ndarray") -> "np.ndarray":
    """The connected component of each of n nodes given edges, named by its smallest node."""
    import numpy as np

    labels = np.arange(n)
    while True:
        a, b = labels[left], labels[right]
        differ = a != b
        if not differ.any():
            return labels
        lo, hi = np.minimum(a[differ], b[differ]), np.maximum(a[differ], b[differ])
        np.minimum.at(labels, hi, lo)
        while True:  # point every node at its root
            jumped = labels[labels]
            if np.array_equal(jumped, labels):
                break
            labels = jumped


@dataclass
class NearDuplicates:
    """What `near_duplicates` found: a group per row and the pairs that formed the groups."""

    groups: "np.ndarray"  # int64 per row: the position of its cluster's first row, -1 outside clusters
    left: "np.ndarray"  # confirmed (or, without verify, candidate) pairs as row positions, left < right
    right: "np.ndarray"
    candidates: int  # distinct candidate pairs from the small buckets


def near_duplicates(values: "pa.ChunkedArray | pa.Array", unit: Unit, ngram: int, threshold: float,
                    num_perm: int = 128, bands: int | None = None, rows: int | None = None, seed: int = 0,
                    verify: bool = True) -> NearDuplicates:
    """Clusters of near-duplicate texts in `values` (Jaccard of n-gram sets >= threshold)."""
    import numpy as np

    if bands is None or rows is None:
        bands, rows = optimal_bands(threshold, num_perm, *LSH_WEIGHTS[verify])
    a, b = permutations(num_perm, seed)
    n = len(values)
    keys = np.empty((bands, n), np.uint64)
    filled = np.zeros(n, bool)
    for start, stop in _batches(values):
        hashes, offsets = shingles(_normalized(values.slice(start, stop - start)), unit, ngram)
        present = np.flatnonzero(np.diff(offsets) > 0)
        sigs = signatures(hashes, np.append(offsets[present], offsets[-1]), a, b)
        keys[:, start + present] = band_keys(sigs, bands, rows)
        filled[start + present] = True
    rows_in = np.flatnonzero(filled)
    keys = keys[:, rows_in]

    codes, large = [], []
    for band in range(bands):
        pairs, big = _bucket_pairs(keys[band], verify)
        codes.append(pairs)
        large.extend(big)
    del keys
    code = _distinct(np.concatenate(codes)) if codes else np.zeros(0, np.int64)
    m = len(rows_in)
    left, right = code // max(m, 1), code % max(m, 1)
    candidates = len(code)
    if verify and (len(code) or large):
        involved = _distinct(np.concatenate([left, right, *large]))
        sets = _Sets(values.take(rows_in[involved]), unit, ngram)
        local = [np.searchsorted(involved, x) for x in (left, right)]
        ok = sets.confirmed(*local, threshold)
        left, right = left[ok], right[ok]
        more = involved[_resolve_large([np.searchsorted(involved, x) for x in large], sets, threshold)]
        left, right = np.concatenate([left, more[0]]), np.concatenate([right, more[1]])
    labels = components(m, left, right)
    sizes = np.bincount(labels, minlength=m)
    groups = np.full(n, -1, np.int64)
    clustered = sizes[labels] > 1
    groups[rows_in[clustered]] = rows_in[labels[clustered]]
    lo, hi = np.minimum(left, right), np.maximum(left, right)
    return NearDuplicates(groups, rows_in[lo], rows_in[hi], candidates)
