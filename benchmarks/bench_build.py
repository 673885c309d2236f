"""Benchmark `specc build` against a hand-written pyarrow script doing the same work.

Generates synthetic rows (messy English-like text with a skewed label) as Parquet in a temporary
folder, writes a spec (normalize, length, dedup, stratified split), then times `specc build` with
--num-proc 1 and 2 and a hand-written pyarrow script, each in its own subprocess, measuring wall
time and the peak resident memory of the process tree. Run with --help for the options.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import psutil
    import pyarrow as pa

SEED = 20261128
SPLITS = {"train": 0.8, "validation": 0.1, "test": 0.1}
MIN_CHARS, MAX_CHARS = 20, 200
LABEL_WEIGHTS = (0.45, 0.25, 0.15, 0.10, 0.05)
DUPLICATE_SHARE = 0.10  # rows that repeat an earlier row once normalized and lowercased
SHORT_SHARE = LONG_SHARE = 0.01  # rows outside [MIN_CHARS, MAX_CHARS]
FULL_WIDTH_SHARE = 0.05  # rows with some words in full-width forms (NFKC maps them back)
MAX_RATIO = 1.5  # --check: specc time / hand-written time
MAX_PEAK_MB = 2048  # --check: peak memory of a specc build
POLL_SECONDS = 0.05
CHECK_HELP = f"exit 1 if specc takes over {MAX_RATIO}x the hand-written time or peaks over {MAX_PEAK_MB} MB"

WORDS = """
the of and to a in is it you that he was for on are with as his they be at one have this from
or had by hot word but what some we can out other were all there when up use your how said an
each she which do their time if will way about many then them write would like so these her long
make thing see him two has look more day could go come did number sound no most people my over
know water than call first who may down side been now find any new work part take get place made
live where after back little only round man year came show every good me give our under name very
through just form sentence great think say help low line differ turn cause much mean before move
right boy old too same tell does set three want air well also play small end put home read hand
port large spell add even land here must big high such follow act why ask men change went light
kind off need house picture try us again animal point mother world near build self earth father
head stand own page should country found answer school grow study still learn plant cover food
sun four between state keep eye never last let thought city tree cross farm hard start might story
saw far sea draw left late run while press close night real life few north open seem together next
white children begin got walk example ease paper group always music those both mark often letter
until mile river car feet care second book carry took science eat room friend began idea fish
mountain stop once base hear horse cut sure watch color face wood main enough plain girl usual
young ready above ever red list though feel talk bird soon body dog family direct pose leave song
measure door product black short numeral class wind question happen complete ship area half rock
order fire south problem piece told knew pass since top whole king space heard best hour better
during hundred five remember step early hold west ground interest reach fast verb sing listen six
table travel less morning ten simple several vowel toward war lay against pattern slow center love
person money serve appear road map rain rule govern pull cold notice voice unit power town fine
certain fly fall lead cry dark machine note wait plan figure star box noun field rest correct able
pound done beauty drive stood contain front teach week final gave green quick develop ocean warm
free minute strong special mind behind clear tail produce fact street inch multiply nothing course
stay wheel full force blue object decide surface deep moon island foot system busy test record boat
common gold possible plane stead dry wonder laugh thousand ago ran check game shape equate miss
brought heat snow tire bring yes distant fill east paint language among grand ball yet wave drop
heart present heavy dance engine position arm wide sail material size vary settle speak weight
general ice matter circle pair include divide syllable felt perhaps pick sudden count square reason
length represent art subject region energy hunt probable bed brother egg ride cell believe fraction
forest sit race window store summer train sleep prove lone exercise wall catch mount wish sky board
joy winter sat written wild instrument kept glass grass cow job edge sign visit past soft fun bright
gas weather month million bear finish happy hope flower clothe strange gone jump baby eight village
meet root buy raise solve metal whether push seven paragraph third shall held hair describe cook
floor either result burn hill safe cat century consider type law bit coast copy phrase silent tall
sand soil roll temperature finger industry value fight lie beat excite natural view sense ear else
quite broke case middle kill son lake moment scale loud spring observe child straight consonant
nation dictionary milk speed method organ pay age section dress cloud surprise quiet stone tiny
climb cool design poor lot experiment bottom key iron single stick flat twenty skin smile crease
hole trade melody trip office receive row mouth exact symbol die least trouble shout except wrote
seed tone join suggest clean break lady yard rise bad blow oil blood touch grew cent mix team wire
cost lost brown wear garden equal sent choose fell fit flow fair bank collect save control decimal
""".split()


# --- Synthetic data --------------------------------------------------------------------------


def _vocabulary(words: list[str]) -> pa.Array:
    """Every word in four forms: plain, Capitalized, full-width plain, full-width Capitalized."""
    import pyarrow as pa

    def wide(text: str) -> str:
        return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)

    capital = [w.capitalize() for w in words]
    return pa.array(words + capital + [wide(w) for w in words] + [wide(w) for w in capital], pa.string())


def _pick(rng: np.random.Generator, n: int, choices: dict[str, float]) -> pa.Array:
    """`n` strings drawn from `choices` (value: probability)."""
    import pyarrow as pa

    index = rng.choice(len(choices), size=n, p=list(choices.values()))
    return pa.array(list(choices), pa.string()).take(pa.array(index))


def generate_rows(n: int, seed: int = SEED) -> pa.Table:
    """`n` rows of columns text (messy English-like sentences) and label (int64, skewed), deterministic."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    rng = np.random.default_rng(seed)
    vocab_size = len(WORDS)
    word_p = 1.0 / (np.arange(vocab_size) + 8.0)  # Zipf-like: "the" is common, "decimal" rare
    word_p /= word_p.sum()
    mean_token = float((np.array([len(w) + 1 for w in WORDS]) * word_p).sum())

    # distinct rows: a word count per row from a target length, then the words themselves
    n_dup = int(round(n * DUPLICATE_SHARE))
    n_base = n - n_dup
    kind = rng.choice(3, size=n_base, p=[1 - SHORT_SHARE - LONG_SHARE, SHORT_SHARE, LONG_SHARE])
    target = np.where(kind == 0, rng.uniform(60, 120, n_base), rng.uniform(230, 330, n_base))
    counts = np.maximum(1, np.rint((target - 1) / mean_token)).astype(np.int32)
    counts[kind == 1] = 1
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    lookup = np.searchsorted(np.cumsum(word_p), (np.arange(1 << 16) + 0.5) / (1 << 16)).astype(np.int32)
    words = lookup[rng.integers(0, 1 << 16, size=int(offsets[-1]))]  # rng.choice(p=...) is 10x slower
    base = pa.ListArray.from_arrays(pa.array(offsets), pa.array(words))
    base_labels = rng.choice(len(LABEL_WEIGHTS), size=n_base, p=LABEL_WEIGHTS)
    base_ends = _pick(rng, n_base, {".": 0.8, "?": 0.15, "!": 0.05})

    # every row: a distinct row, or a copy of one, in shuffled order
    source = np.concatenate([np.arange(n_base), rng.integers(0, n_base, n_dup)])[rng.permutation(n)]
    rows = base.take(pa.array(source))
    row_counts = counts[source]
    row_offsets = np.concatenate([[0], np.cumsum(row_counts)]).astype(np.int32)
    tokens = rows.flatten().to_numpy().copy()

    # forms: the first word capitalized; some rows with full-width words
    form = np.zeros(len(tokens), dtype=np.int32)
    form[row_offsets[:-1]] = 1
    wide_rows = rng.random(n) < FULL_WIDTH_SHARE
    form += 2 * (np.repeat(wide_rows, row_counts) & (rng.random(len(tokens)) < 0.3))
    tokens += vocab_size * form
    sentences = pa.ListArray.from_arrays(pa.array(row_offsets), _vocabulary(WORDS).take(pa.array(tokens)))

    # messy whitespace between words and around the sentence; normalization removes all of it
    separators = _pick(rng, n, {" ": 0.85, "  ": 0.05, " \t": 0.03, "\u3000": 0.03, "\n": 0.02, "\u00a0": 0.02})
    text = pc.binary_join(sentences, separators)
    before = _pick(rng, n, {"": 0.9, " ": 0.05, "\t ": 0.03, "\u3000": 0.02})
    after = _pick(rng, n, {"": 0.9, " ": 0.05, "  \n": 0.05})
    text = pc.binary_join_element_wise(before, text, base_ends.take(pa.array(source)), after, "")
    return pa.table({"text": text, "label": pa.array(base_labels[source].astype(np.int64))})


