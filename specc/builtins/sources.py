"""Built-in sources: JSON Lines and JSON, CSV and TSV, Parquet, and parallel text-lines files."""

from __future__ import annotations

import codecs
import csv
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from pydantic import Field, field_validator, model_validator

from specc.components import Location, Source, SourceParams
from specc.errors import DataError
from specc.paths import InputPath

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.csv

BATCH_ROWS = 65_536
HEADER_BYTES = 1 << 16  # what `header()` reads of a JSON Lines file at most
HEADER_RECORDS = 100
MENTION_BYTES = 1 << 30  # JSON Lines files looked through for a field the first records lack, at most
BLOCK_BYTES = 1 << 24  # text parsed at once: bounds memory, and JSON errors stay within one block
SPACE = re.compile(r"[ \t\n\r]*")
CONVERSION = re.compile(r"In CSV column #(\d+): CSV conversion error to [^:]+: invalid value '(.*)'", re.S)
FIELD_COUNT = re.compile(r"Expected (\d+) columns, got \d+")
LABEL = re.compile(r"\s*-?[0-9]+\s*")
MAPPING_ID = re.compile(r"[0-9]+")
JSON_KINDS = {
    dict: "an object",
    list: "an array",
    str: "a string",
    bool: "true/false",
    int: "a number",
    float: "a number",
    type(None): "null",
}


class FileParams(SourceParams):
    """A file, or a glob pattern over several files read in sorted order."""

    path: InputPath


class _FileSource(Source):
    """A source over files named by the spec, with errors that name file and line."""

    def error(self, path: Path, line: int | None, message: str) -> DataError:
        """A data error naming this source, the file and the line."""
        return DataError(self.context.step_id, self.shown(path), line, message)

    def shown(self, path: Path) -> str:
        """`path` relative to the spec's folder when it is inside it."""
        try:
            return path.relative_to(self.context.spec_dir.resolve()).as_posix()
        except ValueError:
            return str(path)

    def check_text(self, path: Path, encoding: str = "utf-8", fix: str = "") -> None:
        """Fail unless `path` holds non-blank text in `encoding`."""
        decoder = codecs.getincrementaldecoder(encoding)()
        blank = True
        with path.open("rb") as f:
            while True:
                block = f.read(BLOCK_BYTES)
                try:
                    text = decoder.decode(block, final=not block)
                except UnicodeDecodeError:
                    raise self.error(
                        path,
                        _undecodable_line(path, encoding),
                        f"not valid {encoding} text; re-save the file as {encoding}{fix}",
                    ) from None
                blank = blank and not text.strip()
                if not block:
                    break
        if blank:
            raise self.error(path, None, "the file is empty; remove it or fill it")


class _PathSource(_FileSource):
    """A source over the files one `path` (a file or a glob pattern) names."""

    Params: ClassVar[type[SourceParams]] = FileParams
    params: FileParams

    def files(self) -> list[Path]:
        """The files the pattern names, sorted."""
        return self.context.files(self.params.path)


def _undecodable_line(path: Path, encoding: str) -> int | None:
    """The first line of `path` that is not valid `encoding`."""
    with path.open("rb") as f:
        for number, raw in enumerate(f, start=1):
            try:
                raw.decode(encoding)
            except UnicodeDecodeError:
                return number
    return None


