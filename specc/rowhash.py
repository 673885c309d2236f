"""Stable hashes: step seeds from the spec seed, random states per row from `_id`."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa


def derive_seed(spec_seed: int, step_id: str) -> int:
    """A step's seed: depends on the spec seed and the step's id, never its position."""
    digest = hashlib.sha256(f"{spec_seed}\x00{step_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def row_hashes(ids: pa.Array | pa.ChunkedArray, seed: int) -> np.ndarray:
    """XXH3-64 of each `_id` under `seed`, as uint64; the same on every machine."""
    import numpy as np
    import xxhash

    digest = xxhash.xxh3_64_intdigest
    seed &= 0xFFFFFFFFFFFFFFFF
    return np.fromiter((digest(s.encode(), seed) for s in ids.to_pylist()), dtype=np.uint64, count=len(ids))