def write_inputs(folder: Path, rows: int) -> tuple[Path, float]:
    """Generate the rows into folder/rows.parquet and write folder/bench.yaml; returns the spec and seconds."""
    import pyarrow.parquet as pq

    start = time.perf_counter()
    table = generate_rows(rows)
    pq.write_table(table, folder / "rows.parquet", compression="zstd", row_group_size=100_000)
    seconds = time.perf_counter() - start
    spec = folder / "bench.yaml"
    ratios = ", ".join(f"{name}: {share}" for name, share in SPLITS.items())
    spec.write_text(
        f"""\
specc: 1
name: bench-synthetic
version: 1.0.0
description: Synthetic rows for the specc build benchmark.
license: cc-by-4.0
languages: [en]
task: text-classification
seed: {SEED}
sources:
  synthetic:
    type: parquet
    path: rows.parquet
    labels: {{label: [l0, l1, l2, l3, l4]}}
    license: cc-by-4.0
clean:
  - {{type: normalize, columns: [text]}}
  - {{type: length, column: text, min_chars: {MIN_CHARS}, max_chars: {MAX_CHARS}}}
  - {{type: dedup, columns: [text]}}
split:
  method: stratified
  stratify: label
  ratios: {{{ratios}}}
output: {{dir: specc-out}}
card: {{draft: true}}
""",
        encoding="utf-8",
    )
    return spec, seconds


