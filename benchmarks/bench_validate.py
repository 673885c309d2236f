"""Time `specc validate specs/quickstart.yaml` against a bare Python start-up and against importing the
libraries validation stands on (pluggy, pydantic, jinja2), in the same run.

Each command runs in a fresh subprocess `--runs` times, interleaved; the median and the minimum
are printed, with the ratios of the medians. Target: a median under 0.5 s with every first-party
plugin installed. On a shared machine the absolute figure follows the load; the ratio to the
library import does not, much.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_SECONDS = 0.5


def timed(command: list[str]) -> float:
    """Wall seconds of one run of `command`, which must succeed."""
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, cwd=ROOT)
    return time.perf_counter() - start


def main(argv: Sequence[str] | None = None) -> int:
    """Run both commands, print medians and minimums; with --check, exit 1 over the target."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="runs per command (default 15)")
    parser.add_argument("--check", action="store_true", help=f"exit 1 if the median is over {TARGET_SECONDS} s")
    args = parser.parse_args(argv)
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "import libraries": [sys.executable, "-c", "import pluggy, pydantic, jinja2"],
        "specc validate": [sys.executable, "-m", "specc", "validate", "specs/quickstart.yaml"],
    }
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(args.runs):
        for name, command in commands.items():
            times[name].append(timed(command))
    for name, values in times.items():
        print(f"{name:<16} median {statistics.median(values):.3f} s   min {min(values):.3f} s")
    median = statistics.median(times["specc validate"])
    bare = median / statistics.median(times["python -c pass"])
    libraries = median / statistics.median(times["import libraries"])
    print(
        f"specc validate: {median:.3f} s median, {bare:.1f}x a bare Python start-up, "
        f"{libraries:.2f}x importing pluggy, pydantic and jinja2"
    )
    return 1 if args.check and median > TARGET_SECONDS else 0


if __name__ == "__main__":
    sys.exit(main())
