"""Nested sources: `explode:` makes one row per list element, with the parent's fields and `_id` lineage."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import pytest

from specc.builder import build
from specc.errors import SpeccError
from specc.spec import load_spec
from tests.conftest import ROOT, write

HEADER = """\
specc: 1
name: nested
description: Explode test.
license: mit
sources:
  tasks:
    type: jsonl
    path: tasks.jsonl
{source}
card: {{draft: true}}
"""
TASKS = [
    {"name": "a", "instances": [{"input": "1", "output": "one"}, {"input": "2", "output": "two"}]},
    {"name": "b", "instances": []},
    {"name": "c", "instances": None},
    {"name": "d", "instances": [{"input": "4", "output": "four"}]},
]


def make(folder: Path, source: str, tasks: list | None = None) -> Path:
    write(folder / "tasks.jsonl", "".join(json.dumps(t) + "\n" for t in (tasks or TASKS)))
    return write(folder / "nested.yaml", HEADER.format(source=source))


def nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip()


def rows(folder: Path) -> list[dict]:
    import datasets

    return datasets.load_dataset(str(folder / "build" / "nested"), split="train").to_list()


def test_struct_elements_become_rows_with_lineage_and_counts(tmp_path: Path) -> None:
    spec = make(tmp_path, "    explode: instances")
    stats = build(spec)
    assert rows(tmp_path) == [
        {"_id": "tasks:0.0", "_parent_id": "tasks:0", "name": "a", "input": "1", "output": "one"},
        {"_id": "tasks:0.1", "_parent_id": "tasks:0", "name": "a", "input": "2", "output": "two"},
        {"_id": "tasks:3.0", "_parent_id": "tasks:3", "name": "d", "input": "4", "output": "four"},
    ]
    assert stats["sources"]["tasks"]["explode"] == {
        "column": "instances",
        "rows_before": 4,
        "rows_after": 3,
        "empty": 2,
    }
    card = (tmp_path / "build" / "nested" / "README.md").read_text()
    assert "| `tasks` | `instances` | 4 | 3 | 2 |" in card
    assert "| `_parent_id` | string | for a row exploded from a list in a source row" in card


def test_prefix_columns_mapping_and_plain_lists(tmp_path: Path) -> None:
    spec = make(
        tmp_path,
        "    explode: {column: instances, prefix: inst_}\n"
        "    columns: {task: name, question: inst_input, answer: inst_output}",
    )
    build(spec)
    assert [(r["_id"], r["task"], r["question"], r["answer"]) for r in rows(tmp_path)] == [
        ("tasks:0.0", "a", "1", "one"),
        ("tasks:0.1", "a", "2", "two"),
        ("tasks:3.0", "d", "4", "four"),
    ]
    tags = [{"name": "x", "tags": ["p", "q", "r"]}, {"name": "y", "tags": ["s"]}]
    spec = make(tmp_path / "plain", "    explode: tags", tags)
    build(spec)
    assert [(r["_id"], r["name"], r["tags"]) for r in rows(tmp_path / "plain")] == [
        ("tasks:0.0", "x", "p"),
        ("tasks:0.1", "x", "q"),
        ("tasks:0.2", "x", "r"),
        ("tasks:1.0", "y", "s"),
    ]


@pytest.mark.parametrize(
    ("source", "tasks", "message"),
    [
        (
            "    explode: instances",
            [{"input": "x", "instances": [{"input": "1"}]}],
            "explode: the elements' field 'input' has the name of a column of the parent rows; set "
            "`explode: {column: instances, prefix: instances_}`",
        ),
        ("    explode: name", None, "explode: column 'name' holds string, not lists"),
    ],
)
def test_explode_mistakes_are_clear_errors(source: str, tasks: list | None, message: str, tmp_path: Path) -> None:
    with pytest.raises(SpeccError) as info:
        build(make(tmp_path, source, tasks))
    assert str(info.value).startswith(f"error: source 'tasks': {message}")


def test_explode_left_out_leaves_fingerprints_alone(tmp_path: Path) -> None:
    from specc.compiler import compile_spec

    plain = compile_spec(load_spec(make(tmp_path, "")))
    assert "explode" not in plain.stage("sources")[0].record["params"]
    exploded = compile_spec(load_spec(make(tmp_path / "x", "    explode: instances")))
    assert exploded.stage("sources")[0].record["params"]["explode"] == {"column": "instances", "prefix": ""}


@pytest.mark.shared_data
def test_self_instruct_example_explodes_into_chat(shared_data: Path, tmp_path: Path) -> None:
    import datasets

    example = ROOT / "specs" / "self-instruct.yaml"
    load_spec(example)  # its path relative to specs/ (../../shared/data) resolves in the repository
    data = shared_data / "self-instruct" / "seed_tasks.jsonl"
    text = example.read_text().replace("../../shared/data/self-instruct/seed_tasks.jsonl", str(data))
    spec = write(tmp_path / "self-instruct.yaml", text)
    stats = build(spec)
    tasks = [json.loads(line) for line in data.read_text().splitlines()]
    instances = sum(len(t["instances"]) for t in tasks)
    assert stats["sources"]["seed"]["explode"]["rows_after"] == instances
    loaded = datasets.load_dataset(str(tmp_path / "build" / "self-instruct-chat"))
    got = [r for split in loaded.values() for r in split]
    assert len(got) == instances
    by_task = {f"seed:{i}": t for i, t in enumerate(tasks)}
    for row in got:
        task = by_task[row["_parent_id"]]
        element = task["instances"][int(row["_id"].rsplit(".", 1)[1])]
        roles = [m["role"] for m in row["messages"]]
        assert roles == ["system", "user", "assistant"]
        assert nfkc(task["instruction"]) in row["messages"][1]["content"]  # the clean step's NFKC
        assert row["messages"][2]["content"] == nfkc(element["output"])
    # instances of one task stay in one split (group: task)
    splits = {}
    for name, split in loaded.items():
        for r in split:
            splits.setdefault(r["_parent_id"], set()).add(name)
    assert all(len(s) == 1 for s in splits.values())
