"""The client against a real `transformers serve`: answers, seeds, the response store, pins, keys, unreachable servers."""

from __future__ import annotations

import asyncio
import hashlib
import shutil
from pathlib import Path
from typing import Any

import pytest
from llm_server import PINS, Server, free_port, language_model, user

import specc_llm.client
from specc.plugin import SpeccError
from specc_llm.client import Answer, LanguageModel
from specc_llm.endpoint import LlmParams
from tests.conftest import run_cli, write


def served(server: Server, tmp_path: Path, cache: bool = True, **sampling: Any) -> LanguageModel:
    """The client of the session's server, its store in `tmp_path/cache` (or none)."""
    endpoint = {"url": server.url, "model": server.model}
    return language_model(
        tmp_path, tmp_path / "cache" if cache else None, endpoint=endpoint, sampling={"max_tokens": 6, **sampling}
    )


def dead_url() -> str:
    return f"http://127.0.0.1:{free_port()}/v1"


def test_the_server_answers_and_the_seed_decides_the_answer(llm_server: Server, tmp_path: Path) -> None:
    llm = served(llm_server, tmp_path, cache=False, temperature=1.0)
    bodies = [llm.body(user("Write a poem"), seed) for seed in (1, 1, 2, 3)]
    answers = llm.ask(bodies)
    texts = [a.text for a in answers]
    assert texts[0] == texts[1] and len({texts[0], texts[2], texts[3]}) == 3
    again = served(llm_server, tmp_path, cache=False, temperature=1.0).ask(bodies[2:3])
    assert again[0].text == texts[2] and not again[0].cached  # sent again, answered the same
    assert all(a.error is None and a.tokens_in > 0 and a.tokens_out == 6 for a in answers)
    assert llm.traffic() == {"sent": 3, "cache_hits": 0}  # the two identical bodies went once
    stats = llm.stats()
    assert stats == {
        "model": "tiny-lm",
        "endpoint": "server",
        "requests": 4,
        "failed": 0,
        "tokens_in": sum(a.tokens_in for a in answers),
        "tokens_out": 24,
    }
    assert llm.stats()["requests"] == 0  # counted since the last call: specc adds up the batches' infos


def test_a_step_asks_from_inside_an_event_loop_as_well(llm_server: Server, tmp_path: Path) -> None:
    llm = served(llm_server, tmp_path, cache=False)

    async def notebook_cell() -> list[Answer]:  # specc.build called where an event loop runs (a notebook)
        return llm.ask([llm.body(user("hi"), 1)])

    [answer] = asyncio.run(notebook_cell())
    assert answer.error is None and answer.text is not None and answer.tokens_out == 6


def test_the_body_holds_the_pinned_model_the_sampling_and_the_seed(llm_server: Server, tmp_path: Path) -> None:
    llm = served(llm_server, tmp_path, temperature=0.5, top_p=0.9, stop=["\n"])
    body = llm.body(user("hi"), 2**40 + 5, response_format={"type": "json_object"})
    assert body == {
        "model": "tiny-lm",
        "messages": user("hi"),
        "temperature": 0.5,
        "max_tokens": 6,
        "seed": 5,  # row seeds are 64-bit, servers keep 32
        "top_p": 0.9,
        "stop": ["\n"],
        "response_format": {"type": "json_object"},
    }


def test_stored_answers_need_no_server(llm_server: Server, tmp_path: Path) -> None:
    bodies = [served(llm_server, tmp_path).body(user(f"row {i}"), i) for i in range(5)]
    first = served(llm_server, tmp_path).ask(bodies)
    assert not any(a.cached for a in first)
    # the same pin, the server gone: every answer comes from the store, the same
    offline = language_model(
        tmp_path,
        tmp_path / "cache",
        PINS,
        endpoint={"url": dead_url(), "model": "tiny-lm"},
        sampling={"max_tokens": 6},
    )
    answers = offline.ask(bodies)
    assert [a.text for a in answers] == [a.text for a in first] and all(a.cached for a in answers)
    assert offline.traffic() == {"sent": 0, "cache_hits": 5}
    assert offline.stats()["tokens_out"] == 30  # what the store holds counts as when it was sent
    # one request not in the store needs the server, and says so
    with pytest.raises(SpeccError) as error:
        offline.ask([*bodies, offline.body(user("new row"), 9)])
    assert "start the server there (a build needs none when its lock pins the model" in str(error.value)


