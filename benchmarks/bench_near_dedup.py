"""Benchmark the `near-dedup` step against datasketch's MinHashLSH on the same shingles.

Generates synthetic rows with bench_build.generate_rows (English-like sentences, ~10 % exact
duplicates after normalization) plus ~5 % near duplicates (copies with a word dropped, added or
replaced), written as Parquet into a temporary folder. Then, each in its own subprocess with its
wall time and peak resident memory measured:

- specc: reads the Parquet file and calls `NearDedup.apply` in-process on the pyarrow table
  (mode group, so the clusters can be compared; drop mode does the same work and then filters);
- datasketch: the same normalized texts and word 3-gram hashes (specc's `shingles`), the same
  num_perm, seed, permutation scheme and bands x rows, into `MinHash.bulk` and
  `MinHashLSH.insert(prepickle=False)`; every pair sharing a bucket is verified by exact Jaccard
  (Python sets) and clustered with union-find.

Prints both times, their ratio, peak memory, the pairs and clusters each found, and how many
rows the two put in different clusters. Run with --help for the options.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_build import SEED, bench_folder, bench_parser, check_exit, generate_rows, row_count, run_measured  # noqa: E402  (a sibling script, not a package)

NEAR_SHARE = 0.05  # rows that are edited copies of another row
THRESHOLD = 0.8
NUM_PERM = 128
NGRAM = 3
STEP_SEED = 4242  # the step seed given to both (specc derives one per step from the spec seed)
MAX_RATIO = 1.0  # --check: specc seconds / datasketch seconds


# --- data -------------------------------------------------------------------------------------


def near_duplicate_rows(n: int, seed: int = SEED) -> Any:
    """`n` rows from generate_rows with NEAR_SHARE of them replaced by edited copies of other rows."""
    import numpy as np
    import pyarrow as pa

    table = generate_rows(n, seed)
    rng = np.random.default_rng(seed + 1)
    count = int(round(n * NEAR_SHARE))
    targets = rng.choice(n, count, replace=False)
    sources = rng.integers(0, n, count)
    edits = rng.integers(0, 4, count)
    positions = rng.random(count)
    texts = table.column("text").to_pylist()
    vocabulary = [w for w in " ".join(texts[:2000]).split() if w.isalpha()][:500]
    for target, source, edit, where in zip(targets, sources, edits, positions):
        words = texts[source].split()
        k = int(where * len(words))
        if edit == 0 and len(words) > 1:  # drop the first or the last word
            words = words[1:] if where < 0.5 else words[:-1]
        elif edit == 1:  # add a word at the end
            words = words + [vocabulary[k % len(vocabulary)]]
        elif edit == 2:  # replace one word (often pushes short rows below the threshold)
            words[k] = vocabulary[(k * 7) % len(vocabulary)]
        else:  # change case and spacing only (the same text once normalized)
            words = [w.upper() if i == k else w for i, w in enumerate(words)]
        texts[target] = "  ".join(words) if edit == 3 else " ".join(words)
    return table.set_column(0, "text", pa.array(texts, pa.string()))


# --- the two runs (each in its own subprocess) --------------------------------------------------


def run_specc(parquet: Path, out: Path) -> None:
    """Apply specc's near-dedup step (mode group) to the table; save the groups and timings."""
    import numpy as np
    import pyarrow.parquet as pq

    from specc.builtins.near_dedup import NearDedup
    from specc.components import Context

    table = pq.read_table(parquet)
    step = NearDedup(
        NearDedup.Params(unit="word", ngram=NGRAM, threshold=THRESHOLD, num_perm=NUM_PERM, mode="group"),
        Context(step_id="clean.near-dedup", seed=STEP_SEED, spec_dir=Path("."), languages=("en",)),
    )
    start = time.perf_counter()
    result = step.apply(table)
    seconds = time.perf_counter() - start
    groups = result.table.column("_near_dup_group").fill_null(-1).to_numpy()
    np.save(out.with_suffix(".npy"), groups)
    out.write_text(json.dumps({"seconds": seconds, "phases": {"apply": seconds}, "pairs": None}))


