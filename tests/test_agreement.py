"""Agreement metrics equal scikit-learn, statsmodels and the krippendorff package on random annotation matrices."""

from __future__ import annotations

import math
import warnings
from collections import Counter

import krippendorff
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import aggregate_raters
from statsmodels.stats.inter_rater import fleiss_kappa as statsmodels_fleiss

from specc.annotation.agreement import (
    agreement_report,
    bootstrap_ci,
    cohen_kappa,
    fleiss_kappa,
    krippendorff_alpha,
    metric,
    per_item_agreement,
    percent_agreement,
)
from specc.annotation.table import Annotations
from specc.errors import SpeccError

FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
LABELS = ["neg", "neu", "pos", "mixed"]


def table(labels: list[list]) -> Annotations:
    """Items × annotators from nested lists, None for missing."""
    array = np.empty((len(labels), len(labels[0])), dtype=object)
    array[:] = labels
    return Annotations([f"item{n}" for n in range(len(labels))], [f"a{n}" for n in range(len(labels[0]))], array)


@st.composite
def matrices(draw, *, annotators=st.integers(2, 6), missing: bool = True, numeric: bool = False) -> list[list]:  # noqa: B008
    """Random label matrices: 1-30 items, a few labels, some cells missing when `missing`."""
    n_items, n_annotators = draw(st.integers(1, 30)), draw(annotators)
    choices = list(range(draw(st.integers(1, 5)))) if numeric else LABELS[: draw(st.integers(1, 4))]
    cell = st.sampled_from(choices)
    if missing:
        cell = st.one_of(st.none(), cell)
    return draw(
        st.lists(st.lists(cell, min_size=n_annotators, max_size=n_annotators), min_size=n_items, max_size=n_items)
    )


def same(ours: float, theirs: float) -> bool:
    return (math.isnan(ours) and math.isnan(theirs)) or math.isclose(ours, theirs, rel_tol=1e-9, abs_tol=1e-12)


def sklearn_cohen(labels: list[list]) -> float:
    pairs = [(x, y) for x, y in labels if x is not None and y is not None]
    if not pairs:
        return math.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scikit-learn warns when kappa is undefined, and returns NaN
        return float(cohen_kappa_score([x for x, _ in pairs], [y for _, y in pairs]))


def krippendorff_package(labels: list[list], level: str, order: list | None = None) -> float:
    values = sorted({v for row in labels for v in row if v is not None}, key=str)
    if order is None and level != "nominal":
        domain = sorted(values)
    else:
        domain = order or values
    metric = level in ("interval", "ratio")  # the package reads the labels' own values
    code = {v: float(v) for v in values} if metric else {v: float(n) for n, v in enumerate(domain)}
    data = [[math.nan if v is None else code[v] for v in column] for column in zip(*labels)]
    codes = sorted(code.values()) if metric else [code[v] for v in domain]
    try:
        with np.errstate(invalid="ignore"):  # 0/0 when one value is all the pairable data holds: NaN
            return float(krippendorff.alpha(reliability_data=data, value_domain=codes, level_of_measurement=level))
    except ValueError:  # the package refuses one value, or no item with two annotations: undefined
        return math.nan


@FAST
@given(matrices(annotators=st.just(2)))
def test_cohen_kappa_equals_scikit_learn(labels: list[list]) -> None:
    assert same(cohen_kappa(table(labels)), sklearn_cohen(labels))


@FAST
@given(matrices(missing=False))
def test_fleiss_kappa_equals_statsmodels_on_complete_matrices(labels: list[list]) -> None:
    counts, _ = aggregate_raters(np.array(labels, dtype=object))
    with np.errstate(invalid="ignore", divide="ignore"):
        expected = float(statsmodels_fleiss(counts))
    assert same(fleiss_kappa(table(labels)), expected)


@FAST
@given(st.data())
def test_fleiss_kappa_with_missing_cells_but_equal_counts_equals_statsmodels(data: st.DataObject) -> None:
    n_annotators = data.draw(st.integers(3, 6))
    raters = data.draw(st.integers(2, n_annotators - 1))
    labels = []
    for row in data.draw(matrices(annotators=st.just(n_annotators), missing=False)):
        keep = set(data.draw(st.permutations(range(n_annotators)))[:raters])
        labels.append([v if n in keep else None for n, v in enumerate(row)])
    counts, _ = aggregate_raters(np.array([[v for v in row if v is not None] for row in labels], dtype=object))
    with np.errstate(invalid="ignore", divide="ignore"):
        expected = float(statsmodels_fleiss(counts))
    assert same(fleiss_kappa(table(labels)), expected)


