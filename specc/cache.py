"""The step cache: stage outputs stored by content-addressed keys, written atomically, verified on read."""

from __future__ import annotations

import json
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from specc.atomic import replace_text
from specc.compiler import fingerprint
from specc.pins import xxh3_file

DATA_FILE = "data.arrow"
META_FILE = "meta.json"
DIGEST = "xxh3_128"  # the key of a stage file's digest in cache entries, build results and the lock
PART = "+"  # index/<fingerprint>+<part>: an entry that belongs to the step with that fingerprint


@dataclass(frozen=True)
class Entry:
    """One cached stage output: its Arrow file and what the executor recorded with it."""

    key: str
    data: Path
    meta: dict[str, Any]

    @property
    def digest(self) -> str:
        """XXH3-128 of the data file (a cache the build itself writes needs no cryptographic hash)."""
        return self.meta[DIGEST]


def run_key(records: list[dict[str, Any]], input_digest: str) -> str:
    """The key of running steps on an input: what they are (not their upstream) and the input's bytes.

    Keyed on the input's digest rather than the upstream fingerprints, a step whose upstream
    rebuilt to identical bytes finds its earlier output (early cutoff).
    """
    own = [{k: v for k, v in r.items() if k != "upstream"} for r in records]
    return fingerprint({"steps": own, "input": input_digest})


class StepCache:
    """A cache folder: steps/<key>/, index/<fingerprint>[+<part>] -> key, downloads/, tmp/."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def _dir(self, key: str) -> Path:
        return self.root / "steps" / key[:2] / key

    def scratch(self) -> Path:
        """A new empty folder for an entry being written (same file system as the entries)."""
        path = self.root / "tmp" / uuid.uuid4().hex
        path.mkdir(parents=True)
        return path

    def get(self, key: str) -> Entry | None:
        """The entry for `key` if present and intact; a corrupt entry is removed."""
        folder = self._dir(key)
        try:
            meta = json.loads((folder / META_FILE).read_text(encoding="utf-8"))
            intact = xxh3_file(folder / DATA_FILE) == meta[DIGEST]
        except (OSError, ValueError, KeyError):
            intact, meta = False, {}
        if not intact:
            if folder.exists():
                shutil.rmtree(folder, ignore_errors=True)
            return None
        return Entry(key, folder / DATA_FILE, meta)

    def put(self, key: str, scratch: Path, meta: dict[str, Any], fingerprints: Iterable[str]) -> Entry:
        """Move a finished scratch folder (holding data.arrow) into place under `key`."""
        meta = {**meta, DIGEST: xxh3_file(scratch / DATA_FILE)}
        (scratch / META_FILE).write_text(json.dumps(meta), encoding="utf-8")  # key order is data (split order)
        folder = self._dir(key)
        folder.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.rename(scratch, folder)
        except OSError:  # written meanwhile by another build: keep that one
            shutil.rmtree(scratch, ignore_errors=True)
            existing = self.get(key)
            if existing is None:
                raise
            meta = existing.meta
        for fp in fingerprints:
            self._index(fp, key)
        return Entry(key, folder / DATA_FILE, meta)

    def _index(self, fp: str, key: str) -> None:
        index = self.root / "index" / fp
        index.parent.mkdir(parents=True, exist_ok=True)
        replace_text(index, key)

    def attach(self, key: str, part: str, owners: Iterable[str]) -> None:
        """Index entry `key` as `part` of each owner (a step fingerprint): gc keeps it while it keeps an owner."""
        for fp in owners:
            self._index(f"{fp}{PART}{part}", key)

    def has(self, fp: str) -> bool:
        """Whether the output of the step with fingerprint `fp` is cached."""
        try:
            key = (self.root / "index" / fp).read_text(encoding="utf-8").strip()
        except OSError:
            return False
        return (self._dir(key) / META_FILE).exists()

    def info(self) -> dict[str, Any]:
        """Entry count and bytes per part of the cache."""
        parts = {}
        for part in ("steps", "downloads"):
            files = [p for p in (self.root / part).rglob("*") if p.is_file()] if (self.root / part).exists() else []
            entries = ({p.parent for p in files if p.name == META_FILE} if part == "steps"
                       else {p for p in files if p.parent.name == "sha256"})
            parts[part] = {"entries": len(entries), "bytes": sum(p.stat().st_size for p in files)}
        return {"path": str(self.root), **parts}

    def gc(self, fingerprints: set[str], downloads: set[str]) -> dict[str, int]:
        """Remove entries no kept fingerprint reaches (as output or attached part), downloads no kept SHA-256 names."""
        keep: set[str] = set()
        index = self.root / "index"
        for path in list(index.iterdir()) if index.exists() else []:
            if path.name.partition(PART)[0] in fingerprints:
                keep.add(path.read_text(encoding="utf-8").strip())
            else:
                path.unlink(missing_ok=True)
        removed = {"steps": 0, "downloads": 0, "bytes": 0}
        steps = self.root / "steps"
        for folder in steps.glob("*/*") if steps.exists() else []:
            if folder.name not in keep:
                removed["bytes"] += sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
                shutil.rmtree(folder, ignore_errors=True)
                removed["steps"] += 1
        blobs = self.root / "downloads" / "sha256"
        for blob in blobs.iterdir() if blobs.exists() else []:
            if blob.name not in downloads:
                removed["bytes"] += blob.stat().st_size
                blob.unlink()
                removed["downloads"] += 1
        shutil.rmtree(self.root / "tmp", ignore_errors=True)
        return removed
