"""The `hf` source: a Hugging Face Hub data set pinned to a commit, read through the Hub cache."""

from __future__ import annotations

import os
import re
import tempfile
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Iterator, Mapping

from pydantic import Field, field_validator

from specc.components import Source, SourceParams
from specc.errors import DataError
from specc.hookspecs import Register, hookimpl

if TYPE_CHECKING:
    import datasets
    import pyarrow as pa

BATCH_ROWS = 65_536
COMMIT = re.compile(r"[0-9a-f]{40}")
SHA256 = re.compile(r"[0-9a-f]{64}")
REPO_ID = re.compile(r"(?:[\w.-]+/)?[\w.-]{1,96}")
# Files besides the data files that `datasets` reads from a data set's folder (configs, features).
METADATA_FILES = ("README.md", ".huggingface.yaml", "dataset_infos.json")


class HubParams(SourceParams):
    """A data set on the Hugging Face Hub at a branch, tag or commit; the lock pins the commit."""

    path: str = Field(description="The data set's repo id on the Hub, such as `dair-ai/emotion`.")
    config: str | None = Field(None, description="The config (subset) to read; default: the data set's default.")
    hub_split: str = Field("train", description="The split of the Hub data set to read; `split` is the output "
                                                "split its rows belong to (for `split: {method: predefined}`).")
    revision: str = Field("main", description="A branch, a tag or a 40-hex commit SHA; the lock pins it to a commit.")
    data_files: str | list[str] | None = Field(
        None, description="Glob(s) of files within the repo to read, for data sets without `configs:`; "
                          "a plain list or string is split `train`.")

    @field_validator("path")
    @classmethod
    def _repo_id(cls, value: str) -> str:
        value = value.strip()
        if not REPO_ID.fullmatch(value) or "--" in value or ".." in value or value.endswith((".", "-")):
            raise ValueError(f"'{value}' is not a Hub repo id; write it as ORG/NAME, such as dair-ai/emotion")
        return value

    @field_validator("revision")
    @classmethod
    def _revision(cls, value: str) -> str:
        value = value.strip()
        if not value or re.search(r"\s", value):
            raise ValueError("give a branch, a tag or a 40-hex commit SHA, such as main")
        return value.lower() if COMMIT.fullmatch(value.lower()) else value

    @field_validator("data_files")
    @classmethod
    def _inside_repo(cls, value: str | list[str] | None) -> str | list[str] | None:
        for pattern in [value] if isinstance(value, str) else value or []:
            parts = PurePosixPath(pattern).parts
            if pattern.startswith("/") or "://" in pattern or ".." in parts or not parts:
                raise ValueError(f"'{pattern}' is not a path within the repo; write globs such as data/*.jsonl")
        return value