def test_another_sampling_or_seed_is_another_request(llm_server: Server, tmp_path: Path) -> None:
    llm = served(llm_server, tmp_path)
    llm.ask([llm.body(user("hi"), 1)])
    hotter = served(llm_server, tmp_path, temperature=0.3)
    hotter.ask([hotter.body(user("hi"), 1), llm.body(user("hi"), 2), llm.body(user("hi"), 1)])
    assert hotter.traffic() == {"sent": 2, "cache_hits": 1}


def test_an_unreachable_server_is_one_clear_error(tmp_path: Path) -> None:
    url = dead_url()
    llm = language_model(tmp_path, None, PINS, endpoint={"url": url, "model": "tiny-lm", "retries": 0})
    with pytest.raises(SpeccError) as error:
        llm.ask([llm.body(user("hi"), 1)])
    message = str(error.value)
    assert message.startswith(f"error: step 'clean.asker' (asker): cannot reach the language model at {url} (")
    assert message.endswith(
        "start the server there (a build needs none when its lock pins the model and its --cache-dir holds every answer)"
    )
    with pytest.raises(SpeccError, match=f"cannot reach the language model at {url}"):
        llm.pin(None)  # locking asks the server which models it serves


def test_the_pin_is_the_listed_model_and_the_lock_is_kept(llm_server: Server, tmp_path: Path) -> None:
    assert served(llm_server, tmp_path).pin(None) == PINS
    offline = language_model(tmp_path, None, endpoint={"url": dead_url(), "model": "tiny-lm"})
    assert offline.pin(PINS) == PINS  # the lock still applies: no server needed
    with pytest.raises(SpeccError, match="cannot reach"):
        offline.pin({"endpoint": "server", "model": "another-model"})  # the spec names another model now
    wrong = language_model(tmp_path, None, endpoint={"url": llm_server.url, "model": "tiny-llm"})
    with pytest.raises(SpeccError) as error:
        wrong.pin(None)
    assert str(error.value) == (
        f"error: step 'clean.asker' (asker): model 'tiny-llm' is not served at {llm_server.url}; it serves: tiny-lm; "
        "set `model` to one of them"
    )


