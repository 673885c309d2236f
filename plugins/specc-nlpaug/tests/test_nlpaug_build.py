"""specs/augment.yaml through the real CLI; lineage and split invariants; spec mistakes at their line."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from nlpaug_rows import spec_text

import specc
from specc.builder import build
from specc.testing import modules_imported, top_level
from tests.conftest import ROOT, run_cli, write

SPLITS = ("train", "validation", "test")
OUT = Path("build") / "support-intents-augmented"


def example(folder: Path) -> Path:
    """specs/augment.yaml and the quickstart's data, copied into `folder`."""
    shutil.copytree(ROOT / "specs" / "data" / "quickstart", folder / "data" / "quickstart")
    return Path(shutil.copy(ROOT / "specs" / "augment.yaml", folder / "augment.yaml"))


def split_rows(out: Path, splits: tuple[str, ...] = SPLITS) -> dict[str, list[dict[str, object]]]:
    return {split: pq.read_table(out / "data" / f"{split}-00000-of-00001.parquet").to_pylist() for split in splits}


def test_example_spec_gives_the_same_bytes_on_one_or_two_processes_and_any_hash_seed(tmp_path: Path) -> None:
    spec = example(tmp_path)
    here = os.environ.get("PYTHONHASHSEED", "random")
    other = str(int(here) + 1) if here.isdigit() else "1"  # nlpaug's spelling dictionary iterates a set
    two = run_cli(
        "build", spec.name, "--num-proc", "2", "--cache-dir", "cache-a", cwd=tmp_path, env={"PYTHONHASHSEED": other}
    )
    assert two.returncode == 0, two.stderr
    first = {p.name: p.read_bytes() for p in sorted((tmp_path / OUT / "data").iterdir())}
    stats = build(spec, num_proc=1, cache_dir=tmp_path / "cache-b")  # this process, its own hash seed
    assert {p.name: p.read_bytes() for p in sorted((tmp_path / OUT / "data").iterdir())} == first

    augmented = {s["id"]: s for s in stats["steps"] if s["stage"] == "augment"}
    assert list(augmented) == [
        "augment.nlpaug.keyboard",
        "augment.nlpaug.spelling",
        "augment.nlpaug.tfidf",
        "augment.nlpaug.random-word",
        "augment.nlpaug.reserved",
    ]
    assert all(set(s["added"]) == {"train"} and s["added"]["train"] > 10 for s in augmented.values())
    assert augmented["augment.nlpaug.tfidf"]["info"]["fitted"]["bytes"] > 1000
    rows = split_rows(tmp_path / OUT)
    for split, table in rows.items():  # augmented rows stay with their origin, in train only
        ids = {row["_id"] for row in table if row["_origin_id"] is None}
        made = [row for row in table if row["_origin_id"] is not None]
        assert all(row["_origin_id"] in ids and row["_augmenter"].startswith("nlpaug.") for row in made)
        assert bool(made) == (split == "train")
    card = (tmp_path / OUT / "README.md").read_text()
    assert "## Augmentation" in card and "> **Warning:**" not in card
    assert "| `augment.nlpaug.spelling` | `" in card  # its before/after example


def test_validate_of_the_example_imports_no_nlpaug_and_is_clean() -> None:
    imported = modules_imported("validate", str(ROOT / "specs" / "augment.yaml"))
    heavy = {"nlpaug", "torch", "transformers", "nltk", "gensim", "numpy", "pyarrow", "datasets"}
    assert top_level(imported, heavy) == []
    assert {"specc_nlpaug.chars", "specc_nlpaug.words"} <= imported and "specc_nlpaug.models" not in imported
    result = run_cli("validate", str(ROOT / "specs" / "augment.yaml"))
    assert (result.returncode, result.stdout, result.stderr) == (0, f"{ROOT / 'specs' / 'augment.yaml'}: ok\n", "")


