"""A human round over the real annotation-paradigms data: 200 tweets, 20 annotators, majority vote, agreement gate."""

from __future__ import annotations

import csv
import hashlib
import json
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from specc.builder import build
from tests.conftest import run_cli, write
from tests.test_annotate_human import output_bytes

pytestmark = pytest.mark.shared_data
LABELS = ["Non-hateful", "Hateful"]


def spec(folder: Path, shared: Path, minimum: float) -> Path:
    """A spec labelling annotations_g1.csv's tweets by its own 20 annotators."""
    data = shared / "annotation-paradigms"
    return write(
        folder / "paradigms.yaml",
        f"""\
specc: 1
name: paradigms
description: Tweets labelled hateful or not by the majority of 20 annotators.
license: cc0-1.0
languages: [en]
task: text-classification
seed: 20220710
allow_external_paths: true
sources:
  tweets:
    type: csv
    path: {data}/annotations_g1.csv
    columns: {{id: id, text: text}}
    license: cc0-1.0
annotate:
  - type: human
    key: id
    labels: {json.dumps(LABELS)}
    guidelines: {data}/guidelines.pdf
    results:
      - {{path: {data}/annotations_g1.csv, format: wide-csv, item: id, annotators: 'label_*'}}
    agreement: {{metric: krippendorff-alpha, min: {minimum}}}
    item_agreement: {{min: 0.7, action: flag}}
    resamples: 200
card: {{draft: true}}
""",
    )


def majority_by_hand(path: Path) -> dict[str, int]:
    """Each tweet's most common label id; a tie goes to the label listed first."""
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    labels = {}
    for row in rows:
        votes = Counter(v for k, v in row.items() if k.startswith("label_"))
        labels[row["id"]] = 0 if votes["Non-hateful"] >= votes["Hateful"] else 1
    return labels


def test_majority_labels_agreement_in_card_and_a_failing_gate(tmp_path: Path, shared_data: Path) -> None:
    import krippendorff
    import numpy as np

    path = spec(tmp_path, shared_data, 0.15)
    build(path, cache_dir=tmp_path / "cache-1")
    out = tmp_path / "build" / "paradigms"
    table = pq.read_table(out / "data" / "train-00000-of-00001.parquet")
    source = shared_data / "annotation-paradigms" / "annotations_g1.csv"
    expected = majority_by_hand(source)
    assert dict(zip(map(str, table.column("id").to_pylist()), table.column("label").to_pylist())) == expected

    stats = json.loads((out / "stats.json").read_text())
    assert stats["label_names"]["label"] == LABELS
    info = next(s for s in stats["steps"] if s["id"] == "annotate.human")["info"]
    with source.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    matrix = np.array([[LABELS.index(r[c]) for r in rows] for c in rows[0] if c.startswith("label_")], float)
    alpha = krippendorff.alpha(reliability_data=matrix, level_of_measurement="nominal")
    assert info["agreement"]["krippendorff_alpha"] == pytest.approx(alpha, abs=1e-4)
    assert info["agreement"]["annotators"] == 20 and info["agreement"]["annotations"] == 4000
    low, high = info["agreement"]["ci"]["krippendorff_alpha"]
    assert low < alpha < high
    guidelines = hashlib.sha256((shared_data / "annotation-paradigms" / "guidelines.pdf").read_bytes()).hexdigest()
    assert info["guidelines"]["sha256"] == guidelines
    pins = json.loads(path.with_suffix(".lock").read_text())["steps"]["annotate.human"]["pins"]["files"]
    assert [pin["sha256"] for pin in pins][1] == guidelines

    card = (out / "README.md").read_text()
    assert "## Annotation" in card and f"guidelines.pdf), SHA-256 `{guidelines}`" in card
    assert f"| Krippendorff's alpha (nominal) | {alpha:.3f} | {low:.3f} – {high:.3f} |" in card
    assert (
        f"| agreement | Krippendorff's alpha (nominal) ≥ 0.15 | {alpha:.3f} (CI {low:.3f} – {high:.3f}) | passed |"
        in card
    )
    flagged = sum(max(Counter(v for k, v in r.items() if k.startswith("label_")).values()) / 20 < 0.7 for r in rows)
    assert table.column("low_agreement").to_pylist().count(True) == flagged
    assert f"| {flagged} items below | flagged in column `low_agreement` |" in card

    first = output_bytes(out)
    path.write_text(path.read_text().replace("min: 0.15", "min: 0.5"))
    result = run_cli("build", str(path), "--cache-dir", str(tmp_path / "cache-2"))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1
    assert result.stderr.startswith(
        f"error: step 'annotate.human' (human): agreement below the minimum: Krippendorff's alpha (nominal) is "
        f"{alpha:.3f} (95% CI {low:.3f} to {high:.3f}, 200 bootstrap resamples of 200 items), but `agreement.min` "
        f"of step 'annotate.human' is 0.5"
    )
    assert output_bytes(out) == first  # the previous output is intact
