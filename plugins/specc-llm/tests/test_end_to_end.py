"""The example spec end to end, through the CLI, against a real `transformers serve`: llm-judge, llm-label and
llm-generate; then, with the server stopped, `specc build --frozen` in a fresh folder and cache holding only the
stored answers gives the same bytes in every output file; the card's section, the publish self-check, the plan.

The server runs a scripted model (tests/scripted_model.py) so that what each step does can be checked: a prompt's
most frequent trigger word picks the answer. The judge's prompt says "rubric" twice (score 5) and the two noise
messages say "asdf" three times (score 1, under the threshold 3); a message's one intent word picks its label
("refund" billing, "parcel" shipping, "password" account); a message with none gets "unsure", an abstention.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from llm_server import Server, serve
from scripted_model import save_scripted_model

from specc.selfcheck import published_files
from specc.testing import modules_imported, top_level
from tests.conftest import run_cli

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "support-messages"
OUTPUT = Path("build") / "support-messages-llm"
TRIGGERS = {"refund": "billing", "parcel": "shipping", "password": "account", "rubric": "5", "asdf": "1"}
EXAMPLE_ENDPOINT = ("url: http://127.0.0.1:8000/v1", "model: Qwen/Qwen2.5-0.5B-Instruct")
HEAVY = ("openai", "httpx", "torch", "transformers", "rouge_score")
NOISE = {"T013", "T014"}  # the messages with "asdf" three times
UNLABELLED = {"T010", "T011"}  # no intent word: the model answers "unsure"


@pytest.fixture(scope="module")
def scripted_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The scripted model, in a folder named `support-lm`."""
    return save_scripted_model(tmp_path_factory.mktemp("models") / "support-lm", TRIGGERS, default="unsure")


@pytest.fixture(scope="module")
def scripted_server(scripted_dir: Path) -> Iterator[Server]:
    """`transformers serve` with the scripted model (model id `support-lm`) for this module's tests."""
    server = serve(scripted_dir)
    yield server
    server.stop()


def project(folder: Path, server: Server, replace: dict[str, str] | None = None) -> Path:
    """A copy of the example (spec and data) in `folder`, its endpoint pointed at `server`; `replace`: more edits."""
    shutil.copytree(EXAMPLE, folder, ignore=shutil.ignore_patterns("build", ".specc", "*.lock"))
    spec = folder / "spec.yaml"
    text = spec.read_text()
    url, model = EXAMPLE_ENDPOINT
    edits = {url: f"url: {server.url}", model: f"model: {server.model}", **(replace or {})}
    for old, new in edits.items():
        assert old in text, old
        text = text.replace(old, new)
    spec.write_text(text)
    return folder


def step(stats: dict, step_id: str) -> dict:
    return next(s for s in stats["steps"] if s["id"] == step_id)


def rows(out: Path) -> dict[str, list[dict]]:
    return {p.name.split("-")[0]: pq.read_table(p).to_pylist() for p in sorted((out / "data").glob("*.parquet"))}


def files(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in published_files(out)}


def test_the_example_validates_without_a_server_or_heavy_imports() -> None:
    imported = modules_imported("validate", "spec.yaml", cwd=EXAMPLE)
    assert "specc_llm.generate" in imported and top_level(imported, HEAVY) == []
    assert "specc_llm.client" not in imported  # asyncio, sqlite3: loaded when a build asks


