"""`llm-generate`: new rows written by a language model from a prompt over each chosen row."""

from __future__ import annotations

from specc.plugin import Augmenter, AugmenterParams


class GenerateParams(AugmenterParams):
    """Options of `llm-generate`."""


class LlmGenerate(Augmenter):
    """New rows whose `columns` a language model writes from a prompt over the row."""

    name = "llm-generate"
    Params = GenerateParams
    params: GenerateParams
