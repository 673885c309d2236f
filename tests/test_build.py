"""`specc build` end to end: output loads with datasets, bytes are reproducible, failures lose nothing."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from specc.executor import record_path
from tests.conftest import ROOT, run_cli, write


def _digests(folder: Path) -> dict[str, bytes]:
    """Every output file's bytes (the build record, with times and host, is kept out of the folder)."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def quickstart(tmp_path: Path) -> Path:
    """A copy of specs/ to build in."""
    shutil.copytree(ROOT / "specs", tmp_path / "specs", ignore=shutil.ignore_patterns("build", ".specc"))
    return tmp_path / "specs" / "quickstart.yaml"


def test_quickstart_builds_and_loads(quickstart: Path) -> None:
    import datasets

    result = run_cli("build", str(quickstart))
    assert result.returncode == 0, result.stderr
    out = quickstart.parent / "build" / "support-intents"
    assert sorted(p.name for p in out.iterdir()) == [
        ".specc-output.json",
        "README.md",
        "croissant.json",
        "data",
        "plots",
        "stats.json",
    ]
    loaded = datasets.load_dataset(str(out))
    stats = json.loads((out / "stats.json").read_text())
    assert list(loaded) == ["train", "validation", "test"]
    for entry in stats["outputs"]:
        assert loaded[entry["split"]].num_rows == entry["rows"]
    names = loaded["train"].features["label"].names
    assert names == ["billing", "shipping", "returns", "account", "technical"]
    funnel = {s["id"]: s for s in stats["steps"]}
    assert funnel["clean.dedup"]["dropped"]["duplicate"] >= 3
    assert funnel["clean.regex"]["dropped"] == {"match": 2}
    assert funnel["clean.length"]["dropped"]["too-short"] >= 2
    read = sum(s["rows"] for s in stats["sources"].values())
    assert read == 160
    assert sum(e["rows"] for e in stats["outputs"]) == funnel["clean.dedup"]["rows_out"]
    card = (out / "README.md").read_text()
    assert "## Processing" in card and "| `clean.dedup` | dedup |" in card
    ids = [row["_id"] for split in loaded.values() for row in split]
    assert len(ids) == len(set(ids))


def test_two_builds_and_worker_counts_give_identical_bytes(quickstart: Path, tmp_path: Path) -> None:
    out = quickstart.parent / "build" / "support-intents"
    lock = quickstart.with_suffix(".lock")
    assert run_cli("build", str(quickstart), "--cache-dir", str(tmp_path / "c1")).returncode == 0
    first, first_lock = _digests(out), lock.read_bytes()
    assert run_cli("build", str(quickstart), "--cache-dir", str(tmp_path / "c2")).returncode == 0
    assert _digests(out) == first
    result = run_cli("build", str(quickstart), "--num-proc", "2", "--cache-dir", str(tmp_path / "c3"))
    assert result.returncode == 0, result.stderr
    assert _digests(out) == first
    assert lock.read_bytes() == first_lock
    record = json.loads(record_path(quickstart.parent, out).read_text())
    assert record["num_proc"] == 2 and record["cache"] == {"hits": 0, "misses": 6}


def test_failed_build_keeps_previous_output(quickstart: Path) -> None:
    out = quickstart.parent / "build" / "support-intents"
    assert run_cli("build", str(quickstart)).returncode == 0
    before = _digests(out)
    bad = quickstart.parent / "data" / "quickstart" / "faq.jsonl"
    bad.write_text(bad.read_text() + '{"question": "broken line", "intent": \n')
    result = run_cli("build", str(quickstart))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = len(bad.read_text().splitlines())
    assert result.stderr.startswith(f"data/quickstart/faq.jsonl:{lines}: error: source 'faq': invalid JSON")
    assert _digests(out) == before
    assert [p.name for p in out.parent.iterdir()] == ["support-intents"]


def test_unknown_label_name_is_a_data_error(quickstart: Path) -> None:
    tickets = quickstart.parent / "data" / "quickstart" / "tickets.csv"
    tickets.write_text(tickets.read_text() + "Where can I complain,complaints\n")
    result = run_cli("build", str(quickstart))
    assert result.returncode == 1
    assert result.stderr.startswith(
        "data/quickstart/tickets.csv:56: error: source 'tickets': label 'complaints' of "
        "column 'label' (row _id 'tickets:54')"
    ), result.stderr


def test_missing_column_names_the_step(tmp_path: Path) -> None:
    write(tmp_path / "rows.jsonl", '{"text": "hello there"}\n')
    write(
        tmp_path / "s.yaml",
        "specc: 1\nname: m\ndescription: d\nlicense: mit\n"
        "sources:\n  rows: {type: jsonl, path: rows.jsonl}\n"
        "clean:\n  - {type: length, column: body, min_chars: 3}\ncard: {draft: true}\n",
    )
    result = run_cli("build", "s.yaml", cwd=tmp_path)
    assert result.returncode == 1
    assert (
        result.stderr.strip()
        == "s.yaml:8:28: error: clean[0].column: no column 'body' in the rows it reads; the columns are: text"
    )


def test_tweeteval_emotion_with_predefined_splits(shared_data: Path, tmp_path: Path) -> None:
    import datasets

    emotion = shared_data / "tweeteval" / "emotion"
    sources = "".join(
        f"  {split}:\n    type: text-lines\n    text: {emotion}/{prefix}_text.txt\n"
        f"    label: {emotion}/{prefix}_labels.txt\n    label_names: {emotion}/mapping.txt\n"
        f"    split: {prefix}\n    license: unknown\n"
        for split, prefix in (("train", "train"), ("validation", "val"), ("test", "test"))
    )
    write(
        tmp_path / "emotion.yaml",
        "specc: 1\nname: tweet-emotion\ndescription: TweetEval emotion.\nlicense: other\n"
        "license_name: tweeteval\nlicense_link: https://github.com/cardiffnlp/tweeteval\n"
        "allow_external_paths: true\nlanguages: [en]\ntask: text-classification\ncard: {draft: true}\n"
        f"sources:\n{sources}split:\n  method: predefined\n  rename: {{val: validation}}\n",
    )
    result = run_cli("build", "emotion.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    loaded = datasets.load_dataset(str(tmp_path / "build" / "tweet-emotion"))
    for split, prefix in (("train", "train"), ("validation", "val"), ("test", "test")):
        texts = (emotion / f"{prefix}_text.txt").read_text(encoding="utf-8").split("\n")
        expected = len(texts) - (texts[-1] == "")
        assert loaded[split].num_rows == expected
    mapping = [line.split("\t")[1] for line in (emotion / "mapping.txt").read_text().splitlines()]
    assert loaded["train"].features["label"].names == mapping
    first_label = int((emotion / "train_labels.txt").read_text().split("\n")[0])
    assert loaded["train"][0]["label"] == first_label
