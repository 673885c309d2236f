"""Annotation readers: real files, every kind of problem reported, bad files rejected with file, line and fix."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from specc.annotation.readers import (
    match_items,
    merge_annotations,
    read_annotations,
    write_annotation_csv,
    write_label_studio_tasks,
)
from specc.annotation.table import Annotations
from specc.errors import SpeccError
from tests.conftest import write


def kinds(problems: list) -> list[str]:
    return [problem.kind for problem in problems]


@pytest.mark.shared_data
def test_paradigms_wide_csv(shared_data: Path) -> None:
    path = shared_data / "annotation-paradigms" / "annotations_g1.csv"
    a, problems = read_annotations(path, "wide-csv")
    assert problems == []
    assert len(a.items) == 200 and len(a.annotators) == 20
    assert a.annotators[:3] == ["label_1_M", "label_2_F", "label_3_M"] and a.annotators[-1] == "label_20_F"
    assert a.categories == ["Hateful", "Non-hateful"]
    with path.open(newline="", encoding="utf-8") as handle:
        rows = {row["id"]: row for row in csv.DictReader(handle)}
    assert set(a.items) == set(rows)
    for item, annotator, label in a.to_long()[:500]:
        assert rows[item][annotator] == label
    chosen, _ = read_annotations(path, "wide-csv", item="id", annotator="label_*_F")
    assert chosen.annotators == [name for name in a.annotators if name.endswith("_F")]


def test_wide_csv_problems_are_reported_with_lines(tmp_path: Path) -> None:
    path = write(
        tmp_path / "wide.csv",
        "id,text,ann_a,ann_b\n"
        '1,"two\nlines",pos,neg\n'
        "2,hello,pos,\n"
        "1,again,neg,neg\n"
        ",no id,pos,pos\n"
        "3,short\n"
        "\n"
        "4,nothing,,\n",
    )
    a, problems = read_annotations(path, "wide-csv")
    assert a.items == ["1", "2"]
    assert a.annotators == ["ann_a", "ann_b"]
    assert a.labels.tolist() == [["pos", "neg"], ["pos", None]]
    assert kinds(problems) == ["duplicate", "duplicate", "empty", "malformed", "empty"]
    assert [p.line for p in problems] == [5, 5, 6, 7, 9]
    assert problems[0].item == "1" and problems[0].annotator == "ann_a"
    assert "the first label, 'pos' on line 2, is kept" in problems[0].detail
    assert (
        problems[3].message(path)
        == f"{path}:7: warning: malformed: the row has 2 fields, the header 4; the row is left out"
    )


def test_wide_csv_column_choice(tmp_path: Path) -> None:
    path = write(tmp_path / "w.csv", "item,text,source,alice,bob\nx,t,web,1,2\n")
    a, _ = read_annotations(path, "wide-csv", exclude=["text", "source"])
    assert (a.items, a.annotators) == (["x"], ["alice", "bob"])
    a, _ = read_annotations(path, "wide-csv", annotator=["bob"])
    assert a.annotators == ["bob"]
    with pytest.raises(SpeccError, match=r"w.csv:1: error: no annotator column 'carol' among the columns item, text"):
        read_annotations(path, "wide-csv", annotator=["alice", "carol"])
    with pytest.raises(SpeccError, match=r"no annotator columns matching 'label_\*' among"):
        read_annotations(path, "wide-csv", annotator="label_*")
    with pytest.raises(
        SpeccError,
        match=r"w.csv:1: error: no item column 'key' among the columns item, text, source, "
        r"alice, bob; name the right one with --item",
    ):
        read_annotations(path, "wide-csv", item="key")
    nameless = write(tmp_path / "n.csv", "text,alice\nt,1\n")
    with pytest.raises(SpeccError, match=r"no item column \(_id, id, item\) among the columns text, alice"):
        read_annotations(nameless, "wide-csv")
    twice = write(tmp_path / "twice.csv", "id,alice,alice\n1,a,b\n")
    with pytest.raises(SpeccError, match="twice.csv:1: error: columns appear more than once: alice"):
        read_annotations(twice, "wide-csv")


def test_long_csv(tmp_path: Path) -> None:
    path = write(
        tmp_path / "long.csv", "_id,annotator,label\nb,ann1,yes\na,ann2,no\na,ann1,yes\na,ann1,no\nc,ann2,\n,ann2,yes\n"
    )
    a, problems = read_annotations(path, "long-csv")
    assert (a.items, a.annotators) == (["a", "b"], ["ann1", "ann2"])
    assert a.labels.tolist() == [["yes", "no"], ["yes", None]]
    assert kinds(problems) == ["duplicate", "empty", "empty"]
    assert [p.line for p in problems] == [5, 6, 7]
    assert "the row has no label" in problems[1].detail and "no item" in problems[2].detail
    renamed = write(tmp_path / "renamed.csv", "tweet,who,class\n1,x,a\n")
    a, _ = read_annotations(renamed, "long-csv", item="tweet", annotator="who", label="class")
    assert a.to_long() == [("1", "x", "a")]
    with pytest.raises(SpeccError, match=r"renamed.csv:1: error: no annotator column 'annotator'.*--annotator"):
        read_annotations(renamed, "long-csv", item="tweet")
    with pytest.raises(SpeccError, match="no label column 'label'"):
        read_annotations(renamed, "long-csv", item="tweet", annotator="who")


def label_studio_task(task_id: int, data: dict, annotations: list) -> dict:
    """A task as Label Studio's JSON export writes it."""
    return {
        "id": task_id,
        "data": data,
        "annotations": annotations,
        "predictions": [],
        "meta": {},
        "created_at": "2025-01-01T00:00:00Z",
        "inner_id": task_id,
        "total_annotations": len(annotations),
        "cancelled_annotations": sum(a.get("was_cancelled", False) for a in annotations),
    }


