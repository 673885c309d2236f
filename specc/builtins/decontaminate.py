"""The decontaminate clean step: drop rows that share an n-gram with an evaluation set.

Texts are normalized and cut into words or characters as `specc.leakage` describes. A row is
contaminated when one of its n-grams (13 words, as in GPT-3 and datatrove, or 50 characters)
is an n-gram of an evaluation text. A text with fewer units than `ngram` has no n-gram: it is
compared whole instead, so a short row is dropped when it equals (after normalization) a short
evaluation text. A short evaluation text contained in a longer row is not caught.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, ValidationError, model_validator

from specc.builtins.clean import ColumnStep
from specc.components import Context, Params, StepResult
from specc.errors import SpeccError
from specc.paths import InputPath

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

Format = Literal["jsonl", "json", "csv", "tsv", "parquet", "text"]
EXTENSIONS: dict[str, Format] = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".csv": "csv",
    ".tsv": "tsv",
    ".parquet": "parquet",
    ".txt": "text",
}
DEFAULT_NGRAM = {"word": 13, "char": 50}


def _format_of(path: str) -> Format | None:
    """The format a file name's extension implies, if any."""
    return EXTENSIONS.get(Path(path.rstrip("*")).suffix.lower())


class EvalSet(Params):
    """An evaluation set: a file (or glob) and the column(s) holding its texts."""

    path: InputPath = Field(description="The evaluation file or glob pattern, relative to the spec's folder.")
    format: Format | None = Field(
        None,
        description="jsonl, json, csv, tsv, parquet, or text (one text per line); default from the "
        "extension (.jsonl, .json, .csv, .tsv, .parquet, .txt).",
    )
    column: str | list[str] = Field(
        "text",
        description="The column (or columns) holding evaluation texts; columns of lists of strings "
        "count each string. Ignored for text files.",
    )
    field: str | None = Field(None, description="json only: the top-level key whose value is the array of records.")

    @model_validator(mode="after")
    def _known_format(self) -> EvalSet:
        if self.format is None and _format_of(self.path) is None:
            raise ValueError(
                f"cannot tell the format of '{self.path}' from its extension; "
                f"set `format:` to jsonl, json, csv, tsv, parquet or text"
            )
        if self.field is not None and self.resolved_format != "json":
            raise ValueError("`field` applies to json files only")
        return self

    @property
    def resolved_format(self) -> Format:
        """The format given, or the one the extension implies."""
        found = self.format or _format_of(self.path)
        assert found is not None  # `_known_format` refuses a path without one
        return found

    @property
    def columns(self) -> list[str]:
        """The text columns as a list."""
        return [self.column] if isinstance(self.column, str) else list(self.column)