def test_fleiss_kappa_with_varying_counts_uses_the_documented_generalisation() -> None:
    labels = [["a", "a", "a"], ["a", "b", None], ["b", "b", None], ["a", None, None]]
    # items with two or more: P_i = 1, 0, 1; label shares over their 7 annotations: a 4/7, b 3/7
    expected_chance = (4 / 7) ** 2 + (3 / 7) ** 2
    expected = (2 / 3 - expected_chance) / (1 - expected_chance)
    assert fleiss_kappa(table(labels)) == pytest.approx(expected)


@FAST
@given(matrices(), st.sampled_from(["nominal"]))
def test_krippendorff_nominal_equals_package(labels: list[list], level: str) -> None:
    assert same(krippendorff_alpha(table(labels), level), krippendorff_package(labels, level))


@FAST
@given(matrices(numeric=True), st.sampled_from(["nominal", "ordinal", "interval", "ratio"]))
def test_krippendorff_numeric_levels_equal_package(labels: list[list], level: str) -> None:
    assert same(krippendorff_alpha(table(labels), level), krippendorff_package(labels, level))


@FAST
@given(matrices(), st.permutations(LABELS))
def test_krippendorff_ordinal_with_an_order_equals_package(labels: list[list], order: list[str]) -> None:
    assert same(
        krippendorff_alpha(table(labels), "ordinal", order=order), krippendorff_package(labels, "ordinal", order)
    )


def test_krippendorff_published_example() -> None:
    """Krippendorff's own example data (3 coders, 15 units), as in the package's documentation."""
    nan = None
    coders = [
        [nan, nan, nan, nan, nan, 3, 4, 1, 2, 1, 1, 3, 3, nan, 3],
        [1, nan, 2, 1, 3, 3, 4, 3, nan, nan, nan, nan, nan, nan, nan],
        [nan, nan, 2, 1, 3, 4, 4, nan, 2, 1, 1, 3, 3, nan, 4],
    ]
    a = table([list(unit) for unit in zip(*coders)])
    assert krippendorff_alpha(a, "nominal") == pytest.approx(0.691358, abs=1e-6)
    assert krippendorff_alpha(a, "interval") == pytest.approx(0.810845, abs=1e-6)


