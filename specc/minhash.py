"""Near-duplicate texts with MinHash and LSH banding, in numpy: what the `near-dedup` clean step and
the leakage report after a split share (and the text units the `decontaminate` step compares).

Nothing loops over rows in Python and nothing uses Python's `hash()`:

1. Units: texts are normalized like `dedup` does (`clean_text`: NFKC, no control characters,
   collapsed whitespace; then lowercase) and cut into words (maximal runs of letters, digits and
   combining marks) or characters (letters, digits and marks only; spaces and punctuation are
   left out). `resolve_unit` picks characters for languages written without spaces (zh, ja, ko,
   th, …) or, failing that, when a sample of the texts is mostly in such scripts. Each unit is
   hashed to 64 bits (a polynomial hash of its code points, then a SplitMix64 mix).
2. Shingles: each window of `ngram` units is hashed to 64 bits from prefix sums, so the cost does
   not grow with `ngram`. A text with fewer units than `ngram` has one shingle of all its units.
3. MinHash signatures use datasketch's `affine32` scheme bit for bit: the top 32 bits of a
   shingle hash, MurmurHash3's fmix32, then `a * h + b mod 2**32` with odd `a`, `a` and `b` from
   `numpy.random.RandomState(seed mod 2**32)` as datasketch draws them. Texts are shingled and
   signed about BATCH_BYTES of text at a time and the signatures turned into band keys at once,
   so only `bands` 64-bit keys per text are kept across batches.
4. LSH banding: each band's values are hashed to a 64-bit key and texts are grouped into buckets
   by sorting the keys. The candidate pairs of a band are the pairs within its buckets, made in
   blocks of PAIR_BLOCK pairs; with `groups`, only pairs of texts in different groups are made
   (the leakage report wants pairs across splits only), so a large bucket costs only its pairs
   across groups.
5. Verification: candidate pairs are confirmed by the exact Jaccard similarity of their shingle
   sets, recomputed only for texts in some candidate pair.

`near_duplicates` in specc.builtins.near_dedup clusters the confirmed pairs; `confirmed_pairs`
returns every one of them (the leakage report).

Why numpy and not datasketch (benchmarks/bench_near_dedup.py, 1M synthetic English rows, word
3-grams, 128 permutations, 2 CPUs): the near-dedup step takes 16-18 s and 0.7 GB; datasketch 2.0's
`MinHash.bulk` and `MinHashLSH.insert(prepickle=False)` on the same shingles with the same bands,
verified and clustered the same way, take 285-377 s and 7.4 GB (its per-row Python work
dominates), and find the same clusters. So datasketch is not needed at run time; tests check that
the signatures and the default bands x rows equal datasketch's.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from functools import lru_cache
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

Unit = Literal["word", "char"]

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
PAIR_BLOCK = 1 << 22  # candidate pairs made at once from a band's buckets
VERIFY_BLOCK = 1 << 22  # shingle look-ups per verification block

_Q = 0x9E3779B97F4A7C15  # odd multiplier of the polynomial hashes (invertible modulo 2**64)
_Q_INV = pow(_Q, -1, 1 << 64)
_UNIT_SALT = 0xD6E8FEB86659FD93
_WINDOW_SALT = 0xA0761D6478BD642F
_BAND_SALT = 0xE7037ED1A0B428DB


class TooManyCandidates(Exception):
    """More candidate pairs than the caller's `max_candidates`."""

    def __init__(self, count: int):
        super().__init__(f"{count} candidate pairs")
        self.count = count


# --- units and shingles -----------------------------------------------------------------------