def _conform(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    """`batch` with exactly the columns of `schema`, in its order and types; missing ones are null."""
    import pyarrow as pa

    if batch.schema == schema:
        return batch
    names = batch.schema.names
    columns = [
        batch.column(f.name).cast(f.type) if f.name in names else pa.nulls(batch.num_rows, f.type) for f in schema
    ]
    return pa.RecordBatch.from_arrays(columns, schema=schema)


@dataclass(frozen=True)
class _Chunk:
    """Whole lines of a text file; the i-th line of `data` is line `lines[i]` of its file."""

    data: bytes
    lines: Sequence[int]


def _line_chunks(path: Path) -> Iterator[_Chunk]:
    """A text file in blocks of whole lines."""
    line, rest = 1, b""
    with path.open("rb") as f:
        while block := f.read(BLOCK_BYTES):
            data = rest + block
            cut = data.rfind(b"\n") + 1
            if cut:
                newlines = data.count(b"\n", 0, cut)
                yield _Chunk(data[:cut], range(line, line + newlines + 1))
                line += newlines
            rest = data[cut:]
    if rest:
        yield _Chunk(rest, range(line, line + 1))


# --- JSON Lines and JSON ---------------------------------------------------------------------


def _strings_stay_strings(type_: pa.DataType) -> pa.DataType:
    """`type_` with timestamps pyarrow guessed from JSON strings turned back into strings."""
    import pyarrow as pa

    if pa.types.is_timestamp(type_):
        return pa.string()
    if pa.types.is_struct(type_):
        return pa.struct([f.with_type(_strings_stay_strings(f.type)) for f in type_])
    if pa.types.is_list(type_):
        return pa.list_(type_.value_field.with_type(_strings_stay_strings(type_.value_type)))
    return type_


class _JsonRecords(_PathSource):
    """Objects parsed by pyarrow; every file is scanned for the field types before the first batch."""

    def chunks(self, path: Path) -> Iterator[_Chunk]:
        """A file's records as JSON Lines."""
        raise NotImplementedError

    def read(self) -> Iterator[pa.RecordBatch]:
        """The records of every file, all with the same columns and types."""
        import pyarrow as pa

        files = self.files()
        schema = pa.schema([])
        for path in files:
            self.check_text(path)
            for chunk in self.chunks(path):
                found = self.parse(path, chunk, None).schema
                found = pa.schema([f.with_type(_strings_stay_strings(f.type)) for f in found])
                try:
                    schema = pa.unify_schemas([schema, found], promote_options="permissive")
                except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
                    raise self.conflict(path, chunk, schema, exc) from None
        for path in files:
            for chunk in self.chunks(path):
                for batch in self.parse(path, chunk, schema).to_batches(max_chunksize=BATCH_ROWS):
                    yield _conform(batch, schema)

    def parse(self, path: Path, chunk: _Chunk, schema: pa.Schema | None) -> pa.Table:
        """One chunk as a table, with `schema`'s types if given."""
        import pyarrow as pa
        import pyarrow.json as pj

        try:
            return pj.read_json(
                pa.BufferReader(chunk.data),
                read_options=pj.ReadOptions(block_size=len(chunk.data) + 1),
                parse_options=pj.ParseOptions(explicit_schema=schema),
            )
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise self.bad_record(path, chunk, exc) from None

    def records(self, chunk: _Chunk) -> Iterator[tuple[int, str]]:
        """The non-blank lines of `chunk` with their line numbers."""
        for line, text in zip(chunk.lines, chunk.data.decode("utf-8").split("\n")):
            if text.strip():
                yield line, text.lstrip("\ufeff")

    def bad_record(self, path: Path, chunk: _Chunk, exc: Exception) -> DataError:
        """The error pyarrow met in `chunk`, at its line (pyarrow counts rows only within a block)."""
        lines = []
        for line, text in self.records(chunk):
            try:
                value = json.loads(text)
            except json.JSONDecodeError as err:
                return self.error(
                    path, line, f"invalid JSON ({err.msg} at column {err.colno}); write one JSON object per line"
                )
            if not isinstance(value, dict):
                return self.error(
                    path,
                    line,
                    f"expected a JSON object, found {JSON_KINDS[type(value)]}; "
                    f"every record must be an object of fields",
                )
            lines.append(line)
        detail = re.sub(r"^JSON parse error: ", "", str(exc))
        row = re.search(r" in row (\d+)$", detail)
        at = lines[int(row[1])] if row and int(row[1]) < len(lines) else None
        detail = detail[: row.start()] if row else detail
        fix = "give each field one type in every row" if "changed from" in detail else "fix the record"
        return self.error(path, at, f"cannot read the record: {detail}; {fix}")

    def conflict(self, path: Path, chunk: _Chunk, schema: pa.Schema, exc: Exception) -> DataError:
        """The first record of `chunk` with a field whose type does not fit the rows before it."""
        import pyarrow as pa

        for line, text in self.records(chunk):
            try:
                record = json.loads(text)
            except json.JSONDecodeError:
                continue
            for key, value in record.items():
                if value is None or key not in schema.names:
                    continue
                before = schema.field(key)
                try:
                    found = _strings_stay_strings(pa.infer_type([value]))
                    pa.unify_schemas([pa.schema([before]), pa.schema([(key, found)])], promote_options="permissive")
                except (pa.ArrowInvalid, pa.ArrowTypeError):
                    kind = JSON_KINDS[type(value)]
                    return self.error(
                        path,
                        line,
                        f"field '{key}' holds {kind} here but {before.type} values "
                        f"in the rows before; give the field one type in every row",
                    )
        return self.error(
            path, None, f"the records' field types do not fit together ({exc}); give each field one type in every row"
        )

    def locate(self, position: int) -> Location:
        """The file and line of the `position`-th record over all files (blank lines hold none)."""
        for path in self.files():
            for chunk in self.chunks(path):
                for line, _ in self.records(chunk):
                    if position == 0:
                        return Location(self.shown(path), line)
                    position -= 1
        return Location()


class JsonlSource(_JsonRecords):
    """JSON Lines: one JSON object per line."""

    name = "jsonl"
    version = 1

    def header(self) -> list[str] | None:
        """The fields of the first records of each file, when they all have the same fields (else unknown)."""
        fields: list[str] | None = None
        for path in self.files():
            with path.open("rb") as f:
                data = f.read(HEADER_BYTES + 1)
            lines = data.splitlines()
            if len(data) > HEADER_BYTES:  # the last line may be cut short
                lines.pop()
            for line in [line for line in lines if line.strip()][:HEADER_RECORDS]:
                try:
                    record = json.loads(line.decode("utf-8-sig"))
                except (UnicodeDecodeError, json.JSONDecodeError):
                    return None
                if not isinstance(record, dict) or (fields is not None and set(fields) != set(record)):
                    return None
                fields = fields or list(record)
        return fields

    def mentions(self, column: str) -> bool:
        """Whether a record past the first ones may have the field `column`: its key is in the rest of a file.

        Asked only of a column the first records lack, so a good spec never reads further than `header()`.
        """
        key = re.compile(rb'"' + re.escape(json.dumps(column)[1:-1].encode("utf-8")) + rb'"\s*:')
        for path in self.files():
            if path.stat().st_size <= HEADER_BYTES:
                continue  # header() read all of it
            if path.stat().st_size > MENTION_BYTES:
                return True  # too large to look through before a build: the build tells
            with path.open("rb") as f:
                if any(key.search(line) for line in f):
                    return True
        return False

    def chunks(self, path: Path) -> Iterator[_Chunk]:
        """The file in blocks of whole lines."""
        return _line_chunks(path)


class JsonParams(FileParams):
    """A JSON array of objects, an object holding that array under `field`, or JSON Lines."""

    field: str | None = Field(None, description="The top-level key whose value is the array of records.")


class JsonSource(_JsonRecords):
    """JSON: an array of objects, an object with the array under `field`, or JSON Lines."""

    name = "json"
    version = 1
    Params: ClassVar[type[SourceParams]] = JsonParams
    params: JsonParams

    def chunks(self, path: Path) -> Iterator[_Chunk]:
        """The file's records, re-encoded as JSON Lines in blocks of rows."""
        with path.open("rb") as f:
            head = f.read(4096).decode("utf-8-sig", errors="ignore").lstrip()[:1]
        field = self.params.field
        if field is None and head != "[":
            self.not_one_object(path)
            yield from _line_chunks(path)
            return
        text = path.read_bytes().decode("utf-8-sig")
        start = _after_space(text, 0)
        if field is not None:
            if head != "{":
                raise self.error(
                    path,
                    1,
                    f"`field: {field}` needs a JSON object at the top of the file; "
                    f"remove `field:` for an array or JSON Lines",
                )
            start = self.find_field(path, text, start, field)
        if not text.startswith("[", start):
            raise self.error(path, _line_at(text, start), f"key '{field}' does not hold an array; fix `field:`")
        yield from self.array_chunks(path, text, start)

    def not_one_object(self, path: Path) -> None:
        """Fail with a hint when the file is one JSON object rather than JSON Lines."""
        with path.open("rb") as f:
            first = f.readline().decode("utf-8-sig")
        try:
            json.loads(first)
        except json.JSONDecodeError:
            try:
                value = json.loads(path.read_bytes().decode("utf-8-sig"))
            except json.JSONDecodeError:
                return
            if isinstance(value, dict):
                keys = ", ".join(sorted(value)[:10])
                raise self.error(
                    path,
                    1,
                    f"the file is one JSON object, not an array or JSON Lines; name "
                    f"the key that holds the records with `field:` (keys: {keys})",
                ) from None

    def find_field(self, path: Path, text: str, pos: int, field: str) -> int:
        """Where the value of `field` starts in the object at `pos`."""
        decoder = json.JSONDecoder()
        keys: list[str] = []
        try:
            pos = _after_space(text, pos + 1)
            while text.startswith('"', pos):
                key, pos = decoder.raw_decode(text, pos)
                pos = _after_space(text, pos)
                if not text.startswith(":", pos):
                    raise self.error(path, _line_at(text, pos), "invalid JSON (expected ':' after a key)")
                pos = _after_space(text, pos + 1)
                if key == field:
                    return pos
                keys.append(key)
                _, pos = decoder.raw_decode(text, pos)
                pos = _after_space(text, pos)
                if text.startswith(",", pos):
                    pos = _after_space(text, pos + 1)
        except json.JSONDecodeError as exc:
            raise self.error(path, exc.lineno, f"invalid JSON ({exc.msg} at column {exc.colno})") from None
        raise self.error(path, None, f"no top-level key '{field}' (keys: {', '.join(keys) or 'none'}); fix `field:`")

    def array_chunks(self, path: Path, text: str, pos: int) -> Iterator[_Chunk]:
        """The objects of the array at `pos`, as JSON Lines chunks that remember each object's line."""
        decoder = json.JSONDecoder()
        rows: list[str] = []
        lines: list[int] = []
        line, counted = 1, 0
        pos = _after_space(text, pos + 1)
        while not text.startswith("]", pos):
            line += text.count("\n", counted, pos)
            counted = pos
            try:
                record, end = decoder.raw_decode(text, pos)
            except json.JSONDecodeError as exc:
                raise self.error(path, exc.lineno, f"invalid JSON ({exc.msg} at column {exc.colno})") from None
            if not isinstance(record, dict):
                raise self.error(
                    path,
                    line,
                    f"expected a JSON object, found {JSON_KINDS[type(record)]}; "
                    f"the array must hold one object per record",
                )
            # JSON strings hold no raw line breaks, so these are only layout between tokens
            rows.append(text[pos:end].replace("\r", " ").replace("\n", " "))
            lines.append(line)
            pos = end
            if len(rows) == BATCH_ROWS:
                yield _Chunk("\n".join(rows).encode("utf-8"), lines)
                rows, lines = [], []
            pos = _after_space(text, pos)
            if text.startswith(",", pos):
                pos = _after_space(text, pos + 1)
            elif not text.startswith("]", pos):
                raise self.error(path, _line_at(text, pos), "invalid JSON (expected ',' or ']' after a record)")
        if rows:
            yield _Chunk("\n".join(rows).encode("utf-8"), lines)


def _after_space(text: str, pos: int) -> int:
    """The offset of the first character at or after `pos` that is not JSON whitespace."""
    found = SPACE.match(text, pos)  # never None: the pattern matches the empty string
    return found.end() if found else pos


def _line_at(text: str, pos: int) -> int:
    """The line of `text` that offset `pos` is on."""
    return text.count("\n", 0, pos) + 1


# --- CSV and TSV -----------------------------------------------------------------------------


class _EncodedParams(FileParams):
    """Text files in a known encoding."""

    encoding: str = Field("utf-8", description="The files' text encoding, such as latin-1.")

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str) -> str:
        try:
            codecs.lookup(value)
        except LookupError:
            raise ValueError(f"unknown encoding '{value}'; use a Python codec name such as utf-8 or latin-1") from None
        return value