def test_build_then_frozen_rebuild_with_the_server_stopped(
    tmp_path: Path, scripted_dir: Path, scripted_server: Server
) -> None:
    first = project(tmp_path / "first", scripted_server)
    built = run_cli("build", "spec.yaml", "--cache-dir", str(tmp_path / "cache"), cwd=first)
    assert built.returncode == 0, built.stderr
    out = first / OUTPUT
    stats = json.loads((out / "stats.json").read_text())

    judge = step(stats, "clean.judge")
    assert judge["dropped"] == {"below threshold": 2}
    assert judge["info"]["by_score"] == {"1": 2, "5": 14}
    assert judge["info"]["llm"] == {
        **judge["info"]["llm"],
        "model": "support-lm",
        "endpoint": "server",
        "requests": 16,
        "failed": 0,
    }
    label = step(stats, "annotate.model")
    assert label["info"]["abstained"] == len(UNLABELLED) and label["info"]["labelled"] == 12
    assert label["info"]["by_label"] == {"billing": 4, "shipping": 4, "account": 4}
    assert set(label["info"]["agreement"]) == {"rule_label"}
    rewrite = step(stats, "augment.rewrite")
    train = [r for r in rows(out)["train"] if r["_origin_id"] is None]
    # each message's two rewrites are the same (a scripted model ignores sampling): the second is a duplicate
    assert rewrite["added"] == {"train": len(train)} and rewrite["info"]["duplicates"] == len(train)
    assert rewrite["info"]["llm"]["requests"] == 2 * len(train)

    data = [r for split in rows(out).values() for r in split]
    assert {r["ticket"] for r in data if r["_origin_id"] is None} == {f"T{i:03d}" for i in range(1, 17)} - NOISE
    assert all(r["quality"] == 5 for r in data)
    assert {r["ticket"] for r in data if r["label"] is None and r["_origin_id"] is None} == UNLABELLED
    made = {r["text"] for r in data if r["_origin_id"] is not None}
    assert made <= {"billing", "shipping", "account", "unsure"} and made

    card = (out / "README.md").read_text()
    section = card[card.index("## Language models") :]
    assert "| `clean.judge` | `support-lm` | OpenAI-compatible server | temperature 0.0, max_tokens 256 | 16 | 0 |" in (
        section
    )
    assert "rows dropped: 2 below threshold" in section
    assert "abstentions (an answer naming none of the labels, or several): 2" in section
    assert "| `rule_label` |" in section  # the model's agreement with the rules
    assert not [p for p in published_files(out) if p.suffix in (".md", ".json") and "127.0.0.1" in p.read_text()]
    # a changed prompt is a `~` with its cause
    spec = first / "spec.yaml"
    original = spec.read_text()
    spec.write_text(original.replace("Answer with the rubric score only.", "Answer with the score alone."))
    planned = run_cli("plan", "spec.yaml", cwd=first)
    assert "~ clean.judge" in planned.stdout and "params.prompt" in planned.stdout, planned.stdout + planned.stderr
    spec.write_text(original)

    checked = run_cli("publish", str(out), "--repo", "org/support-messages", "--dry-run", cwd=first)
    assert checked.returncode == 0, checked.stderr
    assert "no paths of this machine" in checked.stdout

    # the server stopped: a fresh folder and a cache holding only the stored answers build the same bytes
    scripted_server.stop()
    second = project(tmp_path / "second", scripted_server)
    shutil.copy(first / "spec.lock", second / "spec.lock")
    shutil.copytree(tmp_path / "cache" / "llm", tmp_path / "answers-only" / "llm")
    shutil.copy(tmp_path / "cache" / "CACHEDIR.TAG", tmp_path / "answers-only")
    rebuilt = run_cli("build", "spec.yaml", "--frozen", "--cache-dir", str(tmp_path / "answers-only"), cwd=second)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert files(second / OUTPUT) == files(out)
    assert (second / "spec.lock").read_bytes() == (first / "spec.lock").read_bytes()

    # without the stored answers and without the server, the build names the endpoint and what to do
    third = project(tmp_path / "third", scripted_server)
    shutil.copy(first / "spec.lock", third / "spec.lock")
    failed = run_cli("build", "spec.yaml", "--frozen", "--cache-dir", str(tmp_path / "empty"), cwd=third)
    assert failed.returncode != 0 and "Traceback" not in failed.stderr
    assert f"step 'clean.judge' (llm-judge): cannot reach the language model at {scripted_server.url}" in (
        failed.stderr
    )

    # another server with another model: the same spec pointed at it by changing only the endpoint is a `~`
    other = serve(shutil.copytree(scripted_dir, scripted_dir.parent / "support-lm-2"))
    try:
        moved = project(tmp_path / "moved", other)
        shutil.copy(first / "spec.lock", moved / "spec.lock")
        planned = run_cli("plan", "spec.yaml", cwd=moved)
    finally:
        other.stop()
    assert planned.returncode == 0, planned.stderr
    assert "~ clean.judge" in planned.stdout and 'pins.model "support-lm" -> "support-lm-2"' in planned.stdout, (
        planned.stdout
    )


def test_a_local_folder_is_named_as_the_spec_names_it(tmp_path: Path, scripted_dir: Path) -> None:
    """The model run in-process: the card names the folder relative to the spec, and the output passes the leak check."""
    folder = tmp_path / "local"
    shutil.copytree(EXAMPLE / "data", folder / "data")
    shutil.copytree(scripted_dir, folder / "models" / "support-lm")
    spec = (EXAMPLE / "spec.yaml").read_text()
    spec = spec[: spec.index("annotate:")].replace(
        "\n".join(f"      {line}" for line in EXAMPLE_ENDPOINT), "      local: models/support-lm"
    )
    (folder / "spec.yaml").write_text(spec + "card: {draft: true}\n")
    built = run_cli("build", "spec.yaml", "--cache-dir", str(tmp_path / "cache"), cwd=folder)
    assert built.returncode == 0, built.stderr
    out = folder / OUTPUT
    card = (out / "README.md").read_text()
    assert "| `clean.judge` | `models/support-lm` | local folder, run in-process |" in card
    assert step(json.loads((out / "stats.json").read_text()), "clean.judge")["dropped"] == {"below threshold": 2}
    checked = run_cli("publish", str(out), "--repo", "org/support-messages", "--dry-run", cwd=folder)
    assert checked.returncode == 0, checked.stderr
