"""The `rules` annotator: keyword and regex rules, vote and first-match, coverage/overlap/conflict counts."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest
from pydantic import ValidationError

from specc.builtins.annotation.rules import RuleLabeler
from specc.components import Context
from specc.errors import SpeccError
from specc.executor.tables import merge_info, new_step_stats, run_step

LABELS = ["billing", "shipping", "returns"]
RULES = [
    {"name": "refund", "label": "billing", "keywords": ["refund", "charged twice"]},
    {"name": "where", "label": "shipping", "regex": r"where is my (order|parcel)"},
    {"name": "send-back", "label": "returns", "keywords": ["send it back", "refund"]},
    {"name": "return-word", "label": "returns", "regex": r"\breturn"},
]
TEXTS = [
    "I want a REFUND now",  # refund + send-back (refund): billing vs returns -> tie
    "Where is my parcel?",  # where
    "I was charged twice",  # refund
    "refunds are slow",  # no whole-word match
    "Where is my order? I will return it and send it back",  # shipping once, returns twice
    None,  # null text matches nothing
    "hello",  # nothing
]


def labeler(**params) -> RuleLabeler:
    """A rules step over LABELS and RULES with `params` on top."""
    full = {"labels": LABELS, "rules": RULES, **params}
    return RuleLabeler(RuleLabeler.Params.model_validate(full), Context("annotate.rules", 7, Path(".")))


def table(**columns) -> pa.Table:
    """The texts with `_id` and `_source`, and extra columns."""
    return pa.table(
        {"_id": [f"s:{i}" for i in range(len(TEXTS))], "text": TEXTS, "_source": ["s"] * len(TEXTS), **columns}
    )


def test_vote_counts_coverage_overlaps_and_conflicts() -> None:
    result = labeler().apply(table())
    assert result.table.column("label").to_pylist() == [None, 1, 0, None, 2, None, None]
    info = result.info
    assert info["by_rule"] == {
        "refund": {"covered": 2, "overlaps": 1, "conflicts": 1},
        "where": {"covered": 2, "overlaps": 1, "conflicts": 1},
        "send-back": {"covered": 2, "overlaps": 2, "conflicts": 2},
        "return-word": {"covered": 1, "overlaps": 1, "conflicts": 1},
    }
    assert {k: info[k] for k in ("rows", "covered", "overlaps", "conflicts", "ties", "labelled", "unlabeled")} == {
        "rows": 7,
        "covered": 4,
        "overlaps": 2,
        "conflicts": 2,
        "ties": 1,
        "labelled": 3,
        "unlabeled": 4,
    }
    assert info["by_label"] == {"billing": 1, "shipping": 1, "returns": 1}
    assert labeler().label_names() == {"label": LABELS}


def test_first_match_takes_the_first_listed_rule_and_has_no_ties() -> None:
    result = labeler(combine="first").apply(table())
    assert result.table.column("label").to_pylist() == [0, 1, 0, None, 1, None, None]
    assert result.info["ties"] == 0 and result.info["labelled"] == 4


def test_unlabeled_rows_can_be_dropped_and_are_counted() -> None:
    stats = new_step_stats()
    kept = run_step(labeler(unlabeled="drop"), table(), stats)
    assert kept.column("_id").to_pylist() == ["s:1", "s:2", "s:4"]
    assert stats["dropped"] == {"unlabeled": 4}
    assert stats["info"]["labelled"] == 3


def test_fill_mode_keeps_existing_labels() -> None:
    existing = pa.array([2, None, None, 1, None, None, 0], pa.int64())
    result = labeler(mode="fill", column="label").apply(table(label=existing))
    assert result.table.column("label").to_pylist() == [2, 1, 0, 1, 2, None, 0]
    assert result.info["labelled"] == 3 and result.info["ties"] == 0
    with pytest.raises(SpeccError, match="mode fill: column 'label' holds string, not label ids"):
        labeler(mode="fill").apply(table(label=["x"] * len(TEXTS)))


def test_batches_add_up_to_the_whole() -> None:
    whole = labeler().apply(table()).info
    total: dict = {}
    for start in range(0, len(TEXTS), 3):
        merge_info(total, labeler().apply(table().slice(start, 3)).info)
    assert total == whole


def test_default_rule_names_are_unique() -> None:
    step = labeler(
        rules=[
            {"label": "billing", "keywords": ["a"]},
            {"label": "billing", "keywords": ["b"]},
            {"label": "returns", "regex": "c"},
        ]
    )
    assert step.params.rule_names() == ["billing-keywords", "billing-keywords-2", "returns-regex"]


def test_errors_name_the_fix() -> None:
    with pytest.raises(
        ValidationError, match=r"rules.0.label\n.*'biling' is not one of the labels .*did you mean 'billing'"
    ):
        labeler(rules=[{"label": "biling", "keywords": ["x"]}])
    with pytest.raises(ValidationError, match="give `keywords` or `regex`"):
        labeler(rules=[{"label": "billing", "keywords": ["x"], "regex": "y"}])
    with pytest.raises(ValidationError, match="invalid regular expression"):
        labeler(rules=[{"label": "billing", "regex": "(unclosed"}])
    with pytest.raises(ValidationError, match="does not support lookahead"):
        labeler(rules=[{"label": "billing", "regex": "a(?=b)"}])
    with pytest.raises(ValidationError, match="label 'billing' is listed twice"):
        labeler(labels=["billing", "billing"])
    with pytest.raises(ValidationError, match="rule name 'x' is used twice"):
        labeler(
            rules=[{"name": "x", "label": "billing", "regex": "a"}, {"name": "x", "label": "returns", "regex": "b"}]
        )
    with pytest.raises(SpeccError, match="no column 'body'"):
        labeler(text="body").apply(table())