BAD = """\
specc: 1
name: bad-augment
description: d
license: mit
sources:
  rows: {type: jsonl, path: rows.jsonl}
split: {method: random, ratios: {train: 0.8, test: 0.2}}
augment:
  - {type: nlpaug.keyboard, splits: [train, test]}
  - {type: nlpaug.word-embeddings, vectors: vectors/missing.bin, model_type: word2vec}
  - {type: nlpaug.sentence-shuffle, splitter: '([.!?])\\s+'}
  - {type: nlpaug.contextual, model: ../models/bert}
  - {type: nlpaug.random-word, action: shuffle, fraction: 0}
card: {draft: true}
"""


def test_each_mistake_in_augment_is_reported_at_its_line(tmp_path: Path) -> None:
    write(tmp_path / "rows.jsonl", '{"text": "hello there"}\n')
    write(tmp_path / "bad.yaml", BAD)
    result = run_cli("validate", "bad.yaml", cwd=tmp_path)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert lines[0] == (
        "bad.yaml:9:37: error: augment[0].splits: augmenting 'test' puts made-up rows into a split "
        "that evaluates models; augment train only, or set `allow_eval: true` (the card then says so)"
    )
    assert lines[1] == (
        "bad.yaml:10:45: error: augment[1].vectors: file 'vectors/missing.bin' not found; paths are "
        "relative to the spec's folder"
    )
    assert lines[2].startswith("bad.yaml:11:47: error: augment[2].splitter: the splitter has a capturing group")
    assert lines[3] == (
        "bad.yaml:12:38: error: augment[3].model: '../models/bert' is neither a folder beside the "
        "spec nor a Hub model name such as Helsinki-NLP/opus-mt-en-de"
    )
    assert lines[4].startswith(
        "bad.yaml:13:40: error: augment[4].action: Input should be 'swap', 'delete', 'crop' or 'substitute'"
    )
    assert lines[5].startswith("bad.yaml:13:59: error: augment[4].fraction: Input should be greater than 0")
    assert len(lines) == 6


def small(folder: Path, step: str) -> Path:
    """small.yaml with one augment step over 20 rows, split half and half into train and test."""
    texts = [f"Please help me with order number {i}, it has not arrived yet" for i in range(20)]
    write(folder / "rows.jsonl", "".join(json.dumps({"text": t, "label": i % 2}) + "\n" for i, t in enumerate(texts)))
    return write(folder / "small.yaml", spec_text("small", 3, {"train": 0.5, "test": 0.5}, [step]))


def test_allow_eval_augments_test_rows_and_the_card_flags_it(tmp_path: Path) -> None:
    spec = small(tmp_path, "{type: nlpaug.keyboard, splits: [train, test], allow_eval: true, aug_word_p: 1.0}")
    stats = build(spec, cache_dir=tmp_path / "cache")
    assert stats["steps"][-1]["added"] == {"test": 10, "train": 10}
    rows = split_rows(tmp_path / "build" / "small", ("train", "test"))
    for table in rows.values():
        originals = {row["_id"] for row in table if row["_origin_id"] is None}
        assert {row["_origin_id"] for row in table if row["_origin_id"]} == originals
    card = (tmp_path / "build" / "small" / "README.md").read_text()
    assert (
        "> **Warning:** step `augment.nlpaug.keyboard` augmented the evaluation split `test` "
        "(`allow_eval: true`): scores measured on them include made-up rows."
    ) in card


@pytest.mark.parametrize(
    ("step", "message"),
    [
        (
            "{type: nlpaug.keyboard, columns: [body]}",
            "error: augment[0].columns[0]: no column 'body' in the rows it reads; the columns are: text, label",
        ),
        (
            "{type: nlpaug.spelling, splits: [validation], allow_eval: true}",
            "error: step 'augment.nlpaug.spelling' (nlpaug.spelling): splits: the data has no split 'validation' "
            "(its splits: test, train); fix `splits:`",
        ),
    ],
)
def test_build_errors_name_the_step(step: str, message: str, tmp_path: Path) -> None:
    spec = small(tmp_path, step)
    with pytest.raises(specc.SpeccError) as info:
        build(spec, cache_dir=tmp_path / "cache")
    assert str(info.value).endswith(message)  # a spec's mistake comes after its file, line and column
