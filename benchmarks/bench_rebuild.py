"""Benchmark an incremental `specc build`: a rebuild after changing only the split ratios.

Uses the data and spec of bench_build.py (normalize, length, dedup, stratified split) in one
temporary folder with the step cache inside it. Runs a cold build (empty cache), edits the split
ratios, checks with `specc plan --json` that only `split` and `output` changed, rebuilds, checks in
the build record that every unit before the split and the split's leakage keys came from the cache,
and prints both times, their ratio and each build's units. Every `specc` command runs in its own
subprocess. Run with --help for the options.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_build import bench_folder, bench_parser, check_exit, row_count, run_measured, write_inputs  # noqa: E402  (a sibling script, not a package)

NEW_RATIOS = "{train: 0.7, validation: 0.2, test: 0.1}"  # was train 0.8, validation 0.1, test 0.1
CHANGED_STEPS = ("split", "output")  # what the ratio edit must change; every other step stays unchanged
MAX_RATIO = 0.10  # --check: rebuild seconds / cold build seconds
RECORD = Path(".specc") / "builds" / "specc-out.json"  # bench_build's spec sets `output: {dir: specc-out}`


def edit_ratios(spec: Path) -> None:
    """Replace the split ratios in the spec with NEW_RATIOS."""
    text, count = re.subn(r"ratios: \{[^}]*\}", f"ratios: {NEW_RATIOS}", spec.read_text(encoding="utf-8"))
    if count != 1:
        sys.exit(f"error: expected one `ratios:` line in {spec}, found {count}")
    spec.write_text(text, encoding="utf-8")


def plan_changes(spec: Path, cache: Path) -> list[dict[str, Any]]:
    """`diff.changes` of `specc plan --json` (run in a subprocess, stdout kept apart from stderr)."""
    command = [sys.executable, "-m", "specc", "plan", "--json", str(spec), "--cache-dir", str(cache)]
    done = subprocess.run(command, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        sys.exit(f"error: {' '.join(command)} exited with {done.returncode}:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout)["diff"]["changes"]


def plan_problems(changes: list[dict[str, Any]]) -> list[str]:
    """How the plan diff departs from: CHANGED_STEPS changed, every other step unchanged and cached."""
    problems = []
    for change in changes:
        expected = "changed" if change["step"] in CHANGED_STEPS else "unchanged"
        if change["status"] != expected:
            problems.append(f"plan: {change['step']} is {change['status']}, expected {expected}")
        elif expected == "unchanged" and not change["cached"]:
            problems.append(f"plan: {change['step']} is unchanged but not cached")
    missing = set(CHANGED_STEPS) - {c["step"] for c in changes}
    return problems + [f"plan: no step {step}" for step in sorted(missing)]


def reuse_problems(record: dict[str, Any], changed: set[str]) -> list[str]:
    """How the rebuild's units depart from: a hit for each unit of unchanged steps, a miss otherwise."""
    expected = ["miss" if changed & set(unit["steps"]) else "hit" for unit in record["units"]]
    problems = [
        f"rebuild: unit {'+'.join(unit['steps'])} was a cache {unit['cache']}, expected {want}"
        for unit, want in zip(record["units"], expected)
        if unit["cache"] != want
    ]
    counts = {"hits": expected.count("hit"), "misses": expected.count("miss")}
    if record["cache"] != counts:
        problems.append(f"rebuild: cache {record['cache']} in the build record, expected {counts}")
    problems += [
        f"rebuild: the split's leakage keys were a cache {unit.get('leakage_keys')}, expected hit"
        for unit in record["units"]
        if unit["steps"] == ["split"] and unit.get("leakage_keys") != "hit"
    ]
    return problems


def split_rows(folder: Path) -> str:
    """Rows per split of the current output, from its stats.json."""
    stats = json.loads((folder / "specc-out" / "stats.json").read_text(encoding="utf-8"))
    return ", ".join(f"{out['split']} {out['rows']:,}" for out in stats["outputs"])


def print_units(label: str, seconds: float, record: dict[str, Any]) -> None:
    """One build's units (steps, cache hit or miss, seconds) and the wall time outside them."""
    cache = record["cache"]
    print(f"{label}: {seconds:.2f} s wall, cache hits {cache['hits']}, misses {cache['misses']}")
    for unit in record["units"]:
        keys = f"  (leakage keys: {unit['leakage_keys']})" if "leakage_keys" in unit else ""
        print(f"  {'+'.join(unit['steps']):<40} {unit['cache']:<5} {unit['seconds']:8.3f} s{keys}")
    outside = seconds - sum(u["seconds"] for u in record["units"])
    print(f"  {'(outside units: start-up, output stage)':<40} {'':<5} {outside:8.3f} s")


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the options, run the cold build and the rebuild, print the figures; returns the exit code."""
    parser = bench_parser(
        __doc__.splitlines()[0], f"exit 1 if the rebuild takes {MAX_RATIO:.2f}x the cold build's time or more"
    )
    args = parser.parse_args(argv)
    rows = row_count(args)
    if rows < 1:
        parser.error("--rows must be at least 1")

    with bench_folder("specc-rebuild-", args.keep) as folder:
        cache, log = folder / "cache", folder / "run.log"
        build = [sys.executable, "-m", "specc", "build", "--cache-dir", str(cache)]
        spec, gen_seconds = write_inputs(folder, rows)
        size = (folder / "rows.parquet").stat().st_size / 2**20
        print(f"generated {rows:,} rows ({size:.1f} MB Parquet) in {gen_seconds:.2f} s; {os.cpu_count()} CPUs")
        startup, _ = run_measured([sys.executable, "-c", "import specc.builder, datasets"], log)

        cold, cold_mb = run_measured([*build, str(spec)], log)
        cold_record = json.loads((folder / RECORD).read_text(encoding="utf-8"))
        print(f"cold build {cold:.2f} s, peak {cold_mb:.0f} MB ({split_rows(folder)})")

        edit_ratios(spec)
        changes = plan_changes(spec, cache)
        print(f"split ratios -> {NEW_RATIOS}; specc plan:")
        for change in changes:
            note = " (cached)" if change["cached"] else ""
            print(f"  {change['mark']} {change['step']:<20} {change['status']}{note}")
            print("".join(f"      {cause}\n" for cause in change["causes"]), end="")
        problems = plan_problems(changes)

        rebuild, rebuild_mb = run_measured([*build, str(spec)], log)
        record = json.loads((folder / RECORD).read_text(encoding="utf-8"))
        print(f"rebuild {rebuild:.2f} s, peak {rebuild_mb:.0f} MB ({split_rows(folder)})")
        changed = {c["step"] for c in changes if c["status"] != "unchanged"}
        problems += reuse_problems(record, changed)

    print()
    print_units("cold build", cold, cold_record)
    print_units("rebuild", rebuild, record)
    ratio = rebuild / cold
    print(
        f"\ncold build {cold:.2f} s, rebuild {rebuild:.2f} s, rebuild/cold ratio {ratio:.3f} (target < {MAX_RATIO:.2f})"
    )
    print(
        f"fixed start-up (python -c 'import specc.builder, datasets'): {startup:.2f} s, "
        f"{startup / rebuild:.0%} of the rebuild"
    )
    if problems:
        print("the rebuild did not reuse the cache as expected:\n  " + "\n  ".join(problems))
        return 1
    return check_exit(args.check, [f"rebuild/cold ratio {ratio:.3f} >= {MAX_RATIO:.2f}"] if ratio >= MAX_RATIO else [])


if __name__ == "__main__":
    sys.exit(main())
