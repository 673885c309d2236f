"""Benchmark `specc build --executor ray` against the local executor on the spec of bench_build.py.

Generates the rows (1,000,000 by default) and the spec with bench_build.py's helpers, starts a local
Ray instance in this process (2 CPUs and a 500 MB object store unless told otherwise), then times
`specc build` with the local executor (--num-proc 1 and 2) and with `--executor ray --ray-address`,
each in its own subprocess with an empty step cache, checks that every output file of the Ray build
is byte-identical to the local one, and prints the times and their ratios. Run with --help for the
options.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_build import bench_folder, bench_parser, row_count, run_measured, write_inputs  # noqa: E402  (a sibling script, not a package)

PARTITIONING = """\
How the work is partitioned: the local executor's batches (65,536 rows, or a source's own record
batches) are the Ray tasks of each row-wise unit (Ray Data map_batches over Arrow IPC payloads, so
workers see the local executor's exact buffers); dedup runs as a hash partition of its normalized
key (2 partitions per CPU; a Ray Data group-by with a sort shuffle), each partition deduplicated in
input order, and the driver keeps the input's rows minus the dropped ones; the split, the leakage
report and the output stage run on the driver, as locally. Every unit's output still streams through
the driver into the step cache (one Arrow file per unit, the local executor's format), which bounds
the speed-up: on one 2-CPU machine Ray only adds serialization and scheduling. What scales on a
real cluster is the CPU-heavy row work (normalize, regex, model annotators, augmenters, formatting)
and dedup's key computation and grouping; the driver's copy of each unit output does not."""


def _digests(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the options, run both executors, print the table and the ratio; returns the exit code."""
    parser = bench_parser(__doc__.splitlines()[0], "exit 1 unless the Ray output is byte-identical to the local one")
    parser.add_argument("--num-cpus", type=int, default=2, help="CPUs of the local Ray instance (default 2)")
    parser.add_argument("--object-store-mb", type=int, default=500, help="its object store in MB (default 500)")
    args = parser.parse_args(argv)
    rows = row_count(args)

    import ray

    with bench_folder("specc-bench-ray-", args.keep) as folder:
        spec, gen_seconds = write_inputs(folder, rows)
        print(f"generated {rows:,} rows in {gen_seconds:.2f} s; {os.cpu_count()} CPUs on this machine")
        runs: list[tuple[str, float, float]] = []
        outputs: dict[str, dict[str, str]] = {}
        for label, extra in (("local --num-proc 1", ["--num-proc", "1"]), ("local --num-proc 2", ["--num-proc", "2"])):
            command = [
                sys.executable,
                "-m",
                "specc",
                "build",
                str(spec),
                *extra,
                "--cache-dir",
                tempfile.mkdtemp(prefix="cache-", dir=folder),
            ]
            seconds, peak = run_measured(command, folder / "run.log")
            runs.append((label, seconds, peak))
            outputs[label] = _digests(folder / "specc-out")
            print(f"  {label:<22} {seconds:7.2f} s {peak:8.0f} MB", flush=True)
        started = time.perf_counter()
        ray.init(num_cpus=args.num_cpus, object_store_memory=args.object_store_mb * 2**20, include_dashboard=False)
        print(
            f"  started Ray ({args.num_cpus} CPUs, {args.object_store_mb} MB object store) in "
            f"{time.perf_counter() - started:.1f} s",
            flush=True,
        )
        try:
            address = ray.get_runtime_context().gcs_address
            label = f"ray ({args.num_cpus} CPUs)"
            command = [
                sys.executable,
                "-m",
                "specc",
                "build",
                str(spec),
                "--executor",
                "ray",
                "--ray-address",
                address,
                "--cache-dir",
                tempfile.mkdtemp(prefix="cache-", dir=folder),
            ]
            seconds, peak = run_measured(command, folder / "run.log")
            runs.append((label, seconds, peak))
            outputs[label] = _digests(folder / "specc-out")
            print(
                f"  {label:<22} {seconds:7.2f} s {peak:8.0f} MB (the build process only; Ray's workers are not in it)",
                flush=True,
            )
        finally:
            ray.shutdown()

    baseline = runs[0][1]
    print(f"\n{'':<22} {'time s':>8} {'vs local 1':>10}")
    for label, seconds, _ in runs:
        print(f"{label:<22} {seconds:>8.2f} {seconds / baseline:>9.2f}x")
    same = outputs[runs[-1][0]] == outputs[runs[0][0]]
    print(f"\nray/local time ratio: {runs[-1][1] / baseline:.2f}; Ray output byte-identical to local: {same}")
    print("\n" + PARTITIONING)
    return 1 if args.check and not same else 0


if __name__ == "__main__":
    sys.exit(main())
