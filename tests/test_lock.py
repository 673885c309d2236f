"""The lock, the plan diff against it, --frozen, --verify and `specc lock` pins."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from specc.executor import record_path
from tests.conftest import ROOT, run_cli


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    """A copy of the quickstart to edit, without its lock, build or cache."""
    shutil.copytree(ROOT / "specs", tmp_path / "specs", ignore=shutil.ignore_patterns("build", ".specc", "*.lock"))
    return tmp_path / "specs" / "quickstart.yaml"


def _edit(spec: Path, old: str, new: str) -> None:
    text = spec.read_text()
    assert old in text
    spec.write_text(text.replace(old, new))


def _diff(spec: Path) -> dict[str, dict]:
    result = run_cli("plan", "--json", str(spec))
    assert result.returncode == 0, result.stderr
    return {c["step"]: c for c in json.loads(result.stdout)["diff"]["changes"]}


def _record(spec: Path) -> dict:
    return json.loads(record_path(spec.parent, spec.parent / "build" / "support-intents").read_text())


def test_lock_twice_is_byte_identical_and_operational_options_change_no_fingerprint(spec: Path, tmp_path: Path) -> None:
    lock = spec.with_suffix(".lock")
    first = run_cli("lock", str(spec))
    assert first.returncode == 0 and first.stdout.startswith("wrote")
    text = lock.read_bytes()
    data = json.loads(text)
    assert data["lock-version"] == 2 and "outputs" not in data
    faq = data["steps"]["sources.faq"]["pins"]["files"][0]
    assert faq["path"] == "data/quickstart/faq.jsonl" and len(faq["sha256"]) == 64 and faq["size"] > 0
    assert data["plugins"] == {"specc": "0.1.0"}
    assert all(len(s["fingerprint"]) == 64 and isinstance(s["seed"], int) for s in data["steps"].values())
    assert b"20" + b"26-" not in text  # no timestamps
    second = run_cli("lock", str(spec), "--cache-dir", str(tmp_path / "elsewhere"))
    assert second.stdout.startswith("unchanged")
    assert lock.read_bytes() == text
    assert run_cli("build", str(spec), "--num-proc", "2").returncode == 0
    built = json.loads(lock.read_text())
    assert {k: v["fingerprint"] for k, v in built["steps"].items()} == {
        k: v["fingerprint"] for k, v in data["steps"].items()
    }
    outputs = built["outputs"]["files"]
    assert sorted(outputs) == [f"data/{s}-00000-of-00001.parquet" for s in ("test", "train", "validation")]
    stats = json.loads((spec.parent / "build" / "support-intents" / "stats.json").read_text())
    assert {o["path"]: o["sha256"] for o in stats["outputs"]} == {p: o["sha256"] for p, o in outputs.items()}
    assert built["steps"]["split"]["output"]["rows"] == sum(o["rows"] for o in outputs.values())
    after_build = lock.read_bytes()
    assert run_cli("lock", str(spec)).stdout.startswith("unchanged")
    assert lock.read_bytes() == after_build


def test_split_change_marks_split_and_after_and_rebuild_reuses_the_cache(spec: Path) -> None:
    assert run_cli("build", str(spec)).returncode == 0
    assert _record(spec)["cache"] == {"hits": 0, "misses": 6}
    unchanged = run_cli("plan", "--check", str(spec))
    assert unchanged.returncode == 0
    assert unchanged.stdout.splitlines()[-1] == "0 new, 0 changed, 0 removed, 10 unchanged (9 cached)"
    _edit(spec, "ratios: {train: 0.8, validation: 0.1, test: 0.1}", "ratios: {train: 0.7, validation: 0.2, test: 0.1}")
    diff = _diff(spec)
    before = [
        "sources.faq",
        "sources.tickets",
        "sources.chats",
        "clean.normalize",
        "clean.drop-missing",
        "clean.length",
        "clean.regex",
        "clean.dedup",
    ]
    assert [diff[s]["mark"] for s in before] == ["="] * len(before)
    assert all(diff[s]["cached"] for s in before)
    assert diff["split"]["mark"] == "~"
    assert diff["split"]["causes"] == ["params.ratios.train 0.8 -> 0.7", "params.ratios.validation 0.1 -> 0.2"]
    assert diff["output"] == {**diff["output"], "mark": "~", "causes": ["upstream split changed"]}
    text = run_cli("plan", str(spec))
    assert "~ split" in text.stdout and "      params.ratios.train 0.8 -> 0.7" in text.stdout
    assert run_cli("plan", "--check", str(spec)).returncode == 2
    assert run_cli("build", str(spec)).returncode == 0
    assert _record(spec)["cache"] == {"hits": 5, "misses": 1}
    assert run_cli("plan", "--check", str(spec)).returncode == 0


def test_source_bytes_removed_steps_and_plugin_versions_are_causes(spec: Path) -> None:
    assert run_cli("lock", str(spec)).returncode == 0
    faq = spec.parent / "data" / "quickstart" / "faq.jsonl"
    faq.write_text(faq.read_text() + '{"question": "Is there a student discount on plans?", "intent": "billing"}\n')
    _edit(spec, "  - {type: regex, column: text, pattern: '[\\w.+-]+@[\\w-]+\\.[\\w.]+', action: drop}", "")
    lock = spec.with_suffix(".lock")
    data = json.loads(lock.read_text())
    data["steps"]["clean.normalize"]["distribution"] = ["specc", "0.0.9"]
    lock.write_text(json.dumps(data))
    diff = _diff(spec)
    assert diff["sources.faq"]["mark"] == "~"
    [cause] = diff["sources.faq"]["causes"]
    assert cause.startswith("source bytes: data/quickstart/faq.jsonl sha256 ")
    assert diff["sources.tickets"]["mark"] == "="
    assert diff["clean.regex"]["mark"] == "-"
    assert "plugin specc 0.0.9 -> 0.1.0" in diff["clean.normalize"]["causes"]
    assert "upstream sources.faq changed" in diff["clean.normalize"]["causes"]
    assert diff["clean.dedup"]["causes"] == ["upstream clean.regex -> clean.length"]


def test_frozen_refuses_a_missing_or_stale_lock_and_names_the_parameter(spec: Path) -> None:
    out = spec.parent / "build" / "support-intents"
    missing = run_cli("build", "--frozen", str(spec))
    assert missing.returncode == 1 and "no lock (--frozen)" in missing.stderr and not out.exists()
    assert run_cli("build", str(spec)).returncode == 0
    lock = spec.with_suffix(".lock").read_bytes()
    assert run_cli("build", "--frozen", str(spec)).returncode == 0
    _edit(
        spec,
        "{type: length, column: text, min_chars: 8, max_chars: 300}",
        "{type: length, column: text, min_chars: 10, max_chars: 300}",
    )
    stale = run_cli("build", "--frozen", str(spec))
    assert stale.returncode == 1 and "Traceback" not in stale.stderr
    assert "the lock is stale (--frozen)" in stale.stderr
    assert "~ clean.length: params.min_chars 8 -> 10" in stale.stderr
    assert spec.with_suffix(".lock").read_bytes() == lock


def test_early_cutoff_skips_steps_whose_input_bytes_did_not_change(spec: Path) -> None:
    assert run_cli("build", str(spec)).returncode == 0
    # No row is longer than 300 characters, so a higher limit keeps the same rows.
    _edit(spec, "min_chars: 8, max_chars: 300}", "min_chars: 8, max_chars: 400}")
    assert run_cli("build", str(spec)).returncode == 0
    units = {tuple(u["steps"]): u["cache"] for u in _record(spec)["units"]}
    assert units[("clean.normalize", "clean.drop-missing", "clean.length", "clean.regex")] == "miss"
    assert units[("clean.dedup",)] == "hit" and units[("split",)] == "hit"


def test_verify_rebuilds_from_scratch_and_names_a_step_that_differs(spec: Path) -> None:
    assert run_cli("build", "--verify", str(spec)).returncode == 1
    assert run_cli("build", str(spec)).returncode == 0
    out = spec.parent / "build" / "support-intents"
    before = (out / "stats.json").read_bytes()
    ok = run_cli("build", "--verify", str(spec))
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("verified: 9 digests")
    assert (out / "stats.json").read_bytes() == before
    lock = spec.with_suffix(".lock")
    data = json.loads(lock.read_text())
    data["steps"]["clean.dedup"]["output"]["xxh3_128"] = "0" * 32
    lock.write_text(json.dumps(data))
    bad = run_cli("build", "--verify", str(spec))
    assert bad.returncode == 1
    assert "step clean.dedup: xxh3_128 000000000000 in the lock" in bad.stderr


def test_upgrade_source_must_name_a_source_and_a_broken_lock_is_a_clear_error(spec: Path) -> None:
    result = run_cli("lock", str(spec), "--upgrade-source", "nope")
    assert result.returncode == 1
    assert "--upgrade-source nope: no such source; the sources are: faq, tickets, chats" in result.stderr
    assert run_cli("lock", str(spec), "--upgrade-source", "faq").returncode == 0
    spec.with_suffix(".lock").write_text("{not json")
    broken = run_cli("plan", str(spec))
    assert broken.returncode == 1 and "Traceback" not in broken.stderr
    assert "quickstart.lock:1: error: the lock is not valid JSON" in broken.stderr
    assert "delete it and run `specc lock` again" in broken.stderr


def test_the_committed_quickstart_lock_is_current() -> None:
    result = run_cli("plan", "--check", str(ROOT / "specs" / "quickstart.yaml"))
    assert result.returncode == 0, (
        f"specs/quickstart.lock is stale; run `specc lock specs/quickstart.yaml`:\n{result.stdout}{result.stderr}"
    )


@pytest.mark.parametrize("name", ["quickstart", "rule-labels", "human-round", "augment"])
def test_each_committed_lock_pins_the_bytes_a_build_writes(name: str, tmp_path: Path) -> None:
    """A refactor that changes a written byte of an example data set changes its lock: this catches it."""
    if name == "augment":
        pytest.importorskip("specc_nlpaug")
    folder = tmp_path / "specs"
    shutil.copytree(ROOT / "specs", folder, ignore=shutil.ignore_patterns("build", ".specc"))
    result = run_cli("build", "--frozen", str(folder / f"{name}.yaml"))
    assert result.returncode == 0, result.stderr
    locked = json.loads((folder / f"{name}.lock").read_text())["outputs"]["files"]
    out = next(d for d in (folder / "build").iterdir() if (d / next(iter(locked))).is_file())
    written = {path: hashlib.sha256((out / path).read_bytes()).hexdigest() for path in locked}
    assert written == {path: entry["sha256"] for path, entry in locked.items()}
