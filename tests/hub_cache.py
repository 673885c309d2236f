"""A real Hugging Face Hub cache built in a test's folder: commits of data sets or models, for offline tests."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Literal

from tests.conftest import write


def add_commit(
    cache: Path,
    repo: str,
    commit: str,
    files: dict[str, bytes],
    lfs: set[str],
    ref: str | None = None,
    repo_type: Literal["dataset", "model"] = "dataset",
) -> None:
    """One commit in huggingface_hub's cache layout: blobs named by git SHA-1 (LFS: SHA-256), symlinked snapshots."""
    root = cache / f"{repo_type}s--{repo.replace('/', '--')}"
    for name, data in files.items():
        blob_id = (
            hashlib.sha256(data).hexdigest()
            if name in lfs
            else hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
        )
        blob = root / "blobs" / blob_id
        blob.parent.mkdir(parents=True, exist_ok=True)
        blob.write_bytes(data)
        link = root / "snapshots" / commit / name
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(os.path.relpath(blob, link.parent))
    if ref is not None:
        write(root / "refs" / ref, commit)
