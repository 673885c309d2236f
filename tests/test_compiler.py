"""The compiler: stage order, seeds from step ids, fingerprints that follow what changes output."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from specc import compile_spec, load_spec
from specc.errors import SpecError
from tests.conftest import ROOT, run_cli, write

BASE = """\
specc: 1
name: fp
description: d
license: mit
seed: {seed}
sources:
  rows: {{type: jsonl, path: {path}}}
clean:
{clean}
split: {{method: random, ratios: {{train: {train}, test: {test}}}}}
card: {{draft: true}}
"""
CLEAN = "  - {type: normalize}\n  - {type: length, min_chars: 2}\n  - {type: dedup}\n"


def _plan(
    tmp_path: Path,
    name: str = "s.yaml",
    seed: int = 1,
    path: str = "rows.jsonl",
    clean: str = CLEAN,
    train: float = 0.8,
    test: float = 0.2,
):  # type: ignore[no-untyped-def]
    if not (tmp_path / "rows.jsonl").exists():
        write(tmp_path / "rows.jsonl", '{"text": "a b"}\n{"text": "c d"}\n')
    spec = write(tmp_path / name, BASE.format(seed=seed, path=path, clean=clean, train=train, test=test))
    return compile_spec(load_spec(spec))


def _fps(plan) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {s.id: s.fingerprint for s in plan.steps}


def test_stage_order_is_fixed_by_the_compiler(tmp_path: Path) -> None:
    write(tmp_path / "rows.jsonl", '{"text": "a b"}\n')
    spec = write(
        tmp_path / "s.yaml",
        "split: {method: random}\nclean:\n  - {type: dedup}\n"
        "sources:\n  rows: {type: jsonl, path: rows.jsonl}\n"
        "specc: 1\nname: o\ndescription: d\nlicense: mit\ncard: {draft: true}\n",
    )
    plan = compile_spec(load_spec(spec))
    assert [s.id for s in plan.steps] == ["sources.rows", "clean.dedup", "split", "output"]
    assert [s.upstream for s in plan.steps] == [(), ("sources.rows",), ("clean.dedup",), ("split",)]


def test_changing_a_parameter_changes_that_step_and_everything_after(tmp_path: Path) -> None:
    before = _fps(_plan(tmp_path))
    after = _fps(_plan(tmp_path, clean=CLEAN.replace("min_chars: 2", "min_chars: 3")))
    assert [k for k in before if before[k] != after[k]] == ["clean.length", "clean.dedup", "split", "output"]


def test_split_ratio_change_leaves_clean_steps_alone(tmp_path: Path) -> None:
    before = _fps(_plan(tmp_path))
    after = _fps(_plan(tmp_path, train=0.7, test=0.3))
    assert [k for k in before if before[k] != after[k]] == ["split", "output"]


def test_paths_are_not_fingerprinted_but_bytes_are(tmp_path: Path) -> None:
    before = _fps(_plan(tmp_path))
    shutil.copy(tmp_path / "rows.jsonl", tmp_path / "moved.jsonl")
    assert _fps(_plan(tmp_path, path="moved.jsonl")) == before
    write(tmp_path / "moved.jsonl", '{"text": "a b"}\n{"text": "c e"}\n')
    changed = _fps(_plan(tmp_path, path="moved.jsonl"))
    assert all(changed[k] != before[k] for k in before)


def test_seeds_come_from_step_ids_not_positions(tmp_path: Path) -> None:
    plan = _plan(tmp_path)
    reordered = _plan(tmp_path, clean="  - {type: length, min_chars: 2}\n  - {type: normalize}\n  - {type: dedup}\n")
    seeds = {s.id: s.seed for s in plan.steps}
    assert {s.id: s.seed for s in reordered.steps} == seeds
    assert len(set(seeds.values())) == len(seeds)
    assert {s.id: s.seed for s in _plan(tmp_path, seed=2).steps} != seeds


def test_defaults_are_applied_in_the_fingerprinted_params(tmp_path: Path) -> None:
    plan = _plan(tmp_path)
    normalize = next(s for s in plan.steps if s.id == "clean.normalize")
    assert normalize.fingerprinted_params()["form"] == "NFKC"
    explicit = _plan(tmp_path, clean=CLEAN.replace("{type: normalize}", "{type: normalize, form: NFKC}"))
    assert _fps(explicit) == _fps(plan)


def test_repeated_types_get_numbered_ids_and_duplicate_ids_are_errors(tmp_path: Path) -> None:
    plan = _plan(tmp_path, clean="  - {type: length, min_chars: 2}\n  - {type: length, max_chars: 9}\n")
    assert [s.id for s in plan.stage("clean")] == ["clean.length", "clean.length-2"]
    with pytest.raises(SpecError) as info:
        _plan(tmp_path, clean="  - {type: length, id: x, max_chars: 9}\n  - {type: dedup, id: x}\n")
    assert str(info.value).endswith(
        "s.yaml:10:23: error: clean[1].id: id 'x' is used twice in clean; ids must be unique"
    )


def test_plan_command_prints_every_step(tmp_path: Path) -> None:
    result = run_cli("plan", "--steps", str(ROOT / "specs" / "quickstart.yaml"))
    assert result.returncode == 0, result.stderr
    text = result.stdout
    for step in (
        "sources.faq",
        "sources.tickets",
        "sources.chats",
        "clean.normalize",
        "clean.dedup",
        "split",
        "output",
    ):
        assert f"  {step} " in text
    assert "data/quickstart/faq.jsonl" in text
    assert text.strip().splitlines()[-1].startswith("10 steps; build fingerprint ")
    as_json = json.loads(run_cli("plan", "--json", str(ROOT / "specs" / "quickstart.yaml")).stdout)
    assert [s["id"] for s in as_json["plan"]["steps"]] == [c["step"] for c in as_json["diff"]["changes"]]
