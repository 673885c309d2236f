"""Agreement on multi-label items: Krippendorff's alpha with the MASI distance and a binary alpha per label."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from specc.annotation.sets import as_sets, label_alpha, masi_alpha, masi_distance, set_agreement_report
from specc.annotation.table import Annotations
from tests.conftest import run_cli, write

LABELS = ["anger", "joy", "fear", "sadness"]


def random_sets(seed: int, items: int, annotators: int, missing: float) -> list[tuple[str, str, frozenset[str]]]:
    """(item, annotator, set) rows: each item has a true set that annotators copy with noise; some cells missing."""
    rng = np.random.default_rng(seed)
    rows = []
    for item in range(items):
        truth = rng.random(len(LABELS)) < 0.35
        for annotator in range(annotators):
            if rng.random() < missing:
                continue
            held = np.where(rng.random(len(LABELS)) < 0.2, ~truth, truth)
            rows.append((f"i{item}", f"a{annotator}", frozenset(np.array(LABELS)[held].tolist())))
    return rows


def table(rows: list[tuple[str, str, frozenset[str]]]) -> Annotations:
    return as_sets(Annotations.from_long((item, who, "|".join(sorted(s))) for item, who, s in rows), "|")


def test_masi_distance_equals_nltks() -> None:
    from nltk.metrics.distance import masi_distance as nltk_masi

    pairs = [
        ({"a"}, {"a"}),
        ({"a"}, {"a", "b"}),
        ({"a", "c"}, {"a", "b"}),
        ({"a"}, {"b"}),
        ({"a", "b"}, {"b", "a", "c", "d"}),
    ]
    for x, y in pairs:
        assert masi_distance(x, y) == pytest.approx(nltk_masi(x, y))
    assert masi_distance(set(), set()) == 0.0 and masi_distance(set(), {"a"}) == 1.0


@pytest.mark.parametrize("seed", range(4))
def test_masi_alpha_equals_nltks_annotation_task(seed: int) -> None:
    from nltk.metrics.agreement import AnnotationTask
    from nltk.metrics.distance import masi_distance as nltk_masi

    rows = [r for r in random_sets(seed, items=40, annotators=3 + seed % 2, missing=0.0) if r[2]]  # nltk: no empty sets
    expected = AnnotationTask(data=[(who, item, labels) for item, who, labels in rows], distance=nltk_masi).alpha()
    assert masi_alpha(table(rows)) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("seed", range(4))
def test_per_label_alpha_equals_the_krippendorff_package_with_missing_cells(seed: int) -> None:
    import krippendorff

    rows = random_sets(seed, items=50, annotators=4, missing=0.3)
    a = table(rows)
    for label in LABELS:
        data = np.full((len(a.annotators), len(a.items)), np.nan)
        for item, who, labels in rows:
            data[a.annotators.index(who), a.items.index(item)] = float(label in labels)
        expected = krippendorff.alpha(reliability_data=data, level_of_measurement="nominal")
        assert label_alpha(a, label) == pytest.approx(expected, abs=1e-12)


def test_the_report_and_its_edge_cases() -> None:
    same = table([(f"i{i}", who, frozenset({"joy", "fear"} if i % 2 else {"anger"})) for i in range(6) for who in "ab"])
    report = set_agreement_report(same, seed=1, resamples=50)
    assert report["exact_set_agreement"] == 1.0 and report["krippendorff_alpha_masi"] == 1.0
    assert report["labels"] == ["anger", "fear", "joy"] and report["per_label"]["joy"] == {
        "krippendorff_alpha": 1.0,
        "share": 0.5,
    }
    single = table([("i1", "a", frozenset({"joy"})), ("i2", "b", frozenset({"joy"}))])  # no item has two annotations
    assert (
        math.isnan(masi_alpha(single))
        and set_agreement_report(single, seed=1, resamples=5)["krippendorff_alpha_masi"] is None
    )


def test_specc_agreement_reads_delimited_label_sets(tmp_path: Path) -> None:
    rows = random_sets(7, items=30, annotators=3, missing=0.1)
    write(
        tmp_path / "sets.csv",
        "item,annotator,label\n" + "".join(f"{i},{w},{';'.join(sorted(s))}\n" for i, w, s in rows if s),
    )
    result = run_cli("agreement", "sets.csv", "--format", "long-csv", "--label-delimiter", ";", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["krippendorff_alpha_masi"] == pytest.approx(masi_alpha(table([r for r in rows if r[2]])))
    assert (
        set(report["per_label"]) == set(LABELS)
        and report["ci"]["krippendorff_alpha_masi"][0] <= report["krippendorff_alpha_masi"]
    )
    text = run_cli("agreement", "sets.csv", "--format", "long-csv", "--label-delimiter", ";", cwd=tmp_path)
    assert "Krippendorff's alpha (MASI)" in text.stdout and "anger" in text.stdout
