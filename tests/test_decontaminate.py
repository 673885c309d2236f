"""Tests of the decontaminate step: rows sharing an n-gram with an evaluation set are dropped."""

from __future__ import annotations

import json
import pickle
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pydantic import ValidationError

from specc.builtins.decontaminate import Decontaminate, EvalSet
from specc.components import Context
from specc.errors import SpeccError
from specc.plugins import get_registry
from tests.conftest import run_cli, write

THIRTEEN = "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike"
TWELVE = THIRTEEN.rsplit(" ", 1)[0]
# 50 Chinese characters: a row sharing all of them with the evaluation set is dropped, 49 are not enough
HAN = "春眠不觉晓处处闻啼鸟夜来风雨声花落知多少床前明月光疑是地上霜举头望明月低头思故乡白日依山尽黄河入海流"
assert len(HAN) == 50


def spec(folder: Path, clean: str, languages: str = "[en]") -> Path:
    """A spec over data.jsonl in `folder` with the given clean stage (YAML lines)."""
    return write(
        folder / "spec.yaml",
        f"""\
specc: 1
name: decon
description: Decontamination test.
license: cc-by-4.0
languages: {languages}
card:
  summary: Rows for a decontamination test.
  uses: Testing.
  out_of_scope: Anything else.
  limitations: Tiny.
  personal_information: None.
sources:
  rows: {{type: jsonl, path: data.jsonl}}
clean:
{clean}""",
    )


