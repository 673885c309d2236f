"""The built-in sources: rows and types that come out, and errors that name file and line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pydantic import ValidationError

from specc.builtins import sources
from specc.components import Context, Source
from specc.errors import DataError
from specc.plugins import get_registry

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
TWEETEVAL = SHARED_DATA / "tweeteval"


def make(cls: type[Source], spec_dir: Path, **params: object) -> Source:
    """A source as the compiler builds it."""
    validated = cls.Params.model_validate(params, context={"spec_dir": spec_dir})
    return cls(validated, Context(step_id="src", seed=0, spec_dir=spec_dir))


def read(source: Source) -> pa.Table:
    """Every row a source yields, checking that all batches share one schema."""
    chunks = [pa.table(chunk) if isinstance(chunk, pa.RecordBatch) else chunk for chunk in source.read()]
    assert len({chunk.schema for chunk in chunks}) <= 1
    return pa.concat_tables(chunks)


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_bytes(content.encode("utf-8"))
    return path


def data_error(source: Source) -> str:
    with pytest.raises(DataError) as info:
        read(source)
    return str(info.value)


@pytest.fixture
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tiny read blocks, so that files span many blocks and types change between them."""
    monkeypatch.setattr(sources, "BLOCK_BYTES", 64)


def test_registers_every_builtin_source() -> None:
    registered = [
        get_registry().get("source", name).cls for name in ("csv", "json", "jsonl", "parquet", "text-lines", "tsv")
    ]
    assert all(cls.__module__ == "specc.builtins.sources" for cls in registered)
    assert all(issubclass(cls.Params, sources.SourceParams) and cls.version == 1 for cls in registered)


def test_module_import_does_not_import_pyarrow() -> None:
    code = "import sys, specc.builtins.sources; print('pyarrow' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


# --- JSON Lines and JSON ---------------------------------------------------------------------


def test_jsonl_glob_reads_files_in_sorted_order_and_unifies_types(tmp_path: Path) -> None:
    write(tmp_path / "data" / "b.jsonl", '{"text": "第二个文件", "score": 2.5, "extra": true}\n')
    write(tmp_path / "data" / "a.jsonl", '{"text": "你好，世界", "score": 1}\n\n{"text": "émoji 🎉", "score": 2}\n')
    source = make(sources.JsonlSource, tmp_path, path="data/*.jsonl")
    assert [p.name for p in source.files()] == ["a.jsonl", "b.jsonl"]
    table = read(source)
    assert table.schema == pa.schema([("text", pa.string()), ("score", pa.float64()), ("extra", pa.bool_())])
    assert table.to_pylist() == [
        {"text": "你好，世界", "score": 1.0, "extra": None},
        {"text": "émoji 🎉", "score": 2.0, "extra": None},
        {"text": "第二个文件", "score": 2.5, "extra": True},
    ]


def test_jsonl_over_many_blocks_keeps_order_types_and_strings(tmp_path: Path, small_blocks: None) -> None:
    lines = [{"n": i, "when": "2020-01-01", "tags": []} for i in range(30)]
    lines += [{"n": 30.5, "when": "yesterday", "tags": ["a"], "meta": {"k": 1}}]
    write(tmp_path / "rows.jsonl", "\r\n".join(json.dumps(line) for line in lines))
    table = read(make(sources.JsonlSource, tmp_path, path="rows.jsonl"))
    assert table.num_rows == 31
    assert table.schema.field("n").type == pa.float64()
    assert table.schema.field("when").type == pa.string()  # JSON strings stay strings, not timestamps
    assert table.column("n").to_pylist() == [float(i) for i in range(30)] + [30.5]
    assert table.column("tags").to_pylist()[-2:] == [[], ["a"]]
    assert table.column("meta").to_pylist()[-2:] == [None, {"k": 1}]


@pytest.mark.parametrize("blocks", ["one", "many"])
def test_jsonl_bad_line_names_file_and_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, blocks: str) -> None:
    if blocks == "many":
        monkeypatch.setattr(sources, "BLOCK_BYTES", 40)
    good = "".join(json.dumps({"text": f"row {i}"}) + "\n" for i in range(10))
    write(tmp_path / "d" / "rows.jsonl", good + "\n" + '{"text": "broken", \n' + good)
    message = data_error(make(sources.JsonlSource, tmp_path, path="d/rows.jsonl"))
    assert message.startswith("d/rows.jsonl:12: error: source 'src': invalid JSON (")


