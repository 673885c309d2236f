"""The `transformers` token counter of `format.tokens`: a tokenizer from a folder or the Hub, its chat template applied.

Counts follow TRL: a conversation's prompt is the chat template over every turn before the last
assistant turn with the generation prompt added, and its completion is what the whole
conversation's template adds to that (tokenized without adding special tokens, as the template
has them). Without a chat template, and for prompt-completion and Alpaca rows, the prompt is
tokenized as text (special tokens added) and the completion is what prompt + completion adds.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

from specc.plugin import (
    CHAT_LAYOUTS,
    TokenBudget,
    TokenCounter,
    chats,
    last_assistant,
    layout_of,
    plain_pairs,
    quiet_transformers,
    with_completions,
)
from specc_transformers.models import ModelLocation, Revision, UsesModel

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa
    from transformers import PreTrainedTokenizerBase

ENCODE_ROWS = 4096  # rows tokenized per call
REPLACEMENT = "\ufffd"  # what decoding part of a multi-byte character gives


class TransformersTokensParams(TokenBudget):
    """A transformers tokenizer and the budget."""

    tokenizer: ModelLocation
    revision: Revision = None


class TransformersTokenCounter(UsesModel, TokenCounter):
    """Counts tokens with a transformers tokenizer (AutoTokenizer) and truncates completions at token boundaries."""

    name = "transformers"
    version = 1
    Params = TransformersTokensParams
    MODEL_PARAM = "tokenizer"
    LOADED = (*UsesModel.LOADED, "tokenizer")

    @cached_property
    def tokenizer(self) -> PreTrainedTokenizerBase:
        """The tokenizer, loaded once per process."""
        from transformers import AutoTokenizer

        folder = self.model_files.folder
        with quiet_transformers():
            try:
                return AutoTokenizer.from_pretrained(str(folder), trust_remote_code=False)
            except (OSError, ValueError) as exc:
                raise self.fail(f"cannot load a tokenizer from {folder}: {exc}") from None

    # --- texts -----------------------------------------------------------------------------------

    def templated(self, layout: str) -> bool:
        """Whether rows of `layout` go through the tokenizer's chat template."""
        return layout in CHAT_LAYOUTS and bool(self.tokenizer.chat_template)

    def rows(self, table: pa.Table, layout: str) -> list[Any]:
        """Each row's conversation ([{role, content}]) or (prompt, completion) pair."""
        return chats(table, layout) if layout in CHAT_LAYOUTS else list(zip(*plain_pairs(table, layout)))

    def completion(self, layout: str, row: Any) -> str:
        """A row's completion text."""
        if layout not in CHAT_LAYOUTS:
            return row[1]
        cut = last_assistant([t["role"] for t in row])
        return row[cut]["content"] if cut < len(row) else ""

    def texts(self, layout: str, row: Any, completion: str | None = None) -> tuple[str, str]:
        """The prompt's text and the whole row's text, with the completion replaced when given."""
        if layout not in CHAT_LAYOUTS:
            prompt = row[0]
            return prompt, prompt + (row[1] if completion is None else completion)
        cut = last_assistant([t["role"] for t in row])
        turns = [dict(t) for t in row]
        if completion is not None and cut < len(turns):
            turns[cut]["content"] = completion
        if self.templated(layout):
            template = self.tokenizer.apply_chat_template
            return (template(turns[:cut], tokenize=False, add_generation_prompt=True), template(turns, tokenize=False))
        prompt = "\n".join(t["content"] for t in turns[:cut])
        return prompt, "\n".join(t["content"] for t in turns)

    def lengths(self, texts: list[str], special: bool) -> np.ndarray:
        """Tokens per text."""
        import numpy as np

        tokenizer = self.tokenizer
        counts: list[int] = []
        for start in range(0, len(texts), ENCODE_ROWS):
            encoded = tokenizer(texts[start : start + ENCODE_ROWS], add_special_tokens=special)["input_ids"]
            counts += [len(ids) for ids in encoded]
        return np.asarray(counts, np.int64)

    # --- the interface ---------------------------------------------------------------------------

    def count(self, table: pa.Table) -> dict[str, np.ndarray]:
        """Prompt and completion tokens per row."""
        layout = layout_of(table)
        pairs = [self.texts(layout, row) for row in self.rows(table, layout)]
        special = not self.templated(layout)
        prompt = self.lengths([p for p, _ in pairs], special)
        whole = self.lengths([w for _, w in pairs], special)
        return {"prompt": prompt, "completion": whole - prompt}

    def truncate(self, table: pa.Table, over: np.ndarray, max_tokens: int) -> pa.Table:
        """Cut the completion of each row in `over` to the most whole tokens that fit, decoded again."""
        import numpy as np

        layout = layout_of(table)
        special = not self.templated(layout)
        rows = self.rows(table, layout)
        cut_rows, cut_texts = [], []
        for index in np.flatnonzero(over):
            text = self.fitting(layout, rows[index], max_tokens, special)
            if text is not None:
                cut_rows.append(index)
                cut_texts.append(text)
        return with_completions(table, layout, np.asarray(cut_rows, np.int64), cut_texts)

    def fitting(self, layout: str, row: Any, max_tokens: int, special: bool) -> str | None:
        """The longest token prefix of the row's completion, decoded, with which the row fits; None if none does."""
        tokenizer = self.tokenizer
        ids = tokenizer(self.completion(layout, row), add_special_tokens=False)["input_ids"]
        prompt, whole = self.texts(layout, row)
        prompt_tokens, whole_tokens = self.lengths([prompt, whole], special)
        keep = max_tokens - int(prompt_tokens) - (int(whole_tokens) - int(prompt_tokens) - len(ids))
        for n in range(min(keep, len(ids)), 0, -1):  # merges at the cut may change the count: step back until it fits
            text = tokenizer.decode(ids[:n])
            if text.endswith(REPLACEMENT):
                continue
            if self.lengths([self.texts(layout, row, text)[1]], special)[0] <= max_tokens:
                return text
        return None
