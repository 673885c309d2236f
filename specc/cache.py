"""The step cache: stage outputs stored by content-addressed keys, written atomically, verified on read.

A cache folder is specc's when it holds specc's CACHEDIR.TAG (https://bford.info/cachedir/), written
when specc first makes it; specc writes or deletes nothing in a folder without that tag, and deletes
only names it writes itself. What is being written goes to a scratch folder tmp/build-<id>/ first;
its writer holds a lock on tmp/build-<id>.lock for as long as it uses the folder (the system lets go
when the process dies, however it dies). A scratch folder whose lock is free belongs to a build that
stopped: the next build reclaims it, and so does `specc cache gc`.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from specc.atomic import replace_text
from specc.compiler import fingerprint
from specc.errors import SpeccError
from specc.pins import xxh3_file

DATA_FILE = "data.arrow"
META_FILE = "meta.json"
DIGEST = "xxh3_128"  # the key of a stage file's digest in cache entries, build results and the lock
META_CHECK = "meta_xxh3_128"  # a meta file's digest of its other keys, in the order written
PART = "+"  # index/<fingerprint>+<part>: an entry that belongs to the step with that fingerprint
TAG = "CACHEDIR.TAG"
SIGNATURE = "Signature: 8a477f597d28d172789f06886806bc55"
OWNER = "# This file is a cache directory tag created by specc"  # tells specc's tag from other programs'
TAG_TEXT = f"{SIGNATURE}\n{OWNER}.\n# specc deletes only what it wrote here. See https://bford.info/cachedir/\n"
PARTS = ("steps", "index", "tmp", "downloads")
BUILDS_LOCK = "builds.lock"  # running builds hold it shared; `cache gc` takes it alone
KEY = re.compile(r"[0-9a-f]{64}")
INDEX_NAME = re.compile(rf"[0-9a-f]{{64}}(\{PART}\w+)?")
SCRATCH_LOCK = re.compile(r"build-[0-9a-f]{32}\.lock")
TRASH = re.compile(r"\.trash-[0-9a-f]{32}")  # a stopped build's scratch folder being removed


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


def _meta_check(meta: dict[str, Any]) -> str:
    import xxhash

    return xxhash.xxh3_128_hexdigest(json.dumps(meta).encode())


def _damage(folder: Path) -> tuple[dict[str, Any], str | None]:
    """An entry folder's meta (without its check) and what is wrong with the entry, None when it is intact."""
    try:
        meta = json.loads((folder / META_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return {}, f"{META_FILE} cannot be read ({exc})"
    check = meta.pop(META_CHECK, None) if isinstance(meta, dict) else None
    if check is None or check != _meta_check(meta):
        return {}, f"{META_FILE} does not match its checksum"
    try:
        intact = xxh3_file(folder / DATA_FILE) == meta.get(DIGEST)
    except OSError as exc:
        return meta, f"{DATA_FILE} cannot be read ({exc.strerror})"
    return meta, None if intact else f"{DATA_FILE} does not match its digest (truncated or changed)"


def _size(folder: Path) -> int:
    return sum(p.lstat().st_size for p in folder.rglob("*") if p.is_file())


def _tagged(root: Path) -> bool:
    """Whether `root` holds the cache directory tag specc writes."""
    try:
        lines = (root / TAG).read_text(encoding="utf-8").splitlines()
    except (OSError, ValueError):
        return False
    return lines[:1] == [SIGNATURE] and any(line.startswith(OWNER) for line in lines)


def _made_by_older_specc(root: Path) -> bool:
    """Whether an untagged folder is laid out as specc's caches were before the tag: only its parts, with
    entries, index files and scratch folders named as specc names them (so it is adopted, not refused)."""
    top = [p for p in root.iterdir() if p.name != BUILDS_LOCK]
    if not top or any(p.name not in PARTS or p.is_symlink() or not p.is_dir() for p in top):
        return False
    steps, index, tmp = root / "steps", root / "index", root / "tmp"
    prefixes = list(steps.iterdir()) if steps.is_dir() else []
    if any(not re.fullmatch("[0-9a-f]{2}", p.name) or p.is_symlink() or not p.is_dir() for p in prefixes):
        return False
    return (
        all(KEY.fullmatch(e.name) for prefix in prefixes for e in prefix.iterdir())
        and all(INDEX_NAME.fullmatch(i.name) for i in (index.iterdir() if index.is_dir() else []))
        and all(re.fullmatch("[0-9a-f]{32}", t.name) for t in (tmp.iterdir() if tmp.is_dir() else []))
    )


def _not_specc(root: Path) -> SpeccError:
    return SpeccError(
        f"error: {root} is not a specc cache: it holds files but no {TAG} written by specc, so "
        f"specc neither writes nor deletes anything in it; pass another --cache-dir (a new or empty "
        f"folder)"
    )


@contextmanager
def _stopped(lock: Path) -> Iterator[bool]:
    """Whether the build that held a scratch lock file stopped; while it says so, this process holds the lock."""
    try:
        fd = os.open(lock, os.O_RDWR)
    except OSError:  # gone: reclaimed or released meanwhile
        yield False
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        stopped = True
    except BlockingIOError:
        stopped = False
    try:
        yield stopped
    finally:
        os.close(fd)


def _reclaim(tmp: Path) -> tuple[int, int]:
    """Remove the scratch folders of builds that stopped; how many, and their bytes. Running builds' stay."""
    count = freed = 0
    for lock in sorted(tmp.iterdir()) if tmp.is_dir() else []:
        if not SCRATCH_LOCK.fullmatch(lock.name):
            continue
        with _stopped(lock) as stopped:
            if not stopped:
                continue
            folder, trash = lock.with_suffix(""), tmp / f".trash-{uuid.uuid4().hex}"
            try:  # out of the scratch names at once: a removal cut short leaves trash, which anyone may remove
                if folder.is_dir() and not folder.is_symlink():
                    os.rename(folder, trash)
                    freed += _size(trash)
                    count += 1
            except FileNotFoundError:  # reclaimed by another build meanwhile
                pass
            lock.unlink(missing_ok=True)
    for trash in tmp.iterdir() if tmp.is_dir() else []:
        if TRASH.fullmatch(trash.name) and trash.is_dir() and not trash.is_symlink():
            shutil.rmtree(trash, ignore_errors=True)
    return count, freed


class StepCache:
    """A cache folder: steps/<key>/, index/<fingerprint>[+<part>] -> key, downloads/, tmp/build-<id>/."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.repaired: dict[str, str] = {}  # key -> what was wrong with the damaged entry removed
        self._ready = False

    def _dir(self, key: str) -> Path:
        return self.root / "steps" / key[:2] / key

    def _open(self, create: bool) -> bool:
        """Whether the cache exists and is specc's (when `create`: made and tagged first, stopped builds' scratch
        folders reclaimed). An error when the folder is someone else's or one of its parts is not a folder."""
        root = self.root
        if create and self._ready:
            return True
        if create:
            try:
                root.mkdir(parents=True, exist_ok=True)
            except FileExistsError:  # a file: said below
                pass
            except OSError as exc:
                raise SpeccError(
                    f"error: cannot use {root} as the cache ({exc.strerror}); remove what is in the "
                    f"way, or pass another --cache-dir"
                ) from None
        elif not root.exists():
            return False
        if not root.is_dir():
            raise SpeccError(f"error: the cache {root} is not a folder; remove it, or pass another --cache-dir")
        if not _tagged(root):
            foreign = any(not p.name.startswith((TAG, f".{TAG}.")) for p in root.iterdir())
            if foreign and not _made_by_older_specc(root):
                raise _not_specc(root)
            if not create and not foreign:
                return False
            replace_text(root / TAG, TAG_TEXT)
        for part in PARTS:
            path = root / part
            if path.is_symlink() or (path.exists() and not path.is_dir()):
                raise SpeccError(
                    f"error: {path} is not a folder (a file or a link), so specc cannot use the cache "
                    f"{root}; remove {path} (specc makes it again), or pass another --cache-dir"
                )
        if create:
            _reclaim(root / "tmp")
            self._ready = True
        return True

    @contextmanager
    def in_use(self) -> Iterator[None]:
        """Hold the cache for a build: `cache gc` refuses to run meanwhile (other builds share it)."""
        self._open(create=True)
        with self._builds_lock(exclusive=False):
            yield

    @contextmanager
    def _builds_lock(self, exclusive: bool) -> Iterator[None]:
        path = self.root / BUILDS_LOCK
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB if exclusive else fcntl.LOCK_SH)
            except BlockingIOError:
                raise SpeccError(
                    f"{path}: error: a build is using the cache {self.root}; run `specc cache gc` "
                    f"again when it has finished"
                ) from None
            yield
        finally:
            os.close(fd)

    @contextmanager
    def scratch(self) -> Iterator[Path]:
        """A new empty folder for an entry being written (same file system as the entries), locked as this build's.

        Removed on leaving, unless it was moved into the cache.
        """
        self._open(create=True)
        tmp = self.root / "tmp"
        tmp.mkdir(exist_ok=True)
        folder = tmp / f"build-{uuid.uuid4().hex}"
        lock = folder.with_suffix(".lock")
        staging = tmp / f".{lock.name}.new"  # not a lock name yet: no build can take it before this one holds it
        fd = os.open(staging, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            os.rename(staging, lock)
            folder.mkdir()
            yield folder
        finally:
            shutil.rmtree(folder, ignore_errors=True)
            lock.unlink(missing_ok=True)
            staging.unlink(missing_ok=True)
            os.close(fd)

    def get(self, key: str) -> Entry | None:
        """The entry for `key` if present and intact; a damaged one is removed, and `repaired` says why."""
        self._open(create=True)
        folder = self._dir(key)
        if not folder.is_dir():
            return None
        meta, damage = _damage(folder)
        if damage is None:
            return Entry(key, folder / DATA_FILE, meta)
        self.repaired[key] = f"{folder}: {damage}"
        shutil.rmtree(folder, ignore_errors=True)
        return None

    def put(self, key: str, scratch: Path, meta: dict[str, Any], fingerprints: Iterable[str]) -> Entry:
        """Move a finished scratch folder (holding data.arrow) into place under `key`."""
        meta = {**meta, DIGEST: xxh3_file(scratch / DATA_FILE)}
        written = {**meta, META_CHECK: _meta_check(meta)}  # key order is data (split order): keep it
        (scratch / META_FILE).write_text(json.dumps(written), encoding="utf-8")
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
        self._open(create=True)
        index = self.root / "index" / fp
        index.parent.mkdir(parents=True, exist_ok=True)
        replace_text(index, key)

    def _indexed(self, path: Path) -> str | None:
        """The key an index file names; None when it is unreadable or not a key."""
        try:
            key = path.read_text(encoding="utf-8").strip()
        except (OSError, ValueError):
            return None
        return key if KEY.fullmatch(key) else None

    def attach(self, key: str, part: str, owners: Iterable[str]) -> None:
        """Index entry `key` as `part` of each owner (a step fingerprint): gc keeps it while it keeps an owner."""
        for fp in owners:
            self._index(f"{fp}{PART}{part}", key)

    def has(self, fp: str) -> bool:
        """Whether the output of the step with fingerprint `fp` is cached."""
        key = self._indexed(self.root / "index" / fp)
        return key is not None and (self._dir(key) / META_FILE).is_file()

    def _entries(self) -> list[Path]:
        """The entry folders under steps/ (by their names: specc's)."""
        steps = self.root / "steps"
        prefixes = [p for p in steps.iterdir() if re.fullmatch("[0-9a-f]{2}", p.name)] if steps.is_dir() else []
        return [
            folder
            for prefix in prefixes
            if prefix.is_dir() and not prefix.is_symlink()
            for folder in prefix.iterdir()
            if KEY.fullmatch(folder.name)
            and folder.name[:2] == prefix.name
            and folder.is_dir()
            and not folder.is_symlink()
        ]

    def _blobs(self) -> list[Path]:
        """The downloaded files under downloads/sha256/ (by their names: specc's)."""
        blobs = self.root / "downloads" / "sha256"
        return [p for p in blobs.iterdir() if KEY.fullmatch(p.name) and p.is_file()] if blobs.is_dir() else []

    def info(self) -> dict[str, Any]:
        """Entry count and bytes per part of the cache; scratch folders also say how many builds still use."""
        if not self._open(create=False):
            empty = {"entries": 0, "bytes": 0}
            return {"path": str(self.root), "steps": empty, "downloads": empty, "scratch": {**empty, "running": 0}}
        entries, blobs = self._entries(), self._blobs()
        tmp = self.root / "tmp"
        scratch = {"entries": 0, "bytes": 0, "running": 0}
        for lock in sorted(tmp.iterdir()) if tmp.is_dir() else []:
            if SCRATCH_LOCK.fullmatch(lock.name):
                with _stopped(lock) as stopped:
                    scratch["running"] += not stopped
                folder = lock.with_suffix("")
                scratch["entries"] += 1
                scratch["bytes"] += _size(folder) if folder.is_dir() and not folder.is_symlink() else 0
        return {
            "path": str(self.root),
            "steps": {"entries": len(entries), "bytes": sum(map(_size, entries))},
            "downloads": {"entries": len(blobs), "bytes": sum(p.stat().st_size for p in blobs)},
            "scratch": scratch,
        }

    def gc(self, fingerprints: set[str], downloads: set[str]) -> dict[str, int]:
        """Remove entries no kept fingerprint reaches (as output or attached part), downloads no kept SHA-256
        names, and the scratch folders of builds that stopped."""
        removed = {"steps": 0, "downloads": 0, "scratch": 0, "bytes": 0}
        if not self._open(create=False):
            return removed
        with self._builds_lock(exclusive=True):
            self._collect(fingerprints, downloads, removed)
        return removed

    def _collect(self, fingerprints: set[str], downloads: set[str], removed: dict[str, int]) -> None:
        keep: set[str] = set()
        index = self.root / "index"
        for path in sorted(index.iterdir()) if index.is_dir() else []:
            if not INDEX_NAME.fullmatch(path.name) or not path.is_file():
                continue
            key = self._indexed(path)
            if key is not None and path.name.partition(PART)[0] in fingerprints:
                keep.add(key)
            else:
                path.unlink(missing_ok=True)
        for folder in self._entries():
            if folder.name not in keep:
                removed["bytes"] += _size(folder)
                shutil.rmtree(folder, ignore_errors=True)
                removed["steps"] += 1
        for blob in self._blobs():
            if blob.name not in downloads:
                removed["bytes"] += blob.stat().st_size
                blob.unlink()
                removed["downloads"] += 1
        removed["scratch"], freed = _reclaim(self.root / "tmp")
        removed["bytes"] += freed
