"""`llm-generate`: new rows whose `columns` a language model writes from a prompt over each chosen row.

The executor picks the rows (`splits`, `fraction`) and repeats each `copies` times with `_seed`, the random state of
that copy; every copy sends one request per column of `columns`, with that seed. A new row is dropped, and counted,
when an answer failed or is empty, or when it is a duplicate: its texts in `columns`, compared as `normalized` makes
them (NFKC, case-folded, runs of whitespace made one space, stripped), equal the original row's or those of a copy
of the same row kept before it.
"""

from __future__ import annotations

import unicodedata
from typing import TYPE_CHECKING, Any

from pydantic import Field, ValidationInfo, field_validator

from specc.plugin import Augmenter, AugmenterParams
from specc_llm.component import UsesLanguageModel
from specc_llm.endpoint import LlmParams
from specc_llm.prompts import PromptTemplate, checked, render, variables

if TYPE_CHECKING:
    import pyarrow as pa


# what a prompt sees besides the row's columns
GIVEN = frozenset({"column", "value", "copy", "copies"})


class GenerateParams(AugmenterParams, LlmParams):
    """The prompt a language model answers for each column of `columns`; its answer replaces that column's text."""

    prompt: str | dict[str, str] = Field(
        description="The user message: a jinja2 template over the row's columns, `column` (the column written), "
        "`value` (its text), `copy` (1 to `copies`) and `copies` (these four stand for them over columns so "
        "named); or one template per column of `columns`."
    )
    system: PromptTemplate | None = Field(None, description="A system message (a template like `prompt`), if any.")

    @field_validator("prompt")
    @classmethod
    def _a_prompt_per_column(cls, value: str | dict[str, str], info: ValidationInfo) -> str | dict[str, str]:
        columns = info.data.get("columns", [])  # validated before `prompt`
        if isinstance(value, str):
            return checked(value)
        if set(value) != set(columns):
            raise ValueError(
                f"give one template for each of `columns` ({', '.join(columns)}), not for {', '.join(value) or 'none'}"
            )
        return {column: checked(source) for column, source in value.items()}

    def prompt_of(self, column: str) -> str:
        """The prompt template of `column`."""
        return self.prompt[column] if isinstance(self.prompt, dict) else self.prompt


def normalized(text: str) -> str:
    """`text` as duplicates are compared: NFKC, case-folded, whitespace runs as one space, stripped."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


class LlmGenerate(UsesLanguageModel, Augmenter):
    """New rows whose `columns` a language model writes from a prompt over the row (paraphrases, rewrites, variants)."""

    name = "llm-generate"
    Params = GenerateParams
    params: GenerateParams
    measured: dict[str, Any] = {}

    def templates(self) -> dict[str, str]:
        """Every template by the name its errors and the card give it."""
        named = {"system": self.params.system} if self.params.system is not None else {}
        if isinstance(self.params.prompt, dict):
            return {**named, **{f"prompt[{c}]": t for c, t in self.params.prompt.items()}}
        return {**named, "prompt": self.params.prompt}

    def describe(self) -> dict[str, list[str]]:
        """The templates, for the card."""
        return {name: [source] for name, source in self.templates().items()}

    def row_variables(self) -> list[str]:
        """The row's columns the templates read."""
        return sorted({v for source in self.templates().values() for v in variables(source)} - GIVEN)

    def used_columns(self) -> list[str]:
        """`columns` and the columns the templates read: a null there stops the build."""
        return [*self.params.columns, *self.row_variables()]

    def columns_read(self) -> dict[str, Any]:
        """`columns` and the columns the templates read."""
        read: dict[str, Any] = {}
        for column in self.params.columns:
            where = ("prompt",) if isinstance(self.params.prompt, str) else ("prompt", column)
            for name in sorted(variables(self.params.prompt_of(column)) - GIVEN):
                read.setdefault(name, where)
        if self.params.system is not None:
            read.update({n: ("system",) for n in sorted(variables(self.params.system) - GIVEN) if n not in read})
        return {**read, **super().columns_read()}

    def messages(self, values: dict[str, Any], column: str, row_id: str) -> list[dict[str, str]]:
        """The chat messages of one request: the system message, if any, and the prompt for `column`."""
        where = f"row _id '{row_id}', column '{column}'"
        name = "prompt" if isinstance(self.params.prompt, str) else f"prompt[{column}]"
        said = [{"role": "user", "content": render(self, name, self.params.prompt_of(column), values, where)}]
        if self.params.system is not None:
            said.insert(0, {"role": "system", "content": render(self, "system", self.params.system, values, where)})
        return said

    def augment(self, table: pa.Table) -> pa.Table:
        """One new row per row of `table` (copies of a row are adjacent), less failed, empty and duplicate ones."""
        import pyarrow as pa

        self.model.counts.clear()  # a worker's instance augments batch after batch; `info` is per batch
        columns = self.params.columns
        rows = table.to_pylist()
        copy_of: list[int] = []
        for i, row in enumerate(rows):
            copy_of.append(copy_of[-1] + 1 if i and rows[i - 1]["_id"] == row["_id"] else 1)
        bodies = []
        for row, copy in zip(rows, copy_of):
            seen = {k: v for k, v in row.items() if not k.startswith("_")}
            for column in columns:
                values = {**seen, "column": column, "value": row[column], "copy": copy, "copies": self.params.copies}
                bodies.append(self.model.body(self.messages(values, column, row["_id"]), seed=row["_seed"]))
        answers = self.model.ask(bodies)
        counts = {"failed": 0, "empty": 0, "duplicates": 0}
        keep: list[bool] = []
        texts: dict[str, list[str | None]] = {c: [] for c in columns}
        kept_of: dict[str, set[tuple[str, ...]]] = {}
        for i, row in enumerate(rows):
            mine = answers[i * len(columns) : (i + 1) * len(columns)]
            made = [a.text.strip() if a.text is not None else None for a in mine]
            for column, text in zip(columns, made):
                texts[column].append(text)
            if any(text is None for text in made):
                counts["failed"] += 1
                keep.append(False)
                continue
            if not all(made):
                counts["empty"] += 1
                keep.append(False)
                continue
            key = tuple(normalized(text or "") for text in made)
            kept = kept_of.setdefault(row["_id"], {tuple(normalized(row[c]) for c in columns)})
            keep.append(key not in kept)
            if key in kept:
                counts["duplicates"] += 1
            kept.add(key)
        out = table
        for column in columns:
            index = out.column_names.index(column)
            out = out.set_column(index, column, pa.array(texts[column], table.schema.field(column).type))
        out = out.append_column("_origin_id", table.column("_id")).filter(pa.array(keep, pa.bool_()))
        self.measured = {**counts, "kept": out.num_rows, "llm": self.model.stats()}
        return out

    def info(self) -> dict[str, Any]:
        """The last batch's counts (kept, duplicates, empty, failed) and the client's statistics."""
        return self.measured
