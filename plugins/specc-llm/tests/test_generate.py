"""`llm-generate` through the CLI against a real `transformers serve`: lineage columns, train only, duplicates and
their counts, per-copy seeds, the same bytes from a fresh cache; and the spec errors of its templates.

The scripted model (tests/scripted_model.py) answers "A fine film." to a prompt saying "great" and "The Food was
BAD" to one saying "bad" (the same as the row "the food was bad" once case is folded), "no idea" otherwise; at
temperature 0 every copy of a row gets the same answer, so the copies after the first are duplicates.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from llm_server import FaultProxy, Server, serve
from scripted_model import save_scripted_model

from tests.conftest import run_cli, write

TRIGGERS = {"great": "A fine film.", "bad": "The Food was BAD"}
TRAIN = ["the movie was great", "the food was bad", "nothing to say here"]
TEST = ["a great day out", "so bad it hurt"]
STEP = "augment.llm-generate"
PARAPHRASE = '    prompt: "Paraphrase: {{ value }}"'


@pytest.fixture(scope="module")
def rewriter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`transformers serve` with the scripted model (model id `rewriter`) for this module's tests."""
    folder = save_scripted_model(tmp_path_factory.mktemp("models") / "rewriter", TRIGGERS, default="no idea")
    server = serve(folder)
    yield server
    server.stop()


def endpoint(server: Server) -> str:
    """The spec's `endpoint:` for `server`."""
    return f'{{url: "{server.url}", model: {server.model}}}'


NOWHERE = '{url: "http://127.0.0.1:9/v1", model: m}'  # for specs that are only validated


def project(
    folder: Path, endpoint: str, step: str = "", sampling: str = "{max_tokens: 8}", max_failed: float = 0
) -> Path:
    """A spec with a train and a test source and one llm-generate step (its `prompt` and more from `step`)."""
    for split, texts in (("train", TRAIN), ("test", TEST)):
        write(
            folder / "data" / f"{split}.jsonl", "".join(json.dumps({"text": t, "label": split}) + "\n" for t in texts)
        )
    return write(
        folder / "spec.yaml",
        f"""specc: 1
name: generated
version: 1.0.0
description: Rows a language model rewrote.
license: cc-by-4.0
seed: 7
sources:
  train: {{type: jsonl, path: data/train.jsonl, license: cc-by-4.0, split: train}}
  test: {{type: jsonl, path: data/test.jsonl, license: cc-by-4.0, split: test}}
augment:
  - type: llm-generate
    endpoint: {endpoint}
    sampling: {sampling}
    max_failed: {max_failed}
    copies: 2
{step or PARAPHRASE}
format:
  type: prompt-completion
  prompt: "{{{{ text }}}}"
  completion: "{{{{ label }}}}"
card: {{draft: true}}
output: {{dir: build/out}}
""",
    )


def build(spec: Path, *options: str) -> None:
    done = run_cli("build", spec.name, *options, cwd=spec.parent)
    assert done.returncode == 0, done.stderr


def rows(spec: Path) -> list[dict]:
    found = []
    for path in sorted((spec.parent / "build" / "out" / "data").glob("*.parquet")):
        found += [{**row, "split": path.name.split("-")[0]} for row in pq.read_table(path).to_pylist()]
    return found


def info(spec: Path) -> dict:
    stats = json.loads((spec.parent / "build" / "out" / "stats.json").read_text())
    return next(s for s in stats["steps"] if s["id"] == STEP)["info"]


def data_bytes(spec: Path) -> dict[str, bytes]:
    out = spec.parent / "build" / "out"
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def test_new_rows_carry_their_lineage_come_from_train_only_and_duplicates_are_dropped_and_counted(
    rewriter: Server, tmp_path: Path
) -> None:
    spec = project(tmp_path, endpoint(rewriter))
    build(spec)
    made = [row for row in rows(spec) if row["_origin_id"] is not None]
    # "the movie was great" -> "A fine film." once (its second copy is a duplicate of the first);
    # "the food was bad" -> "The Food was BAD", a duplicate of the row itself; "nothing to say here" -> "no idea"
    assert sorted((r["_origin_id"], r["prompt"]) for r in made) == [("train:0", "A fine film."), ("train:2", "no idea")]
    for row in made:
        assert row["_augmenter"] == "llm-generate"
        assert row["_id"] == f"{row['_origin_id']}~{STEP}.1"
        assert row["split"] == "train" and row["completion"] == "train"
    assert sorted(r["prompt"] for r in rows(spec) if r["split"] == "test") == sorted(TEST)
    measured = info(spec)
    assert measured["rows_chosen"] == 3
    assert (measured["kept"], measured["duplicates"], measured["failed"], measured["empty"]) == (2, 4, 0, 0)
    assert measured["llm"]["requests"] == 6 and measured["llm"]["model"] == "rewriter"
    assert measured["llm"]["tokens_out"] > 0


