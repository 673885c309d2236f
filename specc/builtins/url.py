"""The `url` source: a file downloaded over HTTP(S), pinned by SHA-256 and kept in the cache."""

from __future__ import annotations

import difflib
import hashlib
import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, ClassVar, Literal
from urllib.parse import unquote, urlsplit

from pydantic import Field, ValidationError, ValidationInfo, field_validator

from specc.builtins.sources import CsvSource, FileParams, JsonlSource, JsonSource, ParquetSource, TsvSource, _PathSource
from specc.components import Location, Source, SourceParams
from specc.errors import DataError

if TYPE_CHECKING:
    import pyarrow as pa

Format = Literal["jsonl", "json", "csv", "tsv", "parquet"]
READERS: dict[str, type[_PathSource]] = {
    "jsonl": JsonlSource,
    "json": JsonSource,
    "csv": CsvSource,
    "tsv": TsvSource,
    "parquet": ParquetSource,
}
EXTENSIONS = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".csv": "csv",
    ".tsv": "tsv",
    ".parquet": "parquet",
    ".pq": "parquet",
}
COMPRESSED = (".gz", ".bz2", ".xz", ".zst", ".zip", ".tgz", ".7z")
SHA256 = re.compile(r"[0-9a-f]{64}")
TIMEOUT = 60.0  # seconds without a byte before a download gives up
BLOCK = 1 << 20
GZIP_MAGIC = b"\x1f\x8b"


def infer_format(url: str) -> str | None:
    """The reader for a URL, from the extension of its path (None when it does not say)."""
    return EXTENSIONS.get(PurePosixPath(unquote(urlsplit(url).path)).suffix.lower())