@pytest.mark.parametrize("blocks", ["one", "many"])
def test_jsonl_field_changing_type_names_the_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, blocks: str) -> None:
    if blocks == "many":
        monkeypatch.setattr(sources, "BLOCK_BYTES", 40)
    rows = [{"label": i} for i in range(8)] + [{"label": "seven"}]
    write(tmp_path / "rows.jsonl", "\n".join(json.dumps(row) for row in rows) + "\n")
    message = data_error(make(sources.JsonlSource, tmp_path, path="rows.jsonl"))
    assert message.startswith("rows.jsonl:9: error: source 'src': ")
    assert "one type in every row" in message


def test_jsonl_type_conflict_between_files_names_the_later_file(tmp_path: Path) -> None:
    write(tmp_path / "a.jsonl", '{"label": 1}\n')
    write(tmp_path / "b.jsonl", '{"text": "x"}\n{"label": [2]}\n')
    message = data_error(make(sources.JsonlSource, tmp_path, path="*.jsonl"))
    assert message.startswith("b.jsonl:2: error: source 'src': field 'label' holds an array here but int64")


def test_jsonl_line_that_is_not_an_object(tmp_path: Path) -> None:
    write(tmp_path / "rows.jsonl", '{"a": 1}\n[1, 2]\n')
    message = data_error(make(sources.JsonlSource, tmp_path, path="rows.jsonl"))
    assert message.startswith("rows.jsonl:2: error: source 'src': expected a JSON object, found an array")


def test_json_array_with_unicode_pretty_printed(tmp_path: Path) -> None:
    records = [
        {"instruction": "翻译成英文", "output": "Translate to English", "n": 1},
        {"instruction": "línea\nnueva", "output": "ok", "n": 2},
    ]
    write(tmp_path / "data.json", json.dumps(records, ensure_ascii=False, indent=2))
    table = read(make(sources.JsonSource, tmp_path, path="data.json"))
    assert table.to_pylist() == records
    assert table.schema.field("n").type == pa.int64()


def test_json_object_with_field(tmp_path: Path) -> None:
    write(tmp_path / "data.json", json.dumps({"version": "1", "meta": {"rows": [0]}, "data": [{"q": "a"}, {"q": "b"}]}))
    table = read(make(sources.JsonSource, tmp_path, path="data.json", field="data"))
    assert table.column("q").to_pylist() == ["a", "b"]
    message = data_error(make(sources.JsonSource, tmp_path, path="data.json", field="rows"))
    assert "no top-level key 'rows' (keys: version, meta, data); fix `field:`" in message


def test_json_reads_json_lines_too(tmp_path: Path) -> None:
    write(tmp_path / "data.json", '{"q": "a"}\n{"q": "b"}\n')
    assert read(make(sources.JsonSource, tmp_path, path="data.json")).column("q").to_pylist() == ["a", "b"]


def test_json_single_object_asks_for_field(tmp_path: Path) -> None:
    write(tmp_path / "data.json", json.dumps({"data": [{"q": "a"}]}, indent=2))
    message = data_error(make(sources.JsonSource, tmp_path, path="data.json"))
    assert message.startswith("data.json:1: error: source 'src': the file is one JSON object")
    assert "`field:` (keys: data)" in message


def test_json_array_errors_name_the_line(tmp_path: Path) -> None:
    write(tmp_path / "bad.json", '[\n  {"q": "a"},\n  {"q": "b",}\n]\n')
    assert data_error(make(sources.JsonSource, tmp_path, path="bad.json")).startswith(
        "bad.json:3: error: source 'src': invalid JSON ("
    )
    write(tmp_path / "scalar.json", '[\n  {"q": "a"},\n\n  "b"\n]\n')
    assert data_error(make(sources.JsonSource, tmp_path, path="scalar.json")).startswith(
        "scalar.json:4: error: source 'src': expected a JSON object, found a string"
    )
    write(tmp_path / "mixed.json", '[{"q": 1},\n{"q": 2},\n{"q": "x"}]')
    assert data_error(make(sources.JsonSource, tmp_path, path="mixed.json")).startswith("mixed.json:3: ")


def test_empty_and_non_utf8_files(tmp_path: Path) -> None:
    write(tmp_path / "empty.jsonl", "\n  \n")
    message = data_error(make(sources.JsonlSource, tmp_path, path="empty.jsonl"))
    assert message.startswith("empty.jsonl: error: source 'src': the file is empty")
    write(tmp_path / "latin.jsonl", '{"a": "ok"}\n{"a": "caf\xe9"}\n'.encode("latin-1"))
    message = data_error(make(sources.JsonlSource, tmp_path, path="latin.jsonl"))
    assert message.startswith("latin.jsonl:2: error: source 'src': not valid utf-8 text")
    write(tmp_path / "empty.parquet", b"")
    assert "the file is empty" in data_error(make(sources.ParquetSource, tmp_path, path="empty.parquet"))


