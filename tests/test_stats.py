"""The typed build statistics: stats.json round-trips through the model, its schema is fresh, the card audits itself."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from specc.errors import SpeccError
from specc.selfcheck import audit_card
from specc.stats import STATS_VERSION, BuildStats, read_stats, stats_schema
from tests.conftest import ROOT, run_cli

SCHEMA = ROOT / "schemas" / "stats.schema.json"
REGENERATE = (
    'python -c \'from specc.stats import stats_schema; open("schemas/stats.schema.json", "w").write(stats_schema())\''
)


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


@pytest.mark.parametrize(
    "damage, reason",
    [
        ("{", "Expecting property name"),
        ('{"stats-version": 99}', "stats-version 99, not 1"),
        ("[]", "it holds a JSON list, not an object"),
    ],
)
def test_a_damaged_stats_json_says_to_rebuild(built: Path, tmp_path: Path, damage: str, reason: str) -> None:
    path = tmp_path / "stats.json"
    path.write_text(damage)
    with pytest.raises(SpeccError, match=f"^{path}: error: cannot read the build's statistics \\({reason}.*; rebuild$"):
        read_stats(path, "rebuild")
    data = json.loads((built / "stats.json").read_text())
    del data["split"]["splits"]
    path.write_text(json.dumps(data))
    with pytest.raises(SpeccError, match=r"1 invalid field\(s\), first split\.splits\); rebuild$"):
        read_stats(path, "rebuild")


# --- the card audits itself -------------------------------------------------------------------------


def tampered(built: Path, change: Callable[[BuildStats], None]) -> BuildStats:
    stats = read_stats(built / "stats.json", "rebuild")
    change(stats)
    return stats


def more_billing(stats: BuildStats) -> None:
    stats.split.splits["train"].by_label["label"]["billing"] += 1


def more_rows(stats: BuildStats) -> None:
    stats.split.splits["test"].rows += 1


def another_drop_reason(stats: BuildStats) -> None:
    step = next(s for s in stats.steps if s.dropped)
    reason = next(iter(step.dropped))
    step.dropped[reason] -= 1
    step.dropped["other"] = 1


def fewer_rows_out(stats: BuildStats) -> None:
    stats.steps[-1].rows_out -= 1


def more_leakage(stats: BuildStats) -> None:
    stats.split.leakage.total["exact_pairs"] += 1


def longer_text(stats: BuildStats) -> None:
    stats.lengths["text"]["train"].max += 1  # type: ignore[operator]


def test_the_audit_passes_on_a_build(built: Path) -> None:
    audit_card(built, read_stats(built / "stats.json", "rebuild"))


@pytest.mark.parametrize(
    "change, section",
    [
        (more_billing, "Splits"),
        (more_rows, "Splits"),
        (another_drop_reason, "Processing"),
        (fewer_rows_out, "Processing"),
        (more_leakage, "Splits"),
        (longer_text, "Text lengths"),
    ],
)
def test_tampered_stats_fail_the_audit_naming_the_card_section(
    built: Path, change: Callable[[BuildStats], None], section: str
) -> None:
    with pytest.raises(SpeccError, match=f"^error: self-check: card section '{section}': "):
        audit_card(built, tampered(built, change))


def test_evaluation_scores_are_those_of_their_confusion_matrix(built: Path) -> None:
    from specc.evaluation import classification_metrics

    scores = classification_metrics([0, 0, 1, 1, 2], [0, 1, 1, 1, 0], 3)
    stats = read_stats(built / "stats.json", "rebuild")
    stats.evaluate = {"evaluate.baseline": {"splits": {"test": scores}}}
    audit_card(built, stats)
    stats.evaluate["evaluate.baseline"]["splits"]["test"] = {**scores, "accuracy": scores["accuracy"] + 0.1}
    with pytest.raises(
        SpeccError,
        match="^error: self-check: card section 'Baseline evaluation': the scores of "
        "'evaluate.baseline' on split 'test'",
    ):
        audit_card(built, stats)
