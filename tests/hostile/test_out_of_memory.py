"""Running out of memory where nothing bounded it is an error with the way out, not a traceback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from click.testing import CliRunner

from specc.cli import cli


@pytest.fixture
def exhausting() -> Iterator[str]:
    """A command that runs out of memory, on the real command group."""

    @cli.command("exhaust-memory")
    def exhaust() -> None:
        raise MemoryError

    yield "exhaust-memory"
    cli.commands.pop("exhaust-memory")


def test_memory_error_is_a_clear_error(exhausting: str) -> None:
    result = CliRunner().invoke(cli, [exhausting])
    assert result.exit_code == 1
    assert result.output.startswith("error: specc ran out of memory; build with a smaller --num-proc")
    assert "Traceback" not in result.output and not isinstance(result.exception, MemoryError)
