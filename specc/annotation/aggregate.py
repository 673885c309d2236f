"""One label per item from several annotators: majority vote with a deterministic tie-break, and Dawid-Skene EM."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from specc.annotation.agreement import per_item_agreement
from specc.annotation.table import Annotations
from specc.errors import SpeccError

if TYPE_CHECKING:
    import numpy as np

TIE_BREAKS = ("lowest", "most-common", "abstain")
SMOOTHING = 0.01


@dataclass(frozen=True)
class MajorityVote:
    """Per item: the label (None when unlabelled or an abstained tie), the winning share and whether it was a tie."""

    labels: list[Any]
    agreement: np.ndarray
    ties: np.ndarray


def majority_vote(a: Annotations, tie_break: str = "lowest") -> MajorityVote:
    """The most common label of each item; a tie between labels is broken by `tie_break`.

    - lowest: the tied label that sorts first (natural order of the labels, so '2' before '10');
    - most-common: the tied label given most often in the whole table, then the lowest;
    - abstain: no label (None); the item is flagged as a tie either way.
    """
    import numpy as np

    if tie_break not in TIE_BREAKS:
        raise SpeccError(f"error: unknown tie-break '{tie_break}'; use one of {', '.join(TIE_BREAKS)}")
    counts = a.counts()
    top = counts.max(axis=1, initial=0)
    winners = (counts == top[:, None]) & (top[:, None] > 0)
    ties = winners.sum(axis=1) > 1
    if tie_break == "most-common":
        overall = counts.sum(axis=0)
        # Rank labels by overall frequency, lower index first among equals; pick the best-ranked winner.
        preference = np.lexsort((np.arange(len(overall)), -overall))
        rank = np.empty_like(preference)
        rank[preference] = np.arange(len(preference))
        choice = np.where(winners, rank[None, :], len(rank)).argmin(axis=1)
    else:
        choice = winners.argmax(axis=1) if winners.size else np.zeros(len(a.items), dtype=np.int64)
    labels = [
        None if top[n] == 0 or (ties[n] and tie_break == "abstain") else a.categories[choice[n]]
        for n in range(len(a.items))
    ]
    return MajorityVote(labels, per_item_agreement(a), ties)


@dataclass(frozen=True)
class DawidSkene:
    """Dawid-Skene estimates: labels, posteriors (items × categories), confusion (annotators × true × given)."""

    labels: list[Any]
    categories: list[Any]
    posteriors: np.ndarray
    confusion: np.ndarray
    priors: np.ndarray
    iterations: int
    converged: bool


def dawid_skene(a: Annotations, max_iter: int = 100, tol: float = 1e-6) -> DawidSkene:
    """Dawid & Skene (1979) EM over the table, started from each item's vote shares (soft majority vote).

    Each annotator gets a confusion matrix P(given label | true label), smoothed by a pseudo-count of
    0.01 so that an unseen combination is unlikely rather than impossible. Deterministic: no random
    start. Stops when no posterior moves by more than `tol`, or after `max_iter` rounds. Items without
    annotations keep the class priors as posteriors and get no label; equal posteriors go to the label
    that sorts first.
    """
    import numpy as np

    codes = a.codes()
    k = len(a.categories)
    observed = (codes[:, :, None] == np.arange(k)[None, None, :]).astype(float)  # items × annotators × labels
    counts = observed.sum(axis=1)
    per_item = counts.sum(axis=1, keepdims=True)
    labelled = per_item[:, 0] > 0
    posteriors = np.divide(counts, per_item, out=np.full_like(counts, 1.0 / max(k, 1)), where=per_item > 0)
    iterations, converged = 0, k == 0
    priors, confusion = np.full(k, 1.0 / max(k, 1)), np.zeros((len(a.annotators), k, k))
    while not converged and iterations < max_iter:
        iterations += 1
        priors = posteriors[labelled].sum(axis=0) / max(labelled.sum(), 1)
        confusion = np.einsum("it,ijg->jtg", posteriors, observed) + SMOOTHING
        confusion /= confusion.sum(axis=2, keepdims=True)
        log_likelihood = np.log(np.maximum(priors, 1e-300))[None, :] + np.einsum(
            "ijg,jtg->it", observed, np.log(confusion)
        )
        updated = np.exp(log_likelihood - log_likelihood.max(axis=1, keepdims=True))
        updated /= updated.sum(axis=1, keepdims=True)
        converged = bool(np.abs(updated - posteriors).max(initial=0.0) <= tol)
        posteriors = updated
    labels = [a.categories[int(np.argmax(p))] if labelled[n] else None for n, p in enumerate(posteriors)]
    return DawidSkene(labels, list(a.categories), posteriors, confusion, priors, iterations, converged)
