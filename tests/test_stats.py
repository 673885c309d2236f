"""The typed build statistics: stats.json round-trips through the model, its committed schema is fresh."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from specc.stats import STATS_VERSION, read_stats, stats_schema
from tests.conftest import ROOT, run_cli

SCHEMA = ROOT / "schemas" / "stats.schema.json"
REGENERATE = ("python -c 'from specc.stats import stats_schema; "
              "open(\"schemas/stats.schema.json\", \"w\").write(stats_schema())'")


def test_committed_stats_schema_is_fresh() -> None:
    assert SCHEMA.read_text() == stats_schema(), f"schemas/stats.schema.json is stale; regenerate it with {REGENERATE}"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The quickstart built once in a copy of specs/; its output folder."""
    folder = tmp_path_factory.mktemp("stats") / "specs"
    shutil.copytree(ROOT / "specs", folder, ignore=shutil.ignore_patterns("build", ".specc"))
    result = run_cli("build", str(folder / "quickstart.yaml"))
    assert result.returncode == 0, result.stderr
    return folder / "build" / "support-intents"


def test_stats_json_has_its_version_validates_and_round_trips(built: Path) -> None:
    import jsonschema

    text = (built / "stats.json").read_text(encoding="utf-8")
    data = json.loads(text)
    assert next(iter(data)) == "stats-version" and data["stats-version"] == STATS_VERSION
    jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text())).validate(data)
    stats = read_stats(built / "stats.json", "rebuild")
    assert stats.split.splits["train"].rows == stats.outputs[0].rows
    assert json.dumps(stats.json_data(), indent=2, ensure_ascii=False) + "\n" == text


@pytest.mark.parametrize("damage, reason", [
    ("{", "Expecting property name"),
    ('{"stats-version": 99}', "not stats-version 1"),
    ("[]", "not stats-version 1"),
])
def test_a_damaged_stats_json_says_to_rebuild(built: Path, tmp_path: Path, damage: str, reason: str) -> None:
    from specc.errors import SpeccError

    path = tmp_path / "stats.json"
    path.write_text(damage)
    with pytest.raises(SpeccError, match=f"^{path}: error: cannot read the build's statistics \\({reason}.*; rebuild$"):
        read_stats(path, "rebuild")
    data = json.loads((built / "stats.json").read_text())
    del data["split"]["splits"]
    path.write_text(json.dumps(data))
    with pytest.raises(SpeccError, match=r"1 invalid field\(s\), first split\.splits\); rebuild$"):
        read_stats(path, "rebuild")