def test_a_fresh_cache_gives_the_same_bytes(rewriter: Server, tmp_path: Path) -> None:
    first, second = project(tmp_path / "a", endpoint(rewriter)), project(tmp_path / "b", endpoint(rewriter))
    build(first)
    build(second)
    assert data_bytes(first) == data_bytes(second)


def test_each_copy_sends_its_own_seed_and_the_same_seeds_again_on_a_rebuild(llm_server: Server, tmp_path: Path) -> None:
    # the random model samples at temperature 1: copies of a row differ only if their seeds do
    sampling = "{temperature: 1.0, max_tokens: 6}"
    first = project(tmp_path / "a", endpoint(llm_server), sampling=sampling)
    second = project(tmp_path / "b", endpoint(llm_server), sampling=sampling)
    build(first)
    build(second)
    made = [row for row in rows(first) if row["_origin_id"] is not None]
    assert len({row["prompt"] for row in made}) > len(TRAIN)
    assert info(first)["llm"]["requests"] == 2 * len(TRAIN)
    assert data_bytes(first) == data_bytes(second)


def test_one_template_per_column_and_the_copy_number(rewriter: Server, tmp_path: Path) -> None:
    step = """    columns: [text, label]
    prompt:
      text: "{% if copy == 2 %}great{% endif %} {{ value }}"
      label: "Label of {{ text }}: {{ value }}"
"""
    spec = project(tmp_path, endpoint(rewriter), step)
    build(spec)
    made = sorted((r["_origin_id"], r["prompt"], r["completion"]) for r in rows(spec) if r["_origin_id"])
    # copy 1 of "nothing to say here" -> ("no idea", "no idea"); copy 2 says "great" -> "A fine film."
    assert ("train:2", "no idea", "no idea") in made and ("train:2", "A fine film.", "no idea") in made
    assert info(spec)["llm"]["requests"] == 2 * 2 * len(TRAIN)


@pytest.mark.parametrize(
    ("step", "message"),
    [
        ('    prompt: "Say {{ value"', "template syntax error at line 1"),
        ("    columns: [text, label]\n    prompt: {text: hi}", "give one template for each of `columns`"),
        ('    prompt: "Say {{ review }}"', "no column 'review'"),
    ],
)
def test_template_mistakes_are_spec_errors_with_their_line(tmp_path: Path, step: str, message: str) -> None:
    spec = project(tmp_path, NOWHERE, step)
    line = spec.read_text().splitlines().index(step.splitlines()[-1]) + 1
    done = run_cli("validate", spec.name, cwd=tmp_path)
    assert done.returncode != 0
    assert f"spec.yaml:{line}:13: error: augment[0].prompt: " in done.stderr and message in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


def test_failed_answers_are_counted_and_fail_the_build_past_max_failed(rewriter: Server, tmp_path: Path) -> None:
    proxy = FaultProxy(rewriter.url)
    try:
        through = f'{{url: "{proxy.url}", model: {rewriter.model}, retries: 0, concurrency: 1}}'
        proxy.fault, proxy.times = "500", 2
        spec = project(tmp_path / "a", through, max_failed=0.5)
        build(spec)
        measured = info(spec)
        assert (measured["failed"], measured["llm"]["failed"], measured["llm"]["requests"]) == (2, 2, 6)
        assert measured["kept"] + measured["duplicates"] + measured["failed"] == 6
        assert len([row for row in rows(spec) if row["_origin_id"]]) == measured["kept"]
        proxy.reset()
        proxy.fault, proxy.times = "500", 1
        strict = project(tmp_path / "b", through)
        done = run_cli("build", strict.name, cwd=strict.parent)
        assert done.returncode == 1 and "Traceback" not in done.stderr
        assert f"1 of 6 requests to {proxy.url} failed after 0 retries" in done.stderr, done.stderr
    finally:
        proxy.stop()


def test_a_template_failing_on_a_row_names_the_template_and_the_row(rewriter: Server, tmp_path: Path) -> None:
    spec = project(tmp_path, endpoint(rewriter), '    prompt: "{{ value.split()[4] }}"')
    done = run_cli("build", spec.name, cwd=tmp_path)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "error: step 'augment.llm-generate' (llm-generate): template prompt line 1: " in done.stderr, done.stderr
    assert "(row _id 'train:0', column 'text'); a template sees: text, label, column, value, copy" in done.stderr
