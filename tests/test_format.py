"""The format stage: chat, prompt-completion, alpaca and sharegpt outputs, templates, roles, the classification configuration."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from specc.builder import build
from specc.errors import SpeccError, SpecError
from tests.conftest import write

NAMES = ["neg", "pos"]
HEADER = """\
specc: 1
name: fmt
description: Formatter test.
license: mit
seed: 11
sources:
  rows:
    type: jsonl
    path: rows.jsonl
    labels: {label: [neg, pos]}
split:
  method: hash
  ratios: {train: 0.75, test: 0.25}
card: {draft: true}
"""
FORMATS = {
    "chat": """format:
  type: chat
  system: ["You sort reviews.", "Answer with one word."]
  user: ["Review: {{ text }}", "{{ text }}\\nIs it {{ label_names.label | join(' or ') }}?"]
  assistant: "{{ label_name }}"
""",
    "prompt-completion": """format:
  type: prompt-completion
  prompt: "Review: {{ text }}\\nSentiment:"
  completion: " {{ label_name }}"
  strip: false
""",
    "alpaca": """format:
  type: alpaca
  instruction: Classify the sentiment of the review.
  input: "{{ text }}"
  output: "{{ label_name }}"
""",
    "sharegpt": """format:
  type: sharegpt
  user: "{{ text }}"
  assistant: "{{ label_name }}"