def run_datasketch(parquet: Path, out: Path) -> None:
    """The same shingles, num_perm, seed and bands through datasketch; save the groups and timings."""
    import numpy as np
    import pyarrow.parquet as pq
    from datasketch import MinHash, MinHashLSH

    from specc.minhash import LSH_WEIGHTS, _batches, _normalized, optimal_bands, shingles

    table = pq.read_table(parquet)
    values = table.column("text")
    phases: dict[str, float] = {}
    start = time.perf_counter()

    # the shingles specc compares: top 32 bits (MinHash input) and full 64-bit hashes (sets)
    rows, sets = [], []
    for lo, hi in _batches(values):
        hashes, offsets = shingles(_normalized(values.slice(lo, hi - lo)), "word", NGRAM)
        top = (hashes >> np.uint64(32)).astype(np.uint32)
        for k in range(hi - lo):
            rows.append(top[offsets[k] : offsets[k + 1]].tolist())
            sets.append(hashes[offsets[k] : offsets[k + 1]])
    phases["shingles"] = time.perf_counter() - start

    mark = time.perf_counter()
    present = [i for i, r in enumerate(rows) if r]
    sketches = MinHash.bulk(
        (rows[i] for i in present), num_perm=NUM_PERM, seed=STEP_SEED & 0xFFFFFFFF, hashfunc=int, scheme="affine32"
    )
    phases["minhash"] = time.perf_counter() - mark

    mark = time.perf_counter()
    bands, band_rows = optimal_bands(THRESHOLD, NUM_PERM, *LSH_WEIGHTS[True])
    lsh = MinHashLSH(num_perm=NUM_PERM, params=(bands, band_rows), prepickle=False)
    for i, sketch in zip(present, sketches):
        lsh.insert(i, sketch, check_duplication=False)
    candidates = set()
    for hashtable in lsh.hashtables:
        for key in hashtable.keys():
            members = sorted(hashtable.get(key))
            for x in range(len(members)):
                for y in range(x + 1, len(members)):
                    candidates.add((members[x], members[y]))
    phases["lsh"] = time.perf_counter() - mark

    mark = time.perf_counter()
    cache: dict[int, frozenset] = {}

    def shingle_set(i: int) -> frozenset:
        """Row i's shingles as a Python set (made once)."""
        if i not in cache:
            cache[i] = frozenset(sets[i].tolist())
        return cache[i]

    parent = list(range(len(rows)))

    def root(i: int) -> int:
        """Union-find: the representative of i, halving the path."""
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    confirmed = 0
    for i, j in sorted(candidates):
        x, y = shingle_set(i), shingle_set(j)
        common = len(x & y)
        if common >= THRESHOLD * (len(x) + len(y) - common) * (1 - 1e-9):
            confirmed += 1
            ri, rj = root(i), root(j)
            if ri != rj:
                parent[max(ri, rj)] = min(ri, rj)
    roots = np.array([root(i) for i in range(len(rows))])
    sizes = np.bincount(roots, minlength=len(rows))
    groups = np.where(sizes[roots] > 1, roots, -1)
    phases["verify+cluster"] = time.perf_counter() - mark
    seconds = time.perf_counter() - start
    np.save(out.with_suffix(".npy"), groups)
    out.write_text(
        json.dumps(
            {
                "seconds": seconds,
                "phases": phases,
                "pairs": {"candidates": len(candidates), "confirmed": confirmed},
                "bands": [bands, band_rows],
            }
        )
    )


# --- comparing ---------------------------------------------------------------------------------


def clusters(groups: Any) -> dict[str, int]:
    """Clusters, rows in clusters and rows drop mode removes, from a group per row (-1: none)."""
    import numpy as np

    inside = groups[groups >= 0]
    count = len(np.unique(inside))
    return {"clusters": count, "rows_in_clusters": len(inside), "dropped": len(inside) - count}


def disagreement(a: Any, b: Any) -> int:
    """Rows whose cluster (as the set of its members) differs between two group arrays."""
    import numpy as np

    # with groups named by their first row, equal partitions give equal arrays
    return int(np.count_nonzero(a != b))


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the options, generate the data, time both runs, print the comparison."""
    parser = bench_parser(__doc__.splitlines()[0], f"exit 1 if specc takes over {MAX_RATIO}x datasketch's time")
    parser.add_argument("--run", nargs=3, metavar=("WHICH", "PARQUET", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.run:
        which, parquet, out = args.run
        (run_specc if which == "specc" else run_datasketch)(Path(parquet), Path(out))
        return 0
    rows = row_count(args)
    if rows < 2:
        parser.error("--rows must be at least 2")

    import numpy as np
    import pyarrow.parquet as pq

    with bench_folder("specc-bench-near-", args.keep) as folder:
        start = time.perf_counter()
        parquet = folder / "rows.parquet"
        pq.write_table(near_duplicate_rows(rows), parquet, compression="zstd")
        print(
            f"generated {rows:,} rows in {time.perf_counter() - start:.1f} s; {os.cpu_count()} CPUs; "
            f"word {NGRAM}-grams, threshold {THRESHOLD}, num_perm {NUM_PERM}"
        )
        results = {}
        for which in ("specc", "datasketch"):
            out = folder / f"{which}.json"
            command = [sys.executable, str(Path(__file__).resolve()), "--run", which, str(parquet), str(out)]
            wall, peak = run_measured(command, folder / f"{which}.log")
            info = json.loads(out.read_text())
            info.update(wall=wall, peak=peak, groups=np.load(out.with_suffix(".npy")))
            results[which] = info
            print(f"  {which:<11} {wall:7.2f} s wall {peak:7.0f} MB peak", flush=True)

    print()
    header = f"{'':<11} {'wall s':>7} {'work s':>7} {'peak MB':>8} {'clusters':>9} {'in clusters':>12} {'dropped':>8}"
    print(header)
    print("-" * len(header))
    for which, info in results.items():
        c = clusters(info["groups"])
        print(
            f"{which:<11} {info['wall']:>7.2f} {info['seconds']:>7.2f} {info['peak']:>8.0f} {c['clusters']:>9,} "
            f"{c['rows_in_clusters']:>12,} {c['dropped']:>8,}"
        )
    s, d = results["specc"], results["datasketch"]
    ratio = s["wall"] / d["wall"]
    print("\ndatasketch phases: " + ", ".join(f"{k} {v:.2f} s" for k, v in d["phases"].items()))
    print(
        f"datasketch pairs: {d['pairs']['candidates']:,} candidates, {d['pairs']['confirmed']:,} confirmed "
        f"(bands x rows {d['bands'][0]} x {d['bands'][1]})"
    )
    print(f"rows in different clusters: {disagreement(s['groups'], d['groups']):,}")
    print(
        f"specc/datasketch time ratio: {ratio:.3f} (wall), {s['seconds'] / d['seconds']:.3f} (work); "
        f"datasketch is {1 / ratio:.1f}x slower"
    )
    return check_exit(args.check, [f"time ratio {ratio:.2f} > {MAX_RATIO}"] if ratio > MAX_RATIO else [])


if __name__ == "__main__":
    sys.exit(main())
