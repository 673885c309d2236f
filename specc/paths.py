"""Path fields of a spec: resolved against the spec's folder, kept inside it, never fingerprinted."""

from __future__ import annotations

import glob as globlib
import os
from pathlib import Path
from typing import Annotated, Any, get_args, get_origin

from pydantic import AfterValidator, BaseModel, Field, ValidationInfo

from specc.errors import SpeccError


class NotFingerprinted:
    """Field metadata: the value does not change the output (paths, worker counts)."""

    def __repr__(self) -> str:
        return "NotFingerprinted()"


NOT_FINGERPRINTED = NotFingerprinted()
GLOB_CHARS = set("*?[")
FIX = "move the data beside the spec, or set `allow_external_paths: true` at the top of the spec"


def _settings(info: ValidationInfo) -> tuple[Path | None, bool]:
    context: dict[str, Any] = info.context or {}
    return context.get("spec_dir"), bool(context.get("allow_external_paths"))


def _escape(spec_dir: Path, value: str, path: Path, matched: bool) -> str | None:
    """Why `path` (what `value` names, or a file it matched) may not be read: it leads outside the spec's folder."""
    root = spec_dir.resolve()
    target = path.resolve()  # follows symbolic links: a link inside the folder to a file outside it is outside
    if target.is_relative_to(root):
        return None
    named = Path(os.path.normpath(path))
    if not named.is_relative_to(root):
        return f"path '{value}' is outside the spec's folder; {FIX}"
    what = f"pattern '{value}' matches {named.relative_to(root).as_posix()}, which" if matched else f"path '{value}'"
    return f"{what} resolves through a symbolic link to {target}, outside the spec's folder ({root}); {FIX}"


def _violation(spec_dir: Path, value: str, allow_external: bool, matches: list[Path] | None = None) -> str | None:
    """Why `value` may not be read: it, or one of the files it matched, leads outside the spec's folder."""
    if allow_external:
        return None
    named = [(spec_dir.resolve() / value, False), *((path, True) for path in matches or [])]
    return next((problem for path, matched in named if (problem := _escape(spec_dir, value, path, matched))), None)


def _matches(spec_dir: Path, pattern: str) -> list[Path]:
    """The files a glob pattern matches, sorted, as the spec's folder and the pattern name them (not resolved)."""
    return sorted(p for p in map(Path, globlib.glob(str(spec_dir / pattern), recursive=True)) if p.is_file())


def resolve_path(value: str, info: ValidationInfo) -> Path | None:
    """The absolute path a spec's path field names (None without a spec folder); outside the folder is an error."""
    spec_dir, allow_external = _settings(info)
    if spec_dir is None:
        return None
    if "\0" in value:
        raise ValueError("a path cannot hold a NUL character (\\0); remove it")
    problem = _violation(spec_dir, value, allow_external)
    if problem:
        raise ValueError(problem)
    return (spec_dir / value).resolve()


def _input(value: str, info: ValidationInfo) -> str:
    spec_dir, allow_external = _settings(info)
    resolved = resolve_path(value, info)
    if resolved is None or spec_dir is None:
        return value
    if GLOB_CHARS & set(value):
        matches = _matches(spec_dir, value)
        if not matches:
            raise ValueError(f"pattern '{value}' matches no file; paths are relative to the spec's folder")
        problem = _violation(spec_dir, value, allow_external, matches)
        if problem:
            raise ValueError(problem)
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


def inside(spec_dir: Path, value: str, allow_external: bool = False) -> Path:
    """The path `value` names from the spec's folder, symbolic links not followed (what the card shows is what the
    spec wrote); an error when it leads outside the spec's folder and that is not allowed."""
    problem = _violation(spec_dir, value, allow_external)
    if problem:
        raise SpeccError(f"error: {problem}")
    return spec_dir / value


def expand(spec_dir: Path, pattern: str, allow_external: bool = False) -> list[Path]:
    """The files a path or glob pattern names, sorted; an error when one leads outside the spec's folder.

    The spec was validated by the same rule; checking again at build time catches links made since.
    """
    if not GLOB_CHARS & set(pattern):
        return [inside(spec_dir, pattern, allow_external)]
    matches = _matches(spec_dir, pattern)
    problem = _violation(spec_dir, pattern, allow_external, matches)
    if problem:
        raise SpeccError(f"error: {problem}")
    return matches


def _is_path(metadata: Any) -> bool:
    return any(isinstance(m, AfterValidator) and m.func in (_input, _output) for m in metadata)


def _names_path(annotation: Any) -> bool:
    """Whether a field's type is InputPath or OutputPath, alone or inside `| None`, a list or another generic."""
    if get_origin(annotation) is Annotated:
        return _is_path(annotation.__metadata__) or _names_path(get_args(annotation)[0])
    return any(_names_path(arg) for arg in get_args(annotation))


def spec_paths(params: BaseModel) -> list[str]:
    """Every InputPath and OutputPath value of a params model as the spec wrote it, nested models and lists
    included."""
    found: list[str] = []
    for name, info in type(params).model_fields.items():
        value = getattr(params, name, None)
        is_path = _is_path(info.metadata) or _names_path(info.annotation)
        for item in value if isinstance(value, list | tuple) else [value]:
            if isinstance(item, BaseModel):
                found.extend(spec_paths(item))
            elif is_path and isinstance(item, str):
                found.append(item)
    return found
