"""The example plugin works through its entry point, without touching the core."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow as pa

from specc.components import Context
from specc_example import MinWords


def _specc(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "specc", *args], cwd=cwd, capture_output=True, text=True)


def test_min_words_drops_short_rows() -> None:
    step = MinWords(MinWords.Params(min_words=3), Context("clean.min-words", 0, Path(".")))
    table = pa.table({"text": ["one two three", "one two", "  a b c d  ", None], "_source": ["s"] * 4})
    result = step.apply(table)
    assert result.table["text"].to_pylist() == ["one two three", "  a b c d  "]
    assert result.dropped["too-few-words"].to_pylist() == [False, True, False, True]


def test_entry_point_makes_the_type_usable_in_a_spec(tmp_path: Path) -> None:
    (tmp_path / "rows.jsonl").write_text('{"text": "just two"}\n{"text": "three words here"}\n')
    (tmp_path / "s.yaml").write_text(
        "specc: 1\nname: words\ndescription: d\nlicense: mit\n"
        "sources:\n  rows: {type: jsonl, path: rows.jsonl}\n"
        "clean:\n  - {type: min-words, min_words: 3}\ncard: {draft: true}\n"
    )
    listed = json.loads(_specc("plugins", "--json", cwd=tmp_path).stdout)
    assert {
        "name": "example",
        "distribution": "specc-example",
        "version": "0.1.0",
        "provides": {"step": ["min-words"]},
    } in listed
    result = _specc("build", "s.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    stats = json.loads((tmp_path / "build" / "words" / "stats.json").read_text())
    assert stats["steps"][0]["dropped"] == {"too-few-words": 1}
    assert {"name": "example", "distribution": "specc-example", "version": "0.1.0"} in stats["build"]["plugins"]


def test_bad_parameter_is_reported_at_its_line(tmp_path: Path) -> None:
    (tmp_path / "rows.jsonl").write_text('{"text": "x"}\n')
    (tmp_path / "s.yaml").write_text(
        "specc: 1\nname: words\ndescription: d\nlicense: mit\n"
        "sources:\n  rows: {type: jsonl, path: rows.jsonl}\n"
        "clean:\n  - {type: min-words, min_words: 0}\ncard: {draft: true}\n"
    )
    result = _specc("validate", "s.yaml", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith(
        "s.yaml:8:34: error: clean[0].min_words: Input should be greater than or equal to 1"
    )