class UrlParams(SourceParams):
    """A file downloaded over HTTP(S), pinned by its SHA-256 (in the spec or in the lock)."""

    url: str = Field(
        description="An http:// or https:// URL of one file.",
        json_schema_extra={"pattern": "^[Hh][Tt][Tt][Pp][Ss]?://"},
    )
    sha256: str | None = Field(
        None,
        description="The file's SHA-256 (64 hex digits); default: pinned by the lock.",
        json_schema_extra={"pattern": "^(sha256:)?[0-9A-Fa-f]{64}$"},
    )
    format: Format | None = Field(
        None, validate_default=True, description="How to read the file; default: from the URL's extension."
    )
    read_options: dict[str, Any] = Field(
        default_factory=dict, description="Options of the format's reader, such as `delimiter` for csv."
    )

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        value = value.strip()
        parts = urlsplit(value)
        if parts.scheme.lower() not in ("http", "https"):
            got = f"scheme '{parts.scheme}'" if parts.scheme else "no scheme"
            raise ValueError(f"only http:// and https:// URLs can be downloaded; '{value}' has {got}")
        if not parts.hostname:
            raise ValueError(f"'{value}' names no host; write a full URL such as https://example.org/data.jsonl")
        if re.search(r"\s", value):
            raise ValueError(f"'{value}' contains white space; percent-encode it (a space is %20)")
        return value

    @field_validator("sha256", mode="before")
    @classmethod
    def _quoted_digest(cls, value: Any) -> Any:
        if value is not None and not isinstance(value, str):
            raise ValueError(
                "expected the file's SHA-256 as 64 hexadecimal digits; YAML reads some digests "
                "as numbers, so quote it: `sha256: '...'`"
            )
        return value

    @field_validator("sha256")
    @classmethod
    def _hex_digest(cls, value: str | None) -> str | None:
        if value is None:
            return None
        digest = value.strip().lower().removeprefix("sha256:")
        if not SHA256.fullmatch(digest):
            raise ValueError(f"expected the file's SHA-256 as 64 hexadecimal digits, got '{value}'")
        return digest

    @field_validator("format")
    @classmethod
    def _known_format(cls, value: str | None, info: ValidationInfo) -> str | None:
        url = info.data.get("url")
        if value is not None or url is None:
            return value
        found = infer_format(url)
        if found is not None:
            return found
        suffix = PurePosixPath(unquote(urlsplit(url).path)).suffix.lower()
        formats = ", ".join(READERS)
        if suffix in COMPRESSED:
            raise ValueError(
                f"{url} is compressed ({suffix}), and specc reads uncompressed files only; "
                f"download an uncompressed file ({formats})"
            )
        raise ValueError(f"cannot tell the format of {url} from its name; add `format:` with one of {formats}")

    @field_validator("read_options")
    @classmethod
    def _reader_options(cls, value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        fmt = info.data.get("format")
        if fmt is None:
            return value
        params = READERS[fmt].Params
        own = sorted(set(params.model_fields) - set(FileParams.model_fields))
        allowed = ", ".join(own) or "none"
        for key in value:
            if key not in own:
                close = difflib.get_close_matches(str(key), own, n=1, cutoff=0.6)
                hint = f"; did you mean '{close[0]}'?" if close else ";"
                raise ValueError(f"unknown option '{key}' for format {fmt}{hint} its options are: {allowed}")
        try:
            params.model_validate({**value, "path": "-"})
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {_message(e)}" for e in exc.errors())
            raise ValueError(f"invalid option for format {fmt}: {problems}") from None
        return value


def _message(error: Mapping[str, Any]) -> str:
    """A pydantic error's message, without pydantic's 'Value error, ' prefix."""
    if error.get("type") == "value_error" and "ctx" in error:
        return str(error["ctx"]["error"])
    return str(error["msg"])


class UrlSource(Source):
    """One file downloaded over HTTP(S) into the cache, verified by SHA-256, read by the format's reader."""

    name = "url"
    version = 1
    Params: ClassVar[type[SourceParams]] = UrlParams
    params: UrlParams

    def files(self) -> list[Path]:
        """None: the SHA-256 pin covers the downloaded bytes."""
        return []

    # --- pins ----------------------------------------------------------------------------------

    def pin(self, locked: Mapping[str, Any] | None) -> dict[str, Any]:
        """The URL's SHA-256 and size: the spec's `sha256`, else the lock's, else from downloading it."""
        url, want = self.params.url, self.params.sha256
        if (
            locked
            and locked.get("url") == url
            and isinstance(locked.get("sha256"), str)
            and SHA256.fullmatch(locked["sha256"])
            and want in (None, locked["sha256"])
        ):
            return {**locked, "format": self.params.format}
        if want is not None:
            blob = self.blob(want)
            if not blob.is_file():
                blob = self.download(want, "the spec")
            digest = want
        else:
            blob = self.download(None, "")
            digest = blob.name
        size = blob.stat().st_size
        return {
            "url": url,
            "sha256": digest,
            "size": size,
            "format": self.params.format,
            "files": [{"path": url, "sha256": digest, "size": size}],
        }

    def cache_dir(self) -> Path:
        """The cache folder of the build (the default one when the context has none)."""
        from specc.compiler import default_cache_dir

        return default_cache_dir(self.context.spec_dir, self.context.cache_dir)

    def blob(self, digest: str) -> Path:
        """Where the bytes with SHA-256 `digest` are cached."""
        return self.cache_dir() / "downloads" / "sha256" / digest

    # --- download ------------------------------------------------------------------------------

    def download(self, want: str | None, origin: str) -> Path:
        """Download the URL into the cache, checked against `want` (pinned by `origin`); its cached path."""
        from specc.cache import StepCache

        with StepCache(self.cache_dir()).scratch() as scratch:
            temp = scratch / "download"
            with temp.open("wb") as out:
                got = self.stream_to(out)
            if want is not None and got != want:
                raise self.mismatch(got, want, origin)
            target = self.blob(got)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(temp, target)
            return target

    def stream_to(self, out: Any) -> str:
        """Write the URL's bytes to `out`; their SHA-256."""
        import http.client
        import urllib.error
        import urllib.request

        from specc import __version__

        url = self.params.url
        request = urllib.request.Request(
            url, headers={"User-Agent": f"specc/{__version__}", "Accept-Encoding": "identity"}
        )
        digest, size = hashlib.sha256(), 0
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
                length = response.headers.get("Content-Length")
                while block := response.read(BLOCK):
                    out.write(block)
                    digest.update(block)
                    size += len(block)
        except urllib.error.HTTPError as exc:
            raise self.data_error(f"downloading {url} failed: HTTP {exc.code} {exc.reason}; check the URL") from None
        except urllib.error.URLError as exc:
            raise self.data_error(
                f"cannot reach {url} ({_reason(exc.reason)}); check the URL and the network"
            ) from None
        except TimeoutError:
            raise self.data_error(f"downloading {url} timed out (no data for {TIMEOUT:g} s); try again later") from None
        except (OSError, http.client.HTTPException) as exc:
            raise self.data_error(f"downloading {url} failed ({_reason(exc)}); try again") from None
        if length is not None and length.isdigit() and int(length) != size:
            raise self.data_error(f"the download of {url} ended after {size:,} of {int(length):,} bytes; try again")
        return digest.hexdigest()

    def mismatch(self, got: str, want: str, origin: str) -> DataError:
        """The error for downloaded bytes whose hash is not the pinned one."""
        name = self.context.step_id
        fix = (
            f"set `sha256: {got}` in the spec" if origin == "the spec" else f"run `specc lock --upgrade-source {name}`"
        )
        return self.data_error(
            f"{self.params.url} has SHA-256 {got}, but {origin} pins {want}; if the file changed on purpose, {fix}"
        )

    def data_error(self, message: str) -> DataError:
        """An error naming this source."""
        return DataError(self.context.step_id, None, None, message)

    # --- read ----------------------------------------------------------------------------------

    def fetch(self) -> Path:
        """The pinned bytes in the cache, verified (a corrupt entry is replaced by a new download)."""
        from specc.pins import sha256_file

        pins = dict(self.context.pins) or self.pin(None)
        want = pins["sha256"]
        origin = "the spec" if self.params.sha256 == want else "the lock"
        blob = self.blob(want)
        if blob.is_file() and sha256_file(blob) != want:
            blob.unlink(missing_ok=True)
        if not blob.is_file():
            blob = self.download(want, origin)
        return blob

    def read(self) -> Iterator[pa.RecordBatch]:
        """The downloaded file's rows, read by the built-in reader of its format."""
        blob = self.fetch()
        with blob.open("rb") as f:
            if f.read(2) == GZIP_MAGIC:
                raise self.data_error(
                    f"{self.params.url} is gzip-compressed, and specc reads uncompressed files "
                    f"only; download an uncompressed file"
                )
        yield from self.reader(blob).read()

    def locate(self, position: int) -> Location:
        """Where the format's reader finds the row in the downloaded file, named by its URL."""
        return self.reader(self.fetch()).locate(position)

    def reader(self, blob: Path) -> _PathSource:
        """The built-in source of the format over the cached file; its errors name the URL."""
        assert self.params.format is not None  # `_known_format` infers it from the URL when the spec leaves it out
        base = READERS[self.params.format]
        url = self.params.url

        class _Downloaded(base):  # type: ignore[valid-type, misc]  # mypy cannot check a base chosen at run time
            def files(self) -> list[Path]:
                return [blob]

            def shown(self, path: Path) -> str:
                return url if path == blob else super().shown(path)

        params = base.Params.model_validate({**self.params.read_options, "path": str(blob)})
        return _Downloaded(params, self.context)


def _reason(reason: object) -> str:
    """A readable cause of a network error."""
    text = getattr(reason, "strerror", None) or str(reason)
    return text or type(reason).__name__
