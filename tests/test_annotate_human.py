"""The `human` annotate step: Label Studio import, matching, problems, gold, per-item gates, audit, pending rounds."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pydantic import ValidationError

from specc.builder import build
from specc.builtins.annotation.card_section import AnnotationSection
from specc.builtins.annotation.human import HumanRound
from specc.builtins.annotation.rules import RuleLabeler
from specc.components import CardData, Context
from specc.errors import SpeccError
from specc.executor.tables import annotated_label_names, new_step_stats, run_step
from specc.stats import BuildStats, Step
from tests.conftest import write

LABELS = ["pos", "neg"]
TEXTS = ["great film", "awful film", "quite good", "not good", "so-so", "loved it", "no idea", "meh"]
# item -> the labels of annotators 1, 2 and 3 (None: cancelled)
VOTES = {
    "rows:0": ["pos", "pos", "pos"],
    "rows:1": ["neg", "neg", "neg"],
    "rows:2": ["pos", "pos", "neg"],
    "rows:3": ["neg", "neg", "pos"],
    "rows:4": ["pos", "neg", None],
    "rows:5": ["pos", "pos", "pos"],
    "rows:99": ["pos", "pos", "pos"],
}


def output_bytes(folder: Path) -> dict[str, bytes]:
    """Every file of a build's output."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def label_studio_export(path: Path) -> Path:
    """A Label Studio JSON export: three annotators, a cancelled task, a duplicate and an unknown item."""
    tasks = []
    for n, (item, labels) in enumerate(VOTES.items()):
        annotations = []
        for who, label in enumerate(labels, start=1):
            result = (
                []
                if label is None
                else [{"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": [label]}}]
            )
            annotations.append(
                {"id": 10 * n + who, "completed_by": who, "was_cancelled": label is None, "result": result}
            )
        if item == "rows:5":  # annotator 1 submitted twice; the first label is kept
            annotations.append(
                {
                    "id": 999,
                    "completed_by": 1,
                    "result": [
                        {"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": ["neg"]}}
                    ],
                }
            )
        tasks.append({"id": n + 1, "data": {"_id": item, "text": "..."}, "annotations": annotations})
    return write(path, json.dumps(tasks, indent=1))


def spec(folder: Path, annotate: str) -> Path:
    """A spec over the eight TEXTS (`_id` rows:0 ... rows:7) with this annotate stage."""
    write(folder / "data.jsonl", "".join(json.dumps({"text": t}) + "\n" for t in TEXTS))
    return write(
        folder / "spec.yaml",
        f"""\
specc: 1
name: reviews
description: Film reviews labelled by three annotators.
license: cc-by-4.0
languages: [en]
seed: 5
sources:
  rows: {{type: jsonl, path: data.jsonl}}
annotate:
{annotate}
card: {{draft: true}}
""",
    )


def round_step(folder: Path, seed: int = 11, **params) -> HumanRound:
    """A human round over files in `folder`."""
    full = {"labels": LABELS, "resamples": 20, **params}
    return HumanRound(
        HumanRound.Params.model_validate(full, context={"spec_dir": folder}), Context("annotate.human", seed, folder)
    )


def rows(n: int = len(TEXTS), **columns) -> pa.Table:
    """The first `n` TEXTS with identity columns, and extra columns."""
    return pa.table(
        {
            "_id": [f"rows:{i}" for i in range(n)],
            "text": TEXTS[:n],
            "_source": ["rows"] * n,
            "_split": pa.nulls(n, pa.string()),
            **columns,
        }
    )


def card_of(step: HumanRound, info: dict) -> str:
    """The Annotation section for one step's record."""
    record = {
        "id": step.context.step_id,
        "stage": "annotate",
        "type": step.name,
        "params": step.params.model_dump(mode="json"),
        "info": info,
    }
    return (
        AnnotationSection(step.params, Context("card", 0, step.context.spec_dir)).render(
            CardData(None, BuildStats.model_construct(steps=[Step.model_construct(**record)]))
        )
        or ""
    )


def long_csv(path: Path, votes: dict[str, list[str | None]], names: tuple[str, ...] = ("a", "b", "c")) -> Path:
    """A long CSV (item, annotator, label) of `votes`."""
    lines = ["item,annotator,label"] + [
        f"{item},{who},{label}"
        for item, labels in votes.items()
        for who, label in zip(names, labels)
        if label is not None
    ]
    return write(path, "\n".join(lines) + "\n")


# --- a Label Studio round, built end to end ----------------------------------------------------------


