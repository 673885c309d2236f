"""`llm-judge` against a real `transformers serve` with a scripted model: scores, the threshold, unscored rows."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from llm_server import Server, serve
from scripted_model import save_scripted_model

from specc.builder import build
from tests.conftest import run_cli, write

ANSWERS = {  # trigger word -> what the scripted judge answers
    "excellent": "5",
    "good": "Score: 4/5",
    "poor": "2",
    "awful": '{"score": 1}',
    "weird": "7",  # outside the scale
}
ROWS = [  # text, the score the answer gives (None: unscored)
    ("an excellent answer", 5.0),
    ("a good answer", 4.0),
    ("a poor answer", 2.0),
    ("an awful answer", 1.0),
    ("a weird answer", None),
    ("a plain answer", None),  # no trigger: "I cannot say"
    ("excellent, excellent, good", 5.0),
]
PROMPT = "Rate the answer from {{ min_score }} to {{ max_score }}.\\n\\nAnswer: {{ text }}"


@pytest.fixture(scope="module")
def judge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`transformers serve` answering with the scripted judge (model id `judge`), for this module's tests."""
    folder = save_scripted_model(tmp_path_factory.mktemp("models") / "judge", ANSWERS, default="I cannot say")
    server = serve(folder)
    yield server
    server.stop()


def spec(folder: Path, step: str) -> Path:
    """A spec over ROWS whose clean stage is the llm-judge `step` lines."""
    write(folder / "rows.jsonl", "".join(json.dumps({"text": t}) + "\n" for t, _ in ROWS))
    return write(
        folder / "spec.yaml",
        "specc: 1\nname: judged\ndescription: d\nlicense: mit\nseed: 5\ncard: {draft: true}\n"
        "sources:\n  rows: {type: jsonl, path: rows.jsonl, license: mit}\n"
        f"clean:\n  - type: llm-judge\n{step}"
        "output: {dir: build/judged}\n",
    )


def judge_step(server: Server, extra: str = "") -> str:
    return (
        f"    endpoint: {{url: '{server.url}', model: {server.model}}}\n"
        f'    prompt: "{PROMPT}"\n    threshold: 3\n    sampling: {{max_tokens: 8}}\n{extra}'
    )


def built(folder: Path) -> dict[str, list]:
    return pq.read_table(folder / "build/judged/data/train-00000-of-00001.parquet").to_pydict()


def judged(stats: dict) -> dict:
    return next(s for s in stats["steps"] if s["type"] == "llm-judge")


def test_rows_under_the_threshold_and_unscored_rows_are_dropped_and_counted(judge: Server, tmp_path: Path) -> None:
    stats = build(spec(tmp_path, judge_step(judge, "    score_column: score\n")))
    out = built(tmp_path)
    passed = [(t, s) for t, s in ROWS if s is not None and s >= 3]
    assert list(zip(out["text"], out["score"])) == passed
    record = judged(stats)
    assert record["dropped"] == {"below threshold": 2, "unscored": 2} and record["rows_out"] == 3
    info = record["info"]
    assert (info["scored"], info["unscored"], info["failed"], info["below_threshold"]) == (5, 2, 0, 2)
    assert info["by_score"] == {"1": 1, "2": 1, "4": 1, "5": 2}
    assert info["llm"]["requests"] == len(ROWS)
    card = (tmp_path / "build/judged/README.md").read_text()
    assert "below threshold" in card and "unscored" in card


def test_unscored_rows_may_be_kept_without_a_score(judge: Server, tmp_path: Path) -> None:
    stats = build(spec(tmp_path, judge_step(judge, "    unscored: keep\n    score_column: score\n")))
    out = built(tmp_path)
    kept = [(t, s) for t, s in ROWS if s is None or s >= 3]
    assert list(zip(out["text"], out["score"])) == kept
    assert judged(stats)["dropped"] == {"below threshold": 2}


def test_without_a_score_column_the_columns_stay_as_they_were(judge: Server, tmp_path: Path) -> None:
    build(spec(tmp_path, judge_step(judge)))
    assert list(built(tmp_path)) == ["_id", "text"]


@pytest.mark.parametrize(
    ("step", "message"),
    [
        (
            "    endpoint: {url: 'http://127.0.0.1:9/v1', model: m}\n    threshold: 3\n",
            "spec.yaml:10:5: error: clean[0].prompt: missing required key 'prompt'",
        ),
        (
            f'    endpoint: {{url: "http://127.0.0.1:9/v1", model: m}}\n    prompt: "{PROMPT}"\n    threshold: 7\n',
            "spec.yaml:13:16: error: clean[0].threshold: threshold 7 is outside the scores 1 to 5; give a threshold in "
            "that range",
        ),
        (
            f'    endpoint: {{url: "http://127.0.0.1:9/v1", model: m}}\n    prompt: "{PROMPT}"\n    min_score: 3\n'
            "    max_score: 3\n    threshold: 3\n",
            "spec.yaml:14:16: error: clean[0].max_score: max_score 3 must be greater than min_score 3",
        ),
        (
            '    endpoint: {url: "http://127.0.0.1:9/v1", model: m}\n    prompt: "Rate {{ answer }}"\n'
            "    threshold: 3\n",
            "spec.yaml:12:13: error: clean[0].prompt: no column 'answer' in the rows it reads; the columns are: text",
        ),
        (
            '    endpoint: {url: "http://127.0.0.1:9/v1", model: m}\n    prompt: "Rate {{ text "\n    threshold: 3\n',
            "spec.yaml:12:13: error: clean[0].prompt: template syntax error at line 1",
        ),
    ],
)
def test_bad_parameters_are_named_at_their_line(tmp_path: Path, step: str, message: str) -> None:
    done = run_cli("validate", str(spec(tmp_path, step)), cwd=tmp_path)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert message in done.stderr.replace(str(tmp_path) + "/", "")
