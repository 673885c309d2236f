"""The self-instruct example's chat rows go through a local tokenizer's chat template, every one."""

from __future__ import annotations

from pathlib import Path

import pytest

from specc.builder import build
from tests.conftest import ROOT, write


@pytest.mark.shared_data
def test_every_self_instruct_chat_row_passes_apply_chat_template(
    shared_data: Path, tmp_path: Path, chat_tokenizer_dir: Path
) -> None:
    import datasets
    from transformers import AutoTokenizer

    data = shared_data / "self-instruct" / "seed_tasks.jsonl"
    text = (ROOT / "specs" / "self-instruct.yaml").read_text(encoding="utf-8")
    spec = write(
        tmp_path / "self-instruct.yaml", text.replace("../../shared/data/self-instruct/seed_tasks.jsonl", str(data))
    )
    build(spec)
    tokenizer = AutoTokenizer.from_pretrained(chat_tokenizer_dir)
    loaded = datasets.load_dataset(str(tmp_path / "build" / "self-instruct-chat"))
    rows = [row for split in loaded.values() for row in split]
    assert rows
    for row in rows:
        rendered = tokenizer.apply_chat_template(row["messages"], tokenize=False)
        assert row["messages"][-1]["content"] in rendered, row["_id"]
        prompt = tokenizer.apply_chat_template(
            row["messages"][:-1], tokenize=True, add_generation_prompt=True, return_dict=False
        )
        whole = tokenizer.apply_chat_template(row["messages"], tokenize=True, return_dict=False)
        assert whole[: len(prompt)] == prompt and len(whole) > len(prompt), row["_id"]