def test_label_studio_export_with_three_annotators_imports_aggregates_and_reports(tmp_path: Path) -> None:
    import krippendorff
    import numpy as np

    label_studio_export(tmp_path / "annotations" / "export.json")
    path = spec(
        tmp_path,
        """\
  - type: human
    labels: [pos, neg]
    results: [{path: annotations/export.json, format: label-studio}]
    export: {dir: annotations/todo}
    agreement: {metric: fleiss-kappa, min: 0.0}
    resamples: 100
""",
    )
    build(path, cache_dir=tmp_path / "cache")
    out = tmp_path / "build" / "reviews"
    table = pq.read_table(out / "data" / "train-00000-of-00001.parquet")
    # rows:4 tied 1-1 (annotator 3 skipped it): the label listed first wins; rows:6 and rows:7 had no annotation
    assert dict(zip(table.column("_id").to_pylist(), table.column("label").to_pylist())) == {
        "rows:0": 0,
        "rows:1": 1,
        "rows:2": 0,
        "rows:3": 1,
        "rows:4": 0,
        "rows:5": 0,
    }
    stats = json.loads((out / "stats.json").read_text())
    record = next(s for s in stats["steps"] if s["id"] == "annotate.human")
    assert record["dropped"] == {"not annotated": 2}
    info = record["info"]
    assert info["problems"]["count"] == {"cancelled": 1, "duplicate": 1, "unmatched": 1}
    assert any("'rows:99' is not in the data" in e for e in info["problems"]["examples"])
    assert info["aggregate"] == {"method": "majority", "tie_break": "first-listed", "ties": 1}
    matrix = np.array(
        [[np.nan if VOTES[i][w] is None else LABELS.index(VOTES[i][w]) for i in list(VOTES)[:6]] for w in range(3)]
    )
    alpha = krippendorff.alpha(reliability_data=matrix, level_of_measurement="nominal")
    assert info["agreement"]["krippendorff_alpha"] == pytest.approx(alpha, abs=1e-4)
    assert info["agreement"]["gate"]["passed"] is True and info["agreement"]["annotators"] == 3
    tasks = json.loads((tmp_path / "annotations" / "todo" / "tasks.json").read_text())
    assert tasks == [{"data": {"_id": "rows:6", "text": "no idea"}}, {"data": {"_id": "rows:7", "text": "meh"}}]
    lock = json.loads(path.with_suffix(".lock").read_text())
    assert lock["steps"]["annotate.human"]["pins"]["files"][0]["path"] == "annotations/export.json"
    card = (out / "README.md").read_text()
    for text in (
        "### Human annotation: `annotate.human`",
        "| `annotations/export.json` | label-studio | 7 | 3 | 20 |",
        f"| Krippendorff's alpha (nominal) | {alpha:.3f} |",
        "1 cancelled, 1 duplicate, 1 unmatched",
        "Items still to annotate: 2",
        "majority vote; a tie goes to the tied label listed first",
    ):
        assert text in card


# --- pending rounds and bad inputs -------------------------------------------------------------------


def test_missing_results_fail_after_writing_the_export(tmp_path: Path) -> None:
    step = round_step(
        tmp_path, results=[{"path": "ann/round1.json", "format": "label-studio"}], export={"dir": "ann/todo"}
    )
    assert step.files() == []
    with pytest.raises(SpeccError) as error:
        step.apply(rows())
    assert str(error.value) == (
        "error: step 'annotate.human' (human): no annotations yet: ann/round1.json not found; the 8 items to annotate "
        "were written to ann/todo/tasks.json (Label Studio import) and ann/todo/tasks.csv; put the annotators' file(s) "
        "there and build again, or set `pending: unlabeled` to build meanwhile without these labels"
    )
    with (tmp_path / "ann" / "todo" / "tasks.csv").open() as handle:
        assert list(csv.reader(handle))[:2] == [["_id", "text", "label"], ["rows:0", "great film", ""]]
    waiting = round_step(tmp_path, results=[{"path": "ann/round1.json", "format": "label-studio"}], pending="unlabeled")
    result = waiting.apply(rows())
    assert result.table.column("label").null_count == len(TEXTS) and result.info["pending"] == ["ann/round1.json"]
    assert "**Annotations pending**: `ann/round1.json`" in card_of(waiting, result.info)