class TsvParams(_EncodedParams):
    """Tab-separated files with a header row; values are not quoted."""


class CsvParams(_EncodedParams):
    """A comma-separated (or `delimiter`-separated) file with a header row; values may be quoted."""

    delimiter: str = Field(",", min_length=1, max_length=1, description="The character between values.")

    @field_validator("delimiter")
    @classmethod
    def _usable_delimiter(cls, value: str) -> str:
        if value in '"\r\n':
            raise ValueError(f"{value!r} cannot separate values")
        return value


def _wider(current: pa.DataType, value: str) -> pa.DataType:
    """The next type to try for a CSV column whose guessed type rejects `value`."""
    import pyarrow as pa

    if pa.types.is_null(current) and re.fullmatch(r"[+-]?[0-9]+", value):
        return pa.int64()
    if pa.types.is_null(current) or pa.types.is_integer(current):
        try:
            float(value)
            return pa.float64()
        except ValueError:
            pass
    return pa.string()


def _common(a: pa.DataType, b: pa.DataType) -> pa.DataType:
    """A type for a CSV column typed `a` in one file and `b` in another (any text fits a string)."""
    import pyarrow as pa

    if a == b or pa.types.is_null(b):
        return a
    if pa.types.is_null(a):
        return b
    if all(pa.types.is_integer(t) or pa.types.is_floating(t) for t in (a, b)):
        return pa.float64()
    return pa.string()


