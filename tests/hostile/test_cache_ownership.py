"""specc deletes only in its own caches, only what it wrote; stopped builds' scratch folders are reclaimed, running ones' kept."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from specc.cache import SIGNATURE, TAG
from specc.executor import record_path
from tests.conftest import run_cli, snapshot, write

SPEC = """specc: 1
name: owned
description: A small spec.
license: mit
sources:
  rows: {type: jsonl, path: rows.jsonl}
split: {method: hash, ratios: {train: 0.5, test: 0.5}}
card: {draft: true}
"""
KEY = "ab" + "0" * 62
HOLD_SCRATCH = """
import sys, time
from pathlib import Path
from specc.cache import StepCache

with StepCache(Path(sys.argv[1])).scratch() as folder:
    (folder / "data.arrow").write_bytes(b"x" * 4096)
    print(folder, flush=True)
    time.sleep(600)
"""


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    """A spec with its lock (what `cache gc` needs), not built yet."""
    rows = "".join(json.dumps({"text": f"row {i} of the data"}) + "\n" for i in range(12))
    write(tmp_path / "project" / "rows.jsonl", rows)
    path = write(tmp_path / "project" / "s.yaml", SPEC)
    assert run_cli("lock", str(path)).returncode == 0
    return path


def _someone_elses(folder: Path) -> Path:
    """A folder shaped like a specc cache that specc did not make."""
    write(folder / "tmp" / "build-0123456789abcdef0123456789abcdef" / "data.arrow", "precious")
    write(folder / "tmp" / "notes.txt", "precious")
    write(folder / "index" / ("f" * 64), KEY)
    write(folder / "steps" / "ab" / KEY / "meta.json", "{}")
    write(folder / "downloads" / "sha256" / ("e" * 64), "precious")
    return folder


@pytest.mark.parametrize("tag", [None, "Signature: 8a477f597d28d172789f06886806bc55\n# made by another tool\n"])
@pytest.mark.parametrize("command", ["cache gc", "cache info", "build"])
def test_a_folder_specc_did_not_make_is_refused_and_left_as_it_was(
    spec: Path, tmp_path: Path, command: str, tag: str | None
) -> None:
    other = _someone_elses(tmp_path / "other")
    if tag is not None:
        write(other / TAG, tag)
    before = snapshot(other)
    result = run_cli(*command.split(), str(spec), "--cache-dir", str(other))
    assert result.returncode == 1, result.stdout
    assert "Traceback" not in result.stderr
    assert f"error: {other} is not a specc cache" in result.stderr
    assert "pass another --cache-dir" in result.stderr
    assert snapshot(other) == before


def test_a_new_or_empty_folder_becomes_a_tagged_cache(spec: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    for cache in (empty, tmp_path / "new" / "cache"):
        result = run_cli("build", str(spec), "--cache-dir", str(cache))
        assert result.returncode == 0, result.stderr
        assert (cache / TAG).read_text().startswith(SIGNATURE + "\n")
    gc = run_cli("cache", "gc", str(spec), "--cache-dir", str(empty))
    assert gc.returncode == 0 and gc.stdout.startswith("removed 0 step entries"), gc.stderr


def test_gc_in_a_specc_cache_removes_only_names_specc_writes(spec: Path) -> None:
    assert run_cli("build", str(spec)).returncode == 0
    cache = spec.parent / ".specc" / "cache"
    foreign = [
        write(cache / "tmp" / "notes.txt", "mine"),
        write(cache / "steps" / "README", "mine"),
        write(cache / "steps" / "zz" / "mine.txt", "mine"),
        write(cache / "index" / "notes", "mine"),
        write(cache / "downloads" / "sha256" / "notes.txt", "mine"),
        write(cache / "mine.txt", "mine"),
    ]
    unreached = write(cache / "steps" / "ab" / KEY / "meta.json", "{}")
    gc = run_cli("cache", "gc", str(spec))
    assert gc.returncode == 0, gc.stderr
    assert gc.stdout.startswith("removed 1 step entries")
    assert not unreached.exists()
    assert all(path.read_text() == "mine" for path in foreign)


@pytest.fixture
def holder(spec: Path) -> Iterator[tuple[subprocess.Popen, Path]]:
    """A process holding a scratch folder in the spec's cache (as a running build does), and that folder."""
    assert run_cli("build", str(spec)).returncode == 0
    cache = spec.parent / ".specc" / "cache"
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD_SCRATCH, str(cache)], stdout=subprocess.PIPE, text=True, env=os.environ.copy()
    )
    assert process.stdout is not None
    folder = Path(process.stdout.readline().strip())
    assert (folder / "data.arrow").is_file()
    yield process, folder
    if process.poll() is None:
        process.kill()
    process.wait()


