"""An example specc plugin: one clean step and one CLI command, found through its entry point."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import Field

import specc

if TYPE_CHECKING:
    import pyarrow as pa


class MinWords(specc.Step):
    """Drops rows whose text has fewer than `min_words` whitespace-separated words."""

    name = "min-words"
    version = 1

    class Params(specc.Params):
        """Which column to count and the least number of words to keep a row."""

        column: str = Field("text", description="The text column to count words in.")
        min_words: int = Field(2, ge=1, description="Rows with fewer words are dropped.")

    def columns_read(self) -> dict[str, tuple[str | int, ...]]:
        """The `column` it counts words in: `specc validate` checks it is there."""
        return self.columns_named("column")

    def columns_after(self, columns: list[str]) -> list[str]:
        """The input's columns: it only drops rows."""
        return columns

    def apply(self, table: pa.Table) -> specc.StepResult:
        """Keep rows with at least `min_words` words."""
        import pyarrow.compute as pc

        words = pc.list_value_length(pc.utf8_split_whitespace(self.column(table, self.params.column)))
        return self.keep(table, pc.greater_equal(words, self.params.min_words), "too-few-words")


@specc.hookimpl
def register_steps(register: Any) -> None:
    """Register the `min-words` clean step."""
    register(MinWords)


@specc.hookimpl
def register_commands(cli: Any) -> None:
    """Add `specc words FILE`: word counts of a text file, one text per line."""
    import click

    @cli.command()
    @click.argument("file", type=click.File(encoding="utf-8"))
    def words(file: Any) -> None:
        """Print the number of lines and words in FILE."""
        lines = file.read().splitlines()
        click.echo(f"{len(lines)} lines, {sum(len(line.split()) for line in lines)} words")
