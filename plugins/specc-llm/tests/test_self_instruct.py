"""`self-instruct` through the CLI against a real `transformers serve`: rows from the shared seed tasks, the ROUGE-L
filter checked with rouge_score on the output, the paper's other filters counted, a target the rounds cannot reach,
the same bytes from a fresh cache, and seed files that are missing, empty or malformed.

The scripted model (tests/scripted_model.py) answers a prompt saying "series" (the request for new instructions)
with the numbered list ANSWER, and a prompt saying "Input:" more often (the request for an instance: its text and
each example say it) with an input and an output. Its list has three instructions that pass every filter, one
too close to another (ROUGE-L F1 0.875), one with a blocked word and one too short; at temperature 0 every request
gets the same list, so a second round finds nothing new.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from itertools import combinations
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from llm_server import Server, serve
from scripted_model import save_scripted_model

from tests.conftest import run_cli, write

KEPT = ["Write a short poem about the sea.", "List three uses of a paperclip.", "Explain why the sky looks blue."]
ANSWER = (
    f"{KEPT[0]}\n2. Write a short poem about the sea at night.\n3. Draw a picture of a cat.\n4. Say hi.\n"
    f"5. {KEPT[1]}\n6. {KEPT[2]}"
)
TRIGGERS = {"series": ANSWER, "Input:": "Input: <noinput>\nOutput: The sea is wide."}
SEEDS = [
    {
        "instruction": "Give three tips for staying healthy.",
        "instances": [{"input": "", "output": "Sleep, eat, move."}],
    },
    {"instruction": "Translate the sentence into French.", "instances": [{"input": "Good day", "output": "Bonjour"}]},
    {"instruction": "Sort the numbers from small to large.", "instances": [{"input": "3, 1, 2", "output": "1, 2, 3"}]},
]


@pytest.fixture(scope="module")
def tasker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`transformers serve` with the scripted model (model id `tasker`) for this module's tests."""
    folder = save_scripted_model(tmp_path_factory.mktemp("models") / "tasker", TRIGGERS, default="no idea")
    server = serve(folder)
    yield server
    server.stop()


def seed_lines(tasks: list[dict]) -> str:
    return "".join(json.dumps(task) + "\n" for task in tasks)


def project(folder: Path, url: str, model: str, seeds: str | bytes | None = None, more: str = "") -> Path:
    """A spec whose one source is self-instruct over data/seeds.jsonl (written from `seeds` unless None); `more`:
    its keys besides the endpoint (default `rows: 3`)."""
    (folder / "data").mkdir(parents=True, exist_ok=True)
    if seeds is not None:
        (folder / "data" / "seeds.jsonl").write_bytes(seeds.encode() if isinstance(seeds, str) else seeds)
    return write(
        folder / "spec.yaml",
        f"""specc: 1
name: self-instructed
version: 1.0.0
description: Tasks a language model wrote from seed tasks.
license: apache-2.0
seed: 11
sources:
  tasks:
    type: self-instruct
    license: apache-2.0
    seed_tasks: data/seeds.jsonl
    endpoint: {{url: "{url}", model: {model}}}
    sampling: {{max_tokens: 16}}
    requests_per_round: 2
{more or "    rows: 3"}
format:
  type: alpaca
  instruction: "{{{{ instruction }}}}"
  input: "{{{{ input }}}}"
  output: "{{{{ output }}}}"
card: {{draft: true}}
output: {{dir: build/out}}
""",
    )


def built(spec: Path) -> tuple[list[dict], dict]:
    done = run_cli("build", spec.name, cwd=spec.parent)
    assert done.returncode == 0, done.stderr
    out = spec.parent / "build" / "out"
    rows = [row for path in sorted((out / "data").glob("*.parquet")) for row in pq.read_table(path).to_pylist()]
    return rows, json.loads((out / "stats.json").read_text())["sources"]["tasks"]


