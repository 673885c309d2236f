"""Errors that reach the user: each carries a message that names where and how to fix it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class SpeccError(Exception):
    """A user-facing error: printed without a traceback, exit code `exit_code`."""

    exit_code = 1  # the README's rule: 1 an error in a spec, the data or a plugin; 2 a mistake in the command line


class CommandLineError(SpeccError):
    """A mistake in the command line itself, such as a file it names that does not exist: exit code 2."""

    exit_code = 2


@dataclass(frozen=True)
class Diagnostic:
    """One problem in a spec file, at a line and column (both 1-based)."""

    file: Path
    line: int
    column: int
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path else ""
        return f"{self.file}:{self.line}:{self.column}: error: {where}{self.message}"


class SpecError(SpeccError):
    """A spec failed to load or validate; holds every diagnostic found."""

    def __init__(self, diagnostics: list[Diagnostic]):
        self.diagnostics = sorted(diagnostics, key=lambda d: (str(d.file), d.line, d.column))
        super().__init__("\n".join(str(d) for d in self.diagnostics))


class SpecNotFound(SpecError):
    """The spec file a command names does not exist: a mistake in the command line, exit code 2."""

    exit_code = 2


class DataError(SpeccError):
    """Bad input data: names the source, the file and the line."""

    def __init__(self, source: str, file: Path | str | None, line: int | None, message: str):
        where = f"{file}:{line}: " if file and line else (f"{file}: " if file else "")
        super().__init__(f"{where}error: source '{source}': {message}")

    def __reduce__(self) -> tuple:
        # Raised in worker processes: travel as the finished message, not the constructor's arguments.
        return (_restore, (type(self), str(self)))


class ParamError(SpeccError):
    """A step's parameter does not fit the data; the executor names the spec's file:line:col of the parameter."""

    def __init__(self, message: str, step_id: str, where: tuple[str | int, ...]):
        super().__init__(message)
        self.step_id = step_id
        self.where = where  # the parameter's keys and list indexes inside the step's entry

    def __reduce__(self) -> tuple:
        return (type(self), (str(self), self.step_id, self.where))


def _restore(cls: type[SpeccError], message: str) -> SpeccError:
    error = cls.__new__(cls)
    Exception.__init__(error, message)
    return error


class PluginError(SpeccError):
    """A plugin misbehaved or conflicts with another; names the plugin."""
