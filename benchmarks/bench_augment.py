"""Benchmark the keyboard augmenter through `specc build` against a plain loop calling nlpaug directly.

Same rows, same run: bench_build's synthetic sentences as Parquet; a spec that reads them and augments
every row once with `nlpaug.keyboard` (no clean steps, no split: every row is train); a plain script
that reads the same texts and calls `nlpaug.augmenter.char.KeyboardAug().augment(text)` on each. Each
command runs in its own subprocess, one after the other, `--repeat` times; the ratios are taken within
each run (the machine's load is then about the same for all) and their median is reported.

The comparison is the augment stage (its unit's seconds in the build record: picking the rows,
seeding each one, nlpaug, lineage, writing the stage file, and with --num-proc 2 the workers' start
and their import of nlpaug) against the plain loop's import of nlpaug, construction and loop. Both
include importing nlpaug, which every process that augments pays. The whole build's wall time is
shown too, with that of the same spec without the augment step (the rest of the pipeline).
Run with --help for the options.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_build import SEED, bench_folder, bench_parser, check_exit, generate_rows, run_measured  # noqa: E402  (a sibling script)

STEP = "augment.nlpaug.keyboard"
ROWS = (100_000, 2_000)  # default rows: a full run, a --smoke run
MAX_OVERHEAD = 1.10  # --check: augment stage with --num-proc 1 / plain loop
MIN_SPEEDUP = 1.6  # --check: plain loop / augment stage with --num-proc 2
CHECK_HELP = (
    f"exit 1 if the augment stage takes over {MAX_OVERHEAD}x the plain loop with --num-proc 1, or is "
    f"not {MIN_SPEEDUP}x faster than it with --num-proc 2"
)


def write_inputs(folder: Path, rows: int) -> tuple[Path, Path]:
    """The rows as folder/rows.parquet, the spec with the keyboard augmenter and the same spec without it."""
    import pyarrow.parquet as pq

    pq.write_table(generate_rows(rows).select(["text"]), folder / "rows.parquet", compression="zstd")
    spec = f"""\
specc: 1
name: bench-augment
description: Synthetic rows for the augmentation benchmark.
license: cc-by-4.0
seed: {SEED}
sources:
  synthetic: {{type: parquet, path: rows.parquet, license: cc-by-4.0}}
output: {{dir: OUT}}
card: {{draft: true}}
"""
    with_augment = folder / "augment.yaml"
    with_augment.write_text(spec.replace("OUT", "out-augment") + "augment:\n  - {type: nlpaug.keyboard}\n")
    without = folder / "plain.yaml"
    without.write_text(spec.replace("OUT", "out-plain"))
    return with_augment, without


def plain_loop(parquet: Path, result: Path) -> None:
    """Import nlpaug, build KeyboardAug and call it on every text; write the seconds and the texts changed as JSON."""
    import pyarrow.parquet as pq

    texts = pq.read_table(parquet, columns=["text"]).column("text").to_pylist()
    start = time.perf_counter()
    import nlpaug.augmenter.char as nac

    aug = nac.KeyboardAug()
    made = [aug.augment(text) for text in texts]
    seconds = time.perf_counter() - start
    changed = sum(out[0] != text for out, text in zip(made, texts))
    result.write_text(json.dumps({"seconds": seconds, "rows": len(texts), "changed": changed}))


@dataclass
class Measure:
    """The runs of one command: wall seconds and the seconds of the augmentation itself."""

    label: str
    wall: list[float] = field(default_factory=list)
    work: list[float] = field(default_factory=list)
    rows_added: int = 0


def _stage_seconds(record: Path) -> float:
    """The augment unit's seconds in a build record."""
    units = json.loads(record.read_text())["units"]
    return next(u["seconds"] for u in units if u["steps"] == [STEP])


