"""The annotation example specs build, report what their labelers did, and rebuild to the same bytes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from specc.builder import build
from tests.conftest import ROOT
from tests.test_annotate_human import output_bytes


@pytest.fixture
def examples(tmp_path: Path) -> Path:
    """The annotation example specs and their data, copied to build in."""
    folder = tmp_path / "specs"
    shutil.copytree(ROOT / "specs" / "data" / "annotate", folder / "data" / "annotate")
    for name in ("rule-labels.yaml", "human-round.yaml"):
        shutil.copy(ROOT / "specs" / name, folder / name)
    return folder


def test_rule_labels_example_reports_coverage_and_conflicts(examples: Path) -> None:
    stats = build(examples / "rule-labels.yaml", cache_dir=examples / ".cache")
    record = next(s for s in stats["steps"] if s["id"] == "annotate.intent-rules")
    info = record["info"]
    assert info["rows"] == 40 and info["labelled"] + info["unlabeled"] == 40
    assert record["dropped"] == {"unlabeled": info["unlabeled"]}
    assert sum(o["rows"] for o in stats["outputs"]) == info["labelled"]
    assert stats["label_names"]["label"] == ["billing", "shipping", "returns", "account", "technical"]
    money = info["by_rule"]["money"]
    card = (examples / "build" / "rule-labelled-intents" / "README.md").read_text()
    assert "### Rules: `annotate.intent-rules`" in card
    assert (
        f"| `money` | billing | keywords: invoice, charged, refund, paid, pay, card declined, money back | "
        f"{money['covered']} ({100 * money['covered'] / 40:.1f}%) |"
    ) in card


def test_human_round_example_rebuilds_byte_for_byte(examples: Path) -> None:
    spec = examples / "human-round.yaml"
    stats = build(spec, cache_dir=examples / ".cache-1")
    info = next(s for s in stats["steps"] if s["id"] == "annotate.round1")["info"]
    assert info["agreement"]["gate"]["passed"] and info["item_agreement"]["below"] == 6
    assert info["audit"]["reviewed"] == 5 and info["audit"]["correct"] == 4
    assert info["export"] == {"dir": "build/annotation/round1", "tasks": 20, "adjudication": 0}
    out = examples / "build" / "human-labelled-intents"
    exports = examples / "build" / "annotation" / "round1"
    first, first_exports = output_bytes(out), output_bytes(exports)
    lock = json.loads(spec.with_suffix(".lock").read_text())
    assert [f["path"] for f in lock["steps"]["annotate.round1"]["pins"]["files"]] == [
        "data/annotate/round1.csv",
        "data/annotate/audit-verdicts.csv",
        "data/annotate/guidelines.md",
    ]
    shutil.rmtree(exports)
    build(spec, cache_dir=examples / ".cache-2")
    assert output_bytes(out) == first and output_bytes(exports) == first_exports
