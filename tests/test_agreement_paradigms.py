"""Agreement on the annotation-paradigms files equals scikit-learn, statsmodels and the krippendorff package."""

from __future__ import annotations

import csv
import itertools
import math
from collections import Counter
from pathlib import Path

import krippendorff
import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import aggregate_raters
from statsmodels.stats.inter_rater import fleiss_kappa as statsmodels_fleiss

from specc.annotation.agreement import (
    agreement_report,
    cohen_kappa,
    fleiss_kappa,
    krippendorff_alpha,
    percent_agreement,
)
from specc.annotation.readers import merge_annotations, read_annotations

pytestmark = pytest.mark.shared_data
GROUPS = ["annotations_g1.csv", "annotations_g2.csv", "annotations_g3.csv"]


def raw(path: Path) -> tuple[list[str], list[list[str]]]:
    """Annotator columns and the label rows, read with the csv module alone."""
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    columns = [name for name in rows[0] if name.startswith("label_")]
    return columns, [[row[name] for name in columns] for row in rows]


@pytest.mark.parametrize("name", GROUPS)
def test_paradigms_metrics_equal_the_reference_libraries(shared_data: Path, name: str) -> None:
    path = shared_data / "annotation-paradigms" / name
    a, problems = read_annotations(path, "wide-csv")
    columns, rows = raw(path)
    assert problems == [] and sorted(a.annotators) == sorted(columns)

    counts, _ = aggregate_raters(np.array(rows, dtype=object))
    assert fleiss_kappa(a) == pytest.approx(statsmodels_fleiss(counts), rel=1e-12)

    domain = sorted({label for row in rows for label in row})
    coded = [[float(domain.index(label)) for label in column] for column in zip(*rows)]
    assert krippendorff_alpha(a) == pytest.approx(krippendorff.alpha(coded, level_of_measurement="nominal"), rel=1e-12)
    order = ["Non-hateful", "Hateful"]
    ranked = [[float(order.index(label)) for label in column] for column in zip(*rows)]
    assert krippendorff_alpha(a, "ordinal", order=order) == pytest.approx(
        krippendorff.alpha(ranked, value_domain=[0.0, 1.0], level_of_measurement="ordinal"), rel=1e-12
    )

    shares = [Counter(row).most_common(1)[0][1] / len(row) for row in rows]
    assert percent_agreement(a) == pytest.approx(sum(shares) / len(shares), rel=1e-12)

    for first, second in itertools.islice(itertools.combinations(range(len(columns)), 2), 5):
        pair = a.subset(annotators=[columns[first], columns[second]])
        expected = cohen_kappa_score([row[first] for row in rows], [row[second] for row in rows])
        assert cohen_kappa(pair) == pytest.approx(expected, rel=1e-12)


def test_paradigms_three_groups_as_one_round(shared_data: Path) -> None:
    """The 60 annotators of the three groups labelled the same 200 tweets: one table, alpha over all."""
    parts = [(name, read_annotations(shared_data / "annotation-paradigms" / name, "wide-csv")[0]) for name in GROUPS]
    renamed = []
    for name, part in parts:  # annotator columns repeat across groups; they are different people
        rows = [(item, f"{Path(name).stem}/{annotator}", label) for item, annotator, label in part.to_long()]
        renamed.append((name, type(part).from_long(rows)))
    merged, problems = merge_annotations(renamed)
    assert problems == [] and merged.labels.shape == (200, 60)
    columns = [raw(shared_data / "annotation-paradigms" / name)[1] for name in GROUPS]
    rows = [sum((group[n] for group in columns), []) for n in range(200)]
    counts, _ = aggregate_raters(np.array(rows, dtype=object))
    report = agreement_report(merged, seed=0, resamples=50)
    assert report["fleiss_kappa"] == pytest.approx(statsmodels_fleiss(counts), rel=1e-12)
    low, high = report["ci"]["krippendorff_alpha"]
    assert low < report["krippendorff_alpha"] < high and not math.isnan(low)
