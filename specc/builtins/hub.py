"""The `hf` source: a Hugging Face Hub data set pinned to a commit, read through the Hub cache."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import Field, field_validator

from specc.components import Location, Source, SourceParams
from specc.errors import DataError
from specc.hub_repo import HubRepo, check_repo_id, check_revision

if TYPE_CHECKING:
    import datasets
    import pyarrow as pa

BATCH_ROWS = 65_536
# Files besides the data files that `datasets` reads from a data set's folder (configs, features).
METADATA_FILES = ("README.md", ".huggingface.yaml", "dataset_infos.json")


class HubParams(SourceParams):
    """A data set on the Hugging Face Hub at a branch, tag or commit; the lock pins the commit."""

    path: str = Field(description="The data set's repo id on the Hub, such as `dair-ai/emotion`.")
    config: str | None = Field(None, description="The config (subset) to read; default: the data set's default.")
    hub_split: str = Field(
        "train",
        description="The split of the Hub data set to read; `split` is the output "
        "split its rows belong to (for `split: {method: predefined}`).",
    )
    revision: str = Field("main", description="A branch, a tag or a 40-hex commit SHA; the lock pins it to a commit.")
    data_files: str | list[str] | None = Field(
        None,
        description="Glob(s) of files within the repo to read, for data sets without `configs:`; "
        "a plain list or string is split `train`.",
    )

    @field_validator("path")
    @classmethod
    def _repo_id(cls, value: str) -> str:
        return check_repo_id(value, "dair-ai/emotion")

    @field_validator("revision")
    @classmethod
    def _revision(cls, value: str) -> str:
        return check_revision(value)

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
    Params: ClassVar[type[SourceParams]] = HubParams
    params: HubParams

    _features: datasets.Features | None = None

    # --- errors ----------------------------------------------------------------------------------

    def error(self, message: str) -> DataError:
        """An error naming this source; raise what it returns."""
        return DataError(self.context.step_id, None, None, message)

    @cached_property
    def repo(self) -> HubRepo:
        """The data set's repository on the Hub at the requested revision."""
        return HubRepo(
            self.params.path,
            self.params.revision,
            "dataset",
            self.error,
            f"specc lock --upgrade-source {self.context.step_id}",
        )

    # --- pins ------------------------------------------------------------------------------------

    def pin(self, locked: Mapping[str, Any] | None) -> dict[str, Any]:
        """The commit `revision` names and the SHA-256 and size of each file read at it.

        `locked` is returned unchanged while it was made for the same repo, requested revision,
        config, split and data files. When only the config, split or data files changed, the locked
        commit is kept and its files are listed anew; otherwise `revision` is resolved again.
        """
        p = self.params
        locked = locked or {}
        commit = self.repo.pinned_commit(locked)
        if (
            commit is not None
            and isinstance(locked.get("files"), list)
            and locked.get("config") == p.config
            and locked.get("split") == p.hub_split
            and locked.get("data_files") == p.data_files
        ):
            return dict(locked)
        commit = commit or self.repo.resolve()
        folder = self.snapshot(commit)
        data, metadata = self.data_files(folder, commit)
        return {
            **self.repo.pins(commit, folder, set(data) | set(metadata)),
            "config": p.config,
            "split": p.hub_split,
            "data_files": p.data_files,
        }

    # --- the snapshot ----------------------------------------------------------------------------

    def snapshot(self, commit: str) -> Path:
        """The snapshot folder of `commit` (see HubRepo.snapshot), refused when it holds a loading script."""
        p = self.params
        folder = self.repo.snapshot(commit)
        script = folder / f"{p.path.rsplit('/', 1)[-1]}.py"
        if script.exists():
            raise self.error(
                f"{self.repo.shown(commit)} holds a loading script ({script.name}), and specc never runs "
                f"code from the Hub; pick a revision with plain data files, such as "
                f"`revision: refs/convert/parquet` when the Hub has converted it"
            )
        return folder

    @contextmanager
    def _datasets(self) -> Iterator[Path]:
        """`datasets` with a scratch cache folder (the step cache keeps the rows) and no progress bars."""
        import datasets

        from specc.cache import StepCache

        cache_dir = self.context.cache_dir
        scratch = StepCache(cache_dir).scratch() if cache_dir is not None else tempfile.TemporaryDirectory(prefix="hf-")
        shown = datasets.is_progress_bar_enabled()
        datasets.disable_progress_bars()
        try:
            with scratch as folder:
                yield Path(folder)
        finally:
            if shown:
                datasets.enable_progress_bars()

    def builder(self, folder: Path, commit: str, cache: Path) -> datasets.DatasetBuilder:
        """The `datasets` builder of the config at the snapshot (it reads the README's `configs:`)."""
        import datasets

        p = self.params
        try:
            return datasets.load_dataset_builder(
                str(folder), name=p.config, data_files=p.data_files, cache_dir=str(cache)
            )
        except (ValueError, FileNotFoundError, datasets.exceptions.DatasetsError) as exc:
            message = str(exc)
        try:
            configs = datasets.get_dataset_config_names(str(folder), data_files=p.data_files)
        except (ValueError, FileNotFoundError, datasets.exceptions.DatasetsError):
            configs = []
        if p.config is not None and configs and p.config not in configs:
            raise self.error(
                f"{self.repo.shown(commit)} has no config '{p.config}'; its configs are: "
                f"{', '.join(configs)}; set `config:` to one of them"
            )
        if p.config is None and len(configs) > 1 and "config name is missing" in message.lower():
            raise self.error(
                f"{self.repo.shown(commit)} has several configs and none is the default; "
                f"set `config:` to one of: {', '.join(configs)}"
            )
        if p.data_files is not None and ("unable to find" in message.lower() or "no (supported)" in message.lower()):
            raise self.error(
                f"`data_files` {p.data_files!r} matches no data file of {self.repo.shown(commit)} "
                f"({message}); give globs of files within the repo"
            )
        raise self.error(f"cannot load {self.repo.shown(commit)}: {message}")

    def data_files(self, folder: Path, commit: str) -> tuple[list[str], list[str]]:
        """The files of the split within the repo, in reading order, and the metadata files `datasets` reads."""
        with self._datasets() as cache:
            builder = self.builder(folder, commit, cache)
            return self.split_files(builder, folder, commit), [m for m in METADATA_FILES if (folder / m).is_file()]

    def split_files(self, builder: datasets.DatasetBuilder, folder: Path, commit: str) -> list[str]:
        """The files of `hub_split` in the builder's config, relative to the snapshot."""
        p = self.params
        splits = dict(builder.config.data_files or {})
        config = f" (config '{builder.config.name}')" if builder.config.name else ""
        if p.hub_split not in splits:
            raise self.error(
                f"{self.repo.shown(commit)}{config} has no split '{p.hub_split}'; its splits are: "
                f"{', '.join(map(str, splits)) or 'none'}; set `hub_split:` to one of them"
            )
        names = []
        for file in splits[p.hub_split]:
            name = str(file) if "://" in str(file) else Path(os.path.relpath(file, folder)).as_posix()
            if "://" in name or name.startswith("../"):
                raise self.error(
                    f"{self.repo.shown(commit)}{config} names a data file outside its repo ({file}); "
                    f"specc reads only the repo's own files: give `data_files:` within it"
                )
            names.append(name)
        if not names:
            raise self.error(f"split '{p.hub_split}' of {self.repo.shown(commit)}{config} has no data files")
        return names

    # --- reading ---------------------------------------------------------------------------------

    def read(self) -> Iterator[pa.RecordBatch]:
        """The split's rows at the pinned commit, after checking the pinned files' hashes."""
        import datasets

        pins = self.context.pins if self.context.pins.get("revision") else self.pin(None)
        commit = pins["revision"]
        folder = self.snapshot(commit)
        self.repo.verify(folder, pins)
        p = self.params
        with self._datasets() as cache:
            builder = self.builder(folder, commit, cache)
            files = self.split_files(builder, folder, commit)
            pinned = {f["path"] for f in pins.get("files", [])}
            if not set(files) <= pinned:
                raise self.error(
                    f"the lock's pins of {self.repo.shown(commit)} do not list the files of split "
                    f"'{p.hub_split}'; run `specc lock --upgrade-source {self.context.step_id}`"
                )
            try:
                # Only this split's files are read and prepared; the config's own features still apply.
                ds = datasets.load_dataset(
                    str(folder),
                    name=p.config,
                    split=p.hub_split,
                    data_files={p.hub_split: files},
                    features=builder.info.features,
                    cache_dir=str(cache),
                )
            except (ValueError, OSError, datasets.exceptions.DatasetsError) as exc:
                raise self.error(f"cannot read split '{p.hub_split}' of {self.repo.shown(commit)}: {exc}") from None
            self._features = ds.features
            for table in ds.with_format("arrow").iter(batch_size=BATCH_ROWS):
                # `datasets` keeps its features in the schema metadata; specc carries them by label_names()
                yield from table.replace_schema_metadata(None).to_batches()

    def locate(self, position: int) -> Location:
        """The data set at its commit and split, and the row's index in the split (the Hub has no lines)."""
        shown = self.repo.shown(self.context.pins.get("revision"))
        return Location(f"{shown}, split '{self.params.hub_split}'", row=position)

    def label_names(self) -> dict[str, list[str]]:
        """Names of the data set's ClassLabel columns and lists of ClassLabel (under their `columns:` names), then the
        spec's `labels:`."""
        names: dict[str, list[str]] = {}
        if self._features is not None:
            import datasets

            mapping = self.params.columns
            for column, found in self._features.items():
                feature = found.feature if isinstance(found, datasets.List) else found  # multi-label: a list of them
                if isinstance(feature, datasets.ClassLabel):
                    outputs = [out for out, src in mapping.items() if src == column] if mapping else [column]
                    for out in outputs:
                        names[out] = list(feature.names)
        return {**names, **super().label_names()}
