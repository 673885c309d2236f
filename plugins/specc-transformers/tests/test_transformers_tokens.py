"""`format.tokens` with the `transformers` counter: statistics against an independent count, drop, truncate, error."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from specc.builder import build
from specc.components import Context
from specc.errors import SpeccError, SpecError
from specc.spec import load_spec
from specc_transformers.tokens import TransformersTokenCounter, TransformersTokensParams
from tests.conftest import write

SYSTEM = "You answer customers."
ROWS = [
    {"q": f"Question {i}: where is my parcel? " * (1 + i % 4), "a": "It is late again, sorry. " * (1 + i % 6)}
    for i in range(40)
]


def make_spec(folder: Path, tokenizer: Path, fmt: str, tokens: str) -> Path:
    """A spec over ROWS with a random split, the given format section and `tokens:` flow mapping."""
    shutil.copytree(tokenizer, folder / "tok")
    write(folder / "rows.jsonl", "".join(json.dumps(r) + "\n" for r in ROWS))
    return write(
        folder / "spec.yaml",
        "specc: 1\nname: tokens\ndescription: d\nlicense: mit\nseed: 9\n"
        "card: {draft: true}\nsources:\n  rows: {type: jsonl, path: rows.jsonl, license: mit}\n"
        "split: {method: random, ratios: {train: 0.75, test: 0.25}}\n"
        f"format:\n{fmt}  tokens: {tokens}\n",
    )


CHAT = f"  type: chat\n  system: {SYSTEM}\n  user: '{{{{ q }}}}'\n  assistant: '{{{{ a }}}}'\n"


def output_rows(folder: Path) -> dict[str, list[dict]]:
    return {
        split: pq.read_table(folder / "build" / "tokens" / "data" / f"{split}-00000-of-00001.parquet").to_pylist()
        for split in ("train", "test")
    }


def chat_counts(tokenizer, messages: list[dict]) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """Prompt and completion tokens of one conversation, by the tokenizer's chat template directly."""
    prompt = tokenizer.apply_chat_template(messages[:-1], add_generation_prompt=True, tokenize=True, return_dict=False)
    whole = tokenizer.apply_chat_template(messages, tokenize=True, return_dict=False)
    return len(prompt), len(whole) - len(prompt)


def summary(values: list[int]) -> dict[str, float]:
    array = np.asarray(values)
    return {
        "rows": len(values),
        "min": int(array.min()),
        "median": round(float(np.median(array)), 1),
        "p95": round(float(np.percentile(array, 95)), 1),
        "max": int(array.max()),
        "mean": round(float(array.mean()), 1),
    }


def test_token_statistics_equal_an_independent_count(tmp_path: Path, chat_tokenizer_dir: Path) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(chat_tokenizer_dir)
    every = [
        chat_counts(
            tokenizer,
            [
                {"role": "system", "content": SYSTEM},
                {"role": "user", "content": r["q"].strip()},
                {"role": "assistant", "content": r["a"].strip()},
            ],
        )
        for r in ROWS
    ]
    limit = int(np.percentile([p + c for p, c in every], 70))
    over = sum(p + c > limit for p, c in every)
    assert 0 < over < len(ROWS)
    stats = build(make_spec(tmp_path, chat_tokenizer_dir, CHAT, f"{{tokenizer: tok, max_tokens: {limit}}}"))

    tokens = stats["tokens"]
    assert (tokens["tokenizer"], tokens["max_tokens"], tokens["action"]) == ("tok", limit, "drop")
    assert sum(tokens["over_budget"].values()) == over
    step = next(s for s in stats["steps"] if s["id"] == "tokens")
    assert step["dropped"] == {"over token budget": over} and step["rows_out"] == len(ROWS) - over
    for split, rows in output_rows(tmp_path).items():
        counts = [chat_counts(tokenizer, row["messages"]) for row in rows]  # every row passes the chat template
        assert all(p + c <= limit for p, c in counts)
        assert tokens["splits"][split] == {
            "prompt": summary([p for p, _ in counts]),
            "completion": summary([c for _, c in counts]),
            "total": summary([p + c for p, c in counts]),
        }
    card = (tmp_path / "build" / "tokens" / "README.md").read_text()
    train = tokens["splits"]["train"]["total"]
    assert f"| train | {tokens['over_budget']['train']} | prompt |" in card
    assert f"| total | {train['rows']} | {train['min']} |" in card
    assert "over token budget" in card  # the drop reason in Processing