# --- CSV and TSV -----------------------------------------------------------------------------


def test_csv_quoted_newlines_unicode_and_types(tmp_path: Path) -> None:
    write(tmp_path / "rows.csv", 'id,text,score\r\n1,"第一行\n第二行",0.5\r\n2,"say ""hi"", ok",\r\n3,plain,2\r\n')
    table = read(make(sources.CsvSource, tmp_path, path="rows.csv"))
    assert table.schema == pa.schema([("id", pa.int64()), ("text", pa.string()), ("score", pa.float64())])
    assert table.to_pylist() == [
        {"id": 1, "text": "第一行\n第二行", "score": 0.5},
        {"id": 2, "text": 'say "hi", ok', "score": None},
        {"id": 3, "text": "plain", "score": 2.0},
    ]


def test_csv_glob_unifies_types_across_files(tmp_path: Path) -> None:
    write(tmp_path / "a.csv", "code,n,only_a\n1,1,x\n2,2,y\n")
    write(tmp_path / "b.csv", "n,code\n2.5,A7\n")
    table = read(make(sources.CsvSource, tmp_path, path="*.csv"))
    assert table.schema == pa.schema([("code", pa.string()), ("n", pa.float64()), ("only_a", pa.string())])
    assert table.to_pylist() == [
        {"code": "1", "n": 1.0, "only_a": "x"},
        {"code": "2", "n": 2.0, "only_a": "y"},
        {"code": "A7", "n": 2.5, "only_a": None},
    ]


def test_csv_type_guessed_from_first_block_is_widened(tmp_path: Path, small_blocks: None) -> None:
    rows = [f"{i},{i},,text {i}" for i in range(40)] + ["40,40.5,7,late", "x41,41,,more"]
    write(tmp_path / "rows.csv", "a,b,c,d\n" + "\n".join(rows) + "\n")
    table = read(make(sources.CsvSource, tmp_path, path="rows.csv"))
    assert table.schema == pa.schema([("a", pa.string()), ("b", pa.float64()), ("c", pa.int64()), ("d", pa.string())])
    assert table.num_rows == 42
    assert table.column("a").to_pylist()[-2:] == ["40", "x41"]
    assert table.column("c").to_pylist()[-3:] == [None, 7, None]


def test_csv_wrong_field_count_names_the_line(tmp_path: Path) -> None:
    write(tmp_path / "rows.csv", 'a,b\n1,"two\nlines"\n2,x\n3,y,extra\n4,z\n')
    message = data_error(make(sources.CsvSource, tmp_path, path="rows.csv"))
    assert message.startswith("rows.csv:5: error: source 'src': expected 2 values as in the header, found 3")


def test_csv_delimiter_and_encoding(tmp_path: Path) -> None:
    write(tmp_path / "rows.csv", "name;city\nJosé;Málaga\n".encode("latin-1"))
    table = read(make(sources.CsvSource, tmp_path, path="rows.csv", delimiter=";", encoding="latin-1"))
    assert table.to_pylist() == [{"name": "José", "city": "Málaga"}]
    message = data_error(make(sources.CsvSource, tmp_path, path="rows.csv", delimiter=";"))
    assert message.startswith("rows.csv:2: error: source 'src': not valid utf-8 text")
    assert "`encoding:`" in message
    with pytest.raises(ValidationError, match="unknown encoding 'klingon'"):
        make(sources.CsvSource, tmp_path, path="rows.csv", encoding="klingon")
    with pytest.raises(ValidationError):
        make(sources.CsvSource, tmp_path, path="rows.csv", delimiter=";;")


def test_tsv_keeps_quotes_and_types(tmp_path: Path) -> None:
    write(tmp_path / "rows.tsv", 'text\tlabel\n"quoted" start\t1\nhalf " quote, comma\t0\n中文\t2\n')
    table = read(make(sources.TsvSource, tmp_path, path="rows.tsv"))
    assert table.schema == pa.schema([("text", pa.string()), ("label", pa.int64())])
    assert table.column("text").to_pylist() == ['"quoted" start', 'half " quote, comma', "中文"]
    write(tmp_path / "bad.tsv", "text\tlabel\nok\t1\ntab\tin\ttext\t2\n")
    assert data_error(make(sources.TsvSource, tmp_path, path="bad.tsv")).startswith(
        "bad.tsv:3: error: source 'src': expected 2 values as in the header, found 4"
    )


