"""A build killed (SIGKILL) after 70% of its requests were answered resumes and sends only the rest."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from llm_server import FaultProxy

from tests.conftest import run_cli, write

ROWS, COPIES = 20, 2
REQUESTS = ROWS * COPIES
ANSWERED = 28  # 70%
OUTPUT = Path("build") / "resume"
WAIT_SECONDS = 600


def project(folder: Path, url: str) -> Path:
    """A spec whose one llm-generate step makes two copies of each of 20 rows, one request each."""
    write(folder / "data" / "rows.csv", "text\n" + "".join(f"message number {i}\n" for i in range(ROWS)))
    write(
        folder / "spec.yaml",
        "specc: 1\nname: resume\ndescription: d\nlicense: mit\ncard: {draft: true}\n"
        "sources:\n  rows: {type: csv, path: data/rows.csv}\n"
        "augment:\n  - type: llm-generate\n    prompt: 'Rewrite: {{ value }}'\n"
        f"    copies: {COPIES}\n"
        f"    endpoint: {{url: '{url}', model: tiny-lm, concurrency: 4}}\n"
        "    sampling: {max_tokens: 4, temperature: 1.0}\n",
    )
    return folder


def stored(store: Path) -> int:
    """How many answers the response store holds (0 before it exists)."""
    try:
        with sqlite3.connect(f"file:{store}?mode=ro", uri=True) as db:
            return int(db.execute("SELECT count(*) FROM answers").fetchone()[0])
    except sqlite3.OperationalError:
        return 0


def output_files(folder: Path) -> dict[str, bytes]:
    out = folder / OUTPUT
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def test_a_killed_build_sends_only_the_requests_not_yet_answered(proxy: FaultProxy, tmp_path: Path) -> None:
    killed = project(tmp_path / "killed", proxy.url)
    store = killed / ".specc" / "cache" / "llm" / "responses.sqlite3"
    proxy.hold_after = ANSWERED  # the server answers 28 requests; the rest wait, unanswered, until the kill
    with (tmp_path / "killed.log").open("wb") as log:
        build = subprocess.Popen(
            [sys.executable, "-m", "specc", "build", "spec.yaml", "--num-proc", "1"],
            cwd=killed,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + WAIT_SECONDS
    while stored(store) < ANSWERED and build.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    os.killpg(build.pid, signal.SIGKILL)
    build.wait()
    assert build.returncode == -signal.SIGKILL, (tmp_path / "killed.log").read_text()
    assert stored(store) == ANSWERED and proxy.forwarded == ANSWERED
    assert not (killed / OUTPUT).exists()

    proxy.reset()
    proxy.release.set()  # the requests held for the killed build end, unanswered
    resumed = run_cli("build", "spec.yaml", "--num-proc", "1", cwd=killed)
    assert resumed.returncode == 0, resumed.stderr
    assert (proxy.requests, proxy.forwarded) == (REQUESTS - ANSWERED, REQUESTS - ANSWERED)
    assert stored(store) == REQUESTS

    proxy.reset()
    whole = project(tmp_path / "whole", proxy.url)
    uninterrupted = run_cli("build", "spec.yaml", "--num-proc", "1", cwd=whole)
    assert uninterrupted.returncode == 0, uninterrupted.stderr
    assert proxy.forwarded == REQUESTS
    files = output_files(killed)
    assert "stats.json" in files and any(name.endswith(".parquet") for name in files)
    assert files == output_files(whole)
    [step] = [s for s in json.loads(files["stats.json"])["steps"] if s["id"] == "augment.llm-generate"]
    assert step["info"]["llm"]["requests"] == REQUESTS  # what was asked, not where the answers came from
