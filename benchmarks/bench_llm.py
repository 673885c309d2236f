"""Benchmark specc-llm's client against a plain sequential `openai` loop, on a local `transformers serve`.

One run starts `transformers serve` on 127.0.0.1 with the tests' tiny random Llama (tests/llm_server.py of
specc-llm), makes `--rows` chat requests (short prompts, 16 tokens each, temperature 0, a seed each) and, in
the same run, `--repeat` times: a plain loop calling `openai.OpenAI().chat.completions.create` on each request
in turn and specc-llm's `LanguageModel.ask` at concurrency 1 on the same request bodies, taking turns on chunks
of 8 requests (so both see the same load of a shared machine); then `ask` at concurrency 4 and 16. Each `ask`
run has a new, empty response store (every request is sent, hashed and stored: the bookkeeping measured); a
last run has the store full (every answer from the store, no request sent). It reports requests per second and
specc's overhead at concurrency 1 (its time over the plain loop's, minus one; the median of the runs' ratios).
The server's own speed sets the pace: at concurrency 4 and 16 the gain is what the server makes of requests in
flight. Run with --help for the options.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT / "plugins" / "specc-llm" / "tests"))
from bench_build import bench_folder, bench_parser, check_exit  # noqa: E402  (a sibling script)

ROWS = (200, 24)  # requests: a full run, a --smoke run
CONCURRENCY = (1, 4, 16)
MAX_TOKENS = 16
CHUNK = 8  # requests per turn of the plain loop and specc at concurrency 1 (a step asks a batch at a time)
MAX_OVERHEAD = 0.10  # --check: specc at concurrency 1 over the plain loop
CHECK_HELP = f"exit 1 if specc's client at concurrency 1 takes over {1 + MAX_OVERHEAD:.2f}x the plain loop's time"


def client(folder: Path, server: Any, concurrency: int, cache: Path | None) -> Any:
    """specc-llm's client of `server` at `concurrency`, its response store in `cache` (folder: the spec's folder)."""
    from llm_server import PINS, language_model

    endpoint = {"url": server.url, "model": server.model, "concurrency": concurrency}
    return language_model(folder, cache, PINS, endpoint=endpoint, sampling={"max_tokens": MAX_TOKENS})


def plain_loop(url: str, bodies: list[dict[str, Any]]) -> float:
    """Seconds for a plain sequential `openai` loop over the request bodies."""
    import openai

    client = openai.OpenAI(base_url=url, api_key="no-key")
    started = time.perf_counter()
    for body in bodies:
        client.chat.completions.create(**body)
    return time.perf_counter() - started


def timed_ask(llm: Any, bodies: list[dict[str, Any]]) -> float:
    """Seconds for `llm.ask(bodies)`, after checking that every request was answered."""
    started = time.perf_counter()
    answers = llm.ask(bodies)
    seconds = time.perf_counter() - started
    if any(a.error is not None for a in answers):
        raise SystemExit(f"a request failed: {next(a.error for a in answers if a.error is not None)}")
    return seconds


def paired(url: str, llm: Any, bodies: list[dict[str, Any]]) -> tuple[float, float]:
    """Seconds of the plain loop and of `llm.ask` over `bodies`, taken in turns on chunks of CHUNK requests (which
    goes first alternates), so that both see the same load of a shared machine."""
    plain = specc = 0.0
    for start in range(0, len(bodies), CHUNK):
        chunk = bodies[start : start + CHUNK]
        if start // CHUNK % 2:
            specc += timed_ask(llm, chunk)
            plain += plain_loop(url, chunk)
        else:
            plain += plain_loop(url, chunk)
            specc += timed_ask(llm, chunk)
    return plain, specc


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the options, run the benchmark, print the table; returns the exit code."""
    parser = bench_parser(__doc__.splitlines()[0], CHECK_HELP, ROWS)
    parser.add_argument("--repeat", type=int, default=3, help="runs of every command; medians reported (default 3)")
    args = parser.parse_args(argv)
    rows = args.rows if args.rows is not None else (ROWS[1] if args.smoke else ROWS[0])
    if rows < 1 or args.repeat < 1:
        parser.error("--rows and --repeat must be at least 1")
    from llm_server import save_tiny_lm, serve

    with bench_folder("specc-bench-llm-", args.keep) as folder:
        server = serve(save_tiny_lm(folder / "tiny-lm"))
        try:
            first = client(folder, server, 1, None)
            bodies = [first.body([{"role": "user", "content": f"Write about topic {i}."}], i) for i in range(rows)]
            plain_loop(server.url, bodies[:4])  # warm-up: the server's first requests are slower
            seconds: dict[str, list[float]] = {}
            for run in range(args.repeat):
                store = Path(tempfile.mkdtemp(prefix=f"cache-{run}-1-", dir=folder))
                plain, specc = paired(server.url, client(folder, server, 1, store), bodies)
                seconds.setdefault("plain openai loop", []).append(plain)
                seconds.setdefault("specc, concurrency 1", []).append(specc)
                for concurrency in CONCURRENCY[1:]:
                    store = Path(tempfile.mkdtemp(prefix=f"cache-{run}-{concurrency}-", dir=folder))
                    llm = client(folder, server, concurrency, store)
                    seconds.setdefault(f"specc, concurrency {concurrency}", []).append(timed_ask(llm, bodies))
                warm = client(folder, server, 1, store)
                seconds.setdefault("specc, every answer stored", []).append(timed_ask(warm, bodies))
        finally:
            server.stop()
    ratios = [s / p for s, p in zip(seconds["specc, concurrency 1"], seconds["plain openai loop"])]
    overhead = statistics.median(ratios) - 1
    print(f"{rows} requests of {MAX_TOKENS} tokens, {args.repeat} runs; medians")
    print(f"{'':28} {'seconds':>9} {'requests/s':>11}")
    for name, values in seconds.items():
        median = statistics.median(values)
        print(f"{name:28} {median:9.2f} {rows / median:11.1f}")
    print(f"specc's overhead at concurrency 1: {overhead:+.1%} (runs: {', '.join(f'{r - 1:+.1%}' for r in ratios)})")
    failures = [f"overhead {overhead:+.1%} > {MAX_OVERHEAD:.0%}"] if overhead > MAX_OVERHEAD else []
    return check_exit(args.check, failures)


if __name__ == "__main__":
    sys.exit(main())