def test_csv_header_with_repeated_column(tmp_path: Path) -> None:
    write(tmp_path / "rows.csv", "a,b,a\n1,2,3\n")
    assert "column 'a' appears twice in the header" in data_error(make(sources.CsvSource, tmp_path, path="rows.csv"))


# --- Parquet ---------------------------------------------------------------------------------


def test_parquet_glob_streams_and_unifies(tmp_path: Path) -> None:
    pq.write_table(pa.table({"text": ["一", "二"], "n": pa.array([1, 2], pa.int32())}), tmp_path / "a.parquet")
    pq.write_table(pa.table({"n": pa.array([3], pa.int64()), "text": ["三"], "extra": [True]}), tmp_path / "b.parquet")
    table = read(make(sources.ParquetSource, tmp_path, path="*.parquet"))
    assert table.schema == pa.schema([("text", pa.string()), ("n", pa.int64()), ("extra", pa.bool_())])
    assert table.to_pylist() == [
        {"text": "一", "n": 1, "extra": None},
        {"text": "二", "n": 2, "extra": None},
        {"text": "三", "n": 3, "extra": True},
    ]
    pq.write_table(pa.table({"n": ["four"]}), tmp_path / "c.parquet")
    assert data_error(make(sources.ParquetSource, tmp_path, path="*.parquet")).startswith(
        "c.parquet: error: source 'src': its columns do not fit"
    )
    write(tmp_path / "fake.parquet", "not parquet")
    assert "not a readable Parquet file" in data_error(make(sources.ParquetSource, tmp_path, path="fake.parquet"))


# --- text-lines ------------------------------------------------------------------------------


def test_text_lines_keep_everything_but_the_line_break(tmp_path: Path) -> None:
    write(tmp_path / "text.txt", "\ufeffhello  \r\n  indented\tand tab \n\ncarriage\rinside\nlast without break")
    write(tmp_path / "labels.txt", "1\r\n0\n 2 \n1\n0")
    write(tmp_path / "mapping.txt", "0\tneg\n1\tneu\n2\tpos\n")
    source = make(sources.TextLinesSource, tmp_path, text="text.txt", label="labels.txt", label_names="mapping.txt")
    table = read(source)
    assert table.schema == pa.schema([("text", pa.string()), ("label", pa.int64())])
    assert table.column("text").to_pylist() == [
        "hello  ",
        "  indented\tand tab ",
        "",
        "carriage\rinside",
        "last without break",
    ]
    assert table.column("label").to_pylist() == [1, 0, 2, 1, 0]
    assert source.label_names() == {"label": ["neg", "neu", "pos"]}
    assert [p.name for p in source.files()] == ["text.txt", "labels.txt", "mapping.txt"]


def test_text_lines_without_labels_and_with_globs(tmp_path: Path) -> None:
    write(tmp_path / "a_text.txt", "一\n二\n")
    write(tmp_path / "b_text.txt", "三\n")
    table = read(make(sources.TextLinesSource, tmp_path, text="*_text.txt"))
    assert table.to_pylist() == [{"text": "一"}, {"text": "二"}, {"text": "三"}]
    write(tmp_path / "a_labels.txt", "0\n1\n")
    write(tmp_path / "b_labels.txt", "1\n")
    table = read(make(sources.TextLinesSource, tmp_path, text="*_text.txt", label="*_labels.txt"))
    assert table.column("label").to_pylist() == [0, 1, 1]


def test_text_lines_errors(tmp_path: Path) -> None:
    write(tmp_path / "text.txt", "a\nb\nc\n")
    write(tmp_path / "short.txt", "0\n1\n")
    message = data_error(make(sources.TextLinesSource, tmp_path, text="text.txt", label="short.txt"))
    assert message.startswith("text.txt: error: source 'src': text.txt has 3 lines but short.txt has 2")
    write(tmp_path / "words.txt", "0\none\n1\n")
    message = data_error(make(sources.TextLinesSource, tmp_path, text="text.txt", label="words.txt"))
    assert message.startswith("words.txt:2: error: source 'src': label 'one' is not an integer (row _id 'src:1')")
    write(tmp_path / "labels.txt", "0\n1\n2\n")
    write(tmp_path / "mapping.txt", "0\tno\n1\tyes\n")
    message = data_error(
        make(sources.TextLinesSource, tmp_path, text="text.txt", label="labels.txt", label_names="mapping.txt")
    )
    assert message.startswith(
        "labels.txt:3: error: source 'src': label id 2 (row _id 'src:2') has no name: mapping.txt names the ids 0 to 1"
    )
    write(tmp_path / "empty.txt", "")
    assert "the file is empty" in data_error(make(sources.TextLinesSource, tmp_path, text="empty.txt"))
    write(tmp_path / "latin.txt", "ok\ncaf\xe9\n".encode("latin-1"))
    assert data_error(make(sources.TextLinesSource, tmp_path, text="latin.txt")).startswith(
        "latin.txt:2: error: source 'src': not valid UTF-8"
    )
    with pytest.raises(ValidationError, match="`label_names` needs `label`"):
        make(sources.TextLinesSource, tmp_path, text="text.txt", label_names="mapping.txt")