class _DelimitedSource(_PathSource):
    """Files of values separated by a delimiter, with a header row, in a known encoding."""

    params: _EncodedParams
    quoting: ClassVar[bool]  # values may be quoted (and then hold delimiters and line breaks)
    field_fix: ClassVar[str]  # how to fix a record with the wrong number of values

    @property
    def delimiter(self) -> str:
        """The character between values."""
        raise NotImplementedError

    def read(self) -> Iterator[pa.RecordBatch]:
        """The rows of every file, with column types that fit every file."""
        import pyarrow as pa

        files = self.files()
        schemas = []
        for path in files:
            self.check_text(path, self.params.encoding, " or set `encoding:` to the file's encoding")
            schemas.append(self.file_schema(path))
        types: dict[str, pa.DataType] = {}
        for schema in schemas:
            for f in schema:
                types[f.name] = _common(types[f.name], f.type) if f.name in types else f.type
        unified = pa.schema(list(types.items()))
        for path, schema in zip(files, schemas):
            try:
                for batch in self.open(path, {name: types[name] for name in schema.names}):
                    for start in range(0, batch.num_rows, BATCH_ROWS):
                        yield _conform(batch.slice(start, BATCH_ROWS), unified)
            except pa.ArrowInvalid as exc:
                raise self.bad_row(path, exc) from None

    def open(self, path: Path, types: dict[str, pa.DataType]) -> pa.csv.CSVStreamingReader:
        """A streaming reader over `path` with the given column types."""
        import pyarrow.csv as pcsv

        return pcsv.open_csv(
            str(path),
            read_options=pcsv.ReadOptions(encoding=self.params.encoding, block_size=BLOCK_BYTES),
            parse_options=pcsv.ParseOptions(
                delimiter=self.delimiter, quote_char='"' if self.quoting else False, newlines_in_values=self.quoting
            ),
            convert_options=pcsv.ConvertOptions(column_types=types),
        )

    def file_schema(self, path: Path) -> pa.Schema:
        """Column types that fit every row: pyarrow guesses them from the first block, so widen and re-read."""
        import pyarrow as pa

        forced: dict[str, pa.DataType] = {}
        schema = None
        while True:
            try:
                reader = self.open(path, forced)
                if schema is None:
                    schema = reader.schema
                    repeated = sorted({name for name in schema.names if schema.names.count(name) > 1})
                    if repeated:
                        raise self.error(path, 1, f"column '{repeated[0]}' appears twice in the header; rename one")
                for _ in reader:
                    pass
                return reader.schema
            except pa.ArrowInvalid as exc:
                match = CONVERSION.search(str(exc))
                if match is None or schema is None:
                    raise self.bad_row(path, exc) from None
                name = schema.names[int(match[1])]
                current = forced.get(name, schema.field(name).type)
                wider = _wider(current, match[2])
                if wider == current:
                    raise self.error(path, None, f"cannot read column '{name}': {exc}") from None
                forced[name] = wider

    def bad_row(self, path: Path, exc: Exception) -> DataError:
        """The error pyarrow met, at the line of the first record Python's csv module finds wrong."""
        found = FIELD_COUNT.search(str(exc))
        if found:
            expected = int(found[1])
            try:
                for line, record in self.records(path):
                    if len(record) != expected:
                        return self.error(
                            path,
                            line,
                            f"expected {expected} values as in the header, found {len(record)}; {self.field_fix}",
                        )
            except csv.Error:
                pass
        return self.error(path, None, f"cannot read the file: {exc}")

    def header(self) -> list[str] | None:
        """The names in each file's header row, in order of appearance (None if a file cannot be read)."""
        names: list[str] = []
        try:
            for path in self.files():
                first = next(self.records(path), None)
                if first is None:
                    return None
                names += [name for name in (n.removeprefix("\ufeff") for n in first[1]) if name not in names]
        except (csv.Error, UnicodeDecodeError):
            return None
        return names

    def records(self, path: Path) -> Iterator[tuple[int, list[str]]]:
        """The records of `path` as Python's csv module reads them, header first, each with the line it starts on;
        blank lines hold none (pyarrow skips them too)."""
        with path.open(encoding=self.params.encoding, newline="") as f:
            reader = csv.reader(
                f, delimiter=self.delimiter, quoting=csv.QUOTE_MINIMAL if self.quoting else csv.QUOTE_NONE
            )
            start = 1
            for record in reader:
                if record:
                    yield start, record
                start = reader.line_num + 1

    def locate(self, position: int) -> Location:
        """The file and the line where the `position`-th data row over all files starts (quoted values may span
        lines)."""
        try:
            for path in self.files():
                rows = self.records(path)
                next(rows, None)  # the header
                for line, _ in rows:
                    if position == 0:
                        return Location(self.shown(path), line)
                    position -= 1
        except (csv.Error, UnicodeDecodeError):
            pass
        return Location()


