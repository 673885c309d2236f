"""Fixtures of the transformers plugin's tests: tiny models and tokenizers, an offline Hub cache."""

from __future__ import annotations

from pathlib import Path

import pytest
from tiny_transformers import save_classifier, save_tokenizer

from tests.conftest import shared_data

__all__ = ["shared_data"]  # the shared-data fixture, for tests here too


@pytest.fixture(scope="session")
def classifier_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny sentiment classifier (labels neg, pos)."""
    return save_classifier(tmp_path_factory.mktemp("classifier"), ["neg", "pos"])


@pytest.fixture(scope="session")
def trainable_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny classifier initialized to be fine-tuned (labels neg, pos)."""
    return save_classifier(tmp_path_factory.mktemp("trainable"), ["neg", "pos"], hidden=64, initializer_range=0.02)


@pytest.fixture(scope="session")
def nli_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny NLI model for zero-shot classification (labels entailment, neutral, contradiction)."""
    return save_classifier(tmp_path_factory.mktemp("nli"), ["entailment", "neutral", "contradiction"], seed=1)


@pytest.fixture(scope="session")
def chat_tokenizer_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny BPE tokenizer with a chat template."""
    return save_tokenizer(tmp_path_factory.mktemp("chat-tokenizer"))


@pytest.fixture
def offline_hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty Hugging Face Hub cache that huggingface_hub uses, offline, for this test; returns its folder."""
    from huggingface_hub import constants

    cache = tmp_path / "hf-cache"
    cache.mkdir()
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return cache