# --- The hand-written baseline ----------------------------------------------------------------


def handwritten(source: Path, out: Path, seed: int = SEED) -> None:
    """Clean, deduplicate and split `source` with plain pyarrow and numpy; one zstd Parquet per split."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    table = pq.read_table(source, columns=["text", "label"])
    text = pc.utf8_normalize(table.column("text"), "NFKC")
    text = pc.utf8_trim(pc.replace_substring_regex(text, r"\s+", " "), " ")
    lengths = pc.utf8_length(text)
    keep = pc.and_(pc.greater_equal(lengths, MIN_CHARS), pc.less_equal(lengths, MAX_CHARS))
    table = table.set_column(0, "text", text).filter(keep)

    keys = pa.table({"key": pc.utf8_lower(table.column("text")), "row": np.arange(table.num_rows)})
    firsts = keys.group_by("key").aggregate([("row", "min")]).column("row_min").to_numpy()
    table = table.take(np.sort(firsts))

    labels = table.column("label").to_numpy()
    split = np.empty(table.num_rows, dtype=np.int8)
    rng = np.random.default_rng(seed)
    for label in np.unique(labels):
        rows = rng.permutation(np.flatnonzero(labels == label))
        bounds = np.rint(np.cumsum(list(SPLITS.values())) * len(rows)).astype(int)
        for index, part in enumerate(np.split(rows, bounds[:-1])):
            split[part] = index
    out.mkdir(parents=True, exist_ok=True)
    for index, name in enumerate(SPLITS):
        pq.write_table(table.filter(split == index), out / f"{name}.parquet", compression="zstd")


# --- Measuring --------------------------------------------------------------------------------


@dataclass
class Measure:
    """The runs of one command: wall seconds and peak tree memory (MB) of each."""

    label: str
    seconds: list[float] = field(default_factory=list)
    peak_mb: list[float] = field(default_factory=list)
    split_rows: dict[str, int] = field(default_factory=dict)

    @property
    def best_seconds(self) -> float:
        """The fastest run."""
        return min(self.seconds)

    @property
    def best_peak_mb(self) -> float:
        """The lowest peak memory over the runs."""
        return min(self.peak_mb)


def _tree_rss(root: psutil.Process) -> int:
    """Resident bytes of a process and all its descendants (0 for those already gone)."""
    import psutil

    total = 0
    try:
        processes = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    for process in processes:
        try:
            total += process.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total


def run_measured(command: Sequence[str], log: Path) -> tuple[float, float]:
    """Run `command` to completion; returns wall seconds and peak RSS (MB) summed over its process tree."""
    import psutil

    peak = 0
    done = threading.Event()
    with log.open("wb") as output:
        start = time.perf_counter()
        child = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

        def poll() -> None:
            nonlocal peak
            root = psutil.Process(child.pid)
            while not done.is_set():
                peak = max(peak, _tree_rss(root))
                done.wait(POLL_SECONDS)

        poller = threading.Thread(target=poll, daemon=True)
        poller.start()
        code = child.wait()
        seconds = time.perf_counter() - start
        done.set()
        poller.join()
    if code != 0:
        sys.exit(f"error: {' '.join(map(str, command))} exited with {code}:\n{log.read_text(errors='replace')[-3000:]}")
    return seconds, peak / 2**20


def parquet_rows(files: dict[str, Path]) -> dict[str, int]:
    """Rows per split, read from each Parquet file's footer."""
    import pyarrow.parquet as pq

    return {split: pq.read_metadata(path).num_rows for split, path in files.items()}