class CsvSource(_DelimitedSource):
    """CSV files with a header row; quoted values may hold delimiters and line breaks."""

    name = "csv"
    version = 1
    Params: ClassVar[type[SourceParams]] = CsvParams
    params: CsvParams
    quoting = True
    field_fix = "quote values that contain the delimiter or line breaks"

    @property
    def delimiter(self) -> str:
        """The character between values."""
        return self.params.delimiter


class TsvSource(_DelimitedSource):
    """Tab-separated files with a header row; values are not quoted, so they hold no tabs or line breaks."""

    name = "tsv"
    version = 1
    Params: ClassVar[type[SourceParams]] = TsvParams
    params: TsvParams
    quoting = False
    field_fix = "values must not contain tabs or line breaks"

    @property
    def delimiter(self) -> str:
        """A tab."""
        return "\t"


# --- Parquet ---------------------------------------------------------------------------------


class ParquetSource(_PathSource):
    """Parquet files, streamed in batches."""

    name = "parquet"
    version = 1

    def header(self) -> list[str] | None:
        """The columns of each file's schema (its footer only), in order of appearance."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        names: list[str] = []
        for path in self.files():
            try:
                names += [name for name in pq.read_schema(path).names if name not in names]
            except (pa.ArrowException, OSError):
                return None
        return names

    def read(self) -> Iterator[pa.RecordBatch]:
        """The rows of every file, with a schema that fits every file."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        files = self.files()
        schema = pa.schema([])
        for path in files:
            if path.stat().st_size == 0:
                raise self.error(path, None, "the file is empty; remove it or fill it")
            try:
                found = pq.read_schema(path).remove_metadata()
            except (pa.ArrowException, OSError) as exc:
                raise self.error(path, None, f"not a readable Parquet file: {exc}") from None
            try:
                schema = pa.unify_schemas([schema, found], promote_options="permissive")
            except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
                raise self.error(
                    path,
                    None,
                    f"its columns do not fit those of the files before it ({exc}); "
                    f"give the files the same column types",
                ) from None
        for path in files:
            try:
                for batch in pq.ParquetFile(path).iter_batches(batch_size=BATCH_ROWS):
                    yield _conform(batch, schema)
            except (pa.ArrowException, OSError) as exc:
                raise self.error(path, None, f"not a readable Parquet file: {exc}") from None

    def locate(self, position: int) -> Location:
        """The file and the index in it of the `position`-th row over all files (Parquet has no lines)."""
        import pyarrow.parquet as pq

        for path in self.files():
            rows = pq.ParquetFile(path).metadata.num_rows
            if position < rows:
                return Location(self.shown(path), row=position)
            position -= rows
        return Location()