def choice(user, label, *, cancelled: bool = False, control: str = "sentiment", extra: list | None = None) -> dict:
    labels = label if isinstance(label, list) else [label]
    result = (
        []
        if label is None
        else [
            {
                "id": "r1",
                "from_name": control,
                "to_name": "text",
                "type": "choices",
                "origin": "manual",
                "value": {"choices": labels},
            }
        ]
    )
    return {
        "id": 1,
        "completed_by": user,
        "result": result + (extra or []),
        "was_cancelled": cancelled,
        "ground_truth": False,
        "lead_time": 2.5,
        "task": 1,
    }


def test_label_studio_export(tmp_path: Path) -> None:
    tasks = [
        label_studio_task(1, {"_id": "s1", "text": "good"}, [choice(1, "pos"), choice(2, "pos"), choice(3, "neg")]),
        label_studio_task(
            2,
            {"_id": "s2", "text": "bad"},
            [
                choice({"id": 2, "email": "b@example.org"}, "neg"),
                choice(3, None, cancelled=True),
                choice(1, "neg"),
                choice(1, "pos"),
            ],
        ),
        label_studio_task(3, {"text": "no key"}, [choice(1, "pos")]),
        label_studio_task(4, {"_id": "s4", "text": "x"}, [choice(1, ["pos", "neg"]), choice(2, None), {"result": []}]),
    ]
    path = write(tmp_path / "export.json", json.dumps(tasks, indent=2))
    a, problems = read_annotations(path, "label-studio")
    assert a.items == ["s1", "s2"]
    assert a.annotators == ["1", "2", "3", "b@example.org"]
    assert a.labels.tolist() == [["pos", "pos", "neg", None], ["neg", None, None, "neg"]]
    assert kinds(problems) == ["cancelled", "duplicate", "unmatched", "malformed", "empty", "malformed"]
    lines = path.read_text().splitlines()
    assert lines[problems[2].line - 1].strip() == "{" and '"id": 3' in lines[problems[2].line]
    assert problems[0].annotator == "3" and problems[0].item == "s2"


def test_label_studio_key_and_controls(tmp_path: Path) -> None:
    tasks = [
        label_studio_task(
            1,
            {"tweet_id": 7, "text": "t"},
            [
                choice(
                    1,
                    "pos",
                    extra=[{"from_name": "toxic", "to_name": "text", "type": "choices", "value": {"choices": ["no"]}}],
                ),
                choice(2, "neg", extra=[{"from_name": "stars", "type": "rating", "value": {"rating": 4}}]),
            ],
        )
    ]
    path = write(tmp_path / "export.json", json.dumps(tasks))
    with pytest.raises(SpeccError, match=r"no task has data\['_id'\].*--item \(item=\); data keys: text, tweet_id"):
        read_annotations(path, "label-studio")
    with pytest.raises(
        SpeccError, match=r"several labeling controls \(sentiment, stars, toxic\); choose one with --from-name"
    ):
        read_annotations(path, "label-studio", item="tweet_id")
    a, problems = read_annotations(path, "label-studio", item="tweet_id", from_name="toxic")
    assert a.to_long() == [("7", "1", "no")] and kinds(problems) == ["empty"]
    stars, _ = read_annotations(path, "label-studio", item="tweet_id", from_name="stars")
    assert stars.to_long() == [("7", "2", "4")]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '[\n  {"data": {"_id": 1},\n   "annotations": [}\n]',
            r"export.json:3: error: not valid JSON \(Expecting value at "
            r"column 20\); export the project",
        ),
        ('{"data": {}}', r"export.json:1: error: expected a list of tasks .*got a dict"),
        (
            '[{"data": {"_id": "a"}, "text": "x", "sentiment": "pos"}]',
            r"export.json:1: error: task \? has no 'annotations' "
            r"list; export with Label Studio's 'JSON' format",
        ),
        ("[1, 2]", r"export.json:1: error: a task without a 'data' object"),
        ("   \n", r"export.json:1: error: the annotation file is empty"),
    ],
)
def test_bad_label_studio_files(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path / "export.json", text)
    with pytest.raises(SpeccError, match=message):
        read_annotations(path, "label-studio")