def test_the_key_comes_from_the_variable_the_spec_names(
    llm_server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    endpoint = {"url": llm_server.url, "model": "tiny-lm", "api_key_env": "SPECC_TEST_LLM_KEY"}
    llm = language_model(tmp_path, None, PINS, endpoint=endpoint, sampling={"max_tokens": 2})
    monkeypatch.delenv("SPECC_TEST_LLM_KEY", raising=False)
    with pytest.raises(SpeccError) as error:
        llm.ask([llm.body(user("hi"), 1)])
    assert str(error.value) == (
        "error: step 'clean.asker' (asker): environment variable SPECC_TEST_LLM_KEY (`api_key_env`) is not set; "
        "export SPECC_TEST_LLM_KEY=<your key> before building"
    )
    monkeypatch.setenv("SPECC_TEST_LLM_KEY", "sk-test")
    assert llm.ask([llm.body(user("hi"), 1)])[0].error is None


def test_an_answer_over_the_size_limit_is_a_failure(
    llm_server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(specc_llm.client, "MAX_ANSWER_BYTES", 20)
    llm = served(llm_server, tmp_path)
    with pytest.raises(SpeccError, match=r"1 of 1 requests to .* failed after 4 retries .*over the limit of 20"):
        llm.ask([llm.body(user("hi"), 1)])
    lenient = language_model(
        tmp_path, tmp_path / "cache", PINS, endpoint={"url": llm_server.url, "model": "tiny-lm"}, max_failed=1
    )
    [answer] = lenient.ask([llm.body(user("hi"), 1)])
    assert answer.text is None and answer.error is not None and "over the limit" in answer.error
    assert lenient.stats()["failed"] == 1
    assert lenient.ask([llm.body(user("hi"), 1)])[0].cached is False  # a failure is not stored: asked again


@pytest.mark.parametrize(
    ("endpoint", "problem"),
    [
        ({"model": "m"}, "give either `url`"),
        ({"url": "http://127.0.0.1:1/v1", "local": "tiny-lm"}, "give either `url`"),
        ({"url": "http://127.0.0.1:1/v1"}, "`url` needs `model`"),
        ({"url": "127.0.0.1:1/v1", "model": "m"}, "is not an http(s) URL"),
        ({"url": "http://h/v1", "model": "m", "api_key_env": "sk-123"}, "never the key itself"),
        ({"local": "nowhere"}, "folder 'nowhere' not found"),
        ({"local": "tiny-lm", "model": "m"}, "remove `model` and `api_key_env`"),
        ({"url": "http://h/v1", "model": "m", "concurrency": 0}, "greater than or equal to 1"),
    ],
)
def test_endpoint_mistakes_are_named(tiny_lm_dir: Path, endpoint: dict[str, Any], problem: str) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match=problem.replace("(", r"\(").replace(")", r"\)")):
        LlmParams.model_validate({"endpoint": endpoint}, context={"spec_dir": tiny_lm_dir.parent})


def test_a_local_folder_answers_in_process_and_is_pinned_by_its_files(tiny_lm_dir: Path, tmp_path: Path) -> None:
    folder = shutil.copytree(tiny_lm_dir, tmp_path / "lm")
    endpoint = {"local": "lm"}
    llm = language_model(
        tmp_path, tmp_path / "cache", endpoint=endpoint, sampling={"max_tokens": 5, "temperature": 1.0}
    )
    pins = llm.pin(None)
    files = sorted(p.name for p in folder.iterdir())
    assert [f["path"] for f in pins["files"]] == [f"lm/{name}" for name in files]
    assert pins["files"][0]["sha256"] == hashlib.sha256((folder / files[0]).read_bytes()).hexdigest()
    assert llm.model_id == f"local:{pins['folder_sha256']}"
    bodies = [llm.body(user("Write a poem"), seed, logprobs=True, top_logprobs=2) for seed in (1, 1, 2)]
    answers = llm.ask(bodies)
    assert answers[0].text == answers[1].text != answers[2].text
    assert answers[0].tokens_out == 5 and answers[0].tokens_in > 0
    logprobs = answers[0].logprobs
    assert logprobs is not None and len(logprobs) == 5
    assert all(len(t["top_logprobs"]) == 2 and t["logprob"] <= 0 for t in logprobs)
    fresh = language_model(tmp_path, None, endpoint=endpoint, sampling={"max_tokens": 5, "temperature": 1.0})
    assert fresh.ask(bodies[2:])[0].text == answers[2].text  # the seed decides, in a model loaded anew as well
    assert language_model(tmp_path, tmp_path / "cache", endpoint=endpoint).ask(bodies[:1])[0].cached
    (folder / "config.json").write_text((folder / "config.json").read_text() + "\n")
    assert llm.pin(None)["folder_sha256"] != pins["folder_sha256"]  # a changed file is another model


@pytest.mark.parametrize(
    ("endpoint", "error"),
    [
        (
            "{url: 'http://127.0.0.1:1/v1'}",
            "spec.yaml:11:15: error: augment[0].endpoint: `url` needs `model`: the model's name as the server lists "
            "it at GET /models",
        ),
        (
            "{url: 'http://127.0.0.1:1/v1', model: m, api_key_env: sk-abc123}",
            "spec.yaml:11:69: error: augment[0].endpoint.api_key_env: api_key_env 'sk-abc123' is not an environment "
            "variable's name; give the NAME of the variable that holds the key (such as OPENAI_API_KEY), never the key "
            "itself",
        ),
    ],
)
def test_endpoint_mistakes_in_a_spec_are_shown_at_their_line(tmp_path: Path, endpoint: str, error: str) -> None:
    write(tmp_path / "data" / "rows.csv", "text\nhello there\n")
    write(
        tmp_path / "spec.yaml",
        "specc: 1\nname: endpoint\ndescription: d\nlicense: mit\ncard: {draft: true}\n"
        "sources:\n  rows: {type: csv, path: data/rows.csv}\n"
        f"augment:\n  - type: llm-generate\n    prompt: 'Rewrite: {{{{ value }}}}'\n    endpoint: {endpoint}\n",
    )
    result = run_cli("validate", "spec.yaml", cwd=tmp_path)
    assert (result.returncode, result.stderr) == (1, error + "\n")
