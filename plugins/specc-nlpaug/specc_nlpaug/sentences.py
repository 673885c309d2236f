"""Sentence augmenters: sentences of a text shuffled."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, field_validator

from specc_nlpaug.base import NlpaugAugmenter, NlpaugParams, Regex


class SentenceShuffleParams(NlpaugParams):
    """nlpaug RandomSentAug's options, with a regular expression that splits sentences."""

    mode: Literal["neighbor", "left", "right", "random"] = Field(
        "neighbor",
        description="Swap a sentence with its left or right neighbour (either at random, or always "
        "one side), or with any other sentence.",
    )
    splitter: Regex = Field(
        r"(?<=[.!?])\s+",
        description="Where one sentence ends and the next begins; the "
        "matches are dropped and sentences joined with a space.",
    )
    aug_p: float = Field(0.3, ge=0, le=1, description="Share of the sentences moved.")
    aug_min: int = Field(1, ge=0, description="Fewest sentences moved.")
    aug_max: int | None = Field(10, ge=1, description="Most sentences moved.")

    @field_validator("splitter")
    @classmethod
    def _no_groups(cls, value: str) -> str:
        if re.compile(value).groups:
            raise ValueError(
                "the splitter has a capturing group, whose text would become a sentence; write (?:...) instead of (...)"
            )
        return value


class SentenceShuffle(NlpaugAugmenter):
    """Sentences of a text swapped (nlpaug RandomSentAug with a regular-expression sentence splitter)."""

    name = "nlpaug.sentence-shuffle"
    modules = ("nlpaug.augmenter.sentence",)
    Params = SentenceShuffleParams

    def build(self) -> Any:
        """nlpaug's RandomSentAug."""
        import nlpaug.augmenter.sentence as nas

        pattern = re.compile(self.params.splitter)

        def sentences(text: str) -> list[str]:
            return [s for s in pattern.split(text) if s.strip()]

        return nas.RandomSentAug(tokenizer=sentences, **self.nlpaug_kwargs("splitter"))
