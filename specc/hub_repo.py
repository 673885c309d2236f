"""A Hugging Face Hub repository (data set or model) at a revision: resolved to a commit, read through the Hub cache."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

COMMIT = re.compile(r"[0-9a-f]{40}")
SHA256 = re.compile(r"[0-9a-f]{64}")
REPO_ID = re.compile(r"(?:[\w.-]+/)?[\w.-]{1,96}")


def check_repo_id(value: str, example: str) -> str:
    """A Hub repo id, stripped; a ValueError naming `example` when it is not one."""
    value = value.strip()
    if not REPO_ID.fullmatch(value) or "--" in value or ".." in value or value.endswith((".", "-")):
        raise ValueError(f"'{value}' is not a Hub repo id; write it as ORG/NAME, such as {example}")
    return value


def check_revision(value: str) -> str:
    """A branch, tag or commit SHA (lower-cased), stripped; a ValueError when blank or spaced."""
    value = value.strip()
    if not value or re.search(r"\s", value):
        raise ValueError("give a branch, a tag or a 40-hex commit SHA, such as main")
    return value.lower() if COMMIT.fullmatch(value.lower()) else value


@dataclass(frozen=True)
class HubRepo:
    """One repository on the Hub at the revision a spec asks for; every failure is an `error(message)`."""

    repo_id: str
    revision: str
    repo_type: Literal["dataset", "model"]
    error: Callable[[str], Exception]
    upgrade: str  # the command that pins another revision, shown when the pinned one is gone

    @property
    def noun(self) -> str:
        """What the repository holds, in words."""
        return "data set" if self.repo_type == "dataset" else "model"

    @property
    def url(self) -> str:
        """The repository's page on the Hub."""
        return f"https://huggingface.co/{'datasets/' if self.repo_type == 'dataset' else ''}{self.repo_id}"

    def shown(self, commit: str | None = None) -> str:
        """The repository and the revision the spec asks for, with the commit it stands for."""
        at = f" (commit {commit})" if commit and commit != self.revision else ""
        return f"{self.noun} '{self.repo_id}' at revision '{self.revision}'{at}"

    def download_command(self, revision: str, *names: str) -> str:
        """The `hf download` command that puts files of `revision` in the Hub cache."""
        kind = " --repo-type dataset" if self.repo_type == "dataset" else ""
        return " ".join(["hf download" + kind, self.repo_id, *names, "--revision", revision])

    def fetch_hint(self, revision: str) -> str:
        """How to put a revision of the repository in the Hub cache."""
        return f"fetch it with `{self.download_command(revision)}` (or build once online)"

    # --- the commit ------------------------------------------------------------------------------

    def pinned_commit(self, locked: Mapping[str, Any]) -> str | None:
        """The commit a lock's pins hold for this repository and requested revision, or None."""
        commit = locked.get("revision")
        if (
            locked.get("repo") == self.repo_id
            and locked.get("requested") == self.revision
            and isinstance(commit, str)
            and COMMIT.fullmatch(commit)
        ):
            return commit
        return None

    def resolve(self) -> str:
        """The commit SHA `revision` names: asked of the Hub, or read from the cache when offline."""
        from huggingface_hub import HfApi, constants
        from huggingface_hub.errors import (
            GatedRepoError,
            HfHubHTTPError,
            RepositoryNotFoundError,
            RevisionNotFoundError,
        )

        if constants.HF_HUB_OFFLINE:
            why = "is offline (HF_HUB_OFFLINE is set)"
        else:
            try:
                sha = HfApi().repo_info(self.repo_id, repo_type=self.repo_type, revision=self.revision).sha
                if sha:
                    return sha
                why = "gave no commit for it"
            except RevisionNotFoundError:
                raise self.error(
                    f"{self.shown()}: the {self.noun} has no such revision; give a branch, a tag or a "
                    f"40-hex commit SHA that exists on {self.url}"
                ) from None
            except (RepositoryNotFoundError, GatedRepoError) as exc:
                cached = self.cached_commit(self.revision)
                if cached is not None:
                    return cached
                kind = "is gated" if isinstance(exc, GatedRepoError) else "was not found (or is private)"
                raise self.error(
                    f"{self.noun} '{self.repo_id}' {kind} on the Hugging Face Hub; check its name, "
                    f"and for a private or gated {self.noun} log in with `hf auth login` and accept "
                    f"its terms on the Hub"
                ) from None
            except connection_errors() + (HfHubHTTPError,) as exc:
                why = f"cannot be reached ({type(exc).__name__}: {exc})"
        cached = self.cached_commit(self.revision)
        if cached is None:
            raise self.error(
                f"{self.shown()} is not in the Hugging Face cache ({constants.HF_HUB_CACHE}) and "
                f"the Hub {why}; {self.fetch_hint(self.revision)}"
            )
        return cached

    def cached_commit(self, revision: str) -> str | None:
        """The commit of `revision` whose snapshot is in the Hub cache: `refs/<revision>`, or the SHA itself."""
        root = self.cache_root()
        if COMMIT.fullmatch(revision):
            return revision if (root / "snapshots" / revision).is_dir() else None
        try:
            commit = (root / "refs" / revision).read_text(encoding="utf-8").strip()
        except (OSError, ValueError):
            return None
        return commit if COMMIT.fullmatch(commit) and (root / "snapshots" / commit).is_dir() else None

    def cache_root(self) -> Path:
        """The repository's folder in the Hub cache."""
        from huggingface_hub import constants

        return Path(constants.HF_HUB_CACHE) / f"{self.repo_type}s--{self.repo_id.replace('/', '--')}"

    # --- the files -------------------------------------------------------------------------------

    def snapshot(self, commit: str) -> Path:
        """The snapshot folder of `commit`: from the Hub cache, downloaded first when online."""
        from huggingface_hub import constants, snapshot_download
        from huggingface_hub.errors import (
            GatedRepoError,
            HfHubHTTPError,
            LocalEntryNotFoundError,
            RepositoryNotFoundError,
            RevisionNotFoundError,
        )

        try:
            return Path(snapshot_download(repo_id=self.repo_id, repo_type=self.repo_type, revision=commit)).resolve()
        except LocalEntryNotFoundError as exc:  # also an incomplete cached snapshot
            why = "is offline (HF_HUB_OFFLINE is set)" if constants.HF_HUB_OFFLINE else "cannot be reached"
            detail = f" ({exc})" if "incomplete" in str(exc) else ""
            raise self.error(
                f"{self.shown(commit)} is not fully in the Hugging Face cache "
                f"({constants.HF_HUB_CACHE}){detail} and the Hub {why}; {self.fetch_hint(commit)}"
            ) from None
        except RevisionNotFoundError:
            raise self.error(
                f"{self.shown(commit)}: the {self.noun} has no such commit (was its history "
                f"rewritten?); pin another revision, e.g. with `{self.upgrade}`"
            ) from None
        except (RepositoryNotFoundError, GatedRepoError):
            raise self.error(
                f"{self.noun} '{self.repo_id}' was not found, or is private or gated, on the Hugging "
                f"Face Hub; check its name, or log in with `hf auth login`"
            ) from None
        except connection_errors() + (HfHubHTTPError,) as exc:
            raise self.error(
                f"cannot download {self.shown(commit)}: {exc}; try again, or {self.fetch_hint(commit)}"
            ) from None

    def file_pin(self, folder: Path, name: str) -> dict[str, Any]:
        """SHA-256 and size of one file of the snapshot (an LFS blob's cache name is its SHA-256)."""
        from specc.pins import sha256_file

        path = folder / name
        target = path.resolve()
        digest = target.name if target.parent.name == "blobs" and SHA256.fullmatch(target.name) else None
        return {"path": name, "sha256": digest or sha256_file(path), "size": path.stat().st_size}

    def pins(self, commit: str, folder: Path, names: Iterable[str]) -> dict[str, Any]:
        """The lock's pins of files `names` of `commit`'s snapshot `folder` (what `pinned_commit` and `verify` read)."""
        return {
            "repo": self.repo_id,
            "requested": self.revision,
            "revision": commit,
            "files": [self.file_pin(folder, name) for name in sorted(names)],
        }

    def verify(self, folder: Path, pins: Mapping[str, Any]) -> None:
        """Fail unless every file `pins` lists has its pinned SHA-256 and size in `folder`, the commit's snapshot."""
        from specc.pins import sha256_file

        commit = pins["revision"]
        for entry in pins.get("files", []):
            path = folder / entry["path"]
            if not path.is_file():
                raise self.error(
                    f"file '{entry['path']}' of {self.shown(commit)} is pinned by the lock but not "
                    f"in the snapshot; {self.fetch_hint(commit)}"
                )
            size, digest = path.stat().st_size, sha256_file(path)
            if (digest, size) != (entry.get("sha256"), entry.get("size")):
                raise self.error(
                    f"file '{entry['path']}' of {self.shown(commit)} has SHA-256 {digest[:12]} "
                    f"({size} bytes) but the lock pins {str(entry.get('sha256'))[:12]} "
                    f"({entry.get('size')} bytes); the cached copy ({path.resolve()}) is damaged or "
                    f"the lock was edited: fetch the file again with "
                    f"`{self.download_command(commit, entry['path'])} --force-download`, or fix the lock"
                )


def connection_errors() -> tuple[type[BaseException], ...]:
    """The errors huggingface_hub raises when the Hub cannot be reached."""
    from huggingface_hub.errors import OfflineModeIsEnabled

    errors: list[type[BaseException]] = [OfflineModeIsEnabled, ConnectionError, TimeoutError]
    for module in ("httpx2", "httpx", "requests"):
        try:
            client = __import__(module)
        except ImportError:
            continue
        for name in ("ConnectError", "TimeoutException", "NetworkError", "ConnectionError", "Timeout"):
            error = getattr(client, name, None)
            if isinstance(error, type) and issubclass(error, BaseException):
                errors.append(error)
    return tuple(errors)
