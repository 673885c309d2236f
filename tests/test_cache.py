"""The step cache: resume after SIGKILL, corrupt entries, `specc cache info` and `gc`."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from specc.executor import record_path
from specc.pins import sha256_file, xxh3_file
from tests.conftest import ROOT, run_cli, write

GATE_PLUGIN = '''
"""A global step that announces it started, then waits for a release file."""
import time
from pathlib import Path

import specc
from specc.components import Params, Step, StepResult


class Gate(Step):
    """Waits until the release file exists."""

    name = "gate"
    scope = "global"

    class Params(Params):
        started: str
        release: str

    def apply(self, table):
        Path(self.params.started).write_text("started")
        while not Path(self.params.release).exists():
            time.sleep(0.02)
        return StepResult(table)


@specc.hookimpl
def register_steps(register):
    register(Gate)
'''


def _gate_env(tmp_path: Path) -> dict[str, str]:
    """An environment where the `gate` plugin is installed (a module and its dist-info on PYTHONPATH)."""
    site = tmp_path / "site"
    write(site / "gateplug.py", GATE_PLUGIN)
    write(site / "gateplug-0.1.dist-info" / "METADATA", "Metadata-Version: 2.1\nName: gateplug\nVersion: 0.1\n")
    write(site / "gateplug-0.1.dist-info" / "entry_points.txt", "[specc]\ngate = gateplug\n")
    return {"PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}


def _outputs(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _units(out: Path) -> dict[tuple[str, ...], dict]:
    """The build record's units by their steps."""
    return {tuple(u["steps"]): u for u in json.loads(record_path(out.parent.parent, out).read_text())["units"]}


def _quickstart(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "specs", tmp_path / "specs", ignore=shutil.ignore_patterns("build", ".specc", "*.lock"))
    return tmp_path / "specs" / "quickstart.yaml"


