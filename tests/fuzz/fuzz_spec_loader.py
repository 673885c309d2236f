"""Fuzz the spec loader for a while; run by hand (pytest does not collect this file).

From the repository root, with the test extra installed:

    python -m tests.fuzz.fuzz_spec_loader --seconds 600
    python -m tests.fuzz.fuzz_spec_loader --engine atheris --seconds 600   # needs `pip install atheris`

Each input is written as a spec file and loaded with `specc.load_spec`. A finding is an exception
other than SpeccError, a load slower than --slow seconds, or the process's peak memory growing past
--max-rss-mb. The hypothesis engine draws from tests/fuzz/spec_strategies.py (specs with anchors,
aliases, tags, deep nesting, control characters, big numbers and raw bytes spliced in), saves one
file per distinct finding under --out and keeps going; it exits 1 when it found anything. The
atheris engine mutates bytes with coverage feedback from a corpus seeded with specs/ and
tests/bad_specs/; libFuzzer stops at the first crash and writes it under --out. Replay a saved
input with `specc validate OUT/FILE` (OUT holds the data file the generated specs name).
"""

from __future__ import annotations

import argparse
import hashlib
import resource
import sys
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SEEDS = [*sorted((ROOT / "specs").glob("*.yaml")), *sorted((ROOT / "tests" / "bad_specs").glob("*.yaml"))]
DATA = '{"text": "hello there"}\n'


def peak_rss_mb() -> float:
    """This process's peak resident memory so far, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Loader:
    """Loads inputs as specs in a scratch folder and records what is wrong with each."""

    def __init__(self, out: Path, slow: float, max_rss_mb: float):
        from specc import load_spec
        from specc.errors import SpeccError

        self.load_spec, self.expected = load_spec, SpeccError
        self.folder = Path(tempfile.mkdtemp(prefix="specc-fuzz-"))
        for folder in (self.folder, out):  # the data file the specs name, also for replays under --out
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "rows.jsonl").write_text(DATA)
        self.out, self.slow, self.max_rss_mb = out, slow, max_rss_mb
        self.runs = 0
        self.findings: Counter[str] = Counter()

    def load(self, data: bytes) -> None:
        """Load `data` as a spec; raises whatever the loader raises besides SpeccError."""
        spec = self.folder / "spec.yaml"
        spec.write_bytes(data)
        try:
            self.load_spec(spec)
        except self.expected:
            pass

    def check(self, data: bytes) -> None:
        """Load `data` and save it when it crashes, is slow or grows memory past the limit."""
        self.runs += 1
        start = time.perf_counter()
        try:
            self.load(data)
        except Exception as exc:  # anything but SpeccError is a finding
            frame = traceback.extract_tb(exc.__traceback__)[-1]
            self.save(
                f"{type(exc).__name__} at {Path(frame.filename).name}:{frame.lineno}",
                data,
                "".join(traceback.format_exception(exc)),
            )
        seconds = time.perf_counter() - start
        if seconds > self.slow:
            self.save(f"slow ({seconds:.0f} s and more)", data, f"{seconds:.2f} s\n")
        if peak_rss_mb() > self.max_rss_mb:
            self.save("memory", data, f"peak RSS {peak_rss_mb():.0f} MB\n")
            self.max_rss_mb = peak_rss_mb()  # report only further growth

    def save(self, kind: str, data: bytes, details: str) -> None:
        """Keep the first input of each kind of finding, with what happened."""
        self.findings[kind] += 1
        if self.findings[kind] > 1:
            return
        name = hashlib.sha256(data).hexdigest()[:12]
        (self.out / f"{name}.yaml").write_bytes(data)
        (self.out / f"{name}.txt").write_text(f"{kind}\n\n{details}")
        print(f"finding: {kind} -> {self.out / name}.yaml", flush=True)


def run_hypothesis(loader: Loader, seconds: float) -> None:
    """Draw inputs from the spec strategies in rounds until `seconds` pass."""
    from hypothesis import HealthCheck, Phase, given, settings

    from tests.fuzz.spec_strategies import SPEC_FILES

    @settings(
        max_examples=500, deadline=None, database=None, phases=[Phase.generate], suppress_health_check=list(HealthCheck)
    )
    @given(data=SPEC_FILES)
    def one_round(data: bytes) -> None:
        loader.check(data)

    end = time.monotonic() + seconds
    while time.monotonic() < end:
        one_round()
        print(
            f"{loader.runs} inputs, {sum(loader.findings.values())} findings, peak RSS {peak_rss_mb():.0f} MB",
            flush=True,
        )


def instrument() -> None:
    """Import the loader's code under atheris's coverage instrumentation (before anything else imports it)."""
    import atheris

    with atheris.instrument_imports(include=["yaml", "specc"]):
        import specc.spec  # noqa: F401


def run_atheris(loader: Loader, seconds: float, libfuzzer_args: list[str]) -> None:
    """Coverage-guided byte mutation with atheris, from a corpus of the repository's specs."""
    import atheris

    corpus = loader.folder / "corpus"
    corpus.mkdir()
    for seed in SEEDS:
        (corpus / seed.name).write_bytes(seed.read_bytes())
    argv = [
        sys.argv[0],
        str(corpus),
        f"-max_total_time={int(seconds)}",
        f"-timeout={int(loader.slow) + 1}",
        f"-rss_limit_mb={int(loader.max_rss_mb)}",
        f"-artifact_prefix={loader.out}/",
        *libfuzzer_args,
    ]
    atheris.Setup(argv, loader.load)
    atheris.Fuzz()


def main() -> None:
    """Parse options and fuzz."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=["hypothesis", "atheris"], default="hypothesis")
    parser.add_argument("--seconds", type=float, default=300, help="How long to fuzz (default 300).")
    parser.add_argument("--slow", type=float, default=2.0, help="A load slower than this many seconds is a finding.")
    parser.add_argument("--max-rss-mb", type=float, default=1024, help="Peak memory past this is a finding.")
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(tempfile.gettempdir()) / "specc-fuzz-findings",
        help="Where findings are saved (default: specc-fuzz-findings in the temporary folder).",
    )
    args, libfuzzer_args = parser.parse_known_args()
    if args.engine == "atheris":
        instrument()
    loader = Loader(args.out, args.slow, args.max_rss_mb)
    if args.engine == "atheris":
        run_atheris(loader, args.seconds, libfuzzer_args)
        return
    run_hypothesis(loader, args.seconds)
    print(f"{loader.runs} inputs in {args.seconds:.0f} s; findings: {dict(loader.findings) or 'none'}")
    sys.exit(1 if loader.findings else 0)


if __name__ == "__main__":
    main()