def resolve_unit(unit: str, languages: Iterable[str], values: pa.ChunkedArray | pa.Array | None = None) -> Unit:
    """`word` or `char`; `auto` asks the languages, then (given `values`) the share of no-space scripts in a sample."""
    import numpy as np
    import pyarrow.compute as pc

    if unit in ("word", "char"):
        return "word" if unit == "word" else "char"
    primary = {lang.replace("_", "-").split("-")[0].lower() for lang in languages}
    if primary & CHAR_LANGUAGES:
        return "char"
    texts = values.drop_null() if values is not None else None
    if texts is None or len(texts) == 0:
        return "word"
    sample = texts.take(np.unique(np.linspace(0, len(texts) - 1, min(len(texts), SAMPLE_ROWS)).astype(np.int64)))
    script = pc.sum(pc.count_substring_regex(sample, NO_SPACE_SCRIPTS)).as_py() or 0
    letters = pc.sum(pc.count_substring_regex(sample, r"\pL")).as_py() or 0
    return "char" if letters and script >= CHAR_SHARE * letters else "word"


def _normalized(values: pa.ChunkedArray | pa.Array, normalized: bool = False) -> pa.Array:
    """Normalized texts as one array, nulls as empty strings (`normalized`: the values already are)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from specc.text import comparison_key

    text = pc.fill_null(values if normalized else comparison_key(values), "")
    return text.combine_chunks() if isinstance(text, pa.ChunkedArray) else text


def _batches(values: pa.ChunkedArray | pa.Array) -> list[tuple[int, int]]:
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


def _finalize(x: np.ndarray, shifts: tuple[int, int, int], multipliers: tuple[int, int]) -> np.ndarray:
    """x ^= x >> s0; x *= m0; x ^= x >> s1; x *= m1; x ^= x >> s2, on a copy, in x's unsigned type."""
    kind = x.dtype.type
    x = x ^ (x >> kind(shifts[0]))
    for multiplier, shift in zip(multipliers, shifts[1:]):
        x *= kind(multiplier)
        x ^= x >> kind(shift)
    return x


def _mix(x: np.ndarray) -> np.ndarray:
    """SplitMix64's finalizer over a uint64 array (a bijection that spreads every input bit)."""
    return _finalize(x, (30, 27, 31), (0xBF58476D1CE4E5B9, 0x94D049BB133111EB))