class Decontaminate(ColumnStep):
    """Drop rows that share an n-gram (or, for short texts, the whole text) with an evaluation set."""

    name = "decontaminate"
    version = 1
    scope = "row"

    class Params(Params):
        """The evaluation sets and how texts are compared."""

        against: list[EvalSet] = Field(
            min_length=1, description="Evaluation sets whose texts must not appear in the data."
        )
        column: str = Field("text", description="The string column of the data to check.")
        unit: Literal["auto", "word", "char"] = Field(
            "auto",
            description="Compare word or character n-grams; auto: characters when the spec's languages "
            "include zh, ja, ko, th, lo, km, my or bo (CJK, Thai …), words otherwise.",
        )
        ngram: int | None = Field(
            None, ge=1, le=1000, description="Units per n-gram; default 13 words or 50 characters."
        )
        min_length: int = Field(
            1,
            ge=1,
            description="Texts with fewer units are never compared. Texts with at least this many "
            "but fewer than `ngram` units are compared whole: a row equal to an evaluation text is dropped.",
        )

    params: Params

    def __init__(self, params: Params, context: Context):
        super().__init__(params, context)
        self._index: np.ndarray | None = None

    def __getstate__(self) -> dict[str, Any]:
        """Pickled without the n-gram index: each worker builds its own on first use."""
        return {**self.__dict__, "_index": None}

    @property
    def unit(self) -> Literal["word", "char"]:
        """`word` or `char`, with `auto` resolved from the spec's languages."""
        from specc.minhash import resolve_unit

        return resolve_unit(self.params.unit, self.context.languages)

    @property
    def ngram(self) -> int:
        """Units per n-gram."""
        return self.params.ngram or DEFAULT_NGRAM[self.unit]

    def files(self) -> list[Path]:
        """The evaluation files, set by set (globs sorted); their bytes decide what is dropped."""
        return [path for spec in self.params.against for path in self.context.files(spec.path)]

    def hashes(self, values: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
        """The hashes each text is compared by, and the text each hash belongs to."""
        from specc.minhash import text_units, window_hashes

        return window_hashes(*text_units(values, self.unit), self.ngram, self.params.min_length)

    def index(self) -> np.ndarray:
        """The sorted distinct hashes of every evaluation text, built once per process."""
        import numpy as np

        if self._index is None:
            parts = [
                self.hashes(values)[0]
                for i, spec in enumerate(self.params.against)
                for values in self.eval_texts(i, spec)
            ]
            self._index = np.unique(np.concatenate(parts)) if parts else np.zeros(0, np.uint64)
            if not len(self._index):
                raise self.fail(
                    f"the evaluation sets hold no text of at least {self.params.min_length} "
                    f"{self.unit}(s); check `against` (files, `column`)"
                )
        return self._index

    def eval_texts(self, i: int, spec: EvalSet) -> Iterator[pa.Array]:
        """The texts of one evaluation set, read with the built-in source for its format."""
        import pyarrow as pa
        import pyarrow.compute as pc

        from specc.builtins import sources

        classes = {
            "jsonl": sources.JsonlSource,
            "json": sources.JsonSource,
            "csv": sources.CsvSource,
            "tsv": sources.TsvSource,
            "parquet": sources.ParquetSource,
            "text": sources.TextLinesSource,
        }
        fmt = spec.resolved_format
        cls = classes[fmt]
        options = {"text": spec.path} if fmt == "text" else {"path": spec.path}
        if spec.field is not None:
            options["field"] = spec.field
        step_id = self.context.step_id
        allow = self.context.allow_external_paths
        try:  # checked when the spec was read; the file may have gone since
            params = cls.Params.model_validate(
                options, context={"spec_dir": self.context.spec_dir, "allow_external_paths": allow}
            )
        except ValidationError as exc:
            raise self.fail(f"cannot read the eval set {spec.path}: {exc.errors()[0]['msg']}") from None
        source = cls(params, Context(step_id, 0, self.context.spec_dir, allow_external_paths=allow))
        wanted = ["text"] if fmt == "text" else spec.columns
        try:
            for batch in source.read():
                for name in wanted:
                    if name not in batch.schema.names:
                        raise self.fail(
                            f"evaluation set against[{i}] ('{spec.path}') has no column '{name}'; "
                            f"its columns are: {', '.join(batch.schema.names)}; fix `column`"
                        )
                    values = batch.column(name)
                    if pa.types.is_list(values.type) or pa.types.is_large_list(values.type):
                        values = pc.list_flatten(values)
                    if pa.types.is_null(values.type):
                        continue
                    if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
                        raise self.fail(
                            f"evaluation set against[{i}] ('{spec.path}'): column '{name}' holds "
                            f"{batch.column(name).type}, not text; name a text column in `column`"
                        )
                    yield values
        except SpeccError as exc:  # a DataError from the source: name this step, not a source
            message = str(exc).replace(
                f"error: source '{step_id}':", f"error: step '{step_id}' ({self.name}), evaluation set against[{i}]:"
            )
            raise SpeccError(message) from None

    def apply(self, table: pa.Table) -> StepResult:
        """Kept rows; rows sharing an n-gram (short rows: the whole text) with an evaluation text are `contaminated`."""
        import numpy as np
        import pyarrow as pa

        values = self.column(table, self.params.column)
        if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
            raise self.fail(f"column '{self.params.column}' has type {values.type}; {self.name} needs a string column")
        index = self.index()
        hashes, rows = self.hashes(values)
        found = np.searchsorted(index, hashes)
        hit = index[np.minimum(found, len(index) - 1)] == hashes
        contaminated = np.zeros(table.num_rows, bool)
        contaminated[rows[hit]] = True
        return self.keep(table, pa.array(~contaminated), "contaminated")