def test_truncate_cuts_the_completion_at_a_token_boundary(tmp_path: Path, chat_tokenizer_dir: Path) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(chat_tokenizer_dir)
    limit = 60
    stats = build(
        make_spec(tmp_path, chat_tokenizer_dir, CHAT, f"{{tokenizer: tok, max_tokens: {limit}, action: truncate}}")
    )
    originals = {f"rows:{i}": r for i, r in enumerate(ROWS)}
    cut = 0
    for rows in output_rows(tmp_path).values():
        for row in rows:
            prompt, completion = chat_counts(tokenizer, row["messages"])
            assert prompt + completion <= limit
            answer, original = row["messages"][-1]["content"], originals[row["_id"]]["a"].strip()
            assert original.startswith(answer) and answer
            if answer != original:  # cut: one more token of the original would not fit
                cut += 1
                more = tokenizer.decode(
                    tokenizer(original, add_special_tokens=False)["input_ids"][
                        : len(tokenizer(answer, add_special_tokens=False)["input_ids"]) + 1
                    ]
                )
                assert (
                    sum(chat_counts(tokenizer, row["messages"][:-1] + [{"role": "assistant", "content": more}])) > limit
                )
    assert cut == sum(stats["tokens"]["truncated"].values()) > 0
    step = next(s for s in stats["steps"] if s["id"] == "tokens")
    assert step["dropped"] == {"prompt over token budget": len(ROWS) - step["rows_out"]}
    assert sum(stats["tokens"]["over_budget"].values()) == cut + len(ROWS) - step["rows_out"]


def test_error_names_the_first_row_over_the_budget(tmp_path: Path, chat_tokenizer_dir: Path) -> None:
    fmt = "  type: prompt-completion\n  prompt: '{{ q }}'\n  completion: '{{ a }}'\n"
    spec = make_spec(tmp_path, chat_tokenizer_dir, fmt, "{tokenizer: tok, max_tokens: 30, action: error}")
    with pytest.raises(
        SpeccError,
        match=r"error: step 'tokens' \(transformers\): row _id 'rows:\d+' has \d+ prompt "
        r"and \d+ completion tokens, over max_tokens 30 .*set `action: drop`",
    ):
        build(spec)


def counter(folder: Path, max_tokens: int = 100) -> TransformersTokenCounter:
    params = TransformersTokensParams.model_validate(
        {"tokenizer": folder.name, "max_tokens": max_tokens}, context={"spec_dir": folder.parent}
    )
    return TransformersTokenCounter(params, Context("tokens", 0, folder.parent))


def test_every_layout_counts_the_same_prompt_and_completion(chat_tokenizer_dir: Path) -> None:
    turn = pa.struct([("role", pa.string()), ("content", pa.string())])
    share = pa.struct([("from", pa.string()), ("value", pa.string())])
    q, a = ["Where is my parcel?", "Reset my password."], ["It is late.", "Done, check your mail."]
    tokens = counter(chat_tokenizer_dir)
    chat = tokens.count(
        pa.table(
            {
                "messages": pa.array(
                    [[{"role": "user", "content": x}, {"role": "assistant", "content": y}] for x, y in zip(q, a)],
                    pa.list_(turn),
                )
            }
        )
    )
    sharegpt = tokens.count(
        pa.table(
            {
                "conversations": pa.array(
                    [[{"from": "human", "value": x}, {"from": "gpt", "value": y}] for x, y in zip(q, a)],
                    pa.list_(share),
                )
            }
        )
    )
    assert {k: v.tolist() for k, v in chat.items()} == {k: v.tolist() for k, v in sharegpt.items()}
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(chat_tokenizer_dir)
    plain = tokens.count(pa.table({"prompt": q, "completion": a}))
    assert plain["prompt"].tolist() == [len(tokenizer(x)["input_ids"]) for x in q]
    assert plain["completion"].tolist() == [
        len(tokenizer(x + y)["input_ids"]) - len(tokenizer(x)["input_ids"]) for x, y in zip(q, a)
    ]
    alpaca = tokens.count(pa.table({"instruction": q, "input": ["", "now"], "output": a}))
    assert alpaca["prompt"].tolist() == [len(tokenizer(x)["input_ids"]) for x in (q[0], q[1] + "\nnow")]


def test_validate_names_what_is_wrong_with_tokens(tmp_path: Path, chat_tokenizer_dir: Path) -> None:
    spec = make_spec(tmp_path, chat_tokenizer_dir, CHAT, "{tokenizer: ./missing, max_tokens: 10}")
    with pytest.raises(SpecError, match=r"format.tokens: .*tokenizer: .*folder './missing' not found"):
        load_spec(spec)
    write(spec, spec.read_text().replace("tokenizer: ./missing", "type: tiktoken, tokenizer: tok"))
    with pytest.raises(SpecError, match=r"no token counter 'tiktoken' is installed \(installed: transformers\)"):
        load_spec(spec)
    write(spec, spec.read_text().replace("type: tiktoken, ", "").replace("max_tokens: 10", "max_tokens: 0"))
    with pytest.raises(SpecError, match=r"format.tokens.max_tokens: Input should be greater than or equal to 1"):
        load_spec(spec)
