"""Writing a small file so that readers see the old or the new one, never half of one."""

from __future__ import annotations

import os
import uuid
from pathlib import Path


def replace_text(path: Path, text: str, newline: str | None = None) -> None:
    """Write `text` to a temporary file beside `path`, then rename it over `path` (atomic on one file system)."""
    scratch = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    try:
        scratch.write_text(text, encoding="utf-8", newline=newline)
        os.replace(scratch, path)
    finally:
        scratch.unlink(missing_ok=True)
