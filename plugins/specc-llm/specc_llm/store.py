"""The response store: every answer a language model gave, by the SHA-256 of its request, saved as it arrives.

One SQLite database per cache folder (`<cache>/llm/responses.sqlite3`), in WAL mode with a commit per answer:
a build killed at any point keeps every answer it had received, several worker processes may write at once, and
a reader never sees half an answer. Files per answer would do the same with one fsync'd rename each, but leave
tens of thousands of small files in the cache for a large generation.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Any

MAX_ANSWER_BYTES = 1 << 20  # an answer larger than this is a failed request, not a memory blow-up
FOLDER = "llm"
FILE = "responses.sqlite3"


def request_key(body: dict[str, Any]) -> str:
    """SHA-256 of a request body as canonical JSON (the body names the pinned model id and the per-row seed)."""
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


class ResponseStore:
    """Answers by request key, in a SQLite database opened on first use (so the store pickles to workers)."""

    def __init__(self, path: Path):
        self.path = path
        self._db: sqlite3.Connection | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {"path": self.path, "_db": None}

    @property
    def db(self) -> sqlite3.Connection:
        """The open database, created with its table when missing."""
        if self._db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=60, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")  # in WAL mode: durable across a killed process, one fsync less
            db.execute("CREATE TABLE IF NOT EXISTS answers (key TEXT PRIMARY KEY, answer TEXT NOT NULL)")
            self._db = db
        return self._db

    def get(self, key: str) -> dict[str, Any] | None:
        """The stored answer of request `key`, or None."""
        row = self.db.execute("SELECT answer FROM answers WHERE key = ?", (key,)).fetchone()
        return None if row is None else json.loads(row[0])

    def put(self, key: str, answer: dict[str, Any]) -> None:
        """Save one answer now (committed before this returns)."""
        self.db.execute(
            "INSERT OR REPLACE INTO answers (key, answer) VALUES (?, ?)",
            (key, json.dumps(answer, sort_keys=True, ensure_ascii=False)),
        )

    def close(self) -> None:
        """Close the database (it reopens on next use)."""
        if self._db is not None:
            self._db.close()
            self._db = None


def open_store(cache_dir: Path | None) -> ResponseStore | None:
    """The store of a build's cache folder, or None when the build has no cache."""
    return None if cache_dir is None else ResponseStore(cache_dir / FOLDER / FILE)
