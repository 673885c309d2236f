"""The example spec (rules, then a model for the rest), with a tiny model made for it: `specc validate`, a build."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
from tiny_transformers import save_classifier

from specc.builder import build
from specc.testing import modules_imported, top_level

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "rule-and-model-labels"
HEAVY = ("torch", "transformers", "datasets", "tokenizers", "accelerate")


def test_the_example_validates_without_heavy_imports_and_builds(tmp_path: Path) -> None:
    folder = tmp_path / "example"
    shutil.copytree(EXAMPLE, folder, ignore=shutil.ignore_patterns("build", ".specc", "models", "*.lock"))
    save_classifier(folder / "models" / "intent", ["billing", "shipping", "account"])
    imported = modules_imported("validate", "spec.yaml", cwd=folder)
    assert "specc_transformers.labeler" in imported and top_level(imported, HEAVY) == []  # the plugin loads, lazily

    stats = build(folder / "spec.yaml", cache_dir=tmp_path / "cache")  # in-process: torch is imported once per run
    out = folder / "build" / "support-intents-labelled"
    assert json.loads((out / "stats.json").read_text()) == stats
    rules, model = (
        next(s for s in stats["steps"] if s["id"] == f"annotate.{i}") for i in ("intent-rules", "intent-model")
    )
    assert 0 < rules["info"]["labelled"] < 24 and model["info"]["scored"] == 24 - rules["info"]["labelled"]
    assert model["info"]["labelled"] == model["info"]["scored"]  # review mode keeps the label of unsure rows
    assert stats["label_names"]["label"] == ["billing", "shipping", "account"]
    rows = [
        r
        for split in ("train", "test")
        for r in pq.read_table(out / "data" / f"{split}-00000-of-00001.parquet").to_pylist()
    ]
    assert len(rows) == 24 and all(r["label"] is not None for r in rows)
    scored = [r for r in rows if r["label_score"] is not None]
    assert len(scored) == model["info"]["scored"]
    assert sum(r["needs_review"] for r in rows) == model["info"]["below_threshold"]
    assert all(r["needs_review"] == (r["label_score"] is not None and r["label_score"] < 0.6) for r in rows)
    card = (out / "README.md").read_text()
    assert "### Rules: `annotate.intent-rules`" in card and "## Model labels" in card
    assert "Model `models/intent` (text-classification) labels column `label`" in card