def _fmix32(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finalizer over a uint32 array, as datasketch pre-mixes hashes in its affine32 scheme."""
    return _finalize(h, (16, 13, 16), (0x85EBCA6B, 0xC2B2AE35))


@lru_cache(maxsize=1)
def _bmp_word_chars() -> np.ndarray:
    """For each code point below 0x10000: is it a letter, digit or mark (Unicode L, N, M)?"""
    import unicodedata

    import numpy as np

    return np.array([unicodedata.category(chr(c))[0] in "LNM" for c in range(0x10000)], dtype=bool)


def _word_chars(points: np.ndarray) -> np.ndarray:
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


_POWERS: list[np.ndarray] = []


def _powers(n: int) -> tuple[np.ndarray, np.ndarray]:
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
    return _POWERS[0][: n + 1], _POWERS[1][: n + 1]


def _range_hashes(values: np.ndarray, starts: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """A hash of each run values[start:start + size] (order-sensitive, with its length)."""
    import numpy as np

    powers, inverse = _powers(len(values))
    sums = np.zeros(len(values) + 1, np.uint64)
    np.cumsum(values * powers[:-1], out=sums[1:])
    body = (sums[starts + sizes] - sums[starts]) * inverse[starts]
    return _mix(body + sizes.astype(np.uint64) * np.uint64(_WINDOW_SALT))


def _codepoints(text: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """The code points of a string array without nulls, concatenated, and each text's offsets."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    text = text.cast(pa.large_string())
    lengths = pc.utf8_length(text).to_numpy(zero_copy_only=False).astype(np.int64)
    offsets = np.zeros(len(text) + 1, np.int64)
    np.cumsum(lengths, out=offsets[1:])
    bounds = np.frombuffer(text.buffers()[1], np.int64)[text.offset : text.offset + len(text) + 1]
    data = text.buffers()[2]
    raw = b"" if data is None or not len(text) else memoryview(data)[bounds[0] : bounds[-1]]
    points = np.frombuffer(str(raw, "utf-8").encode("utf-32-le"), np.uint32)
    return points, offsets


def text_units(
    values: pa.ChunkedArray | pa.Array, unit: Unit, normalized: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Each text's units (words or characters) as uint64 hashes, concatenated, and offsets (len + 1).

    Null texts have no units. `normalized` says the values already went through `comparison_key`.
    """
    import numpy as np

    parts, counts = [np.zeros(0, np.uint64)], [np.zeros(1, np.int64)]
    for start, stop in _batches(values):  # bounded work arrays (and cached powers)
        tokens, offsets = _units(_normalized(values.slice(start, stop - start), normalized), unit)
        parts.append(tokens)
        counts.append(np.diff(offsets))
    return np.concatenate(parts), np.cumsum(np.concatenate(counts))


def _units(text: pa.Array, unit: Unit) -> tuple[np.ndarray, np.ndarray]:
    """`text_units` of normalized texts without nulls."""
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


def _windows(tokens: np.ndarray, offsets: np.ndarray, ngram: int, min_length: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """The hash of every window of `ngram` units within each text (a text with fewer units but at
    least `min_length`: one hash of them all), in text order, and offsets per text (len + 1)."""
    import numpy as np

    lengths = np.diff(offsets)
    windows = np.where(lengths >= ngram, lengths - ngram + 1, (lengths >= max(min_length, 1)).astype(np.int64))
    bounds = np.zeros(len(lengths) + 1, np.int64)
    np.cumsum(windows, out=bounds[1:])
    parts = [np.zeros(0, np.uint64)]
    first = 0
    while first < len(lengths):  # whole texts of about BATCH_BYTES units at a time
        last = max(first + 1, int(np.searchsorted(offsets, offsets[first] + BATCH_BYTES, "right")) - 1)
        owner = np.repeat(np.arange(first, last), windows[first:last])
        starts = offsets[owner] - offsets[first] + np.arange(len(owner)) - (bounds[owner] - bounds[first])
        sizes = np.minimum(lengths[owner], ngram)
        parts.append(_range_hashes(tokens[offsets[first] : offsets[last]], starts, sizes))
        first = last
    return np.concatenate(parts), bounds


def window_hashes(
    tokens: np.ndarray, offsets: np.ndarray, n: int, min_length: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """The hash of every window of `n` units within each text, and the text each window is in.

    A text with fewer than `n` units (but at least `min_length`) gets one hash of all its units
    instead; hashes include the window length, so a whole short text never equals an n-gram.
    """
    import numpy as np

    hashes, bounds = _windows(tokens, offsets, n, min_length)
    return hashes, np.repeat(np.arange(len(bounds) - 1), np.diff(bounds))


def shingles(
    values: pa.ChunkedArray | pa.Array, unit: Unit, ngram: int, normalized: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Each text's n-gram hashes (uint64, in text order, repeats kept) and offsets per text (len + 1)."""
    return _windows(*text_units(values, unit, normalized), ngram)


# --- MinHash and LSH --------------------------------------------------------------------------


def permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The affine permutations (a odd, b) as datasketch's affine32 MinHash draws them for `seed`."""
    import numpy as np

    gen = np.random.RandomState(seed & 0xFFFFFFFF)
    a = gen.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    return a, b


def signatures(hashes: np.ndarray, offsets: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
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
            permuted = buffer[: width * (j - i) * perms].reshape(width, j - i, perms)
            np.multiply(taken[:, :, None], a, out=permuted)
            permuted += b
            np.minimum(result, np.minimum.reduce(permuted, axis=0), out=result)
        out[order[i:j]] = result
        i = j
    return out


def band_keys(sigs: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """A 64-bit key per band and text (bands x texts): texts share a key when their band matches."""
    import numpy as np

    columns = sigs[:, : bands * rows].reshape(len(sigs), bands, rows)
    key = np.empty((len(sigs), bands), np.uint64)
    key[:] = np.uint64(_BAND_SALT) + np.arange(bands, dtype=np.uint64)
    for column in range(rows):  # a polynomial hash of the band's values, then a mix
        key *= np.uint64(_Q)
        key += columns[:, :, column]
    return np.ascontiguousarray(_mix(key).T)


def _lsh_probabilities(threshold: float, num_perm: int) -> tuple[list[tuple[int, int]], np.ndarray, np.ndarray]:
    """Every (bands, rows) in datasketch's search order, with its false positive and negative areas."""
    import numpy as np

    # The probability 1 - (1 - s**r)**b is a polynomial of degree b*r <= num_perm, which
    # Gauss-Legendre with num_perm // 2 + 1 nodes integrates exactly.
    nodes, weights = np.polynomial.legendre.leggauss(num_perm // 2 + 1)
    pairs = [(b, r) for b in range(1, num_perm + 1) for r in range(1, num_perm // b + 1)]
    b = np.array([p[0] for p in pairs], float)[:, None]
    r = np.array([p[1] for p in pairs], float)[:, None]

    def area(lo: float, hi: float) -> np.ndarray:
        """The integral of each pair's candidate probability from lo to hi."""
        s = (hi - lo) / 2 * nodes + (hi + lo) / 2
        return ((1 - (1 - s**r) ** b) * weights).sum(axis=1) * (hi - lo) / 2

    return pairs, area(0.0, threshold), (1 - threshold) - area(threshold, 1.0)


@lru_cache(maxsize=64)
def optimal_bands(threshold: float, num_perm: int, fp_weight: float = 0.5, fn_weight: float = 0.5) -> tuple[int, int]:
    """(bands, rows) minimizing fp_weight * P(false positive) + fn_weight * P(false negative), as datasketch."""
    import numpy as np

    pairs, fp, fn = _lsh_probabilities(threshold, num_perm)
    return pairs[int(np.argmin(fp * fp_weight + fn * fn_weight))]


def lsh_keys(
    values: pa.ChunkedArray | pa.Array,
    unit: Unit,
    ngram: int,
    num_perm: int,
    bands: int,
    rows: int,
    seed: int,
    normalized: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Band keys (bands x texts) of the texts with at least one shingle, and their positions in `values`."""
    import numpy as np

    a, b = permutations(num_perm, seed)
    n = len(values)
    keys = np.empty((bands, n), np.uint64)
    filled = np.zeros(n, bool)
    for start, stop in _batches(values):
        hashes, offsets = shingles(values.slice(start, stop - start), unit, ngram, normalized)
        present = np.flatnonzero(np.diff(offsets) > 0)
        sigs = signatures(hashes, np.append(offsets[present], offsets[-1]), a, b)
        keys[:, start + present] = band_keys(sigs, bands, rows)
        filled[start + present] = True
    present = np.flatnonzero(filled)
    return keys[:, present], present


# --- candidates -------------------------------------------------------------------------------


def buckets(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The texts sharing one band's key with another text, by key then text, and where each bucket starts."""
    import numpy as np

    n = len(keys)
    bits = np.uint64(max(1, n.bit_length()))
    # sort (key, text) at once: the key's top bits above the text number. With 2**20 texts, two
    # different keys share their top 44 bits with odds of 1 in 30 per band over all texts: at
    # worst one more candidate pair, as likely as a false positive of the banding itself
    packed = np.sort(((keys >> bits) << bits) | np.arange(n, dtype=np.uint64))
    ordered = packed >> bits
    same = ordered[1:] == ordered[:-1]
    shared = np.zeros(n, bool)
    shared[1:] = same
    shared[:-1] |= same
    where = np.flatnonzero(shared)  # sorted positions in buckets of two or more texts
    members = (packed[where] & ((np.uint64(1) << bits) - np.uint64(1))).astype(np.int64)
    new = np.ones(len(where), bool)
    new[1:] = ~same[where[1:] - 1]
    return members, np.flatnonzero(new)


def _band_pairs(
    keys: np.ndarray, groups: np.ndarray | None, largest: int | None, max_candidates: int | None
) -> tuple[Iterator[np.ndarray], list[np.ndarray]]:
    """One band's candidate pairs (blocks of codes left * n + right, left < right) and its large buckets.

    Buckets of up to `largest` texts (all, when None) give their pairs (with `groups`: the pairs
    of texts in different groups); larger ones are returned as member lists.
    """
    import numpy as np

    n = len(keys)
    members, starts = buckets(keys)
    sizes = np.diff(np.append(starts, len(members)))
    large = []
    if largest is not None and (sizes > largest).any():
        big = sizes > largest
        large = [members[s : s + k] for s, k in zip(starts[big], sizes[big])]
        members, sizes = members[np.repeat(~big, sizes)], sizes[~big]
        starts = np.cumsum(sizes) - sizes
    bucket = np.repeat(np.arange(len(sizes)), sizes)
    ends = np.repeat(starts + sizes, sizes)
    if groups is None:  # each position pairs with the rest of its bucket
        firsts = np.arange(1, len(members) + 1)
    else:  # ... outside its group: each bucket sorted by group, a position pairs with the later groups
        members = members[np.lexsort((members, groups[members], bucket))]
        group = groups[members]
        new = np.ones(len(members), bool)
        new[1:] = (bucket[1:] != bucket[:-1]) | (group[1:] != group[:-1])
        runs = np.flatnonzero(new)
        lengths = np.diff(np.append(runs, len(members)))
        firsts = np.repeat(runs + lengths, lengths)
    counts = ends - firsts
    total = int(counts.sum())
    if max_candidates is not None and total > max_candidates:
        raise TooManyCandidates(total)

    def blocks() -> Iterator[np.ndarray]:
        """The pairs, about PAIR_BLOCK at a time."""
        cumulative = np.cumsum(counts)
        i = 0
        while i < len(counts):
            done = int(cumulative[i - 1]) if i else 0
            j = max(i + 1, int(np.searchsorted(cumulative, done + PAIR_BLOCK, "right")))
            count = counts[i:j]
            size = int(count.sum())
            if size:
                left = members[np.repeat(np.arange(i, j), count)]
                right = members[np.repeat(firsts[i:j] - (np.cumsum(count) - count), count) + np.arange(size)]
                yield np.minimum(left, right) * n + np.maximum(left, right)
            i = j

    return blocks(), large


def _distinct(values: np.ndarray) -> np.ndarray:
    """The distinct values, sorted."""
    import numpy as np

    values = np.sort(values)
    keep = np.ones(len(values), bool)
    keep[1:] = values[1:] != values[:-1]
    return values[keep]


def candidate_pairs(
    keys: np.ndarray,
    groups: np.ndarray | None = None,
    largest: int | None = None,
    max_candidates: int | None = None,
) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """Distinct pairs of texts sharing a bucket in some band (left < right, sorted), and large buckets.

    `keys` are `lsh_keys`' (bands x texts). With `groups` (an int per text), only pairs of texts
    in different groups. Buckets of more than `largest` texts give no pairs but are returned as
    member lists (every bucket gives its pairs when None). Raises TooManyCandidates beyond
    `max_candidates` distinct pairs, before making the pairs of a band that alone has too many.
    """
    import numpy as np

    n = keys.shape[1]
    codes: list[np.ndarray] = [np.zeros(0, np.int64)]
    large: list[np.ndarray] = []
    for band in keys:
        pairs, big = _band_pairs(band, groups, largest, max_candidates)
        codes.extend(pairs)
        large.extend(big)
        if max_candidates is not None:  # merge as we go: memory stays within the limit
            codes = [_distinct(np.concatenate(codes))]
            if len(codes[0]) > max_candidates:
                raise TooManyCandidates(len(codes[0]))
    code = _distinct(np.concatenate(codes))
    return code // max(n, 1), code % max(n, 1), large


# --- verification -----------------------------------------------------------------------------


class ShingleSets:
    """Each text's distinct shingles (hashes cut to their top 64 - bits bits, in `keys & low`), to
    compute exact Jaccard similarities."""

    def __init__(self, values: pa.ChunkedArray | pa.Array, unit: Unit, ngram: int, normalized: bool = False):
        """Shingle `values` into sorted keys of (text, shingle)."""
        import numpy as np

        # one key per (text, shingle): the text's number in the top bits, the shingle's top bits
        # below (at least 40 of them: two shingles of one pair collide with odds below 1e-8)
        self.bits = max(1, len(values).bit_length())
        self.low = np.uint64((1 << (64 - self.bits)) - 1)
        parts = [np.zeros(0, np.uint64)]
        for start, stop in _batches(values):
            hashes, offsets = shingles(values.slice(start, stop - start), unit, ngram, normalized)
            owner = np.repeat(np.arange(start, stop, dtype=np.uint64), np.diff(offsets))
            parts.append(_distinct((owner << np.uint64(64 - self.bits)) | (hashes >> np.uint64(self.bits))))
        self.keys = np.concatenate(parts)  # sorted, distinct
        owners = (self.keys >> np.uint64(64 - self.bits)).astype(np.int64)
        self.offsets = np.searchsorted(owners, np.arange(len(values) + 1))  # text t: keys[offsets[t]:offsets[t + 1]]

    def overlap(self, left: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The sizes of the intersection and the union of each pair of sets (text numbers in `values`)."""
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
        return common, sizes[i] + sizes[j] - common

    def confirmed(self, left: np.ndarray, right: np.ndarray, threshold: float) -> np.ndarray:
        """Whether each pair of texts has Jaccard similarity >= threshold."""
        common, union = self.overlap(left, right)
        return _at_least(common, union, threshold)


def _at_least(common: np.ndarray, union: np.ndarray, threshold: float) -> np.ndarray:
    """common / union >= threshold, forgiving rounding (4 / 5 is at least 0.8)."""
    return common >= threshold * union * (1 - 1e-9)


def verifier(
    values: pa.ChunkedArray | pa.Array,
    present: np.ndarray,
    texts: Iterable[np.ndarray],
    unit: Unit,
    ngram: int,
    normalized: bool = False,
) -> tuple[ShingleSets, np.ndarray]:
    """The shingle sets of the texts in `texts` (numbers into `present`, positions in `values`), and
    those numbers, sorted: a text's set is at its index in them (np.searchsorted)."""
    import numpy as np

    involved = _distinct(np.concatenate([np.zeros(0, np.int64), *texts]))
    return ShingleSets(values.take(present[involved]), unit, ngram, normalized), involved


def confirmed_pairs(
    values: pa.ChunkedArray | pa.Array,
    unit: Unit,
    ngram: int,
    threshold: float,
    *,
    num_perm: int = 128,
    bands: int | None = None,
    rows: int | None = None,
    seed: int = 0,
    groups: np.ndarray | None = None,
    max_candidates: int | None = None,
    normalized: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every LSH candidate pair of texts whose shingle sets have Jaccard similarity >= threshold.

    Returns left, right (positions in `values`, left < right, sorted by left then right) and the
    Jaccard similarity of each pair. With `groups` (an int per text), only pairs of texts in
    different groups are made and compared. Bands and rows default as with verification in
    `near_duplicates`. Raises TooManyCandidates beyond `max_candidates` candidate pairs.
    """
    import numpy as np

    if bands is None or rows is None:
        bands, rows = optimal_bands(threshold, num_perm, *LSH_WEIGHTS[True])
    keys, present = lsh_keys(values, unit, ngram, num_perm, bands, rows, seed, normalized)
    left, right, _ = candidate_pairs(
        keys, None if groups is None else np.asarray(groups)[present], max_candidates=max_candidates
    )
    del keys
    sets, involved = verifier(values, present, (left, right), unit, ngram, normalized)
    common, union = sets.overlap(np.searchsorted(involved, left), np.searchsorted(involved, right))
    ok = _at_least(common, union, threshold)
    return present[left[ok]], present[right[ok]], common[ok] / union[ok]
