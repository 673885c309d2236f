"""Damaged state on disk (cache entries, cache layout, lock, output) is repaired or explained, never a traceback."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from specc.executor import record_path
from tests.conftest import run_cli, write

SPEC = """specc: 1
name: small
description: A small spec to damage.
license: mit
languages: [en]
sources:
  rows: {type: jsonl, path: rows.jsonl}
clean:
  - {type: dedup, columns: [text]}
split:
  method: hash
  ratios: {train: 0.8, test: 0.2}
card: {draft: true}
"""


@pytest.fixture(scope="module")
def built_once(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project folder built once: spec, data, lock, output and the default cache beside them."""
    folder = tmp_path_factory.mktemp("built")
    rows = [{"text": f"row number {i % 35} with some text", "label": "ab"[i % 2]} for i in range(40)]  # dedup drops 5
    write(folder / "rows.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    write(folder / "s.yaml", SPEC)
    result = run_cli("build", "s.yaml", cwd=folder)
    assert result.returncode == 0, result.stderr
    return folder


@pytest.fixture
def project(built_once: Path, tmp_path: Path) -> Path:
    """A fresh copy of the built project, to damage."""
    return Path(shutil.copytree(built_once, tmp_path / "project"))


def _outputs(project: Path) -> dict[str, bytes]:
    out = project / "build" / "small"
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def _units(project: Path) -> dict[tuple[str, ...], dict]:
    record = json.loads(record_path(project, project / "build" / "small").read_text())
    return {tuple(u["steps"]): u for u in record["units"]}


def _entry(project: Path, step: str) -> Path:
    """The cache entry folder holding the output of `step` (found by the digest the lock records)."""
    digest = json.loads((project / "s.lock").read_text())["steps"][step]["output"]["xxh3_128"]
    return next(
        p
        for p in (project / ".specc" / "cache" / "steps").glob("*/*")
        if json.loads((p / "meta.json").read_text())["xxh3_128"] == digest
    )


def _explained(result, *needles: str) -> None:
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    for needle in needles:
        assert needle in result.stderr, result.stderr


# --- cache entries: a miss, rebuilt to the same bytes, and the build record says why ----------------


def _edit_meta(change: Callable[[dict], object]) -> Callable[[Path], None]:
    def damage(entry: Path) -> None:
        meta = json.loads((entry / "meta.json").read_text())
        (entry / "meta.json").write_text(json.dumps(change(meta)))

    return damage


def _truncate(entry: Path) -> None:
    data = entry / "data.arrow"
    data.write_bytes(data.read_bytes()[:100])


def _drop_key(key: str) -> Callable[[dict], dict]:
    return lambda meta: {k: v for k, v in meta.items() if k != key}


DAMAGED_ENTRIES: dict[str, Callable[[Path], None]] = {
    "meta is a list": lambda entry: (entry / "meta.json").write_text("[]"),
    "meta is null": lambda entry: (entry / "meta.json").write_text("null"),
    "meta is not JSON": lambda entry: (entry / "meta.json").write_bytes(b"\xff{"),
    "meta without rows": _edit_meta(_drop_key("rows")),
    "meta without digest": _edit_meta(_drop_key("xxh3_128")),
    "rows changed": _edit_meta(lambda meta: {**meta, "rows": 7}),
    "meta missing": lambda entry: (entry / "meta.json").unlink(),
    "data truncated": _truncate,
    "data missing": lambda entry: (entry / "data.arrow").unlink(),
}


def _rebuilt(project: Path, step: str, damage: Callable[[Path], None]) -> None:
    """Damage the cache entry of `step`, build: a miss that names the entry, then the same output bytes."""
    before = _outputs(project)
    entry = _entry(project, step)
    damage(entry)
    result = run_cli("build", "s.yaml", cwd=project)
    assert result.returncode == 0, result.stderr
    assert _outputs(project) == before
    unit = _units(project)[(step,)]
    assert unit["cache"] == "miss"
    assert len(unit["repaired"]) == 1 and unit["repaired"][0].startswith(f"{entry}: ")


@pytest.mark.parametrize("damage", DAMAGED_ENTRIES.values(), ids=DAMAGED_ENTRIES.keys())
def test_a_damaged_cache_entry_is_rebuilt_to_the_same_bytes(project: Path, damage: Callable[[Path], None]) -> None:
    _rebuilt(project, "clean.dedup", damage)
    assert _units(project)[("split",)]["cache"] == "hit"  # dedup rebuilt to the same bytes: the split is reused


def test_a_repaired_entry_is_whole_again(project: Path) -> None:
    _rebuilt(project, "sources.rows", DAMAGED_ENTRIES["meta without rows"])
    assert run_cli("build", "s.yaml", cwd=project).returncode == 0
    assert _units(project)[("sources.rows",)]["cache"] == "hit"


def test_garbage_in_the_index_is_ignored_by_plan_build_and_gc(project: Path) -> None:
    before = _outputs(project)
    for index in (project / ".specc" / "cache" / "index").iterdir():
        index.write_bytes(b"../../../../etc\xff")
    plan = run_cli("plan", "s.yaml", cwd=project)
    assert plan.returncode == 0 and "Traceback" not in plan.stderr
    assert "(0 cached)" in plan.stdout
    assert run_cli("build", "s.yaml", cwd=project).returncode == 0
    assert _outputs(project) == before
    gc = run_cli("cache", "gc", "s.yaml", cwd=project)
    assert gc.returncode == 0, gc.stderr


@pytest.mark.parametrize("part", ["steps", "index", "tmp"])
@pytest.mark.parametrize("command", ["build", "cache info", "cache gc"])
def test_a_cache_part_that_is_a_file_is_named_with_the_fix(project: Path, part: str, command: str) -> None:
    path = project / ".specc" / "cache" / part
    shutil.rmtree(path, ignore_errors=True)
    path.write_text("not a folder")
    result = run_cli(*command.split(), "s.yaml", cwd=project)
    _explained(result, f"{path} is not a folder", f"remove {path}", "--cache-dir")
    assert path.read_text() == "not a folder"


# --- the lock: an error naming the file and what to run ----------------------------------------------


def _lock_edit(change: Callable[[dict], object]) -> Callable[[Path], None]:
    def damage(lock: Path) -> None:
        lock.write_text(json.dumps(change(json.loads(lock.read_text())), indent=2, sort_keys=True))

    return damage


def _set_step(key: str | None, value: object) -> Callable[[dict], dict]:
    def change(lock: dict) -> dict:
        if key is None:
            lock["steps"]["clean.dedup"] = value
        else:
            lock["steps"]["clean.dedup"][key] = value
        return lock

    return change


DAMAGED_LOCKS: dict[str, tuple[Callable[[Path], None], str]] = {
    "not UTF-8": (
        lambda lock: lock.write_bytes(lock.read_bytes().replace(b"\n", b"\n\xff\xfe", 1)),
        "s.lock:2: error: the lock is not UTF-8 text",
    ),
    "not JSON": (lambda lock: lock.write_text("{not json"), "s.lock:1: error: the lock is not valid JSON"),
    "not an object": (lambda lock: lock.write_text("[]"), "s.lock:1: error: the lock is not a JSON object"),
    "unknown lock-version": (
        _lock_edit(lambda lock: {**lock, "lock-version": 99}),
        "s.lock:1: error: lock-version 99 is not 2",
    ),
    "null step entry": (
        _lock_edit(_set_step(None, None)),
        'error: the lock is damaged at ["steps"]["clean.dedup"]: input should be a valid dictionary',
    ),
    "fingerprint a number": (
        _lock_edit(_set_step("fingerprint", 5)),
        'the lock is damaged at ["steps"]["clean.dedup"]["fingerprint"]',
    ),
    "upstream not strings": (
        _lock_edit(_set_step("upstream", [3])),
        'the lock is damaged at ["steps"]["clean.dedup"]["upstream"][0]',
    ),
    "pins null": (_lock_edit(_set_step("pins", None)), 'the lock is damaged at ["steps"]["clean.dedup"]["pins"]'),
    "output file null": (
        _lock_edit(lambda lock: {**lock, "outputs": {**lock["outputs"], "files": {"x": None}}}),
        'the lock is damaged at ["outputs"]["files"]["x"]',
    ),
}


@pytest.mark.parametrize("damage,message", DAMAGED_LOCKS.values(), ids=DAMAGED_LOCKS.keys())
def test_a_damaged_lock_names_the_file_and_what_to_run(
    project: Path, damage: Callable[[Path], None], message: str
) -> None:
    lock = project / "s.lock"
    damage(lock)
    damaged = lock.read_bytes()
    result = run_cli("plan", "s.yaml", cwd=project)
    _explained(
        result,
        str(lock),
        message,
        "restore the lock from version control",
        f"delete it and run `specc lock` again (`rm {lock} && specc lock {project / 's.yaml'}`",
    )
    assert lock.read_bytes() == damaged


@pytest.mark.parametrize("command", ["build", "lock", "card", "cache gc"])
def test_every_command_that_reads_the_lock_explains_a_null_entry(project: Path, command: str) -> None:
    lock = project / "s.lock"
    _lock_edit(_set_step(None, None))(lock)
    result = run_cli(*command.split(), "s.yaml", cwd=project)
    _explained(result, f"{lock}:", "the lock is damaged", "specc lock")


# --- `specc card` on a damaged output -----------------------------------------------------------------


def _flip_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


DAMAGED_STATS: dict[str, tuple[Callable[[Path], None], str]] = {
    "stats is a list": (lambda p: p.write_text("[]"), "it holds a JSON list, not an object"),
    "stats is empty": (lambda p: p.write_text("{}"), "stats-version None, not 1"),
    "stats is not JSON": (lambda p: p.write_text('{"build": '), "Expecting value"),
    "stats outputs mistyped": (_lock_edit(lambda s: {**s, "outputs": [None]}), "1 invalid field(s), first outputs.0"),
}


@pytest.mark.parametrize("damage,message", DAMAGED_STATS.values(), ids=DAMAGED_STATS.keys())
def test_specc_card_on_damaged_statistics_says_to_build_again(
    project: Path, damage: Callable[[Path], None], message: str
) -> None:
    stats = project / "build" / "small" / "stats.json"
    damage(stats)
    result = run_cli("card", "s.yaml", cwd=project)
    _explained(result, f"{stats}: error: cannot read the build's statistics (", message, "; run `specc build s.yaml`")
    assert run_cli("build", "s.yaml", cwd=project).returncode == 0
    assert run_cli("card", "s.yaml", cwd=project).returncode == 0


DAMAGED_OUTPUTS: dict[str, tuple[str, Callable[[Path], None], str]] = {
    "parquet truncated": (
        "data/train-00000-of-00001.parquet",
        lambda p: p.write_bytes(p.read_bytes()[:300]),
        "its bytes differ from those the build wrote",
    ),
    "parquet byte flipped": (
        "data/train-00000-of-00001.parquet",
        _flip_byte,
        "its bytes differ from those the build wrote",
    ),
    "parquet missing": ("data/test-00000-of-00001.parquet", lambda p: p.unlink(), "the file is missing"),
}


@pytest.mark.parametrize("name,damage,message", DAMAGED_OUTPUTS.values(), ids=DAMAGED_OUTPUTS.keys())
def test_specc_card_on_a_damaged_output_says_to_build_again(
    project: Path, name: str, damage: Callable[[Path], None], message: str
) -> None:
    out = project / "build" / "small"
    before = _outputs(project)
    damage(out / name)
    result = run_cli("card", "s.yaml", cwd=project)
    _explained(
        result,
        f"{out / name}: error: the output in {out} is damaged",
        message,
        "run `specc build s.yaml` to build it again",
    )
    assert run_cli("build", "s.yaml", cwd=project).returncode == 0
    assert _outputs(project) == before
    assert run_cli("card", "s.yaml", cwd=project).returncode == 0
