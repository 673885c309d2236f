"""What the steps that ask a model one question per row share: their prompt templates and one request per row."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import Field

from specc.plugin import SpeccError
from specc_llm.component import UsesLanguageModel
from specc_llm.endpoint import LlmParams
from specc_llm.prompts import PromptTemplate, render, variables

# what a server answers a request field it does not take (OpenAI, vLLM: 400; transformers serve: 422)
REFUSED = re.compile(r"HTTP 4(00|22)\b")

if TYPE_CHECKING:
    import pyarrow as pa

    from specc_llm.client import Answer


class PromptParams(LlmParams):
    """A system message beside the prompt every row's request sends (each step gives `prompt` its own default)."""

    prompt: PromptTemplate
    system: PromptTemplate | None = Field(
        None, description="A system message (a jinja2 template like `prompt`), sent before it."
    )


class AsksPerRow(UsesLanguageModel):
    """A step that sends one chat request per row, from `prompt` (and `system`) rendered over the row's columns."""

    params: PromptParams
    given: ClassVar[frozenset[str]] = frozenset()  # names the templates see besides the row's columns

    def templates(self) -> dict[str, str]:
        """The templates by the name the errors and the card give them."""
        system = {"system": self.params.system} if self.params.system is not None else {}
        return {**system, "prompt": self.params.prompt}

    def describe(self) -> dict[str, list[str]]:
        """The templates, for the card."""
        return {name: [source] for name, source in self.templates().items()}

    def columns_read(self) -> dict[str, Any]:
        """The columns the templates read, each with the template that names it."""
        read: dict[str, Any] = {}
        for name, source in self.templates().items():
            for column in sorted(variables(source) - self.given):
                read.setdefault(column, (name,))
        return read

    def used_columns(self) -> list[str]:
        """The columns the templates read: a null there stops the build."""
        return list(self.columns_read())

    def ask_rows(
        self, table: pa.Table, given: dict[str, Any], constraint: dict[str, Any], **extra: Any
    ) -> list[Answer]:
        """The model's answer for each row of `table`: the templates see the row's columns and `given`; the
        `constraint`'s fields (`answers.constraint_body`) and `extra` (`logprobs`) go into every request body."""
        seeds = iter(self.context.row_seeds(self.column(table, "_id")).tolist())
        roles = {"system": "system", "prompt": "user"}
        bodies = []
        for batch in table.to_batches():
            for row in batch.to_pylist():
                values = {**{k: v for k, v in row.items() if not k.startswith("_")}, **given}
                where = f"row _id '{row['_id']}'"
                messages = [
                    {"role": roles[name], "content": render(self, name, source, values, where)}
                    for name, source in self.templates().items()
                ]
                bodies.append(self.model.body(messages, next(seeds), **constraint, **extra))
        if not bodies:
            return []
        try:
            return self.model.ask(bodies)
        except SpeccError as exc:
            if not constraint or not REFUSED.search(str(exc)):
                raise
            sent = ", ".join(f"`{name}`" for name in constraint)
            raise SpeccError(
                f"{exc}; if the server does not take the request's {sent}, set the step's `constrain` to "
                f"{'none' if 'response_format' in constraint else 'json_schema or none'}"
            ) from None