def benchmark(folder: Path, spec: Path, plain_spec: Path, repeat: int) -> list[Measure]:
    """Plain loop, specc --num-proc 1 and 2, and the build without augmentation, `repeat` times each, interleaved."""
    plain, one, two, rest = (
        Measure("plain nlpaug loop"),
        Measure("specc --num-proc 1"),
        Measure("specc --num-proc 2"),
        Measure("specc, no augment step"),
    )
    result = folder / "plain.json"
    for attempt in range(repeat):
        seconds, _ = run_measured(
            [sys.executable, str(Path(__file__).resolve()), "--plain", str(folder / "rows.parquet"), str(result)],
            folder / "run.log",
        )
        loop = json.loads(result.read_text())
        plain.wall.append(seconds)
        plain.work.append(loop["seconds"])
        plain.rows_added = loop["changed"]
        for measure, target, num_proc in ((one, spec, 1), (two, spec, 2), (rest, plain_spec, 1)):
            cache = tempfile.mkdtemp(prefix="cache-", dir=folder)  # a cold build every time
            seconds, _ = run_measured(
                [
                    sys.executable,
                    "-m",
                    "specc",
                    "build",
                    str(target),
                    "--num-proc",
                    str(num_proc),
                    "--cache-dir",
                    cache,
                ],
                folder / "run.log",
            )
            measure.wall.append(seconds)
            if target == spec:
                out = folder / "out-augment"
                measure.work.append(_stage_seconds(folder / ".specc" / "builds" / "out-augment.json"))
                stats = json.loads((out / "stats.json").read_text())
                measure.rows_added = sum(next(s for s in stats["steps"] if s["id"] == STEP)["added"].values())
        print(
            f"  run {attempt + 1}/{repeat}: plain {plain.work[-1]:.2f} s, --num-proc 1 {one.work[-1]:.2f} s, "
            f"--num-proc 2 {two.work[-1]:.2f} s (augment stage); load average {os.getloadavg()[0]:.1f}",
            flush=True,
        )
    return [plain, one, two, rest]


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the options, run the benchmark, print the table; returns the exit code."""
    parser = bench_parser(__doc__.splitlines()[0], CHECK_HELP, ROWS)
    parser.add_argument("--repeat", type=int, default=1, help="runs of every command (default 1)")
    parser.add_argument("--plain", nargs=2, metavar=("PARQUET", "RESULT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.plain:
        plain_loop(Path(args.plain[0]), Path(args.plain[1]))
        return 0
    rows = args.rows if args.rows is not None else (ROWS[1] if args.smoke else ROWS[0])
    if rows < 1 or args.repeat < 1:
        parser.error("--rows and --repeat must be at least 1")

    with bench_folder("specc-bench-augment-", args.keep) as folder:
        spec, plain_spec = write_inputs(folder, rows)
        print(f"{rows:,} rows; keyboard augmenter on each; {args.repeat} run(s)")
        plain, one, two, rest = benchmark(folder, spec, plain_spec, args.repeat)
    print()
    print(f"{'':<24} {'augment s':>10} {'wall s':>8} {'rows added':>11}   (best run)")
    for m in (plain, one, two):
        print(f"{m.label:<24} {min(m.work):>10.2f} {min(m.wall):>8.2f} {m.rows_added:>11,}")
    print(f"{rest.label:<24} {'':>10} {min(rest.wall):>8.2f}")
    # each run's commands ran back to back: the ratios of one run share the machine's load of that moment
    overhead = statistics.median(o / p for o, p in zip(one.work, plain.work))
    speedup = statistics.median(p / t for p, t in zip(plain.work, two.work))
    marginal = statistics.median((o - r) / p for o, r, p in zip(one.wall, rest.wall, plain.work))
    print(
        f"\nmedians over the runs of each run's ratios (load average now {os.getloadavg()[0]:.1f} on "
        f"{os.cpu_count()} CPUs):"
    )
    print(f"  augment stage / plain loop, --num-proc 1: {overhead:.2f} (target <= {MAX_OVERHEAD})")
    print(f"  plain loop / augment stage, --num-proc 2: {speedup:.2f}x (target >= {MIN_SPEEDUP}x)")
    print(f"  (whole build - build without the augment step) / plain loop, --num-proc 1: {marginal:.2f}")
    failures = []
    if overhead > MAX_OVERHEAD:
        failures.append(f"overhead {overhead:.2f} > {MAX_OVERHEAD}")
    if speedup < MIN_SPEEDUP:
        failures.append(f"speed-up {speedup:.2f} < {MIN_SPEEDUP}")
    return check_exit(args.check, failures)


if __name__ == "__main__":
    sys.exit(main())