def jsonl(path: Path, rows: list[dict]) -> Path:
    """Write `rows` as JSON Lines."""
    return write(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


def built(folder: Path) -> tuple[dict, list[str]]:
    """The stats and the kept texts of the build in `folder`."""
    out = folder / "build" / "decon"
    stats = json.loads((out / "stats.json").read_text())
    texts = [t for p in sorted((out / "data").glob("*.parquet")) for t in pq.read_table(p).column("text").to_pylist()]
    return stats, texts


def step(folder: Path, languages: tuple[str, ...] = ("en",), **params) -> Decontaminate:
    """A decontaminate step over evaluation files in `folder`."""
    return Decontaminate(
        Decontaminate.Params.model_validate(params, context={"spec_dir": folder}),
        Context("clean.decontaminate", 1, folder, languages),
    )


def kept(result) -> list[str]:
    """The texts a step result kept."""
    return result.table.column("text").to_pylist()


# --- end to end -----------------------------------------------------------------------------


def test_build_drops_rows_sharing_a_13_gram_and_counts_them(tmp_path: Path) -> None:
    rows = [
        {"text": f"Intro words. {THIRTEEN.upper()}, and then an ending"},  # 13-gram, other case/punct
        {"text": f"{TWELVE} and a different thirteenth word here"},  # 12 words only: stays
        {"text": "an unrelated row about the weather"},  # stays
        {"text": "What is the capital of France?"},  # short, equal to an eval text
        {"text": "what is the capital of france and why"},  # short, not equal: stays
        {"text": f"words before {' '.join(THIRTEEN.split()[3:])} november oscar papa"},  # second eval text
    ]
    jsonl(tmp_path / "data.jsonl", rows)
    write(
        tmp_path / "evals" / "qa.csv",
        f'question,answer\n"{THIRTEEN} and more",yes\n"what is the capital of  FRANCE",Paris\n',
    )
    write(tmp_path / "evals" / "lines.txt", f"x {' '.join(THIRTEEN.split()[3:])} november oscar papa y\n")
    path = spec(
        tmp_path,
        """\
  - type: decontaminate
    against:
      - {path: evals/qa.csv, column: question}
      - {path: evals/lines.txt}
""",
    )
    result = run_cli("build", str(path))
    assert result.returncode == 0, result.stderr
    stats, texts = built(tmp_path)
    record = next(s for s in stats["steps"] if s["id"] == "clean.decontaminate")
    assert record["dropped"] == {"contaminated": 3}
    assert record["rows_in"] == 6 and record["rows_out"] == 3
    assert sorted(texts) == sorted([rows[1]["text"], rows[2]["text"], rows[4]["text"]])
    again = run_cli("build", str(path), "--num-proc", "2", "--cache-dir", str(tmp_path / "other-cache"))
    assert again.returncode == 0, again.stderr
    assert built(tmp_path)[0]["steps"] == stats["steps"]


def test_build_in_chinese_compares_50_characters(tmp_path: Path) -> None:
    jsonl(
        tmp_path / "data.jsonl",
        [
            {"text": f"前言：{HAN}。后记"},  # the 50 characters, punctuation around them
            {"text": f"前言{HAN[:49]}后记不同"},  # 49 shared characters: stays
            {"text": "完全无关的一句话"},
        ],
    )
    jsonl(tmp_path / "eval.jsonl", [{"text": f"题目：{HAN[:25]}，{HAN[25:]}？"}])
    path = spec(tmp_path, "  - {type: decontaminate, against: [{path: eval.jsonl}]}\n", languages="[zh]")
    result = run_cli("build", str(path))
    assert result.returncode == 0, result.stderr
    stats, texts = built(tmp_path)
    assert stats["steps"][0]["dropped"] == {"contaminated": 1}
    assert sorted(texts) == sorted([f"前言{HAN[:49]}后记不同", "完全无关的一句话"])


def test_missing_evaluation_file_is_a_validation_error_at_its_line(tmp_path: Path) -> None:
    jsonl(tmp_path / "data.jsonl", [{"text": "a"}])
    path = spec(
        tmp_path,
        """\
  - type: decontaminate
    against:
      - path: evals/missing.jsonl
""",
    )
    for command in ("validate", "build"):
        result = run_cli(command, str(path))
        assert result.returncode == 1
        assert "Traceback" not in result.stderr
        assert re.search(
            r"spec\.yaml:17:\d+: error: clean\[0\]\.against\[0\]\.path: file 'evals/missing\.jsonl' "
            r"not found",
            result.stderr,
        ), result.stderr


def test_broken_evaluation_file_names_the_step_file_and_line(tmp_path: Path) -> None:
    jsonl(tmp_path / "data.jsonl", [{"text": "a row"}])
    write(tmp_path / "eval.jsonl", '{"text": "fine"}\n{"text": \n')
    path = spec(tmp_path, "  - {type: decontaminate, against: [{path: eval.jsonl}]}\n")
    result = run_cli("build", str(path))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith(
        "eval.jsonl:2: error: step 'clean.decontaminate' (decontaminate), evaluation set against[0]: invalid JSON"
    )


def test_evaluation_file_gone_after_validation_names_the_step(tmp_path: Path) -> None:
    eval_file = jsonl(tmp_path / "eval.jsonl", [{"text": "a held-out row"}])
    decontaminate = step(tmp_path, against=[{"path": "eval.jsonl"}])
    eval_file.unlink()
    with pytest.raises(SpeccError, match=r"^error: step 'clean.decontaminate' \(decontaminate\): cannot read the eval"):
        list(decontaminate.eval_texts(0, decontaminate.params.against[0]))


def test_evaluation_file_bytes_change_the_fingerprint(tmp_path: Path) -> None:
    from specc.compiler import compile_spec
    from specc.spec import load_spec

    jsonl(tmp_path / "data.jsonl", [{"text": "a row"}])
    evals = jsonl(tmp_path / "eval.jsonl", [{"text": "first evaluation text"}])
    path = spec(tmp_path, "  - {type: decontaminate, against: [{path: eval.jsonl}]}\n")

    def fingerprint() -> str:
        plan = compile_spec(load_spec(path))
        return next(s.fingerprint for s in plan.steps if s.id == "clean.decontaminate")

    before = fingerprint()
    jsonl(evals, [{"text": "another evaluation text"}])
    assert fingerprint() != before
    assert run_cli("lock", str(path)).returncode == 0
    jsonl(evals, [{"text": "a third evaluation text"}])
    plan = run_cli("plan", str(path))
    assert "~ clean.decontaminate" in plan.stdout and "      file bytes: eval.jsonl sha256 " in plan.stdout


# --- the step on tables ---------------------------------------------------------------------


def test_min_length_and_short_texts(tmp_path: Path) -> None:
    write(tmp_path / "eval.txt", "Yes\nthe cat sat\n\n" + THIRTEEN + "\n")
    table = pa.table(
        {
            "_id": ["a", "b", "c", "d", "e", "f"],
            "_source": ["s"] * 6,
            "text": ["yes!", "The cat sat.", "the cat sat down", None, "", f"x {THIRTEEN} y"],
        }
    )
    default = step(tmp_path, against=[{"path": "eval.txt"}]).apply(table)
    assert kept(default) == ["the cat sat down", None, ""]
    assert default.dropped["contaminated"].to_pylist() == [True, True, False, False, False, True]
    two = step(tmp_path, against=[{"path": "eval.txt"}], min_length=2).apply(table)
    assert kept(two) == ["yes!", "the cat sat down", None, ""]
    five = step(tmp_path, against=[{"path": "eval.txt"}], ngram=5).apply(table)
    assert kept(five) == ["the cat sat down", None, ""]


def test_formats_globs_and_list_columns(tmp_path: Path) -> None:
    (tmp_path / "evals").mkdir()
    pq.write_table(
        pa.table({"q": ["parquet text one two"], "choices": [["choice text", "other choice"]]}),
        tmp_path / "evals" / "a.parquet",
    )
    write(tmp_path / "evals" / "b.json", json.dumps({"data": [{"q": "json text three four"}]}))
    write(tmp_path / "evals" / "c.tsv", "q\tn\ntsv text five six\t1\n")
    table = pa.table(
        {
            "_id": list("abcdef"),
            "text": [
                "Parquet text, one two",
                "choice text",
                "JSON text three four",
                "tsv text five six",
                "kept text",
                "other CHOICE",
            ],
        }
    )
    result = step(
        tmp_path,
        against=[
            {"path": "evals/*.parquet", "column": ["q", "choices"]},
            {"path": "evals/b.json", "column": "q", "field": "data"},
            {"path": "evals/c.tsv", "column": "q"},
        ],
    ).apply(table)
    assert kept(result) == ["kept text"]
    files = step(tmp_path, against=[{"path": "evals/*.parquet"}, {"path": "evals/c.tsv"}]).files()
    assert [p.name for p in files] == ["a.parquet", "c.tsv"]


def test_unit_resolution_and_defaults(tmp_path: Path) -> None:
    write(tmp_path / "e.txt", "x\n")
    english = step(tmp_path, against=[{"path": "e.txt"}])
    assert (english.unit, english.ngram) == ("word", 13)
    chinese = step(tmp_path, ("zh",), against=[{"path": "e.txt"}])
    assert (chinese.unit, chinese.ngram) == ("char", 50)
    assert step(tmp_path, ("ja",), against=[{"path": "e.txt"}], unit="word", ngram=7).ngram == 7


def test_index_is_built_lazily_and_not_pickled(tmp_path: Path) -> None:
    write(tmp_path / "e.txt", "some evaluation text\n")
    instance = step(tmp_path, against=[{"path": "e.txt"}])
    assert instance._index is None
    table = pa.table({"_id": ["a", "b"], "text": ["Some evaluation text", "other"]})
    assert kept(instance.apply(table)) == ["other"]
    assert instance._index is not None
    copy = pickle.loads(pickle.dumps(instance))
    assert copy._index is None and kept(copy.apply(table)) == ["other"]


def test_errors_name_the_step_and_the_fix(tmp_path: Path) -> None:
    jsonl(tmp_path / "e.jsonl", [{"question": "q", "n": 1}])
    table = pa.table({"_id": ["a"], "text": ["q"], "n": [1]})
    missing = r"against\[0\] \('e.jsonl'\) has no column 'text'; its columns are: question, n"
    with pytest.raises(SpeccError, match=missing):
        step(tmp_path, against=[{"path": "e.jsonl"}]).apply(table)
    with pytest.raises(SpeccError, match=r"column 'n' holds int64, not text"):
        step(tmp_path, against=[{"path": "e.jsonl", "column": "n"}]).apply(table)
    with pytest.raises(SpeccError, match=r"column 'n' has type int64; decontaminate needs a string column"):
        step(tmp_path, against=[{"path": "e.jsonl", "column": "question"}], column="n").apply(table)
    with pytest.raises(SpeccError, match="no column 'body'"):
        step(tmp_path, against=[{"path": "e.jsonl", "column": "question"}], column="body").apply(table)


def test_params_are_checked(tmp_path: Path) -> None:
    write(tmp_path / "e.dat", "x\n")
    write(tmp_path / "e.txt", "x\n")
    context = {"spec_dir": tmp_path}
    with pytest.raises(ValidationError, match="cannot tell the format of 'e.dat'"):
        EvalSet.model_validate({"path": "e.dat"}, context=context)
    assert EvalSet.model_validate({"path": "e.dat", "format": "text"}, context=context).resolved_format == "text"
    with pytest.raises(ValidationError, match="`field` applies to json files only"):
        EvalSet.model_validate({"path": "e.txt", "field": "data"}, context=context)
    with pytest.raises(ValidationError, match="against"):
        Decontaminate.Params.model_validate({"against": []}, context=context)
    with pytest.raises(ValidationError, match="typo"):
        Decontaminate.Params.model_validate({"against": [{"path": "e.txt"}], "typo": 1}, context=context)
    for model in (Decontaminate.Params, EvalSet):
        assert all(field.description for field in model.model_fields.values())


def test_registered_as_a_row_step() -> None:
    assert get_registry().get("step", "decontaminate").cls is Decontaminate and Decontaminate.scope == "row"