def benchmark(folder: Path, spec: Path, repeat: int) -> list[Measure]:
    """Time specc (--num-proc 1 and 2) and the hand-written script `repeat` times each, interleaved."""
    specc_out = folder / "specc-out" / "data"
    hand_out = folder / "hand-out"
    runs = [
        (
            Measure("specc --num-proc 1"),
            [sys.executable, "-m", "specc", "build", str(spec), "--num-proc", "1"],
            {s: specc_out / f"{s}-00000-of-00001.parquet" for s in SPLITS},
        ),
        (
            Measure("specc --num-proc 2"),
            [sys.executable, "-m", "specc", "build", str(spec), "--num-proc", "2"],
            {s: specc_out / f"{s}-00000-of-00001.parquet" for s in SPLITS},
        ),
        (
            Measure("hand-written pyarrow"),
            [
                sys.executable,
                str(Path(__file__).resolve()),
                "--handwritten",
                str(folder / "rows.parquet"),
                str(hand_out),
            ],
            {s: hand_out / f"{s}.parquet" for s in SPLITS},
        ),
    ]
    for attempt in range(repeat):
        for measure, command, outputs in runs:
            if measure.label.startswith("specc"):  # a cold build every time: an empty step cache
                command = [*command, "--cache-dir", tempfile.mkdtemp(prefix="cache-", dir=folder)]
            seconds, peak = run_measured(command, folder / "run.log")
            measure.seconds.append(seconds)
            measure.peak_mb.append(peak)
            measure.split_rows = parquet_rows(outputs)
            print(f"  run {attempt + 1}/{repeat} {measure.label:<22} {seconds:7.2f} s {peak:8.0f} MB", flush=True)
    return [measure for measure, _, _ in runs]


def print_table(measures: list[Measure]) -> None:
    """The results: best time, ratio to the hand-written script, best peak memory, rows per split."""
    baseline = measures[-1].best_seconds
    header = f"{'':<22} {'time s':>8} {'vs hand':>8} {'peak MB':>8} " + " ".join(f"{s:>10}" for s in SPLITS)
    print(header)
    print("-" * len(header))
    for m in measures:
        counts = " ".join(f"{m.split_rows.get(s, 0):>10,}" for s in SPLITS)
        print(
            f"{m.label:<22} {m.best_seconds:>8.2f} {m.best_seconds / baseline:>7.2f}x {m.best_peak_mb:>8.0f} {counts}"
        )


def bench_parser(
    description: str, check_help: str, rows: tuple[int, int] = (1_000_000, 20_000)
) -> argparse.ArgumentParser:
    """The options every benchmark here takes: --rows (`rows`: full and --smoke defaults), --smoke, --check
    (meaning `check_help`), --keep."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--rows", type=int, help=f"rows to generate (default {rows[0]:,}; {rows[1]:,} with --smoke)")
    parser.add_argument("--smoke", action="store_true", help="a small, quick run for CI")
    parser.add_argument("--check", action="store_true", help=check_help)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder and print its path")
    return parser


def check_exit(check: bool, failures: list[str]) -> int:
    """A benchmark's exit code: 1, printing the missed targets, when --check is given and any was missed."""
    if check and failures:
        print("check failed: " + "; ".join(failures))
        return 1
    return 0


def row_count(args: argparse.Namespace) -> int:
    """--rows, or the default for a full or a --smoke run."""
    return args.rows if args.rows is not None else (20_000 if args.smoke else 1_000_000)


@contextmanager
def bench_folder(prefix: str, keep: bool) -> Iterator[Path]:
    """A temporary folder for one benchmark run, removed afterwards unless `keep`."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield folder
    finally:
        if keep:
            print(f"kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the options, run the benchmark, print the table; returns the exit code."""
    parser = bench_parser(__doc__.splitlines()[0], CHECK_HELP)
    parser.add_argument("--repeat", type=int, default=1, help="runs per command; the best is reported (default 1)")
    parser.add_argument("--handwritten", nargs=2, metavar=("PARQUET", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.handwritten:
        handwritten(Path(args.handwritten[0]), Path(args.handwritten[1]))
        return 0
    rows = row_count(args)
    if rows < 1 or args.repeat < 1:
        parser.error("--rows and --repeat must be at least 1")

    with bench_folder("specc-bench-", args.keep) as folder:
        spec, gen_seconds = write_inputs(folder, rows)
        size = (folder / "rows.parquet").stat().st_size / 2**20
        print(f"generated {rows:,} rows ({size:.1f} MB Parquet) in {gen_seconds:.2f} s; {os.cpu_count()} CPUs")
        measures = benchmark(folder, spec, args.repeat)
    print()
    print_table(measures)

    ratio = measures[0].best_seconds / measures[-1].best_seconds
    peak = max(m.best_peak_mb for m in measures[:2])
    print(f"\nspecc/hand-written time ratio (--num-proc 1): {ratio:.2f}; specc peak memory: {peak:.0f} MB")
    failures = []
    if ratio > MAX_RATIO:
        failures.append(f"time ratio {ratio:.2f} > {MAX_RATIO}")
    if peak > MAX_PEAK_MB:
        failures.append(f"specc peak memory {peak:.0f} MB > {MAX_PEAK_MB} MB")
    return check_exit(args.check, failures)


if __name__ == "__main__":
    sys.exit(main())