@pytest.mark.parametrize(
    ("content", "names"),
    [
        ("0\tanger\n1\tjoy", ["anger", "joy"]),  # no final line break
        ("\ufeff1 not hate\r\n0  hate speech \r\n\n", ["hate speech", "not hate"]),  # spaces, BOM, CRLF, any order
        ("0\t❤\t_red_heart_\t\n1\t😂\t_face_with_tears_of_joy_\t\n", ["❤", "😂"]),  # TweetEval emoji layout
    ],
)
def test_mapping_layouts(tmp_path: Path, content: str, names: list[str]) -> None:
    write(tmp_path / "text.txt", "x\n")
    write(tmp_path / "labels.txt", "0\n")
    write(tmp_path / "mapping.txt", content)
    source = make(sources.TextLinesSource, tmp_path, text="text.txt", label="labels.txt", label_names="mapping.txt")
    assert source.label_names() == {"label": names}


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("0\ta\n2\tb\n", "mapping.txt: error: source 'src': ids must run from 0 to 1 without gaps; missing: 1"),
        ("0\ta\nzero\tb\n", "mapping.txt:2: error: source 'src': expected 'ID<TAB>NAME'"),
        ("0\ta\n0\tb\n", "mapping.txt:2: error: source 'src': id 0 is named twice"),
        ("0\ta\n1\ta\n", "mapping.txt: error: source 'src': name 'a' is given to several ids"),
    ],
)
def test_bad_mappings(tmp_path: Path, content: str, expected: str) -> None:
    write(tmp_path / "text.txt", "x\n")
    write(tmp_path / "labels.txt", "0\n")
    write(tmp_path / "mapping.txt", content)
    source = make(sources.TextLinesSource, tmp_path, text="text.txt", label="labels.txt", label_names="mapping.txt")
    with pytest.raises(DataError) as info:
        source.label_names()
    assert str(info.value).startswith(expected)


# --- TweetEval -------------------------------------------------------------------------------


def _line_count(path: Path) -> int:
    lines = path.read_bytes().split(b"\n")
    return len(lines) - (lines[-1] == b"")


def test_tweeteval_emotion(tmp_path: Path) -> None:
    emotion = TWEETEVAL / "emotion"
    if not emotion.is_dir():
        pytest.skip(f"shared data not found at {emotion}")
    for prefix in ("train", "val", "test"):
        source = make(
            sources.TextLinesSource,
            TWEETEVAL,
            text=f"emotion/{prefix}_text.txt",
            label=f"emotion/{prefix}_labels.txt",
            label_names="emotion/mapping.txt",
        )
        table = read(source)
        assert table.num_rows == _line_count(emotion / f"{prefix}_text.txt")
        labels = (emotion / f"{prefix}_labels.txt").read_text().split()
        assert table.column("label").to_pylist() == [int(label) for label in labels]
        first = (emotion / f"{prefix}_text.txt").read_text(encoding="utf-8").split("\n")[0]
        assert table.column("text")[0].as_py() == first
    mapping = [line.split("\t")[1] for line in (emotion / "mapping.txt").read_text().splitlines()]
    assert source.label_names() == {"label": mapping}


@pytest.mark.parametrize(
    "mapping", sorted(TWEETEVAL.glob("**/mapping.txt")) if TWEETEVAL.is_dir() else [], ids=lambda path: path.parent.name
)
def test_every_tweeteval_mapping_parses(mapping: Path) -> None:
    task = mapping.parent
    labels = next(task.glob("**/train_labels.txt"))
    source = make(
        sources.TextLinesSource,
        TWEETEVAL,
        text=str(labels.relative_to(TWEETEVAL)),
        label=str(labels.relative_to(TWEETEVAL)),
        label_names=str(mapping.relative_to(TWEETEVAL)),
    )
    names = source.label_names()["label"]
    assert len(names) == len(mapping.read_text(encoding="utf-8").strip().splitlines())
    assert all(name and name == name.strip() for name in names)
    assert max(read(source).column("label").to_pylist()) < len(names)
