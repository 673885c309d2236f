"""Majority vote with its tie-breaks, and Dawid-Skene recovering true labels past a bad annotator."""

from __future__ import annotations

import numpy as np
import pytest

from specc.annotation.aggregate import dawid_skene, majority_vote
from specc.annotation.table import Annotations
from specc.errors import SpeccError


def table(labels: list[list]) -> Annotations:
    array = np.empty((len(labels), len(labels[0])), dtype=object)
    array[:] = labels
    return Annotations([f"i{n}" for n in range(len(labels))], [f"a{n}" for n in range(len(labels[0]))], array)


def test_majority_vote_and_tie_breaks() -> None:
    a = table(
        [
            ["b", "b", "a"],  # clear majority
            ["10", "2", None],  # tie: natural order puts '2' before '10'
            ["a", "b", None],  # tie
            [None, None, None],  # unlabelled
            ["b", "b", "b"],
        ]
    )
    lowest = majority_vote(a)
    assert lowest.labels == ["b", "2", "a", None, "b"]
    assert lowest.ties.tolist() == [False, True, True, False, False]
    assert lowest.agreement[[0, 1, 4]].tolist() == pytest.approx([2 / 3, 0.5, 1.0])
    assert np.isnan(lowest.agreement[3])
    # 'b' is the most common label overall (6 times), so it wins the a/b tie
    assert majority_vote(a, "most-common").labels == ["b", "2", "b", None, "b"]
    assert majority_vote(a, "abstain").labels == ["b", None, None, None, "b"]
    assert majority_vote(a, "abstain").ties.tolist() == lowest.ties.tolist()
    with pytest.raises(SpeccError, match="unknown tie-break 'random'; use one of lowest, most-common, abstain"):
        majority_vote(a, "random")


def test_most_common_tie_break_uses_overall_frequency_then_order() -> None:
    a = table([["x", "y"], ["y", "y"], ["z", "w"]])
    # overall: y 3, then w, x, z once each: the x/y tie goes to y; the w/z tie to w (lowest among equals)
    assert majority_vote(a, "most-common").labels == ["y", "y", "w"]
    assert majority_vote(a, "lowest").labels == ["x", "y", "w"]


def synthetic(seed: int, items: int = 300, k: int = 3) -> tuple[Annotations, np.ndarray]:
    """Three annotators right 70% of the time, and a bad one who systematically gives the next label."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, k, items)
    columns = [np.where(rng.random(items) < 0.7, truth, (truth + rng.integers(1, k, items)) % k) for _ in range(3)]
    columns.append((truth + 1) % k)
    labels = np.array(columns).T.astype(object)
    return Annotations([f"i{n}" for n in range(items)], ["good1", "good2", "good3", "bad"], labels), truth


@pytest.mark.parametrize("seed", [0, 1])
def test_dawid_skene_beats_majority_with_a_bad_annotator(seed: int) -> None:
    a, truth = synthetic(seed)
    accuracy = lambda labels: float(np.mean([label == t for label, t in zip(labels, truth)]))  # noqa: E731
    majority, ds = accuracy(majority_vote(a).labels), dawid_skene(a, max_iter=500)
    assert ds.converged and accuracy(ds.labels) > 0.95 > majority + 0.2
    # the bad annotator's confusion puts each true label on the next one
    bad = ds.confusion[a.annotators.index("bad")]
    assert all(bad[t, (t + 1) % 3] > 0.9 for t in range(3))
    assert np.allclose(ds.posteriors.sum(axis=1), 1) and np.allclose(ds.confusion.sum(axis=2), 1)
    again = dawid_skene(a, max_iter=500)
    assert again.labels == ds.labels and np.array_equal(again.posteriors, ds.posteriors)


def test_dawid_skene_on_easy_and_sparse_tables() -> None:
    a = table([["p", "p", "n"], ["n", "n", "n"], ["p", None, "p"], [None, None, None]])
    ds = dawid_skene(a)
    assert ds.labels == ["p", "n", "p", None] and ds.categories == ["n", "p"]
    assert np.allclose(ds.posteriors[3], ds.priors)
    one_round = dawid_skene(a, max_iter=1, tol=0)
    assert one_round.iterations == 1 and not one_round.converged


def test_empty_tables() -> None:
    empty = Annotations.from_long([])
    assert majority_vote(empty).labels == [] and dawid_skene(empty).labels == []
    unlabelled = table([[None, None]])
    assert majority_vote(unlabelled).labels == [None] and dawid_skene(unlabelled).labels == [None]
