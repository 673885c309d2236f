"""Faults between the client and a real server, made by a proxy that counts requests: retries, failures, limits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from llm_server import PINS, FaultProxy, Server, language_model, user

from specc.plugin import SpeccError
from specc_llm.client import LanguageModel
from tests.conftest import run_cli, write


def through(proxy: FaultProxy, tmp_path: Path, max_failed: float = 0.0, **endpoint: Any) -> LanguageModel:
    """A client of the proxy, one request at a time (so which request a fault hits is known), no store."""
    return language_model(
        tmp_path,
        None,
        PINS,
        endpoint={"url": proxy.url, "model": "tiny-lm", "concurrency": 1, **endpoint},
        sampling={"max_tokens": 4},
        max_failed=max_failed,
    )


@pytest.mark.parametrize("fault", ["429", "500", "drop", "delay"])
def test_retries_get_past_faults(proxy: FaultProxy, tmp_path: Path, fault: str) -> None:
    proxy.fault, proxy.times, proxy.delay = fault, 2, 20.0
    # a timeout the tiny model's answers keep on a busy machine, which the delayed answers do not
    llm = through(proxy, tmp_path, retries=2, timeout=8.0)
    answers = llm.ask([llm.body(user(f"row {i}"), i) for i in range(3)])
    assert [a.error for a in answers] == [None, None, None]
    assert all(a.text is not None and a.tokens_out == 4 for a in answers)
    assert (proxy.requests, proxy.forwarded) == (5, 3)  # the first request was sent three times


def test_failures_after_the_retries_are_counted_and_allowed_up_to_max_failed(proxy: FaultProxy, tmp_path: Path) -> None:
    proxy.fault, proxy.times = "500", 2  # the first request, and its one retry
    llm = through(proxy, tmp_path, retries=1, max_failed=0.25)
    answers = llm.ask([llm.body(user(f"row {i}"), i) for i in range(4)])
    assert [a.error for a in answers] == ["HTTP 500: fault 500", None, None, None]
    assert answers[0].text is None and llm.stats()["failed"] == 1
    assert (proxy.requests, proxy.forwarded) == (5, 3)


def test_failures_past_max_failed_fail_the_step_with_the_first_errors(proxy: FaultProxy, tmp_path: Path) -> None:
    proxy.fault, proxy.times = "429", 4  # the first two requests, and their retries
    llm = through(proxy, tmp_path, retries=1, max_failed=0.25)
    with pytest.raises(SpeccError) as error:
        llm.ask([llm.body(user(f"row {i}"), i) for i in range(4)])
    assert str(error.value) == (
        f"error: step 'clean.asker' (asker): 2 of 4 requests to {proxy.url} failed after 1 retries (`max_failed` "
        "allows 0.25 of them): HTTP 429: fault 429; fix the endpoint, or raise `max_failed`"
    )


def test_another_model_answering_asks_for_a_new_lock(proxy: FaultProxy, tmp_path: Path) -> None:
    proxy.rename = "tiny-lm-v2"
    llm = through(proxy, tmp_path)
    with pytest.raises(SpeccError) as error:
        llm.ask([llm.body(user("hi"), 1)])
    assert str(error.value) == (
        f"error: step 'clean.asker' (asker): model 'tiny-lm-v2' answered at {proxy.url}, but the lock pins 'tiny-lm': "
        "the server now serves another model; re-lock with `specc lock --upgrade` (if the pinned name is an alias, "
        "set `model: tiny-lm-v2` to pin that version)"
    )


def test_a_build_past_max_failed_stops_with_the_step_the_count_and_the_fix(
    proxy: FaultProxy, llm_server: Server, tmp_path: Path
) -> None:
    write(tmp_path / "data" / "rows.csv", "text\n" + "".join(f"message number {i}\n" for i in range(6)))
    write(
        tmp_path / "spec.yaml",
        "specc: 1\nname: faults\ndescription: d\nlicense: mit\ncard: {draft: true}\n"
        "sources:\n  rows: {type: csv, path: data/rows.csv}\n"
        "augment:\n  - type: llm-generate\n    prompt: 'Rewrite: {{ value }}'\n"
        f"    endpoint: {{url: '{proxy.url}', model: tiny-lm, retries: 1, concurrency: 1}}\n"
        "    sampling: {max_tokens: 4, temperature: 1.0}\n    max_failed: 0.1\n",
    )
    proxy.fault, proxy.times = "500", 4  # two rows' requests fail: 2 of 6 is over 0.1
    result = run_cli("build", "spec.yaml", "--num-proc", "1", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        f"error: step 'augment.llm-generate' (llm-generate): 2 of 6 requests to {proxy.url} failed after 1 retries "
        "(`max_failed` allows 0.1 of them): HTTP 500: fault 500; fix the endpoint, or raise `max_failed`"
    )
    assert "Traceback" not in result.stderr
    assert (proxy.requests, proxy.forwarded) == (8, 4)