# --- Parallel text and label files -----------------------------------------------------------


class TextLinesParams(SourceParams):
    """Parallel files: one text per line, one integer label per line, and a file naming the labels."""

    text: InputPath = Field(description="One text per line (a file, or a glob paired in sorted order with `label`).")
    label: InputPath | None = Field(None, description="One integer label id per line, as many lines as `text`.")
    label_names: InputPath | None = Field(None, description="Lines 'ID<TAB>NAME' naming the label ids 0..n-1.")

    @model_validator(mode="after")
    def _names_need_labels(self) -> TextLinesParams:
        if self.label_names is not None and self.label is None:
            raise ValueError("`label_names` needs `label`, the file of label ids")
        return self


def _split_lines(data: bytes) -> pa.BinaryArray:
    """The lines of `data` without their line breaks (\\n or \\r\\n); a final break ends the last line."""
    import numpy as np
    import pyarrow as pa

    raw = np.frombuffer(data, np.uint8)
    newlines = np.flatnonzero(raw == 10)
    crlf = (newlines > 0) & (raw[newlines - 1] == 13)
    keep = np.ones(len(raw), bool)
    keep[newlines] = False
    keep[newlines[crlf] - 1] = False
    kept = raw[keep]
    # where each line after a break starts once the break bytes before it are gone
    offsets = np.concatenate([[0], newlines + 1 - np.arange(1, len(newlines) + 1) - np.cumsum(crlf)])
    if not data.endswith(b"\n"):
        offsets = np.append(offsets, len(kept))
    return pa.Array.from_buffers(
        pa.binary(), len(offsets) - 1, [None, pa.py_buffer(offsets.astype(np.int32)), pa.py_buffer(kept)]
    )


