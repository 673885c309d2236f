"""Fixtures of the language-model plugin's tests: a tiny causal LM and a real `transformers serve` for the session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from llm_server import FaultProxy, Server, save_tiny_lm, serve

from tests.conftest import shared_data

__all__ = ["shared_data"]  # the shared-data fixture, for tests here too


@pytest.fixture(scope="session")
def tiny_lm_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random Llama with the tests' chat tokenizer, in a folder named `tiny-lm`."""
    return save_tiny_lm(tmp_path_factory.mktemp("models") / "tiny-lm")


@pytest.fixture(scope="session")
def llm_server(tiny_lm_dir: Path) -> Iterator[Server]:
    """`transformers serve` answering with the tiny model (model id `tiny-lm`) for the whole session."""
    server = serve(tiny_lm_dir)
    yield server
    server.stop()


@pytest.fixture
def proxy(llm_server: Server) -> Iterator[FaultProxy]:
    """A proxy in front of the session's server that fails requests on purpose and counts them."""
    proxy = FaultProxy(llm_server.url)
    yield proxy
    proxy.stop()
