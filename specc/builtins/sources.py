"""Built-in sources: JSON Lines / JSON, CSV / TSV, Parquet and parallel text-lines files."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, Literal

from pydantic import Field

from specc.components import Source, SourceParams
from specc.errors import DataError
from specc.hookspecs import hookimpl
from specc.spec.paths import InputPath

if TYPE_CHECKING:
    import pyarrow as pa

BATCH_ROWS = 65_536


class FileParams(SourceParams):
    """One file or a glob pattern over several (read in sorted order)."""

    path: InputPath = Field(..., description="File or glob pattern, relative to the spec.")


class _FileSource(Source):
    """A source over one path or glob pattern."""

    Params = FileParams

    def files(self) -> list[Path]:
        """The files the pattern names, sorted."""
        return self.context.files(self.params.path)

    def read(self) -> Iterator["pa.RecordBatch"]:
        """Every file's rows, file after file."""
        for path in self.files():
            if path.stat().st_size == 0:
                raise self.error(path, None, "the file is empty")
            yield from self.read_file(path)

    def read_file(self, path: Path) -> Iterator["pa.RecordBatch"]:
        """One file's rows in order."""
        raise NotImplementedError

    def error(self, path: Path, line: int | None, message: str) -> DataError:
        """A data error naming this source, the file (relative to the spec) and the line."""
        try:
            shown = path.relative_to(self.context.spec_dir.resolve()).as_posix()
        except ValueError:
            shown = str(path)
        return DataError(self.context.step_id, shown, line, message)

    def text(self, path: Path, encoding: str = "utf-8") -> str:
        """A whole file as text, or an error naming the file and line."""
        raw = path.read_bytes()
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError as exc:
            line = raw[: exc.start].count(b"\n") + 1
            raise self.error(path, line, f"not valid {encoding} text; re-save the file as {encoding}") from None


def _bad_json_line(text: str) -> tuple[int | None, str]:
    """The first line of JSON Lines text that is not a JSON object, and why."""
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            return number, f"invalid JSON ({exc.msg} at column {exc.colno})"
        if not isinstance(value, dict):
            return number, f"expected a JSON object, found {type(value).__name__}"
    return None, ""


class JsonlSource(_FileSource):
    """Rows from JSON Lines files: one JSON object per line."""

    name = "jsonl"

    def read_file(self, path: Path) -> Iterator["pa.RecordBatch"]:
        """A file's rows, parsed by pyarrow in blocks."""
        import pyarrow as pa
        import pyarrow.json as pj

        try:
            table = pj.read_json(str(path), read_options=pj.ReadOptions(block_size=1 << 24))
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            line, why = _bad_json_line(self.text(path))
            raise self.error(path, line, why or f"cannot read JSON Lines: {exc}; make every "
                             f"field hold one type throughout the file") from None
        yield from table.to_batches(max_chunksize=BATCH_ROWS)


class JsonParams(FileParams):
    """A JSON array of objects, an object holding one under `field`, or JSON Lines."""

    field: str | None = Field(None, description="Top-level key that holds the array of records.")


class JsonSource(_FileSource):
    """Rows from JSON files: an array of objects (or JSON Lines, read as such)."""

    name = "json"
    Params = JsonParams

    def read_file(self, path: Path) -> Iterator["pa.RecordBatch"]:
        """A file's records in order."""
        import pyarrow as pa

        text = self.text(path)
        start = text.lstrip()[:1]
        if start != "[" and self.params.field is None:
            yield from JsonlSource(self.params, self.context).read_file(path)
            return
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise self.error(path, exc.lineno, f"invalid JSON ({exc.msg} at column {exc.colno})") from None
        if self.params.field is not None:
            if not isinstance(data, dict) or self.params.field not in data:
                raise self.error(path, 1, f"no top-level key '{self.params.field}'; fix `field:`")
            data = data[self.params.field]
        if not isinstance(data, list) or not all(isinstance(record, dict) for record in data):
            raise self.error(path, 1, "expected an array of objects; set `field:` to the key that holds one")
        try:
            table = pa.Table.from_pylist(data)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise self.error(path, None, f"records disagree on a field's type: {exc}") from None
        yield from table.to_batches(max_chunksize=BATCH_ROWS)


class CsvParams(FileParams):
    """A delimited text file with a header row."""

    delimiter: str = Field(",", min_length=1, max_length=1, description="Field separator.")
    encoding: str = Field("utf-8", description="Text encoding of the file.")


class TsvParams(FileParams):
    """A tab-separated file with a header row."""

    encoding: str = Field("utf-8", description="Text encoding of the file.")


