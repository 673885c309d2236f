"""Builds of one output at once: one lock, clear outcomes, complete output; no process outlives a killed build."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil

from specc.pins import sha256_file
from tests.conftest import run_cli, write


def _spec(root: Path) -> Path:
    assert run_cli("init", str(root / "demo")).returncode == 0
    return root / "demo" / "spec.yaml"


def _lock_file(spec: Path) -> Path:
    return spec.parent / "build" / ".my-dataset.lock"


def _complete(spec: Path) -> None:
    """Every output file the lock names is there with its digest; no staging folder is left."""
    lock = json.loads(spec.with_suffix(".lock").read_text())
    out = spec.parent / "build" / "my-dataset"
    for name, entry in lock["outputs"]["files"].items():
        assert sha256_file(out / name) == entry["sha256"]
    assert not list(out.parent.glob(".my-dataset.building-*"))


_HOLD = """
import sys, time, filelock
lock = filelock.FileLock(sys.argv[1])
lock.acquire()
open(sys.argv[1], "w").write("4242\\n")
print("held", flush=True)
time.sleep(float(sys.argv[2]))
"""


def _hold(lock_file: Path, seconds: float) -> subprocess.Popen:
    """Another process holding the output's lock for `seconds`, as a running build would."""
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD, str(lock_file), str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None and holder.stdout.readline() == "held\n"
    return holder


def test_a_held_lock_fails_at_once_or_is_waited_for(tmp_path: Path) -> None:
    spec = _spec(tmp_path)
    lock_file = _lock_file(spec)
    holder = _hold(lock_file, 600)
    try:
        result = run_cli("build", str(spec))
    finally:
        holder.kill()
        holder.wait()
    assert result.returncode == 1
    assert f"{lock_file}: error: another build (process 4242) is writing" in result.stderr
    assert "--wait" in result.stderr and "Traceback" not in result.stderr
    assert not (spec.parent / "build" / "my-dataset").exists()
    holder = _hold(lock_file, 2)
    waited = run_cli("build", str(spec), "--wait")
    holder.wait()
    assert waited.returncode == 0, waited.stderr
    _complete(spec)
    assert not lock_file.exists()  # removed when the build ends


def test_two_builds_at_once_end_clearly_with_a_complete_output(tmp_path: Path) -> None:
    spec = _spec(tmp_path)
    for _ in range(3):
        builds = [
            subprocess.Popen(
                [sys.executable, "-m", "specc", "build", str(spec)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        results = [(b.wait(timeout=600), b.stderr.read()) for b in builds]  # type: ignore[union-attr]
        assert any(code == 0 for code, _ in results), results
        for code, err in results:
            assert "Traceback" not in err
            assert code == 0 or (code == 1 and f"{_lock_file(spec)}: error: another build" in err), err
        _complete(spec)


def _group(pgid: int) -> list[psutil.Process]:
    alive = []
    for process in psutil.process_iter():
        try:
            if os.getpgid(process.pid) == pgid and process.status() != psutil.STATUS_ZOMBIE:
                alive.append(process)
        except (ProcessLookupError, psutil.NoSuchProcess):
            continue
    return alive


def test_killing_a_parallel_build_leaves_no_process(tmp_path: Path) -> None:
    rows = "".join(
        json.dumps({"question": f"question number {i} about the parcel and its refund", "intent": "billing"}) + "\n"
        for i in range(300_000)
    )
    spec = _spec(tmp_path)
    write(spec.parent / "data" / "questions.jsonl", rows)
    build = subprocess.Popen(
        [sys.executable, "-m", "specc", "build", str(spec), "--num-proc", "2"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        workers: list[psutil.Process] = []
        while len(workers) < 2 and build.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
            workers = [
                c for c in psutil.Process(build.pid).children(recursive=True) if "spawn_main" in " ".join(c.cmdline())
            ]
        assert len(workers) >= 2, "the build ended before its workers started"
        os.kill(build.pid, signal.SIGKILL)
        build.wait()
        deadline = time.monotonic() + 30
        while _group(build.pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _group(build.pid) == []
    finally:
        try:
            os.killpg(build.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