""",
}
COLUMNS = {
    "chat": ["messages"],
    "prompt-completion": ["prompt", "completion"],
    "alpaca": ["instruction", "input", "output"],
    "sharegpt": ["conversations"],
}


def rows(n: int = 40) -> str:
    return "".join(
        json.dumps({"text": f"review number {i} is {'great' if i % 2 else 'awful'}", "label": NAMES[i % 2]}) + "\n"
        for i in range(n)
    )


def make(folder: Path, fmt: str, data: str | None = None, name: str = "spec.yaml") -> Path:
    write(folder / "rows.jsonl", data if data is not None else rows())
    return write(folder / name, HEADER + fmt)


def out_dir(spec: Path) -> Path:
    return spec.parent / "build" / "fmt"


def load(spec: Path, config: str | None = None):  # type: ignore[no-untyped-def]
    import datasets

    return datasets.load_dataset(str(out_dir(spec)), config)


@pytest.mark.parametrize("kind", sorted(FORMATS))
def test_every_formatter_loads_with_its_columns_and_lineage(kind: str, tmp_path: Path) -> None:
    extra = {"chat": "keep_classification: true", "sharegpt": "keep_columns: [label]"}.get(kind)
    spec = make(
        tmp_path, FORMATS[kind].replace(f"type: {kind}", f"type: {kind}\n  {extra}") if extra else FORMATS[kind]
    )
    stats = build(spec)
    loaded = load(spec)
    assert sorted(loaded) == ["test", "train"]
    kept = ["label"] if kind == "sharegpt" else []
    for split in loaded.values():
        assert split.column_names == COLUMNS[kind] + ["_id"] + kept
    ids = sorted(r["_id"] for split in loaded.values() for r in split)
    assert ids == sorted(f"rows:{i}" for i in range(40))
    for row in loaded["train"]:
        i = int(row["_id"].split(":")[1])
        text, name = f"review number {i} is {'great' if i % 2 else 'awful'}", NAMES[i % 2]
        if kind == "chat":
            assert [m["role"] for m in row["messages"]] == ["system", "user", "assistant"]
            assert row["messages"][1]["content"] in (f"Review: {text}", f"{text}\nIs it neg or pos?")
            assert row["messages"][2]["content"] == name
        elif kind == "sharegpt":
            assert row["conversations"] == [{"from": "human", "value": text}, {"from": "gpt", "value": name}]
            assert row["label"] == i % 2
        elif kind == "prompt-completion":
            assert (row["prompt"], row["completion"]) == (f"Review: {text}\nSentiment:", f" {name}")
        else:
            assert (row["instruction"], row["input"], row["output"]) == (
                "Classify the sentiment of the review.",
                text,
                name,
            )
    info = json.loads((out_dir(spec) / "dataset_info.json").read_text())
    assert sorted(info) == ["fmt_test", "fmt_train"]
    entry = info["fmt_train"]
    assert entry["file_name"] == "data/train-00000-of-00001.parquet" == stats["outputs"][0]["path"]
    assert set(entry["columns"].values()) <= set(COLUMNS[kind])
    assert entry["formatting"] == ("sharegpt" if kind in ("chat", "sharegpt") else "alpaca")
    if kind == "sharegpt":
        assert loaded["train"].features["label"].names == NAMES
    if kind == "chat":
        check_template_choice(loaded)
        check_classification_configuration(spec, stats, loaded)


def check_template_choice(loaded) -> None:  # type: ignore[no-untyped-def]
    """Each row takes one template per role, the roles chosen independently (their own bits of the row's seed)."""
    turns = [r["messages"] for split in loaded.values() for r in split]
    pairs = {(m[0]["content"], m[1]["content"].startswith("Review:")) for m in turns}
    assert pairs == {
        (system, review) for system in ("You sort reviews.", "Answer with one word.") for review in (True, False)
    }


def check_classification_configuration(spec: Path, stats: dict, formatted) -> None:  # type: ignore[no-untyped-def]
    """`keep_classification` writes the unformatted rows as configuration `classification`, pinned in the lock."""
    kept = load(spec, "classification")
    assert kept["train"].column_names == ["_id", "text", "label"]
    assert kept["train"].features["label"].names == NAMES
    for split in ("train", "test"):
        assert kept[split]["_id"] == formatted[split]["_id"]
    assert [o["path"] for o in stats["classification"]["outputs"]] == [
        "data/classification/train-00000-of-00001.parquet",
        "data/classification/test-00000-of-00001.parquet",
    ]
    lock = json.loads(spec.with_suffix(".lock").read_text())
    assert "data/classification/test-00000-of-00001.parquet" in lock["outputs"]["files"]
    card = (out_dir(spec) / "README.md").read_text()
    assert "config_name: classification" in card and "config_name: default" in card


def test_two_builds_and_two_workers_give_identical_bytes(tmp_path: Path) -> None:
    spec = make(tmp_path, FORMATS["chat"].replace("type: chat", "type: chat\n  keep_classification: true"))
    out = out_dir(spec)

    def digests() -> dict[str, bytes]:
        return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}

    build(spec, cache_dir=tmp_path / "c1")
    first = digests()
    assert "dataset_info.json" in first and "data/classification/train-00000-of-00001.parquet" in first
    build(spec, cache_dir=tmp_path / "c2")
    assert digests() == first
    build(spec, cache_dir=tmp_path / "c3", num_proc=2)
    assert digests() == first


def validation_errors(spec: Path) -> str:
    from specc.spec import load_spec

    with pytest.raises(SpecError) as info:
        load_spec(spec)
    return str(info.value)


def test_template_syntax_error_names_role_index_and_line_at_validate(tmp_path: Path) -> None:
    bad = FORMATS["chat"].replace('"{{ text }}\\nIs it', '"{{ text }}\\nIs it {% if %}')
    spec = make(tmp_path, bad)
    line = next(i for i, text in enumerate(spec.read_text().splitlines(), 1) if "{% if %}" in text)
    message = validation_errors(spec)
    assert message.startswith(f"{spec}:{line}:")
    assert "format.user[1]: template syntax error at line 2: " in message


def test_template_runtime_error_names_template_line_and_row(tmp_path: Path) -> None:
    bad = FORMATS["alpaca"].replace(
        'input: "{{ text }}"', 'input: ["{{ text }}", "{{ text }}\\n{{ label_names.lable }}"]'
    )
    with pytest.raises(SpeccError) as info:
        build(make(tmp_path, bad))
    message = str(info.value)
    assert message.startswith(
        "error: step 'format' (alpaca): template input[1] line 2: 'dict object' has no attribute 'lable' (row _id 'rows:"
    ), message
    assert "a template sees: text, label, label_name, label_names" in message