class CsvSource(_FileSource):
    """Rows from CSV files with a header row, streamed in blocks."""

    name = "csv"
    Params = CsvParams

    @property
    def delimiter(self) -> str:
        """The field separator."""
        return self.params.delimiter

    def read_file(self, path: Path) -> Iterator["pa.RecordBatch"]:
        """A file's rows; a malformed row is an error naming its line."""
        import pyarrow as pa
        import pyarrow.csv as pcsv

        options = dict(
            read_options=pcsv.ReadOptions(encoding=self.params.encoding, block_size=1 << 24),
            parse_options=pcsv.ParseOptions(delimiter=self.delimiter, newlines_in_values=True),
            convert_options=pcsv.ConvertOptions(strings_can_be_null=False, quoted_strings_can_be_null=False),
        )
        try:
            reader = pcsv.open_csv(str(path), **options)
            for batch in reader:
                yield batch
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            line, why = self._bad_line(path)
            raise self.error(path, line, why or f"cannot read the file: {exc}") from None

    def _bad_line(self, path: Path) -> tuple[int | None, str]:
        text = self.text(path, self.params.encoding)
        reader = csv.reader(text.splitlines(keepends=True), delimiter=self.delimiter)
        header = next(reader, [])
        for record in reader:
            if len(record) != len(header):
                return reader.line_num, (f"expected {len(header)} fields (as in the header), found "
                                         f"{len(record)}; quote fields that contain '{self.delimiter}'")
        return None, ""


class TsvSource(CsvSource):
    """Rows from tab-separated files with a header row."""

    name = "tsv"
    Params = TsvParams

    @property
    def delimiter(self) -> str:
        """A tab."""
        return "\t"


class ParquetSource(_FileSource):
    """Rows from Parquet files, streamed by row group."""

    name = "parquet"

    def read_file(self, path: Path) -> Iterator["pa.RecordBatch"]:
        """A file's rows in order."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            yield from pq.ParquetFile(str(path)).iter_batches(batch_size=BATCH_ROWS)
        except (pa.ArrowInvalid, OSError) as exc:
            raise self.error(path, None, f"not a readable Parquet file: {exc}") from None


class TextLinesParams(SourceParams):
    """Parallel files: one text per line, one integer label per line, an id-to-name mapping."""

    text: InputPath = Field(..., description="One text per line.")
    label: InputPath | None = Field(None, description="One integer label per line, same line count.")
    label_names: InputPath | None = Field(None, description="Lines of ID<TAB>NAME, ids 0..n-1.")
    mapping_format: Literal["id-name"] = Field("id-name", description="Layout of the mapping file.")


class TextLinesSource(_FileSource):
    """Rows from parallel text and label files, the layout of TweetEval."""

    name = "text-lines"
    Params = TextLinesParams

    def files(self) -> list[Path]:
        """Text, label and mapping files."""
        names = (self.params.text, self.params.label, self.params.label_names)
        return [self.context.path(name) for name in names if name is not None]

    def lines(self, path: Path) -> list[str]:
        """A file's lines without their terminators; a final empty line is not a row."""
        lines = self.text(path).split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        return [line[:-1] if line.endswith("\r") else line for line in lines]

    def label_names(self) -> dict[str, list[str]]:
        """Class names from the mapping file (the last non-empty field after the id)."""
        if self.params.label_names is None:
            return super().label_names()
        path = self.context.path(self.params.label_names)
        names: dict[int, str] = {}
        for number, line in enumerate(self.lines(path), start=1):
            if not line.strip():
                continue
            fields = [f for f in line.split("\t") if f.strip()] if "\t" in line else line.split(None, 1)
            if len(fields) < 2 or not fields[0].strip().isdigit():
                raise self.error(path, number, "expected 'ID<TAB>NAME'")
            names[int(fields[0])] = fields[1].strip()
        if sorted(names) != list(range(len(names))):
            raise self.error(path, None, f"label ids must be 0..{len(names) - 1} without gaps; found {sorted(names)}")
        return {"label": [names[i] for i in range(len(names))]}

    def read(self) -> Iterator["pa.Table"]:
        """Text and label columns, checked line by line."""
        import pyarrow as pa

        text_path = self.context.path(self.params.text)
        texts = self.lines(text_path)
        columns: dict[str, pa.Array] = {"text": pa.array(texts, pa.string())}
        if self.params.label is not None:
            label_path = self.context.path(self.params.label)
            raw = self.lines(label_path)
            if len(raw) != len(texts):
                raise self.error(label_path, None, f"{len(raw)} labels for {len(texts)} texts in "
                                 f"{self.params.text}; the files must have one line per row")
            known = len(self.label_names().get("label", [])) or None
            labels = []
            for number, value in enumerate(raw, start=1):
                if not value.strip().lstrip("-").isdigit():
                    raise self.error(label_path, number, f"label {value!r} is not an integer id")
                label = int(value)
                if known is not None and not 0 <= label < known:
                    raise self.error(label_path, number, f"label {label} has no name in {self.params.label_names}")
                labels.append(label)
            columns["label"] = pa.array(labels, pa.int64())
        table = pa.table(columns)
        if table.num_rows == 0:
            raise self.error(text_path, None, "the file is empty")
        yield table


@hookimpl
def register_sources(register) -> None:  # type: ignore[no-untyped-def]
    """Register the built-in sources."""
    for cls in (JsonlSource, JsonSource, CsvSource, TsvSource, ParquetSource, TextLinesSource):
        register(cls)
