"""`specc publish`: what an output folder uploads to a Hub data set repository, its checks, and the upload."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from specc.errors import CommandLineError, SpeccError

CARD = "README.md"


@dataclass(frozen=True)
class Upload:
    """The files of an output folder that go to the Hub (relative POSIX paths, sorted) and their sizes."""

    folder: Path
    files: dict[str, int]

    @property
    def size(self) -> int:
        """Bytes uploaded in all."""
        return sum(self.files.values())


def upload_of(folder: Path) -> Upload:
    """Everything in the folder but specc's own markers (the ownership marker names the spec's path)."""
    from specc.selfcheck import published_files

    return Upload(folder, {p.relative_to(folder).as_posix(): p.stat().st_size for p in published_files(folder)})


def _made_by_specc(folder: Path) -> list[str]:
    from specc.staging import MARKER, STAGING_MARKER, owner

    if (folder / STAGING_MARKER).exists():
        return [f"{STAGING_MARKER}: the folder is a build still running or one that stopped; build again"]
    if owner(folder) is None:
        return [f"{MARKER}: missing or unreadable: specc did not make this folder; publish an output of `specc build`"]
    return []


def _complete(folder: Path) -> list[str]:
    """Every file stats.json names is there with the bytes the build wrote, and the card and Croissant too."""
    from specc.card.croissant import CROISSANT_FILE
    from specc.selfcheck import damaged_outputs
    from specc.stats import STATS_FILE, read_stats

    try:
        stats = read_stats(folder / STATS_FILE, "build the spec again")
    except SpeccError as exc:
        return [f"{STATS_FILE}: {str(exc).split('error: ', 1)[-1]}"]
    problems = [
        f"{name}: missing; build the spec again" for name in (CARD, CROISSANT_FILE) if not (folder / name).is_file()
    ]
    for name, present in damaged_outputs(folder, stats):
        what = "its bytes differ from those the build wrote" if present else "missing, though stats.json names it"
        problems.append(f"{name}: {what}; build the spec again")
    return problems


def _card(folder: Path) -> list[str]:
    """The card's YAML header parses as the Hub reads it (huggingface_hub's DatasetCard)."""
    from huggingface_hub import DatasetCard

    if not (folder / CARD).is_file():
        return []
    try:
        card = DatasetCard.load(folder / CARD)
        card.data.to_dict()
    except Exception as exc:  # what huggingface_hub raises is the finding
        return [f"{CARD}: the card's metadata does not parse with huggingface_hub: {type(exc).__name__}: {exc}"]
    if not card.data.to_dict():
        return [f"{CARD}: the card has no metadata header; build the spec again"]
    return []


def check_upload(folder: Path) -> tuple[list[str], list[str]]:
    """`file: problem` for each reason not to upload the folder: first not specc's, incomplete or a card the Hub
    cannot read; then the leaks: an absolute path, host or user name of this machine, a link leading outside."""
    from specc.selfcheck import leaks, machine
    from specc.staging import owner

    problems = _made_by_specc(folder)
    if problems:
        return problems, []
    spec = owner(folder)
    places = [folder] + ([spec.parent, spec.parent / ".specc"] if spec is not None else [])
    return _complete(folder) + _card(folder), leaks(folder, machine(*places))


def checked_upload(folder: str | Path) -> Upload:
    """The upload of a folder that passes every check; a SpeccError listing each problem by file otherwise."""
    from specc.selfcheck import LEAK_FIX

    path = Path(folder)
    if not path.is_dir():
        raise CommandLineError(f"{folder}: error: no such folder; give the output folder of `specc build`")
    problems, leaked = check_upload(path)
    if problems or leaked:
        lines = "\n".join(f"  {path / problem}" for problem in problems + leaked)
        fix = f"\n{LEAK_FIX}" if leaked else ""
        raise SpeccError(f"error: {folder} cannot be published as it is:\n{lines}{fix}")
    return upload_of(path)


def upload(
    upload: Upload,
    repo_id: str,
    *,
    revision: str | None = None,
    private: bool | None = None,
    token: str | None = None,
    message: str | None = None,
) -> Any:
    """Create the data set repository if needed and commit the files in one commit; returns the CommitInfo.

    Files the repository holds and the folder does not are left there (a card names its data files, so a
    stale shard is not loaded); the Hub address is `HF_ENDPOINT`'s, as everywhere in huggingface_hub.
    """
    from huggingface_hub import CommitOperationAdd, HfApi
    from huggingface_hub.errors import HfHubHTTPError

    from specc.hub_repo import connection_errors

    api = HfApi(token=token)
    operations = [CommitOperationAdd(path_in_repo=name, path_or_fileobj=upload.folder / name) for name in upload.files]
    try:
        api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
        if revision is not None:
            api.create_branch(repo_id, repo_type="dataset", branch=revision, exist_ok=True)
        return api.create_commit(
            repo_id,
            operations,
            repo_type="dataset",
            revision=revision,
            commit_message=message or f"Upload {upload.folder.name} with specc",
        )
    except HfHubHTTPError as exc:
        raise SpeccError(
            f"error: the Hub refused the upload to {repo_id}: {exc}; check the repo id and --token"
        ) from None
    except connection_errors() as exc:
        raise SpeccError(f"error: cannot reach the Hub to upload {repo_id}: {exc}; check the connection") from None