@pytest.mark.parametrize(
    ("fmt", "message"),
    [
        ("format: {type: chat, user: '{{ text }}'}", "`assistant` missing: give `user` and `assistant` templates"),
        ("format: {type: chat, messages: conv, user: '{{ text }}'}", "give either `messages`"),
        ("format: {type: alpaca, instruction: x}", "output"),
    ],
)
def test_incomplete_format_specs_are_validation_errors(fmt: str, message: str, tmp_path: Path) -> None:
    assert message in validation_errors(make(tmp_path, fmt + "\n"))


CONVERSATIONS = [
    [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}],
    [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "2+2?"},
        {"role": "assistant", "content": "4"},
        {"role": "user", "content": "and 3+3?"},
        {"role": "assistant", "content": "6"},
    ],
]


def conversations(extra: list | None = None) -> str:
    items = CONVERSATIONS * 5 + ([extra] if extra is not None else [])
    return "".join(json.dumps({"conv": c, "text": "t", "label": "pos"}) + "\n" for c in items)


def test_multi_turn_conversations_pass_through_in_both_layouts(tmp_path: Path) -> None:
    chat = make(tmp_path / "chat", "format: {type: chat, messages: conv, system: 'Default system.'}\n", conversations())
    build(chat)
    rows_by_id = {r["_id"]: r["messages"] for split in load(chat).values() for r in split}
    assert rows_by_id["rows:0"] == [{"role": "system", "content": "Default system."}] + CONVERSATIONS[0]
    assert rows_by_id["rows:1"] == CONVERSATIONS[1]
    share = make(
        tmp_path / "share",
        "format: {type: sharegpt, messages: conv}\n",
        "".join(
            json.dumps(
                {"conv": [{"from": "human", "value": "q"}, {"from": "bot", "value": "a"}], "text": "t", "label": "pos"}
            )
            + "\n"
            for _ in range(6)
        ),
    )
    with pytest.raises(
        SpeccError,
        match=r"row _id 'rows:0', column 'conv': turn 1 has role 'bot', which is not one "
        r"of assistant, gpt, human, system, user; map it with `roles: \{bot: ",
    ):
        build(share)
    make(
        tmp_path / "share",
        "format: {type: sharegpt, messages: conv, roles: {bot: assistant}}\n",
        (tmp_path / "share" / "rows.jsonl").read_text(),
    )
    build(share)
    assert load(share)["train"][0]["conversations"] == [{"from": "human", "value": "q"}, {"from": "gpt", "value": "a"}]


@pytest.mark.parametrize(
    ("turns", "message"),
    [
        ([{"role": "user", "content": "a"}, {"role": "robot", "content": "b"}], "turn 1 has role 'robot'"),
        (
            [{"role": "user", "content": "a"}, {"role": "system", "content": "b"}],
            "turn 1 has role 'system' where 'assistant' was due",
        ),
        ([{"role": "assistant", "content": "a"}], "turn 0 has role 'assistant' where 'user' was due"),
        ([{"role": "user", "content": "a"}], "does not end with an assistant turn"),
        ([], "the conversation is empty"),
    ],
)
def test_bad_roles_name_the_row_and_the_role(turns: list, message: str, tmp_path: Path) -> None:
    spec = make(tmp_path, "format: {type: chat, messages: conv}\n", conversations(turns))
    with pytest.raises(SpeccError) as info:
        build(spec)
    assert str(info.value).startswith("error: step 'format' (chat): row _id 'rows:10', column 'conv': ")
    assert message in str(info.value)


def test_messages_column_of_the_wrong_type(tmp_path: Path) -> None:
    spec = make(tmp_path, "format: {type: chat, messages: text}\n")
    with pytest.raises(SpeccError, match="column 'text' holds string, not conversations"):
        build(spec)