def test_sigkill_mid_step_keeps_the_output_and_the_rebuild_resumes_to_the_same_bytes(tmp_path: Path) -> None:
    env = _gate_env(tmp_path)
    started, release = tmp_path / "started", tmp_path / "release"
    spec = _quickstart(tmp_path)
    text = spec.read_text().replace(
        "  - {type: dedup, columns: [text]}",
        "  - {type: gate, started: started, release: release}\n  - {type: dedup, columns: [text]}",  # from tmp_path
    )
    spec.write_text(text)
    release.write_text("go")
    assert run_cli("build", str(spec), env=env, cwd=tmp_path).returncode == 0
    out = spec.parent / "build" / "support-intents"
    previous = _outputs(out)

    spec.write_text(text.replace("min_chars: 8,", "min_chars: 25,"))
    release.unlink()
    started.unlink()
    process = subprocess.Popen(
        [sys.executable, "-m", "specc", "build", str(spec)],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=tmp_path,
    )
    deadline = time.monotonic() + 60
    while not started.exists():
        assert process.poll() is None and time.monotonic() < deadline, "the build never reached the gate"
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    assert process.wait() == -signal.SIGKILL
    assert _outputs(out) == previous

    release.write_text("go")
    resumed = run_cli("build", str(spec), env=env, cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    units = {
        tuple(u["steps"]): u["cache"] for u in json.loads(record_path(out.parent.parent, out).read_text())["units"]
    }
    assert units[("sources.faq",)] == "hit"
    assert units[("clean.normalize", "clean.drop-missing", "clean.length", "clean.regex")] == "hit"
    assert units[("clean.gate",)] == "miss"
    assert [p.name for p in out.parent.iterdir()] == ["support-intents"]
    resumed_bytes = _outputs(out)
    assert resumed_bytes != previous
    clean = run_cli("build", str(spec), "--cache-dir", str(tmp_path / "fresh"), env=env, cwd=tmp_path)
    assert clean.returncode == 0, clean.stderr
    assert _outputs(out) == resumed_bytes


def test_a_corrupt_entry_is_detected_and_rebuilt(tmp_path: Path) -> None:
    spec = _quickstart(tmp_path)
    assert run_cli("build", str(spec)).returncode == 0
    out = spec.parent / "build" / "support-intents"
    before = _outputs(out)
    lock = json.loads(spec.with_suffix(".lock").read_text())
    dedup_digest = lock["steps"]["clean.dedup"]["output"]["xxh3_128"]
    entries = [
        p
        for p in (spec.parent / ".specc" / "cache" / "steps").glob("*/*")
        if json.loads((p / "meta.json").read_text())["xxh3_128"] == dedup_digest
    ]
    assert len(entries) == 1
    with (entries[0] / "data.arrow").open("r+b") as handle:
        handle.seek(100)
        byte = handle.read(1)
        handle.seek(100)
        handle.write(bytes([byte[0] ^ 0xFF]))
    assert run_cli("build", str(spec)).returncode == 0
    units = {
        tuple(u["steps"]): u["cache"] for u in json.loads(record_path(out.parent.parent, out).read_text())["units"]
    }
    assert units[("clean.dedup",)] == "miss" and units[("split",)] == "hit"
    assert _outputs(out) == before


def test_cache_info_and_gc_keep_what_the_lock_reaches(tmp_path: Path) -> None:
    spec = _quickstart(tmp_path)
    assert run_cli("build", str(spec)).returncode == 0
    text = spec.read_text()
    spec.write_text(
        text.replace(
            "ratios: {train: 0.8, validation: 0.1, test: 0.1}", "ratios: {train: 0.7, validation: 0.2, test: 0.1}"
        )
    )
    assert run_cli("build", str(spec)).returncode == 0
    info = run_cli("cache", "info", str(spec))
    assert info.returncode == 0
    assert str(spec.parent / ".specc" / "cache") in info.stdout
    assert "steps           8 entries" in info.stdout  # six units, the earlier split, the leakage keys
    gc = run_cli("cache", "gc", str(spec))
    assert gc.returncode == 0, gc.stderr
    assert gc.stdout.startswith("removed 1 step entries and 0 downloads")
    assert "steps           7 entries" in run_cli("cache", "info", str(spec)).stdout
    assert run_cli("build", str(spec)).returncode == 0
    record = json.loads(record_path(spec.parent, spec.parent / "build" / "support-intents").read_text())
    assert record["cache"] == {"hits": 6, "misses": 0}
    spec.with_suffix(".lock").unlink()
    no_lock = run_cli("cache", "gc", str(spec))
    assert no_lock.returncode == 1 and "has no lock" in no_lock.stderr


def test_a_rebuild_after_new_split_ratios_reads_the_leakage_keys_from_the_cache_even_after_gc(tmp_path: Path) -> None:
    spec = _quickstart(tmp_path)
    out = spec.parent / "build" / "support-intents"
    assert run_cli("build", str(spec)).returncode == 0
    assert _units(out)[("split",)]["leakage_keys"] == "miss"
    gc = run_cli("cache", "gc", str(spec))
    assert gc.returncode == 0 and gc.stdout.startswith("removed 0 step entries"), gc.stderr

    text = spec.read_text().replace(
        "ratios: {train: 0.8, validation: 0.1, test: 0.1}", "ratios: {train: 0.6, validation: 0.2, test: 0.2}"
    )
    spec.write_text(text)
    assert run_cli("build", str(spec)).returncode == 0
    split = _units(out)[("split",)]
    assert split["cache"] == "miss" and split["leakage_keys"] == "hit"
    rebuilt = _outputs(out)
    cold = run_cli("build", str(spec), "--cache-dir", str(tmp_path / "fresh"))
    assert cold.returncode == 0, cold.stderr
    assert _units(out)[("split",)]["leakage_keys"] == "miss"
    assert _outputs(out) == rebuilt

    spec.write_text(text.replace("min_chars: 8,", "min_chars: 25,"))  # other rows reach the split
    assert run_cli("build", str(spec)).returncode == 0
    assert _units(out)[("split",)]["leakage_keys"] == "miss"


def test_file_digests_are_those_of_the_bytes(tmp_path: Path) -> None:
    import hashlib

    import xxhash

    for data in (b"", b"arrow", bytes(range(256)) * 5000):
        path = tmp_path / "data.arrow"
        path.write_bytes(data)
        assert xxh3_file(path) == xxhash.xxh3_128(data).hexdigest()
        assert sha256_file(path) == hashlib.sha256(data).hexdigest()
