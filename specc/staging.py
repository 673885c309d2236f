"""Where a build writes: an output folder it owns (marked), a lock while it builds, staging, atomic publish.

specc replaces only a folder that carries its marker and names the same spec; it refuses the spec's
folder, a folder holding the spec or a source, any ancestor of them, and a file. A foreign folder is
moved aside (never deleted) when the user asks for it.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from specc.errors import SpeccError

MARKER = ".specc-output.json"  # in every output folder specc publishes: which spec owns it
STAGING_MARKER = ".specc-staging"  # in every staging folder, from its creation on
MARKER_VERSION = 1


@dataclass(frozen=True)
class Claim:
    """What publishing may do to an output folder: build it anew, replace specc's own, or move a foreign one aside."""

    path: Path
    state: str  # "new" | "owned" | "foreign"


def marker_text(spec_path: Path, output_dir: Path) -> str:
    """The marker's bytes: the owning spec relative to the output folder (no absolute paths, no time)."""
    return json.dumps({"specc-output": MARKER_VERSION, "spec": os.path.relpath(spec_path, output_dir)}) + "\n"


def owner(folder: Path) -> Path | None:
    """The spec a marked output folder names, or None when it carries no readable marker."""
    try:
        data = json.loads((folder / MARKER).read_text(encoding="utf-8"))
        return (folder / data["spec"]).resolve() if isinstance(data, dict) and isinstance(data["spec"], str) else None
    except (OSError, ValueError, KeyError):
        return None


def _refuse(where: str, output_dir: Path, problem: str, fix: str) -> SpeccError:
    return SpeccError(f"{where}: error: output.dir {output_dir} {problem}; {fix}")


def claim_output(
    output_dir: Path, spec_path: Path, protected: dict[Path, str], *, where: str, replace_foreign: bool = False
) -> Claim:
    """Check that a build may publish into `output_dir`; `where` names the spec's output.dir for errors.

    `protected` names the paths the output must neither be nor hold (the lock, the cache, every file read).
    """
    another = "choose another `output.dir` (by default build/<name> beside the spec)"
    for path, what in {spec_path: f"the spec {spec_path.name}", **protected}.items():
        if output_dir == path or output_dir in path.parents:
            problem = f"{'is' if output_dir == path else 'holds'} {what}"
            raise _refuse(where, output_dir, problem, another)
    if output_dir.is_symlink() or (output_dir.exists() and not output_dir.is_dir()):
        raise _refuse(where, output_dir, "is a file, not a folder", another)
    if not output_dir.exists():
        return Claim(output_dir, "new")
    made_by = owner(output_dir)
    if made_by == spec_path or not any(output_dir.iterdir()):
        return Claim(output_dir, "owned")
    if replace_foreign:
        return Claim(output_dir, "foreign")
    problem = (
        f"was built from another spec ({made_by})"
        if made_by is not None
        else f"exists and was not made by specc (it has no {MARKER})"
    )
    raise _refuse(
        where,
        output_dir,
        problem,
        f"{another}, or pass --replace-foreign to move the folder aside (nothing is deleted)",
    )


def lock_file(output_dir: Path) -> Path:
    """The file a build locks while it writes `output_dir` (beside it, like its staging folders)."""
    return output_dir.parent / f".{output_dir.name}.lock"


@contextmanager
def output_lock(output_dir: Path, *, wait: bool = False) -> Iterator[None]:
    """Hold the output's lock for a build; a second build fails at once naming the holder, or waits.

    The lock file is removed when the build ends, and so are the folders made for it that stayed empty
    (a first build that failed leaves nothing behind).
    """
    path = lock_file(output_dir)
    made = _make_folders(path.parent)
    try:
        fd = _acquire(path, output_dir, wait)
        try:
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
            yield
        finally:
            path.unlink(missing_ok=True)  # while still held: a build waiting on this file then takes a new one
            os.close(fd)
    finally:
        for folder in reversed(made):
            try:
                folder.rmdir()
            except OSError:  # not empty: the output or someone's files are there
                break


def _make_folders(folder: Path) -> list[Path]:
    """Make `folder` and its missing parents; the ones made, outermost first."""
    missing = [f for f in [folder, *folder.parents] if not f.exists()][::-1]
    folder.mkdir(parents=True, exist_ok=True)
    return missing


def _acquire(path: Path, output_dir: Path, wait: bool) -> int:
    """An open descriptor of the lock file `path`, locked by this process (flock, so it ends with the process)."""
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            holder = _read_pid(path)
            raise SpeccError(
                f"{path}: error: another build{f' (process {holder})' if holder else ''} is writing "
                f"{output_dir}; wait for it to finish, or pass --wait to wait for it"
            ) from None
        try:
            same = os.path.samestat(os.fstat(fd), os.stat(path))
        except FileNotFoundError:
            same = False
        if same:
            return fd
        os.close(fd)  # the build that held it removed the file meanwhile: lock the one there now


def _read_pid(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError:
        return ""


def staging_dir(output_dir: Path) -> Path:
    """A fresh folder beside the output to build into, made with the user's umask and marked as specc's."""
    output_dir.parent.mkdir(parents=True, exist_ok=True)
    path = output_dir.parent / f".{output_dir.name}.building-{uuid.uuid4().hex[:12]}"
    path.mkdir()
    (path / STAGING_MARKER).touch()
    return path


def _aside(output_dir: Path, kind: str) -> Path:
    return output_dir.parent / f".{output_dir.name}.{kind}-{uuid.uuid4().hex[:12]}"


def replaced_name(output_dir: Path) -> Path:
    """Where --replace-foreign moves a foreign folder: `NAME.replaced-N` beside it, the first N free."""
    n = 1
    while (output_dir.parent / f"{output_dir.name}.replaced-{n}").exists():
        n += 1
    return output_dir.parent / f"{output_dir.name}.replaced-{n}"


def publish(staged: Path, claim: Claim, marker: str) -> Path | None:
    """Move a finished build into place (call under `output_lock`); returns where a foreign folder went.

    specc's previous output survives, set aside, until the new one is in place; a foreign folder is
    moved aside and kept.
    """
    (staged / STAGING_MARKER).unlink()
    (staged / MARKER).write_text(marker, encoding="utf-8")
    output_dir = claim.path
    moved = previous = None
    if output_dir.exists():
        if claim.state == "foreign":
            moved = replaced_name(output_dir)
            os.replace(output_dir, moved)
        else:
            previous = _aside(output_dir, "previous")
            os.replace(output_dir, previous)
    os.replace(staged, output_dir)
    if previous is not None:
        shutil.rmtree(previous)
    return moved


def recover(output_dir: Path) -> None:
    """Under `output_lock`: put back specc's output that a crash left aside mid-publish; remove dead staging.

    Only folders that carry specc's markers are touched; no build of this output runs meanwhile.
    """
    parent = output_dir.parent
    if not parent.is_dir():
        return
    for previous in sorted(parent.glob(f".{output_dir.name}.previous-*")):
        if previous.is_dir() and not previous.is_symlink() and (previous / MARKER).is_file():
            if output_dir.exists():
                shutil.rmtree(previous)
            else:
                os.replace(previous, output_dir)
    for stale in parent.glob(f".{output_dir.name}.building-*"):
        if stale.is_dir() and not stale.is_symlink() and (stale / STAGING_MARKER).is_file():
            shutil.rmtree(stale)


def discard(staged: Path) -> None:
    """Remove a staging folder after a failed build."""
    shutil.rmtree(staged, ignore_errors=True)