def test_bad_names_and_files(tmp_path: Path) -> None:
    with pytest.raises(
        SpeccError, match="unknown annotation format 'csv'; use one of wide-csv, long-csv, label-studio"
    ):
        read_annotations(tmp_path / "x.csv", "csv")
    with pytest.raises(SpeccError, match=r"nope.csv: error: cannot read the annotation file .*check the path"):
        read_annotations(tmp_path / "nope.csv", "wide-csv")
    broken = write(tmp_path / "broken.csv", 'id,a\n1,"open quote\n')
    with pytest.raises(SpeccError, match=r"broken.csv:\d+: error: not valid CSV"):
        read_annotations(broken, "wide-csv")
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"id,a\n1,\xff\xfe\n")
    with pytest.raises(SpeccError, match="UTF-8"):
        read_annotations(binary, "wide-csv")


def test_exports_round_trip(tmp_path: Path) -> None:
    rows = [{"_id": "r2", "text": "second", "votes": {"a": 2}}, {"_id": "r1", "text": "first", "votes": {"b": 1}}]
    assert write_label_studio_tasks(rows, tmp_path / "ls" / "tasks.json", "text", extra=["votes"]) == 2
    tasks = json.loads((tmp_path / "ls" / "tasks.json").read_text())
    assert tasks == [
        {"data": {"_id": "r2", "text": "second", "votes": {"a": 2}}},
        {"data": {"_id": "r1", "text": "first", "votes": {"b": 1}}},
    ]
    # what Label Studio exports after two people annotated the imported tasks
    exported = [label_studio_task(n, task["data"], [choice(1, "x"), choice(2, "y")]) for n, task in enumerate(tasks)]
    a, problems = read_annotations(write(tmp_path / "export.json", json.dumps(exported)), "label-studio")
    assert problems == [] and a.items == ["r1", "r2"] and a.labels.tolist() == [["x", "y"], ["x", "y"]]

    assert write_annotation_csv(rows, tmp_path / "todo.csv", "text", annotators=["alice", "bob"]) == 2
    assert (tmp_path / "todo.csv").read_text().splitlines()[0] == "_id,text,alice,bob"
    filled = (tmp_path / "todo.csv").read_text().replace("second,,", "second,pos,neg").replace("first,,", "first,pos,")
    a, problems = read_annotations(write(tmp_path / "filled.csv", filled), "wide-csv", annotator=["alice", "bob"])
    assert a.labels.tolist() == [["pos", None], ["pos", "neg"]] and problems == []
    with pytest.raises(SpeccError, match=r"row 1 has no column 'text' to export"):
        write_annotation_csv([{"_id": 1, "text": "a"}, {"_id": 2}], tmp_path / "bad.csv", "text")


def test_match_and_merge() -> None:
    first = Annotations.from_long([("a", "x", "pos"), ("b", "x", "neg")])
    second = Annotations.from_long([("a", "x", "neg"), ("a", "y", "pos")])
    merged, problems = merge_annotations([("one.csv", first), ("two.json", second)])
    assert merged.labels.tolist() == [["pos", "pos"], ["neg", None]]
    ((where, problem),) = problems
    assert where == "two.json" and problem.kind == "duplicate" and "'pos' in one.csv, is kept" in problem.detail
    matched, unmatched = match_items(merged, ["b", "zzz"])
    assert matched.items == ["b"] and [(p.kind, p.item) for p in unmatched] == [("unmatched", "a")]
    assert "2 annotations are left out" in unmatched[0].detail
