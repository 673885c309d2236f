"""What every nlpaug augmenter here shares: one nlpaug call per text, seeded per row copy."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated, Any, ClassVar

from pydantic import AfterValidator, ConfigDict, Field

import specc

if TYPE_CHECKING:
    import pyarrow as pa


def _compiles(pattern: str) -> str:
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"not a regular expression: {exc}") from None
    return pattern


Regex = Annotated[str, AfterValidator(_compiles)]


class NlpaugParams(specc.AugmenterParams):
    """Options of an nlpaug augmenter; their schemas are built with the spec's, not at import (keeps validate fast)."""

    model_config = ConfigDict(defer_build=True)


class WordParams(NlpaugParams):
    """nlpaug's options for how many words of a text change."""

    aug_p: float = Field(0.3, ge=0, le=1, description="Share of the words changed.")
    aug_min: int = Field(1, ge=0, description="Fewest words changed.")
    aug_max: int | None = Field(10, ge=1, description="Most words changed (none: no limit).")
    stopwords: list[str] | None = Field(None, description="Words never changed.")
    stopwords_regex: Regex | None = Field(None, description="Words matching this are never changed.")


class CharParams(NlpaugParams):
    """nlpaug's options for how many words, and characters per word, change."""

    aug_char_p: float = Field(0.3, ge=0, le=1, description="Share of a word's characters changed.")
    aug_char_min: int = Field(1, ge=0, description="Fewest characters changed per word.")
    aug_char_max: int | None = Field(10, ge=1, description="Most characters changed per word.")
    aug_word_p: float = Field(0.3, ge=0, le=1, description="Share of the words changed.")
    aug_word_min: int = Field(1, ge=0, description="Fewest words changed.")
    aug_word_max: int | None = Field(10, ge=1, description="Most words changed.")
    min_char: int = Field(4, ge=1, description="Words shorter than this are left alone.")
    stopwords: list[str] | None = Field(None, description="Words never changed.")
    stopwords_regex: Regex | None = Field(None, description="Words matching this are never changed.")


def seed_call(seed: int, with_torch: bool) -> None:
    """Seed the random states nlpaug draws from (`random`, numpy's legacy one, torch) for one call."""
    import random

    import numpy as np

    random.seed(seed)
    np.random.seed(seed & 0xFFFFFFFF)
    if with_torch:
        import torch

        torch.manual_seed(seed)


class NlpaugAugmenter(specc.Augmenter):
    """An nlpaug augmenter called once per text of `columns`, with its random state set from `_seed`.

    Subclasses name nlpaug's class (`nlpaug_class`, in the first of `modules`) or say how to build the
    nlpaug object (`build`, run once per process, on first use); parameters named like nlpaug's are
    passed through by `nlpaug_kwargs`.
    """

    uses_torch: ClassVar[bool] = False
    modules: ClassVar[tuple[str, ...]] = ("nlpaug.augmenter.word",)  # what `build` imports
    nlpaug_class: ClassVar[str | None] = None
    _nlpaug: Any = None

    def warm_up(self) -> None:
        """Import nlpaug's modules for this augmenter (a missing one fails later, in `build`, with a clear error)."""
        import importlib

        for module in self.modules:
            try:
                importlib.import_module(module)
            except ImportError:
                return

    def nlpaug_kwargs(self, *leave_out: str) -> dict[str, Any]:
        """This augmenter's own parameters (not where/how much), under nlpaug's names."""
        shared = set(specc.AugmenterParams.model_fields) | set(leave_out)
        return {k: v for k, v in self.params.model_dump().items() if k not in shared}

    def build(self) -> Any:
        """A new nlpaug augmenter for these parameters: `nlpaug_class` over `nlpaug_kwargs()`."""
        import importlib

        if self.nlpaug_class is None:
            raise NotImplementedError
        return getattr(importlib.import_module(self.modules[0]), self.nlpaug_class)(**self.nlpaug_kwargs())

    def augment(self, table: pa.Table) -> pa.Table:
        """Each row's texts augmented under its own `_seed`; other columns copied."""
        import pyarrow as pa

        if self._nlpaug is None:
            self._nlpaug = self.build()
        columns = {name: table.column(name).to_pylist() for name in self.params.columns}
        made: dict[str, list[str | None]] = {name: [] for name in columns}
        for i, seed in enumerate(table.column("_seed").to_pylist()):
            seed_call(seed, self.uses_torch)
            for name, texts in columns.items():
                made[name].append(self.one(texts[i]))
        out = table
        for name, texts in made.items():
            out = out.set_column(out.column_names.index(name), name, pa.array(texts, table.schema.field(name).type))
        return out.append_column("_origin_id", table.column("_id"))

    def one(self, text: str | None) -> str | None:
        """One text augmented (blank and missing texts stay as they are)."""
        if text is None or not text.strip():
            return text
        result = self._nlpaug.augment(text)
        if isinstance(result, list):
            return result[0] if result else text
        return result
