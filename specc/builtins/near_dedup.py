"""The `near-dedup` clean step: near-duplicate rows found with MinHash and LSH banding.

The shingling, MinHash signatures, LSH banding and exact-Jaccard verification are specc.minhash's
(shared with the leakage report; see there how they work, all in numpy, and how they compare
with datasketch). What is this step's own:

- Candidates: buckets of up to BUCKET_ALL_PAIRS rows give all their pairs; larger buckets (big
  families of duplicates) are resolved in rounds: the first remaining row is compared with the
  others and those that match leave the bucket. Without `verify`, every row of a bucket is
  paired with the bucket's first row and nothing is compared.
- Clusters are the connected components of the confirmed pairs; a cluster's id is the position
  of its first row in the step's input.

Empty and null texts, and texts without a letter or digit, have no shingles: they are never
near duplicates of anything, each other included (exact `dedup` handles repeated empty texts).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from pydantic import Field, model_validator

from specc.builtins.clean import ColumnStep
from specc.components import Params, StepResult
from specc.minhash import (
    CHAR_SHARE,
    DEFAULT_NGRAM,
    LSH_WEIGHTS,
    ShingleSets,
    Unit,
    buckets,
    candidate_pairs,
    lsh_keys,
    optimal_bands,
    resolve_unit,
    verifier,
)

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

GROUP_COLUMN = "_near_dup_group"
BUCKET_ALL_PAIRS = 32  # buckets up to this size yield all their pairs; larger ones go in rounds


class NearDedup(ColumnStep):
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
            0.8,
            gt=0,
            le=1,
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
        def _bands(self) -> NearDedup.Params:
            if (self.bands is None) != (self.rows is None):
                raise ValueError("give both `bands` and `rows`, or neither")
            if self.bands is not None and self.rows is not None and self.bands * self.rows > self.num_perm:
                raise ValueError(f"bands x rows ({self.bands} x {self.rows}) is more than num_perm ({self.num_perm})")
            return self

    params: Params

    def columns_after(self, columns: list[str]) -> list[str] | None:
        """The input's columns, and `_near_dup_group` in group mode."""
        grouped = self.params.mode == "group" and GROUP_COLUMN not in columns
        return [*columns, GROUP_COLUMN] if grouped else columns

    def apply(self, table: pa.Table) -> StepResult:
        """Drop mode: rows kept, the rest `near-duplicate`; group mode: every row with its group."""
        import numpy as np
        import pyarrow as pa

        p = self.params
        values = self.column(table, p.column)
        if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
            raise self.fail(f"column '{p.column}' has type {values.type}; {self.name} needs a string column")
        unit = resolve_unit(p.unit, self.context.languages, values)
        found = near_duplicates(
            values,
            unit,
            p.ngram or DEFAULT_NGRAM[unit],
            p.threshold,
            p.num_perm,
            p.bands,
            p.rows,
            self.context.seed,
            p.verify,
        )
        if p.mode == "group":
            group = pa.array(found.groups, pa.int64(), mask=found.groups < 0)
            if GROUP_COLUMN in table.column_names:
                return StepResult(table.set_column(table.column_names.index(GROUP_COLUMN), GROUP_COLUMN, group))
            return StepResult(table.append_column(GROUP_COLUMN, group))
        dropped = (found.groups >= 0) & (found.groups != np.arange(table.num_rows))
        return StepResult(table.filter(pa.array(~dropped)), {"near-duplicate": pa.array(dropped)})


# --- candidates and clusters ------------------------------------------------------------------


def _stars(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct pairs (first text of a bucket, another text in it) over every band: enough for the clusters."""
    import numpy as np

    n = keys.shape[1]
    codes = [np.zeros(0, np.int64)]
    for band in keys:
        members, starts = buckets(band)
        first = np.repeat(members[starts], np.diff(np.append(starts, len(members))))
        others = np.ones(len(members), bool)
        others[starts] = False
        codes.append(first[others] * n + members[others])
    code = np.unique(np.concatenate(codes))
    return code // max(n, 1), code % max(n, 1)


def _resolve_large(large: list[np.ndarray], sets: ShingleSets, threshold: float) -> np.ndarray:
    """Confirmed pairs (2 x k: left, right) in large buckets, found in rounds."""
    import numpy as np

    # Each round compares the first remaining row of every bucket with the bucket's other
    # remaining rows; the rows it matches, and the first row, leave the bucket.

    if not large:
        return np.zeros((2, 0), np.int64)
    members = np.concatenate(large)
    bucket = np.repeat(np.arange(len(large)), [len(b) for b in large])
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


def components(n: int, left: np.ndarray, right: np.ndarray) -> np.ndarray:
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

    groups: np.ndarray  # int64 per row: the position of its cluster's first row, -1 outside clusters
    left: np.ndarray  # confirmed (or, without verify, candidate) pairs as row positions, left < right
    right: np.ndarray
    candidates: int  # distinct candidate pairs from the small buckets


def near_duplicates(
    values: pa.ChunkedArray | pa.Array,
    unit: Unit,
    ngram: int,
    threshold: float,
    num_perm: int = 128,
    bands: int | None = None,
    rows: int | None = None,
    seed: int = 0,
    verify: bool = True,
) -> NearDuplicates:
    """Clusters of near-duplicate texts in `values` (Jaccard of n-gram sets >= threshold)."""
    import numpy as np

    if bands is None or rows is None:
        bands, rows = optimal_bands(threshold, num_perm, *LSH_WEIGHTS[verify])
    keys, present = lsh_keys(values, unit, ngram, num_perm, bands, rows, seed)
    n, m = len(values), len(present)
    if verify:
        left, right, large = candidate_pairs(keys, largest=BUCKET_ALL_PAIRS)
    else:
        (left, right), large = _stars(keys), []
    del keys
    candidates = len(left)
    if verify and (len(left) or large):
        sets, involved = verifier(values, present, (left, right, *large), unit, ngram)
        ok = sets.confirmed(np.searchsorted(involved, left), np.searchsorted(involved, right), threshold)
        more = involved[_resolve_large([np.searchsorted(involved, x) for x in large], sets, threshold)]
        left, right = np.concatenate([left[ok], more[0]]), np.concatenate([right[ok], more[1]])
    labels = components(m, left, right)
    sizes = np.bincount(labels, minlength=m)
    groups = np.full(n, -1, np.int64)
    clustered = sizes[labels] > 1
    groups[present[clustered]] = present[labels[clustered]]
    lo, hi = np.minimum(left, right), np.maximum(left, right)
    return NearDuplicates(groups, present[lo], present[hi], candidates)