def _info(spec: Path) -> str:
    result = run_cli("cache", "info", str(spec))
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.parametrize("reclaimer", ["build", "cache gc"])
def test_a_killed_builds_scratch_is_counted_then_reclaimed(
    spec: Path, holder: tuple[subprocess.Popen, Path], reclaimer: str
) -> None:
    process, folder = holder
    process.send_signal(signal.SIGKILL)
    assert process.wait() == -signal.SIGKILL
    assert folder.is_dir()  # a killed process cleans nothing up
    info = _info(spec)
    assert "scratch         1 entries" in info
    assert "(0 of the scratch folders belong to builds still running" in info
    result = run_cli(*reclaimer.split(), str(spec))
    assert result.returncode == 0, result.stderr
    if reclaimer == "cache gc":
        assert "and 1 scratch folders of stopped builds" in result.stdout
    assert not folder.exists() and not folder.with_suffix(".lock").exists()
    assert [p.name for p in folder.parent.iterdir()] == []
    assert "scratch         0 entries" in _info(spec)


def test_a_running_builds_scratch_is_left_alone(spec: Path, holder: tuple[subprocess.Popen, Path]) -> None:
    process, folder = holder
    before = snapshot(folder)
    for command in ("build", "cache gc"):
        result = run_cli(*command.split(), str(spec))
        assert result.returncode == 0, result.stderr
    assert "removed 0 step entries and 0 downloads and 0 scratch folders" in result.stdout
    assert snapshot(folder) == before
    info = _info(spec)
    assert "scratch         1 entries" in info and "(1 of the scratch folders belong to builds still running" in info
    assert process.poll() is None


def test_a_cache_an_older_specc_made_is_adopted(spec: Path) -> None:
    assert run_cli("build", str(spec)).returncode == 0
    cache = spec.parent / ".specc" / "cache"
    (cache / TAG).unlink()  # as caches were before the tag
    write(cache / "tmp" / ("0" * 32) / "data.arrow", "an older build's scratch")
    result = run_cli("build", str(spec))
    assert result.returncode == 0, result.stderr
    assert (cache / TAG).read_text().startswith(SIGNATURE + "\n")
    record = json.loads(record_path(spec.parent, spec.parent / "build" / "owned").read_text())
    assert record["cache"]["misses"] == 0


HOLD_CACHE = """
import sys, time
from pathlib import Path
from specc.cache import StepCache

with StepCache(Path(sys.argv[1])).in_use():
    print("held", flush=True)
    time.sleep(600)
"""


def test_gc_waits_for_no_build_while_one_uses_the_cache(spec: Path) -> None:
    assert run_cli("build", str(spec)).returncode == 0
    cache = spec.parent / ".specc" / "cache"
    spec.write_text(spec.read_text().replace("0.5, test: 0.5", "0.6, test: 0.4"))  # the lock no longer reaches all
    assert run_cli("lock", str(spec)).returncode == 0
    before = snapshot(cache / "steps")
    build = subprocess.Popen([sys.executable, "-c", HOLD_CACHE, str(cache)], stdout=subprocess.PIPE, text=True)
    try:
        assert build.stdout is not None and build.stdout.readline() == "held\n"
        refused = run_cli("cache", "gc", str(spec))
    finally:
        build.kill()
        build.wait()
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert f"{cache / 'builds.lock'}: error: a build is using the cache {cache}" in refused.stderr
    assert snapshot(cache / "steps") == before
    collected = run_cli("cache", "gc", str(spec))
    assert collected.returncode == 0 and not collected.stdout.startswith("removed 0 step"), collected.stdout