def test_bad_annotation_files_name_the_file_and_the_fix(tmp_path: Path) -> None:
    write(tmp_path / "wide.csv", "item,ann_a,ann_b\nrows:0,pos,pos\nrows:1,neg,Neg\n")
    with pytest.raises(
        SpeccError,
        match=r"^wide.csv:1: error: step 'annotate.human' \(human\): no annotator column "
        r"'ann_z' among the columns item, ann_a, ann_b",
    ):
        round_step(
            tmp_path, results=[{"path": "wide.csv", "format": "wide-csv", "annotators": ["ann_a", "ann_z"]}]
        ).apply(rows())
    with pytest.raises(
        SpeccError,
        match=r"wide.csv: labels that are not among `labels` \['pos', 'neg'\]: 'Neg' "
        r"\(1 annotations; did you mean 'neg'\?\)",
    ):
        round_step(tmp_path, results=[{"path": "wide.csv", "format": "wide-csv"}]).apply(rows())
    long_csv(tmp_path / "long.csv", {"rows:0": ["pos", "pos", "neg"], "other:3": ["neg", "neg", "neg"]})
    reported = round_step(tmp_path, results=[{"path": "long.csv", "format": "long-csv"}], unannotated="keep")
    assert reported.apply(rows()).info["problems"]["count"] == {"unmatched": 1}
    with pytest.raises(SpeccError, match=r"1 annotated item\(s\) are not in the data \(column '_id'\): 'other:3'"):
        round_step(tmp_path, results=[{"path": "long.csv", "format": "long-csv"}], unmatched="fail").apply(rows())
    with pytest.raises(SpeccError, match="cohen-kappa needs exactly two annotators, the round has 3"):
        round_step(
            tmp_path,
            results=[{"path": "long.csv", "format": "long-csv"}],
            agreement={"metric": "cohen-kappa", "min": 0.5},
        ).apply(rows())
    with pytest.raises(SpeccError, match="key column 'ticket'|no column 'ticket'"):
        round_step(tmp_path, results=[{"path": "long.csv", "format": "long-csv"}], key="ticket").apply(rows())


def test_parameters_are_checked_when_the_spec_is_validated(tmp_path: Path) -> None:
    base = {"results": [{"path": "a.csv", "format": "long-csv"}]}
    problems = {
        "agreement": ({**base, "agreement": {"metric": "krippendorf-alpha", "min": 0.6}}, "Input should be"),
        "annotators": (
            {"results": [{"path": "a.csv", "format": "long-csv", "annotators": ["x"]}]},
            "`annotators` applies to wide-csv files only",
        ),
        "adjudicate": ({**base, "item_agreement": {"min": 0.7, "action": "adjudicate"}}, "needs `export"),
        "outside": ({"results": [{"path": "../a.csv", "format": "long-csv"}]}, "outside the spec's folder"),
        "overwrite": (
            {"results": [{"path": "todo/tasks.json", "format": "label-studio"}], "export": {"dir": "todo"}},
            "is a file the export writes",
        ),
        "level": (
            {**base, "agreement": {"metric": "fleiss-kappa", "min": 0.6, "level": "ordinal"}},
            "`level` applies to krippendorff-alpha only",
        ),
        "gold": ({**base, "gold": {"min_accuracy": 0.8}}, "give the gold labels as `path`"),
        "audit": ({**base, "audit": {"size": 3, "sample": "s.csv", "verdicts": "s.csv"}}, "`verdicts` must differ"),
        "columns": ({**base, "item_agreement": {"min": 0.5, "column": "label"}}, "another column the step writes"),
        "key": ({**base, "key": "label"}, "`column` 'label' is also the key"),
    }
    for _name, (params, message) in problems.items():
        with pytest.raises(ValidationError, match=message):
            round_step(tmp_path, **params)


# --- gold items, per-item agreement, adjudication, audit, Dawid-Skene --------------------------------


def test_gold_items_exclude_inaccurate_annotators_before_aggregation(tmp_path: Path) -> None:
    votes = {
        f"rows:{i}": [truth, truth, "neg" if truth == "pos" else "pos"]
        for i, truth in enumerate(["pos", "neg", "pos", "neg", "pos", "pos"])
    }
    long_csv(tmp_path / "ann.csv", votes)
    write(tmp_path / "gold.csv", "item,label\nrows:0,pos\nrows:1,neg\nrows:2,pos\n")
    step = round_step(
        tmp_path, results=[{"path": "ann.csv", "format": "long-csv"}], gold={"path": "gold.csv", "min_accuracy": 0.8}
    )
    assert [p.name for p in step.files()] == ["ann.csv", "gold.csv"]
    info = step.apply(rows(6)).info
    assert info["gold"]["excluded"] == ["c"]
    assert info["gold"]["annotators"]["c"] == {"items": 3, "correct": 0, "accuracy": 0.0}
    assert list(info["annotators"]) == ["a", "b"] and info["agreement"]["percent_agreement"] == 1.0
    by_column = round_step(
        tmp_path, results=[{"path": "ann.csv", "format": "long-csv"}], gold={"column": "gold", "min_accuracy": 0.8}
    )
    assert by_column.apply(rows(6, gold=["pos", None, None, None, None, None])).info["gold"]["excluded"] == ["c"]
    card = card_of(step, info)
    assert "were excluded before aggregation and agreement: `c`." in card
    assert "| `c` | 3 | 0.000 | excluded | 0 |" in card