def _count_lines(path: Path) -> int:
    """Lines in a file; a final line without a line break counts, the empty one after a last break does not."""
    count, last = 0, b"\n"
    with path.open("rb") as f:
        while block := f.read(BLOCK_BYTES):
            count += block.count(b"\n")
            last = block[-1:]
    return count + (last != b"\n")


class TextLinesSource(_FileSource):
    """Parallel text and label files, the layout of TweetEval: columns `text` and `label`."""

    name = "text-lines"
    version = 1
    Params: ClassVar[type[SourceParams]] = TextLinesParams
    params: TextLinesParams

    def header(self) -> list[str] | None:
        """`text`, and `label` with a label file."""
        return ["text"] if self.params.label is None else ["text", "label"]

    def files(self) -> list[Path]:
        """Each text file with its label file, then the mapping file."""
        files = [path for pair in self.pairs() for path in pair if path is not None]
        mapping = self.mapping_path()
        return files if mapping is None else [*files, mapping]

    def pairs(self) -> list[tuple[Path, Path | None]]:
        """Each text file with its label file (globs pair up in sorted order)."""
        texts = self.context.files(self.params.text)
        if self.params.label is None:
            return [(text, None) for text in texts]
        labels = self.context.files(self.params.label)
        if len(labels) != len(texts):
            raise DataError(
                self.context.step_id,
                None,
                None,
                f"`text` names {len(texts)} files but `label` names {len(labels)}; "
                f"they pair up in sorted order, so give both the same number of files",
            )
        return list(zip(texts, labels))

    def mapping_path(self) -> Path | None:
        """The one file `label_names` names; None without `label_names`."""
        if self.params.label_names is None:
            return None
        paths = self.context.files(self.params.label_names)
        if len(paths) != 1:
            raise DataError(
                self.context.step_id,
                None,
                None,
                f"`label_names` names {len(paths)} files; give exactly one mapping file",
            )
        return paths[0]

    @cached_property
    def names(self) -> list[str] | None:
        """Label names by id from the mapping file: lines 'ID<TAB>NAME' (further fields are ignored)."""
        path = self.mapping_path()
        if path is None:
            return None
        names: dict[int, str] = {}
        chunks = _line_chunks(path)
        for number, line in (pair for c in chunks for pair in zip(c.lines, self.decode(path, c).to_pylist())):
            if not line.strip():
                continue
            # TweetEval's emoji mapping is 'ID<TAB>EMOJI<TAB>DESCRIPTION<TAB>': the name is the emoji
            fields = [f.strip() for f in line.split("\t") if f.strip()] if "\t" in line else line.split(None, 1)
            if len(fields) < 2 or not MAPPING_ID.fullmatch(fields[0]):
                raise self.error(path, number, f"expected 'ID<TAB>NAME' such as '0<TAB>negative', found {line!r}")
            label_id = int(fields[0])
            if label_id in names:
                raise self.error(path, number, f"id {label_id} is named twice; keep one line per id")
            names[label_id] = fields[1].strip()
        if not names:
            raise self.error(path, None, "the file names no labels; write one 'ID<TAB>NAME' line per label")
        missing = sorted(set(range(len(names))) - set(names))
        if missing:
            raise self.error(
                path,
                None,
                f"ids must run from 0 to {len(names) - 1} without gaps; missing: {', '.join(map(str, missing[:10]))}",
            )
        ordered = [names[i] for i in range(len(names))]
        repeated = sorted({name for name in ordered if ordered.count(name) > 1})
        if repeated:
            raise self.error(path, None, f"name '{repeated[0]}' is given to several ids; give each id its own name")
        return ordered

    def label_names(self) -> dict[str, list[str]]:
        """The mapping file's names for column `label`, besides any `labels:` in the spec."""
        declared = super().label_names()
        return declared if self.names is None else {**declared, "label": self.names}

    def read(self) -> Iterator[pa.RecordBatch]:
        """Columns `text` (string) and, with `label`, `label` (int64, or lists of them with a `label_delimiter`), in
        blocks of lines."""
        import pyarrow as pa

        offset = 0  # the rows of the text files before this one
        for text_path, label_path in self.pairs():
            if text_path.stat().st_size == 0:
                raise self.error(text_path, None, "the file is empty; remove it or fill it")
            labels = None
            if label_path is not None:
                counts = _count_lines(text_path), _count_lines(label_path)
                if counts[0] != counts[1]:
                    raise self.error(
                        text_path,
                        None,
                        f"{self.shown(text_path)} has {counts[0]} lines but "
                        f"{self.shown(label_path)} has {counts[1]}; the files must be parallel, "
                        f"one label line per text line",
                    )
                labels = self.label_ids(label_path, offset)
                offset += counts[0]
            listed = "label" in (self.params.label_delimiter or {})
            pending = pa.array([], pa.list_(pa.int64()) if listed else pa.int64())
            for chunk in _line_chunks(text_path):
                texts = self.decode(text_path, chunk)
                columns = {"text": texts}
                if labels is not None:
                    while len(pending) < len(texts):
                        pending = pa.concat_arrays([pending, next(labels)])
                    columns["label"], pending = pending[: len(texts)], pending[len(texts) :]
                yield from pa.table(columns).to_batches(max_chunksize=BATCH_ROWS)

    def locate(self, position: int) -> Location:
        """The text file and the line of the `position`-th text over all files (its label is on the same line of
        the label file)."""
        for path, _ in self.pairs():
            lines = _count_lines(path)
            if position < lines:
                return Location(self.shown(path), position + 1)
            position -= lines
        return Location()

    def row_id(self, offset: int, line: int) -> str:
        """The `_id` of the row on `line` of a file after `offset` rows of the files before it."""
        return f"{self.context.step_id}:{offset + line - 1}"

    def decode(self, path: Path, chunk: _Chunk) -> pa.StringArray:
        """The lines of `chunk` as strings, without line breaks; invalid UTF-8 is an error at its line."""
        import pyarrow as pa

        data = chunk.data.removeprefix(codecs.BOM_UTF8) if chunk.lines[0] == 1 else chunk.data
        try:
            return _split_lines(data).cast(pa.string())
        except pa.ArrowInvalid:
            for line, raw in zip(chunk.lines, data.split(b"\n")):
                try:
                    raw.decode("utf-8")
                except UnicodeDecodeError:
                    raise self.error(path, line, "not valid UTF-8 text; re-save the file as UTF-8") from None
            raise

    def label_ids(self, path: Path, offset: int) -> Iterator[pa.Array]:
        """The label ids of a label file in blocks, checked against the mapping; `offset` is the number of rows
        before the file's (errors name the row's `_id`). With a `label_delimiter` for `label`, each line holds a
        list of ids."""
        import pyarrow as pa
        import pyarrow.compute as pc

        from specc.multilabel import rebuild, split_delimited

        mapping = self.mapping_path()
        delimiter = (self.params.label_delimiter or {}).get("label")
        for block in _line_chunks(path):
            chunk, lists = block, None
            values = self.decode(path, chunk)
            if delimiter is not None:  # multi-label: the ids of one line, each checked on its line
                lists = split_delimited(values, delimiter)
                parents = pc.list_parent_indices(lists)
                values = pc.list_flatten(lists)
                chunk = _Chunk(block.data, [block.lines[p] for p in parents.to_pylist()])
            try:
                ids = pc.cast(pc.utf8_trim_whitespace(values), pa.int64())
            except pa.ArrowInvalid as exc:
                for line, value in zip(chunk.lines, values.to_pylist()):
                    if not LABEL.fullmatch(value):
                        raise self.error(
                            path,
                            line,
                            f"label {value!r} is not an integer (row _id '{self.row_id(offset, line)}'); "
                            f"write one label id such as 0 per line",
                        ) from None
                raise self.error(path, None, f"cannot read the label ids: {exc}") from None
            if self.names is not None and mapping is not None:
                outside = pc.or_(pc.less(ids, 0), pc.greater_equal(ids, len(self.names)))
                if pc.any(outside).as_py():
                    row = pc.index(outside, True).as_py()
                    raise self.error(
                        path,
                        chunk.lines[row],
                        f"label id {ids[row]} (row _id '{self.row_id(offset, chunk.lines[row])}') has no name: "
                        f"{self.shown(mapping)} names the ids 0 to {len(self.names) - 1}",
                    )
            yield ids if lists is None else rebuild(lists, ids, parents)
