"""Path fields of a spec: resolved against the spec's folder, kept inside it, never fingerprinted."""

from __future__ import annotations

import glob as globlib
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, Field, ValidationInfo


class NotFingerprinted:
    """Field metadata: the value does not change the output (paths, worker counts)."""

    def __repr__(self) -> str:
        return "NotFingerprinted()"


NOT_FINGERPRINTED = NotFingerprinted()
GLOB_CHARS = set("*?[")


def _settings(info: ValidationInfo) -> tuple[Path | None, bool]:
    context: dict[str, Any] = info.context or {}
    return context.get("spec_dir"), bool(context.get("allow_external_paths"))


def resolve_path(value: str, info: ValidationInfo) -> Path | None:
    spec_dir, allow_external = _settings(info)
    if spec_dir is None:
        return None
    if "\0" in value:
        raise ValueError("a path cannot hold a NUL character (\\0); remove it")
    resolved = (spec_dir / value).resolve()
    if not allow_external and not resolved.is_relative_to(spec_dir.resolve()):
        raise ValueError(
            f"path '{value}' is outside the spec's folder; move the data beside the spec, "
            f"or set `allow_external_paths: true` at the top of the spec"
        )
    return resolved


def _input(value: str, info: ValidationInfo) -> str:
    resolved = resolve_path(value, info)
    if resolved is None:
        return value
    if GLOB_CHARS & set(value):
        if not globlib.glob(str(resolved), recursive=True):
            raise ValueError(f"pattern '{value}' matches no file; paths are relative to the spec's folder")
    elif not _is_file(resolved, value):
        raise ValueError(f"file '{value}' not found; paths are relative to the spec's folder")
    return value


def _is_file(path: Path, value: str) -> bool:
    try:
        return path.is_file()
    except OSError as exc:  # a name too long for the file system, say
        raise ValueError(f"cannot use path '{value}': {exc.strerror}; shorten it") from None


def _output(value: str, info: ValidationInfo) -> str:
    resolve_path(value, info)
    return value


InputPath = Annotated[
    str,
    AfterValidator(_input),
    NOT_FINGERPRINTED,
    Field(description="A file or glob pattern, relative to the spec's folder."),
]
OutputPath = Annotated[
    str,
    AfterValidator(_output),
    NOT_FINGERPRINTED,
    Field(description="A folder, relative to the spec's folder."),
]


def expand(spec_dir: Path, pattern: str) -> list[Path]:
    """The files a path or glob pattern names, sorted."""
    resolved = str((spec_dir / pattern).resolve())
    if GLOB_CHARS & set(pattern):
        return sorted(Path(p) for p in globlib.glob(resolved, recursive=True) if Path(p).is_file())
    return [Path(resolved)]