def test_low_agreement_items_are_flagged_dropped_or_adjudicated(tmp_path: Path) -> None:
    long_csv(
        tmp_path / "ann.csv",
        {"rows:0": ["pos", "pos", "pos"], "rows:1": ["neg", "neg", "pos"], "rows:2": ["pos", "neg", "neg"]},
    )
    results = [{"path": "ann.csv", "format": "long-csv"}]
    flagged = round_step(tmp_path, results=results, item_agreement={"min": 0.7}, agreement_column="share")
    table = flagged.apply(rows(3)).table
    assert table.column("low_agreement").to_pylist() == [False, True, True]
    assert table.column("share").to_pylist() == pytest.approx([1.0, 2 / 3, 2 / 3])
    stats = new_step_stats()
    kept = run_step(
        round_step(tmp_path, results=results, item_agreement={"min": 0.7, "action": "drop"}), rows(3), stats
    )
    assert kept.column("_id").to_pylist() == ["rows:0"] and stats["dropped"] == {"low agreement": 2}

    adjudicate = {"min": 0.7, "action": "adjudicate", "adjudicated": {"path": "adj.csv", "format": "long-csv"}}
    stats = new_step_stats()
    kept = run_step(
        round_step(tmp_path, results=results, item_agreement=adjudicate, export={"dir": "todo"}), rows(3), stats
    )
    assert stats["dropped"] == {"awaiting adjudication": 2}
    review = json.loads((tmp_path / "todo" / "adjudication.json").read_text())
    assert [t["data"] for t in review] == [
        {"_id": "rows:1", "text": "awful film", "votes": "neg 2, pos 1"},
        {"_id": "rows:2", "text": "quite good", "votes": "neg 2, pos 1"},
    ]
    long_csv(tmp_path / "adj.csv", {"rows:1": ["pos"]}, names=("lead",))
    step = round_step(tmp_path, results=results, item_agreement=adjudicate, export={"dir": "todo"})
    result = step.apply(rows(3))
    assert result.table.column("_id").to_pylist() == ["rows:0", "rows:1"]  # rows:1 adjudicated as pos
    assert result.table.column("label").to_pylist() == [0, 0]
    assert {r: m.true_count for r, m in result.dropped.items() if m.true_count} == {"awaiting adjudication": 1}
    assert result.info["item_agreement"]["awaiting"] == 1
    assert [t["data"]["_id"] for t in json.loads((tmp_path / "todo" / "adjudication.json").read_text())] == ["rows:2"]


def test_audit_sample_is_seeded_and_verdicts_give_a_wilson_interval(tmp_path: Path) -> None:
    long_csv(tmp_path / "ann.csv", {f"rows:{i}": ["pos", "pos", "neg"] for i in range(8)})
    audit = {"size": 5, "sample": "audit/sample.csv", "verdicts": "audit/verdicts.csv"}
    step = round_step(tmp_path, results=[{"path": "ann.csv", "format": "long-csv"}], audit=audit)
    info = step.apply(rows()).info["audit"]
    assert info == {
        "sample": "audit/sample.csv",
        "verdicts": "audit/verdicts.csv",
        "size": 5,
        "sampled": 5,
        "confidence": 0.95,
        "interval": "wilson",
        "reviewed": 0,
        "pending": 5,
    }
    sample = (tmp_path / "audit" / "sample.csv").read_text()
    step.apply(rows())
    assert (tmp_path / "audit" / "sample.csv").read_text() == sample
    round_step(tmp_path, seed=12, results=[{"path": "ann.csv", "format": "long-csv"}], audit=audit).apply(rows())
    assert (tmp_path / "audit" / "sample.csv").read_text() != sample
    lines = list(csv.reader(sample.splitlines()))
    assert lines[0] == ["_id", "label", "text", "verdict"]
    verdicts = [line[:3] + [v] for line, v in zip(lines[1:], ["correct", "yes", "incorrect", "1", ""])]
    write(tmp_path / "audit" / "verdicts.csv", "\n".join(",".join(line) for line in [lines[0]] + verdicts) + "\n")
    info = step.apply(rows()).info["audit"]
    assert (info["reviewed"], info["correct"], info["pending"], info["accuracy"]) == (4, 3, 1, 0.75)
    assert info["ci"] == [0.3006, 0.9544]  # statsmodels: proportion_confint(3, 4, method="wilson")
    write(tmp_path / "audit" / "verdicts.csv", "_id,verdict\nrows:0,maybe\n")
    with pytest.raises(SpeccError, match=r"verdicts.csv:2: error: verdict 'maybe' is not one of correct, incorrect"):
        step.apply(rows())