def test_the_shared_seed_tasks_give_rows_no_two_of_them_closer_than_the_rouge_threshold(
    tasker: Server, shared_data: Path, tmp_path: Path
) -> None:
    from rouge_score import rouge_scorer

    seeds = shared_data / "self-instruct" / "seed_tasks.jsonl"
    spec = project(tmp_path, tasker.url, tasker.model)
    shutil.copyfile(seeds, tmp_path / "data" / "seeds.jsonl")
    rows, source = built(spec)
    assert [row["instruction"] for row in rows] == KEPT
    assert {(row["input"], row["output"]) for row in rows} == {("", "The sea is wide.")}
    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)
    pool = [json.loads(line)["instruction"] for line in seeds.read_text().splitlines()]
    made = [row["instruction"] for row in rows]
    for a, b in [*combinations(made, 2), *((m, s) for m in made for s in pool)]:
        assert scorer.score(a, b)["rougeL"].fmeasure <= 0.7, (a, b)
    info = source["info"]
    # two requests, the same six instructions each: the first request's three kept, the rest too similar
    assert (info["rows"], info["rounds"], info["reached"]) == (3, 1, True)
    assert (info["instructions_proposed"], info["instructions_kept"]) == (12, 3)
    assert (info["similar"], info["blocked"], info["too_short"]) == (5, 2, 2)
    assert info["llm"]["requests"] == 2 + 3 and info["llm"]["model"] == "tasker"
    assert source["files"][0]["path"] == "data/seeds.jsonl" and source["pins"]["model"] == "tasker"


def test_a_target_the_rounds_cannot_reach_fails_unless_min_rows_allows_it(tasker: Server, tmp_path: Path) -> None:
    more = "    rows: 5\n    max_rounds: 2"
    spec = project(tmp_path / "a", tasker.url, tasker.model, seed_lines(SEEDS), more)
    done = run_cli("build", spec.name, cwd=spec.parent)
    assert done.returncode == 1
    assert "3 rows after 2 rounds (`max_rounds`), fewer than the 5 wanted" in done.stderr, done.stderr
    assert "min_rows" in done.stderr and "Traceback" not in done.stderr
    rows, source = built(
        project(tmp_path / "b", tasker.url, tasker.model, seed_lines(SEEDS), more + "\n    min_rows: 3")
    )
    assert len(rows) == 3
    assert (source["info"]["rows"], source["info"]["rounds"], source["info"]["reached"]) == (3, 2, False)
    assert source["info"]["similar"] == 5 + 8  # the second round: the four that passed the other filters before
    assert source["info"]["similar"] + source["info"]["blocked"] + source["info"]["too_short"] == 21


def test_a_fresh_cache_gives_the_same_bytes(tasker: Server, tmp_path: Path) -> None:
    outputs = []
    for name in ("a", "b"):
        spec = project(tmp_path / name, tasker.url, tasker.model, seed_lines(SEEDS))
        built(spec)
        out = spec.parent / "build" / "out"
        outputs.append({p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()})
    assert outputs[0] == outputs[1]


@pytest.mark.parametrize(
    ("seeds", "where", "message"),
    [
        ("", "data/seeds.jsonl: ", "no seed tasks"),
        ("\n  \n", "data/seeds.jsonl: ", "no seed tasks"),
        (seed_lines(SEEDS[:1]) + "{not json\n", "data/seeds.jsonl:2: ", "not JSON"),
        (seed_lines(SEEDS[:1]) + "[1, 2]\n", "data/seeds.jsonl:2: ", "not a JSON object"),
        ('\n{"instruction": "  ", "instances": []}\n', "data/seeds.jsonl:2: ", "`instruction` is missing"),
        ('{"instances": []}\n', "data/seeds.jsonl:1: ", "`instruction` is missing"),
        ('{"instruction": "Do it.", "instances": [{"input": 3}]}\n', "data/seeds.jsonl:1: ", "`instances` must be"),
        (b'{"instruction": "Caf\xe9"}\n', "data/seeds.jsonl:1: ", "not valid UTF-8 text"),
    ],
)
def test_bad_seed_files_are_named_with_their_line(
    tasker: Server, tmp_path: Path, seeds: str | bytes, where: str, message: str
) -> None:
    spec = project(tmp_path, tasker.url, tasker.model, seeds)
    done = run_cli("build", spec.name, cwd=tmp_path)
    assert done.returncode == 1
    assert f"{where}error: source 'tasks': {message}" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


def test_a_missing_seed_file_and_impossible_bounds_are_spec_errors(tmp_path: Path) -> None:
    missing = project(tmp_path / "a", "http://127.0.0.1:9/v1", "m")
    done = run_cli("validate", missing.name, cwd=missing.parent)
    assert done.returncode == 1
    assert "spec.yaml:11:17: error: sources.tasks.seed_tasks: file 'data/seeds.jsonl' not found" in done.stderr
    bounds = project(tmp_path / "b", "http://127.0.0.1:9/v1", "m", seed_lines(SEEDS), "    rows: 3\n    min_rows: 4")
    done = run_cli("validate", bounds.name, cwd=bounds.parent)
    assert done.returncode == 1
    assert (
        "spec.yaml:16:15: error: sources.tasks.min_rows: min_rows (4) is more than rows (3); lower it" in done.stderr
    ), done.stderr
