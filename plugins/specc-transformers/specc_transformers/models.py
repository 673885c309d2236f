"""Where a model or tokenizer comes from: a local folder (pinned by its files' SHA-256) or a Hub repo at a commit."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, Field, ValidationInfo

from specc.plugin import NOT_FINGERPRINTED, Component, HubRepo, check_repo_id, check_revision, resolve_path

EXAMPLE_REPO = "google-bert/bert-base-uncased"


def is_folder(value: str, spec_dir: Path) -> bool:
    """Whether `value` names a local folder (a path-like value, or a folder beside the spec) rather than a Hub repo."""
    return value.startswith((".", "/")) or (spec_dir / value).is_dir()


def folder_files(folder: Path) -> list[Path]:
    """Every file under `folder` (outside `.git`), sorted."""
    return sorted(p for p in folder.rglob("*") if p.is_file() and ".git" not in p.parts)


def _location(value: str, info: ValidationInfo) -> str:
    spec_dir = (info.context or {}).get("spec_dir")
    if spec_dir is None:
        return value
    if is_folder(value, spec_dir):
        resolved = resolve_path(value, info)
        if resolved is not None and not resolved.is_dir():
            raise ValueError(
                f"folder '{value}' not found; give a folder relative to the spec's folder, or a Hub "
                f"repo id such as {EXAMPLE_REPO}"
            )
        return value
    return check_repo_id(value, EXAMPLE_REPO)


ModelLocation = Annotated[
    str,
    AfterValidator(_location),
    NOT_FINGERPRINTED,  # the pins say what was read: the files' SHA-256, or the repo and its commit
    Field(
        description="A folder relative to the spec's folder (saved with `save_pretrained`), or a Hugging Face "
        "Hub repo id pinned to a commit in the lock."
    ),
]
Revision = Annotated[
    str | None,
    AfterValidator(lambda v: None if v is None else check_revision(v)),
    NOT_FINGERPRINTED,
    Field(description="For a Hub repo: a branch, tag or commit SHA (default main); the lock pins the commit."),
]


class ModelFiles:
    """The model or tokenizer one step reads, as its `model`/`tokenizer` and `revision` parameters name it."""

    def __init__(self, component: Component, name: str, revision: str | None):
        self.component = component
        self.name = name
        self.revision = revision
        context = component.context
        self.local = context.path(name) if is_folder(name, context.spec_dir) else None
        if self.local is not None and revision is not None:
            raise component.fail(
                f"revision '{revision}' is for Hub repos, but '{name}' is a local folder; remove `revision`"
            )

    def files(self) -> list[Path]:
        """A local folder's files, sorted (none for a Hub repo: its pins come from the Hub cache)."""
        return [] if self.local is None else folder_files(self.local)

    @cached_property
    def repo(self) -> HubRepo:
        """The Hub repo at the requested revision."""
        return HubRepo(self.name, self.revision or "main", "model", self.component.fail, "specc lock --upgrade")

    def pin(self, locked: Mapping[str, Any] | None) -> dict[str, Any] | None:
        """A Hub repo's pins: its commit and files' SHA-256 (`locked` while it still applies); None for a folder."""
        if self.local is not None:
            return None
        locked = locked or {}
        if self.repo.pinned_commit(locked) is not None and isinstance(locked.get("files"), list):
            return dict(locked)
        commit = self.repo.resolve()
        folder = self.repo.snapshot(commit)
        return self.repo.pins(commit, folder, (p.relative_to(folder).as_posix() for p in folder_files(folder)))

    @cached_property
    def folder(self) -> Path:
        """The folder to load from: the local one, or the pinned snapshot after checking its files' hashes (once)."""
        if self.local is not None:
            return self.local
        pins = self.component.context.pins
        if not pins.get("revision"):
            pins = self.pin(None) or {}
        folder = self.repo.snapshot(pins["revision"])
        self.repo.verify(folder, pins)
        return folder


class UsesModel:
    """For components whose parameters name a model or tokenizer (`model`, or MODEL_PARAM) and its `revision`."""

    MODEL_PARAM: ClassVar[str] = "model"
    # what each process loads for itself: workers get the step without it
    LOADED: ClassVar[tuple[str, ...]] = ("model_files",)
    params: Any

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k not in self.LOADED}

    @cached_property
    def model_files(self) -> ModelFiles:
        """The model's folder or Hub repo."""
        name = getattr(self.params, self.MODEL_PARAM)
        return ModelFiles(self, name, self.params.revision)  # type: ignore[arg-type]

    def files(self) -> list[Path]:
        """A local folder's files (pinned by SHA-256)."""
        return self.model_files.files()

    def pin(self, locked: Mapping[str, Any] | None) -> dict[str, Any]:
        """A Hub repo's commit and files, or a folder's files' SHA-256."""
        return self.model_files.pin(locked) or super().pin(locked)  # type: ignore[misc]

    def shown(self) -> str:
        """The model for people: a Hub repo at its pinned commit, or the folder as the spec names it."""
        pins = self.context.pins  # type: ignore[attr-defined]
        return f"{pins['repo']}@{pins['revision']}" if pins.get("revision") else self.model_files.name