def test_dawid_skene_and_ordinal_agreement(tmp_path: Path) -> None:
    import krippendorff
    import numpy as np

    votes = {
        "rows:0": ["low", "low", "mid"],
        "rows:1": ["high", "high", "high"],
        "rows:2": ["mid", "high", "mid"],
        "rows:3": ["low", "mid", "low"],
        "rows:4": ["high", "mid", "high"],
    }
    long_csv(tmp_path / "ann.csv", votes)
    labels = ["low", "mid", "high"]
    step = round_step(
        tmp_path,
        labels=labels,
        results=[{"path": "ann.csv", "format": "long-csv"}],
        aggregate="dawid-skene",
        agreement={"metric": "krippendorff-alpha", "level": "ordinal", "min": 0},
    )
    result = step.apply(rows(5))
    assert result.table.column("label").to_pylist() == [0, 2, 1, 0, 2]
    assert result.info["aggregate"]["method"] == "dawid-skene" and result.info["aggregate"]["converged"]
    matrix = np.array([[labels.index(v[w]) for v in votes.values()] for w in range(3)], float)
    ordinal = krippendorff.alpha(reliability_data=matrix, level_of_measurement="ordinal")
    assert result.info["agreement"]["gate"]["value"] == pytest.approx(ordinal, abs=1e-4)


def test_a_column_has_one_set_of_label_names(tmp_path: Path) -> None:
    rules = RuleLabeler(
        RuleLabeler.Params(labels=["a", "b"], rules=[{"label": "a", "keywords": ["x"]}]),
        Context("annotate.rules", 1, tmp_path),
    )
    assert annotated_label_names([rules], {"label": ["a", "b"], "topic": ["t"]}) == {
        "label": ["a", "b"],
        "topic": ["t"],
    }
    with pytest.raises(
        SpeccError,
        match=r"it writes column 'label' with the label names \['a', 'b'\], but the sources "
        r"gave it \['b', 'a'\]; use the same names, or write another column",
    ):
        annotated_label_names([rules], {"label": ["b", "a"]})


def test_ratio_agreement_is_accepted_gated_and_shown_in_the_card(tmp_path: Path) -> None:
    import krippendorff
    import numpy as np

    stars = ["0", "1", "2", "5", "10"]
    votes = {
        "rows:0": ["0", "0", "1"],
        "rows:1": ["10", "5", "10"],
        "rows:2": ["2", "2", "1"],
        "rows:3": ["5", "5", "5"],
        "rows:4": ["1", "2", None],
        "rows:5": ["10", "10", "5"],
    }
    long_csv(tmp_path / "ann.csv", votes)
    path = spec(
        tmp_path,
        f"""\
  - type: human
    labels: [{", ".join(repr(s) for s in stars)}]
    results: [{{path: ann.csv, format: long-csv}}]
    agreement: {{metric: krippendorff-alpha, level: ratio, min: 0.5}}
    resamples: 50
""",
    )
    build(path, cache_dir=tmp_path / "cache")
    out = tmp_path / "build" / "reviews"
    matrix = np.array([[np.nan if v[w] is None else float(v[w]) for v in votes.values()] for w in range(3)])
    ratio = krippendorff.alpha(reliability_data=matrix, level_of_measurement="ratio")
    interval = krippendorff.alpha(reliability_data=matrix, level_of_measurement="interval")
    assert round(ratio, 3) != round(interval, 3)
    record = next(s for s in json.loads((out / "stats.json").read_text())["steps"] if s["id"] == "annotate.human")
    agreement = record["info"]["agreement"]
    assert agreement["krippendorff_alpha_ratio"] == pytest.approx(ratio, abs=1e-4)
    assert agreement["gate"]["value"] == pytest.approx(ratio, abs=1e-4) and agreement["gate"]["passed"] is True
    card = (out / "README.md").read_text()
    assert f"| Krippendorff's alpha (ratio) | {ratio:.3f} |" in card, card