class HubSource(Source):
    """A Hugging Face Hub data set read with `datasets` at a pinned commit; never runs remote code."""

    name = "hf"
    version = 1
    Params = HubParams
    params: HubParams

    _features: "datasets.Features | None" = None

    # --- errors ----------------------------------------------------------------------------------

    def error(self, message: str) -> DataError:
        """An error naming this source; raise what it returns."""
        return DataError(self.context.step_id, None, None, message)

    def shown(self, commit: str | None = None) -> str:
        """The data set and the revision the spec asks for, with the commit it stands for."""
        requested = self.params.revision
        at = f" (commit {commit})" if commit and commit != requested else ""
        return f"data set '{self.params.path}' at revision '{requested}'{at}"

    def fetch_hint(self, revision: str) -> str:
        """How to put a revision of the data set in the Hub cache."""
        return (f"fetch it with `hf download --repo-type dataset {self.params.path} --revision {revision}` "
                f"(or build once online)")

    # --- pins ------------------------------------------------------------------------------------

    def pin(self, locked: Mapping[str, Any] | None) -> dict[str, Any]:
        """The commit `revision` names and the SHA-256 and size of each file read at it.

        `locked` is returned unchanged while it was made for the same repo, requested revision,
        config, split and data files. When only the config, split or data files changed, the locked
        commit is kept and its files are listed anew; otherwise `revision` is resolved again.
        """
        p = self.params
        locked = locked or {}
        commit = locked.get("revision")
        if not (locked.get("repo") == p.path and locked.get("requested") == p.revision
                and isinstance(commit, str) and COMMIT.fullmatch(commit)):
            commit = None
        elif (isinstance(locked.get("files"), list) and locked.get("config") == p.config
              and locked.get("split") == p.hub_split and locked.get("data_files") == p.data_files):
            return dict(locked)
        commit = commit or self.resolve()
        folder = self.snapshot(commit)
        data, metadata = self.data_files(folder, commit)
        files = [self.file_pin(folder, name) for name in sorted(set(data) | set(metadata))]
        return {"repo": p.path, "requested": p.revision, "revision": commit, "config": p.config,
                "split": p.hub_split, "data_files": p.data_files, "files": files}

    def resolve(self) -> str:
        """The commit SHA `revision` names: asked of the Hub, or read from the cache when offline."""
        from huggingface_hub import HfApi, constants
        from huggingface_hub.errors import GatedRepoError, HfHubHTTPError, RepositoryNotFoundError, \
            RevisionNotFoundError

        p = self.params
        if constants.HF_HUB_OFFLINE:
            why = "is offline (HF_HUB_OFFLINE is set)"
        else:
            try:
                sha = HfApi().dataset_info(p.path, revision=p.revision).sha
                if sha:
                    return sha
                why = "gave no commit for it"
            except RevisionNotFoundError:
                raise self.error(f"{self.shown()}: the data set has no such revision; give a branch, a tag or a "
                                 f"40-hex commit SHA that exists on https://huggingface.co/datasets/{p.path}") from None
            except (RepositoryNotFoundError, GatedRepoError) as exc:
                cached = self.cached_commit(p.revision)
                if cached is not None:
                    return cached
                kind = "is gated" if isinstance(exc, GatedRepoError) else "was not found (or is private)"
                raise self.error(f"data set '{p.path}' {kind} on the Hugging Face Hub; check `path`, and for a "
                                 f"private or gated data set log in with `hf auth login` and accept its terms "
                                 f"on the Hub") from None
            except _connection_errors() + (HfHubHTTPError,) as exc:
                why = f"cannot be reached ({type(exc).__name__}: {exc})"
        cached = self.cached_commit(p.revision)
        if cached is None:
            raise self.error(f"{self.shown()} is not in the Hugging Face cache ({constants.HF_HUB_CACHE}) and "
                             f"the Hub {why}; {self.fetch_hint(p.revision)}")
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
        """The data set's folder in the Hub cache."""
        from huggingface_hub import constants

        return Path(constants.HF_HUB_CACHE) / ("datasets--" + self.params.path.replace("/", "--"))

    def file_pin(self, folder: Path, name: str) -> dict[str, Any]:
        """SHA-256 and size of one file of the snapshot (an LFS blob's cache name is its SHA-256)."""
        from specc.pins import sha256_file

        path = folder / name
        target = path.resolve()
        digest = target.name if target.parent.name == "blobs" and SHA256.fullmatch(target.name) else None
        return {"path": name, "sha256": digest or sha256_file(path), "size": path.stat().st_size}

    # --- the snapshot ----------------------------------------------------------------------------

    def snapshot(self, commit: str) -> Path:
        """The snapshot folder of `commit`: from the Hub cache, downloaded first when online."""
        from huggingface_hub import constants, snapshot_download
        from huggingface_hub.errors import GatedRepoError, HfHubHTTPError, LocalEntryNotFoundError, \
            RepositoryNotFoundError, RevisionNotFoundError

        p = self.params
        try:
            folder = Path(snapshot_download(repo_id=p.path, repo_type="dataset", revision=commit)).resolve()
        except LocalEntryNotFoundError as exc:  # also an incomplete cached snapshot
            why = "is offline (HF_HUB_OFFLINE is set)" if constants.HF_HUB_OFFLINE else "cannot be reached"
            detail = f" ({exc})" if "incomplete" in str(exc) else ""
            raise self.error(f"{self.shown(commit)} is not fully in the Hugging Face cache "
                             f"({constants.HF_HUB_CACHE}){detail} and the Hub {why}; {self.fetch_hint(commit)}") from None
        except RevisionNotFoundError:
            raise self.error(f"{self.shown(commit)}: the data set has no such commit (was its history rewritten?); "
                             f"pin another revision, e.g. with `specc lock --upgrade-source {self.context.step_id}`") \
                from None
        except (RepositoryNotFoundError, GatedRepoError):
            raise self.error(f"data set '{p.path}' was not found, or is private or gated, on the Hugging Face Hub; "
                             f"check `path`, or log in with `hf auth login`") from None
        except _connection_errors() + (HfHubHTTPError,) as exc:
            raise self.error(f"cannot download {self.shown(commit)}: {exc}; try again, or "
                             f"{self.fetch_hint(commit)}") from None
        script = folder / f"{p.path.rsplit('/', 1)[-1]}.py"
        if script.exists():
            raise self.error(f"{self.shown(commit)} holds a loading script ({script.name}), and specc never runs "
                             f"code from the Hub; pick a revision with plain data files, such as "
                             f"`revision: refs/convert/parquet` when the Hub has converted it")
        return folder

    @contextmanager
    def _datasets(self) -> Iterator[Path]:
        """`datasets` with a scratch cache folder (the step cache keeps the rows) and no progress bars."""
        import datasets

        base = None
        if self.context.cache_dir is not None:
            base = Path(self.context.cache_dir) / "tmp"
            base.mkdir(parents=True, exist_ok=True)
        shown = datasets.is_progress_bar_enabled()
        datasets.disable_progress_bars()
        try:
            with tempfile.TemporaryDirectory(prefix="hf-", dir=base) as scratch:
                yield Path(scratch)
        finally:
            if shown:
                datasets.enable_progress_bars()

    def builder(self, folder: Path, commit: str, cache: Path) -> "datasets.DatasetBuilder":
        """The `datasets` builder of the config at the snapshot (it reads the README's `configs:`)."""
        import datasets

        p = self.params
        try:
            return datasets.load_dataset_builder(str(folder), name=p.config, data_files=p.data_files,
                                                 cache_dir=str(cache))
        except (ValueError, FileNotFoundError, datasets.exceptions.DatasetsError) as exc:
            message = str(exc)
        try:
            configs = datasets.get_dataset_config_names(str(folder), data_files=p.data_files)
        except (ValueError, FileNotFoundError, datasets.exceptions.DatasetsError):
            configs = []
        if p.config is not None and configs and p.config not in configs:
            raise self.error(f"{self.shown(commit)} has no config '{p.config}'; its configs are: "
                             f"{', '.join(configs)}; set `config:` to one of them")
        if p.config is None and len(configs) > 1 and "config name is missing" in message.lower():
            raise self.error(f"{self.shown(commit)} has several configs and none is the default; "
                             f"set `config:` to one of: {', '.join(configs)}")
        if p.data_files is not None and ("unable to find" in message.lower() or "no (supported)" in message.lower()):
            raise self.error(f"`data_files` {p.data_files!r} matches no data file of {self.shown(commit)} "
                             f"({message}); give globs of files within the repo")
        raise self.error(f"cannot load {self.shown(commit)}: {message}")

    def data_files(self, folder: Path, commit: str) -> tuple[list[str], list[str]]:
        """The files of the split within the repo, in reading order, and the metadata files `datasets` reads."""
        with self._datasets() as cache:
            builder = self.builder(folder, commit, cache)
            return self.split_files(builder, folder, commit), [m for m in METADATA_FILES if (folder / m).is_file()]

    def split_files(self, builder: "datasets.DatasetBuilder", folder: Path, commit: str) -> list[str]:
        """The files of `hub_split` in the builder's config, relative to the snapshot."""
        p = self.params
        splits = dict(builder.config.data_files or {})
        config = f" (config '{builder.config.name}')" if builder.config.name else ""
        if p.hub_split not in splits:
            raise self.error(f"{self.shown(commit)}{config} has no split '{p.hub_split}'; its splits are: "
                             f"{', '.join(map(str, splits)) or 'none'}; set `hub_split:` to one of them")
        names = []
        for file in splits[p.hub_split]:
            name = str(file) if "://" in str(file) else Path(os.path.relpath(file, folder)).as_posix()
            if "://" in name or name.startswith("../"):
                raise self.error(f"{self.shown(commit)}{config} names a data file outside its repo ({file}); "
                                 f"specc reads only the repo's own files: give `data_files:` within it")
            names.append(name)
        if not names:
            raise self.error(f"split '{p.hub_split}' of {self.shown(commit)}{config} has no data files")
        return names

    # --- reading ---------------------------------------------------------------------------------

    def verify(self, folder: Path, files: list[Mapping[str, Any]], commit: str) -> None:
        """Fail unless every pinned file of the snapshot has the pinned SHA-256 and size."""
        from specc.pins import sha256_file

        for entry in files:
            path = folder / entry["path"]
            if not path.is_file():
                raise self.error(f"file '{entry['path']}' of {self.shown(commit)} is pinned by the lock but not "
                                 f"in the snapshot; {self.fetch_hint(commit)}")
            size, digest = path.stat().st_size, sha256_file(path)
            if (digest, size) != (entry.get("sha256"), entry.get("size")):
                raise self.error(f"file '{entry['path']}' of {self.shown(commit)} has SHA-256 {digest[:12]} "
                                 f"({size} bytes) but the lock pins {str(entry.get('sha256'))[:12]} "
                                 f"({entry.get('size')} bytes); the cached copy ({path.resolve()}) is damaged or "
                                 f"the lock was edited: fetch the file again with `hf download --repo-type dataset "
                                 f"{self.params.path} {entry['path']} --revision {commit} --force-download`, "
                                 f"or fix the lock")

    def read(self) -> Iterator["pa.RecordBatch"]:
        """The split's rows at the pinned commit, after checking the pinned files' hashes."""
        import datasets

        pins = self.context.pins if self.context.pins.get("revision") else self.pin(None)
        commit = pins["revision"]
        folder = self.snapshot(commit)
        self.verify(folder, list(pins.get("files", [])), commit)
        p = self.params
        with self._datasets() as cache:
            builder = self.builder(folder, commit, cache)
            files = self.split_files(builder, folder, commit)
            pinned = {f["path"] for f in pins.get("files", [])}
            if not set(files) <= pinned:
                raise self.error(f"the lock's pins of {self.shown(commit)} do not list the files of split "
                                 f"'{p.hub_split}'; run `specc lock --upgrade-source {self.context.step_id}`")
            try:
                # Only this split's files are read and prepared; the config's own features still apply.
                ds = datasets.load_dataset(str(folder), name=p.config, split=p.hub_split,
                                           data_files={p.hub_split: files}, features=builder.info.features,
                                           cache_dir=str(cache))
            except (ValueError, OSError, datasets.exceptions.DatasetsError) as exc:
                raise self.error(f"cannot read split '{p.hub_split}' of {self.shown(commit)}: {exc}") from None
            self._features = ds.features
            for table in ds.with_format("arrow").iter(batch_size=BATCH_ROWS):
                # `datasets` keeps its features in the schema metadata; specc carries them by label_names()
                yield from table.replace_schema_metadata(None).to_batches()

    def label_names(self) -> dict[str, list[str]]:
        """Names of the data set's ClassLabel columns (under their `columns:` names), then the spec's `labels:`."""
        names: dict[str, list[str]] = {}
        if self._features is not None:
            import datasets

            mapping = self.params.columns
            for column, feature in self._features.items():
                if isinstance(feature, datasets.ClassLabel):
                    outputs = [out for out, src in mapping.items() if src == column] if mapping else [column]
                    for out in outputs:
                        names[out] = list(feature.names)
        return {**names, **super().label_names()}


def _connection_errors() -> tuple[type[BaseException], ...]:
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


@hookimpl
def register_sources(register: Register) -> None:
    """Register the hf source."""
    register(HubSource)
