"""Pins: the hashes that tie a build to the exact bytes it read."""

from __future__ import annotations

import hashlib
import mmap
import os
from pathlib import Path
from typing import Any


def sha256_file(path: Path) -> str:
    """SHA-256 of a file's bytes."""
    return _digest(path, hashlib.sha256())


def xxh3_file(path: Path) -> str:
    """XXH3-128 of a file's bytes: the digest of the step cache's stage files (4x faster than SHA-256)."""
    import xxhash

    return _digest(path, xxhash.xxh3_128())


def _digest(path: Path, digest: Any) -> str:
    # One call over a memory map, not block by block: each block waited for the GIL while the executor's
    # preload thread imported modules (a 1M-row rebuild's cache hits took 0.1-0.3 s each that way, 0.03 s so).
    with path.open("rb") as handle:
        if os.fstat(handle.fileno()).st_size:  # mmap refuses empty files
            with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
                digest.update(mapped)
    return digest.hexdigest()


def shown_path(path: Path, spec_dir: Path) -> str:
    """How the lock, stats.json and the card name a file read: as the spec wrote it, relative to its folder.

    A path the spec named (`spec_dir / value`, symbolic links not followed) is `value` normalized, `..` kept
    when the spec allows paths outside its folder. A file the spec did not name (a plugin's data, such as an
    installed WordNet) is named by its file name: its digest says which bytes it holds, and no absolute path,
    user or host name of the build machine reaches the output.
    """
    if not path.is_absolute() or path.is_relative_to(spec_dir):
        return Path(os.path.relpath(spec_dir / path, spec_dir)).as_posix()  # a lock stays valid in another clone
    return path.name


def file_pin(path: Path, spec_dir: Path) -> dict[str, Any]:
    """SHA-256 and size of one file, with its path as `shown_path` names it (for people, not hashes)."""
    return {"path": shown_path(path, spec_dir), "sha256": sha256_file(path), "size": path.stat().st_size}