def test_krippendorff_ratio_published_example() -> None:
    """The package's documented ratio example (4 coders, 12 units, missing cells): 0.797."""
    coders = [
        [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
        [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
    ]
    labels = [list(unit) for unit in zip(*coders)]
    assert round(krippendorff_alpha(table(labels), "ratio"), 3) == 0.797
    assert round(krippendorff_alpha(table(labels), "interval"), 3) != 0.797
    assert same(krippendorff_alpha(table(labels), "ratio"), krippendorff_package(labels, "ratio"))


@pytest.mark.parametrize("seed", range(25))
def test_krippendorff_ratio_equals_package_on_random_tables_with_missing_cells(seed: int) -> None:
    """Ratio-scaled ratings (zero included) on seeded random tables, a third of the cells missing."""
    rng = np.random.default_rng(seed)
    items, annotators = int(rng.integers(5, 60)), int(rng.integers(2, 7))
    scale = rng.choice([0, 1, 2, 5, 10, 25, 100], size=int(rng.integers(2, 7)), replace=False)
    cells = rng.choice(scale, size=(items, annotators)).astype(object)
    cells[rng.random((items, annotators)) < 1 / 3] = None
    labels = [[None if v is None else int(v) for v in row] for row in cells]
    assert same(krippendorff_alpha(table(labels), "ratio"), krippendorff_package(labels, "ratio"))


@FAST
@given(matrices())
def test_percent_agreement_is_the_mean_share_of_the_most_common_label(labels: list[list]) -> None:
    shares = []
    for row in labels:
        present = [v for v in row if v is not None]
        if present:
            shares.append(Counter(present).most_common(1)[0][1] / len(present))
    expected = sum(shares) / len(shares) if shares else math.nan
    assert same(percent_agreement(table(labels)), expected)
    per_item = per_item_agreement(table(labels))
    assert np.isnan(per_item).sum() == len(labels) - len(shares)


def test_cohen_kappa_needs_two_annotators() -> None:
    with pytest.raises(SpeccError, match="exactly two annotators, the table has 3"):
        cohen_kappa(table([["a", "b", "a"]]))


def test_undefined_metrics_are_nan() -> None:
    single = table([["a", "a"], ["a", "a"]])
    assert math.isnan(cohen_kappa(single)) and math.isnan(fleiss_kappa(single))
    assert math.isnan(krippendorff_alpha(single))
    lonely = table([["a", None], [None, "b"]])
    assert math.isnan(fleiss_kappa(lonely)) and math.isnan(krippendorff_alpha(lonely))
    assert percent_agreement(lonely) == 1.0


def test_levels_need_numbers_or_an_order() -> None:
    words = table([["low", "high"], ["mid", "mid"]])
    with pytest.raises(SpeccError, match="interval agreement needs numeric labels"):
        krippendorff_alpha(words, "interval")
    with pytest.raises(SpeccError, match="ordinal agreement needs numeric labels or an order"):
        krippendorff_alpha(words, "ordinal")
    with pytest.raises(SpeccError, match=r"lacks the labels \['mid'\]"):
        krippendorff_alpha(words, "ordinal", order=["low", "high"])
    with pytest.raises(SpeccError, match="ratio agreement needs numeric labels"):
        krippendorff_alpha(words, "ratio")
    with pytest.raises(SpeccError, match="unknown level of measurement 'absolute'"):
        krippendorff_alpha(words, "absolute")
    numeric_strings = table([["1", "10"], ["2", "2"], ["10", "10"]])
    as_numbers = table([[1, 10], [2, 2], [10, 10]])
    assert krippendorff_alpha(numeric_strings, "ordinal") == pytest.approx(krippendorff_alpha(as_numbers, "ordinal"))


def test_metric_names() -> None:
    a = table([["a", "b"], ["a", "a"]])
    assert metric("krippendorff-alpha")(a) == krippendorff_alpha(a)
    assert metric("percent_agreement")(a) == 0.75
    with pytest.raises(SpeccError, match="did you mean 'fleiss_kappa'"):
        metric("fleiss-kapa")


def test_bootstrap_is_deterministic_per_seed_and_nan_safe() -> None:
    rng = np.random.default_rng(7)
    labels = rng.choice(["x", "y", "z"], size=(60, 4)).tolist()
    a = table(labels)
    first = bootstrap_ci(fleiss_kappa, a, seed=3, resamples=200)
    assert first == bootstrap_ci(fleiss_kappa, a, seed=3, resamples=200)
    assert first != bootstrap_ci(fleiss_kappa, a, seed=4, resamples=200)
    assert first[0] < fleiss_kappa(a) < first[1]
    narrow = bootstrap_ci(fleiss_kappa, a, seed=3, resamples=200, confidence=0.5)
    assert first[0] < narrow[0] < narrow[1] < first[1]
    # one of two items has a single label: half the resamples are undefined; the interval ignores them
    sometimes = table([["a", "b"], ["a", "a"]])
    low, high = bootstrap_ci(krippendorff_alpha, sometimes, seed=0, resamples=100)
    assert math.isfinite(low) and math.isfinite(high)
    assert all(map(math.isnan, bootstrap_ci(krippendorff_alpha, table([["a", "a"]]), seed=0, resamples=20)))
    with pytest.raises(SpeccError, match="confidence must be between 0 and 1"):
        bootstrap_ci(fleiss_kappa, a, seed=0, confidence=95)


def test_agreement_report_is_json_ready() -> None:
    import json

    a = table([["a", "b"], ["a", "a"], ["b", "b"], ["b", None]])
    report = agreement_report(a, seed=1, resamples=50)
    assert json.loads(json.dumps(report, allow_nan=False)) == report
    assert report["items"] == 4 and report["annotators"] == 2 and report["annotations"] == 7
    assert report["annotations_per_item"] == {"min": 1, "max": 2, "mean": 1.75}
    assert set(report["ci"]) == {"percent_agreement", "cohen_kappa", "fleiss_kappa", "krippendorff_alpha"}
    assert report["cohen_kappa"] == pytest.approx(cohen_kappa_score(["a", "a", "b"], ["b", "a", "b"]))
    three = agreement_report(table([[1, 2, 3], [2, 2, 3]]), seed=0, resamples=20, level="ordinal")
    assert "cohen_kappa" not in three and "krippendorff_alpha_ordinal" in three
    undefined = agreement_report(table([["a", "a"]]), seed=0, resamples=10)
    assert undefined["fleiss_kappa"] is None and undefined["ci"]["fleiss_kappa"] == [None, None]
