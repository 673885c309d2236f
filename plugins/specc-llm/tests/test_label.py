"""`llm-label` against a real `transformers serve` with a scripted model: labels, abstentions, confidence, agreement."""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import krippendorff
import numpy as np
import pyarrow.parquet as pq
import pytest
from llm_server import Server, serve
from scripted_model import save_scripted_model
from sklearn.metrics import cohen_kappa_score

from specc.builder import build
from tests.conftest import run_cli, write

LABELS = ["positive", "negative"]
ANSWERS = {  # trigger word -> what the scripted model answers
    "love": "positive",
    "refund": "negative",
    "wonderful": "The answer: positive.",
    "parcel": "positive or negative",
    "password": '{"label": "Negative"}',
}
ROWS = [  # text, gold label, the label the model's answer gives (None: an abstention)
    ("I love this film", "positive", 0),
    ("Give me a refund", "negative", 1),
    ("a wonderful day", "positive", 0),
    ("where is my parcel", "negative", None),  # names both labels
    ("the weather is mild", "positive", None),  # no trigger: "no idea"
    ("I forgot my password", "positive", 1),  # JSON, another case
    ("love it, but refund it, refund it", "negative", 1),  # two refunds outvote one love
    ("love love", "negative", 0),
]
RULES = (  # a rules labeler to measure the model against: "forgot" gives row 5 a label the model disagrees with
    "  - type: rules\n    column: rule\n    labels: [positive, negative]\n    rules:\n"
    "      - {label: positive, keywords: [love, forgot]}\n      - {label: negative, keywords: [refund]}\n"
)


@pytest.fixture(scope="module")
def labeller_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The scripted model, in a folder named `labeller`."""
    return save_scripted_model(tmp_path_factory.mktemp("models") / "labeller", ANSWERS, default="no idea")


@pytest.fixture(scope="module")
def labeller(labeller_dir: Path) -> Iterator[Server]:
    """`transformers serve` answering with the scripted model, for this module's tests."""
    server = serve(labeller_dir)
    yield server
    server.stop()


def spec(folder: Path, step: str, annotate_before: str = "") -> Path:
    """A spec over ROWS (text and gold label names) whose annotate stage ends with the llm-label `step` lines."""
    write(folder / "rows.jsonl", "".join(json.dumps({"text": t, "gold": g}) + "\n" for t, g, _ in ROWS))
    return write(
        folder / "spec.yaml",
        "specc: 1\nname: labelled\ndescription: d\nlicense: mit\nseed: 5\ncard: {draft: true}\n"
        "sources:\n  rows: {type: jsonl, path: rows.jsonl, license: mit}\n"
        f"annotate:\n{annotate_before}  - type: llm-label\n{step}"
        "output: {dir: build/labelled}\n",
    )


def server_step(server: Server, extra: str = "") -> str:
    return (
        f"    endpoint: {{url: '{server.url}', model: {server.model}}}\n"
        f"    labels: [positive, negative]\n    column: llm\n    sampling: {{max_tokens: 8}}\n{extra}"
    )


def built(folder: Path) -> dict[str, list]:
    return pq.read_table(folder / "build/labelled/data/train-00000-of-00001.parquet").to_pydict()


def step_record(stats: dict, step_type: str) -> dict:
    return next(s for s in stats["steps"] if s["type"] == step_type)


def test_labels_are_parsed_abstentions_counted_and_agreement_measured(labeller: Server, tmp_path: Path) -> None:
    stats = build(spec(tmp_path, server_step(labeller, "    compare: [gold, rule]\n"), RULES))
    out = built(tmp_path)
    model = [expected for _, _, expected in ROWS]
    assert out["llm"] == model
    assert out["llm_confidence"] == [None] * len(ROWS)  # transformers serve returns no log-probabilities
    info = step_record(stats, "llm-label")["info"]
    assert (info["asked"], info["labelled"], info["abstained"], info["failed"]) == (8, 6, 2, 0)
    assert info["by_label"] == {"positive": 3, "negative": 3}
    assert info["llm"]["requests"] == 8 and info["llm"]["tokens_out"] == 16  # each answer: one token and the end

    gold = [LABELS.index(g) for _, g, _ in ROWS]
    for other, theirs in (("gold", gold), ("rule", out["rule"])):
        both = [(m, t) for m, t in zip(model, theirs) if m is not None and t is not None]
        mine, them = np.array(both).T
        measured = info["agreement"][other]
        assert measured["rows"] == len(both)
        assert measured["agreement"] == pytest.approx(np.mean(mine == them), abs=1e-4)
        assert measured["kappa"] == pytest.approx(cohen_kappa_score(mine, them), abs=1e-4)
        alpha = krippendorff.alpha(reliability_data=[mine, them], level_of_measurement="nominal")
        assert measured["alpha"] == pytest.approx(alpha, abs=1e-4)
        for name in ("agreement", "kappa", "alpha"):
            low, high = measured["ci"][name]
            assert low <= measured[name] <= high
    assert info["agreement"]["rule"]["rows"] == 4 and info["agreement"]["rule"]["kappa"] < 1  # row 5 disagrees

    card = (tmp_path / "build/labelled/README.md").read_text()
    kappa = info["agreement"]["gold"]["kappa"]
    assert f"| `gold` | 6 | {info['agreement']['gold']['agreement']:.3f}" in card and f"{kappa:.3f} (" in card


def test_abstentions_may_be_dropped_and_are_counted_as_dropped(labeller: Server, tmp_path: Path) -> None:
    stats = build(spec(tmp_path, server_step(labeller, "    abstained: drop\n")))
    record = step_record(stats, "llm-label")
    assert record["dropped"] == {"abstained": 2} and record["rows_out"] == 6
    assert None not in built(tmp_path)["llm"]


def test_fill_mode_asks_only_about_the_rows_the_rules_left_without_a_label(labeller: Server, tmp_path: Path) -> None:
    fill = (
        f"    endpoint: {{url: '{labeller.url}', model: {labeller.model}}}\n"
        "    labels: [positive, negative]\n    column: rule\n    mode: fill\n    sampling: {max_tokens: 8}\n"
    )
    stats = build(spec(tmp_path, fill, RULES))
    rules = step_record(stats, "rules")["info"]
    info = step_record(stats, "llm-label")["info"]
    assert info["asked"] == rules["unlabeled"] == 4 and info["llm"]["requests"] == 4
    # rows 0, 1, 5, 7 keep the rules' labels (row 5's differs from the model's); the model labels 2 and 6
    assert built(tmp_path)["rule"] == [0, 1, 0, None, None, 0, 1, 0]


def test_confidence_is_the_probability_of_the_answer_from_a_local_model(tmp_path: Path) -> None:
    import jinja2
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = save_scripted_model(tmp_path / "unsure", ANSWERS, default="no idea", scale=0.007)
    step = (
        "    endpoint: {local: unsure}\n    labels: [positive, negative]\n    column: llm\n"
        "    sampling: {max_tokens: 4}\n"
    )
    stats = build(spec(tmp_path, step))
    out = built(tmp_path)
    assert out["llm"] == [expected for _, _, expected in ROWS]  # a less sure model still answers the same
    tokenizer: Any = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder).eval()
    prompt = jinja2.Template(step_record(stats, "llm-label")["params"]["prompt"])
    for (text, _, expected), written in zip(ROWS, out["llm_confidence"]):
        if expected is None:
            assert written is None  # an abstention has no label to be sure of
            continue
        messages = [{"role": "user", "content": prompt.render(labels=LABELS, text=text)}]
        inputs = tokenizer.apply_chat_template(
            messages, add_generation_prompt=True, return_tensors="pt", return_dict=True
        )
        trigger = max(ANSWERS, key=text.count)
        answer = [*tokenizer.encode(ANSWERS[trigger]), tokenizer.eos_token_id]
        prompt_ids = inputs["input_ids"]
        with torch.no_grad():
            logits = model(torch.cat([prompt_ids, torch.tensor([answer])], dim=1)).logits[
                0, prompt_ids.shape[1] - 1 : -1
            ]
        probability = math.exp(float(torch.log_softmax(logits, -1)[range(len(answer)), answer].sum()))
        assert 0.05 < written < 0.99 and written == pytest.approx(probability, abs=1e-4)


def test_a_random_model_abstains_on_every_row(tiny_lm_dir: Path, tmp_path: Path) -> None:
    shutil.copytree(tiny_lm_dir, tmp_path / "tiny-lm")
    stats = build(
        spec(
            tmp_path,
            "    endpoint: {local: tiny-lm}\n    labels: [positive, negative]\n    column: llm\n"
            "    sampling: {max_tokens: 6}\n    confidence: false\n",
        )
    )
    info = step_record(stats, "llm-label")["info"]
    assert (info["labelled"], info["abstained"]) == (0, len(ROWS))
    assert "llm_confidence" not in built(tmp_path)
    assert (
        "abstentions (an answer naming none of the labels, or several): 8"
        in (tmp_path / "build/labelled/README.md").read_text()
    )


def test_choices_on_a_server_without_guided_choice_fail_naming_the_endpoint(labeller: Server, tmp_path: Path) -> None:
    done = run_cli("build", str(spec(tmp_path, server_step(labeller, "    constrain: choices\n"))))
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert f"8 of 8 requests to {labeller.url} failed" in done.stderr and "HTTP 422" in done.stderr
    assert (
        "if the server does not take the request's `guided_choice`, set the step's `constrain` to json_schema or none"
        in done.stderr
    )


@pytest.mark.parametrize(
    ("step", "message"),
    [
        (
            "    endpoint: {url: 'http://127.0.0.1:9/v1', model: m}\n",
            "spec.yaml:10:5: error: annotate[0].labels: missing required key 'labels'",
        ),
        (
            "    endpoint: {url: 'http://127.0.0.1:9/v1', model: m}\n    labels: [positive, negative]\n"
            "    prompt: 'Label {{ body }} as one of {{ labels }}'\n",
            "spec.yaml:13:13: error: annotate[0].prompt: no column 'body' in the rows it reads; the columns are: "
            "text, gold",
        ),
        (
            "    endpoint: {url: 'http://127.0.0.1:9/v1', model: m}\n    labels: [positive, negative]\n"
            "    compare: [gold, silver]\n",
            "spec.yaml:13:21: error: annotate[0].compare[1]: no column 'silver' in the rows it reads",
        ),
        (
            "    endpoint: {url: 'http://127.0.0.1:9/v1', model: m}\n    labels: [positive, negative]\n"
            "    compare: [gold, label]\n",
            "spec.yaml:13:14: error: annotate[0].compare: 'label' is the column this step writes",
        ),
        (
            "    endpoint: {url: 'http://127.0.0.1:9/v1', model: m}\n    labels: [positive, negative]\n"
            "    constrain: grammar\n",
            "spec.yaml:13:16: error: annotate[0].constrain: ",
        ),
    ],
)
def test_bad_parameters_are_named_at_their_line(tmp_path: Path, step: str, message: str) -> None:
    done = run_cli("validate", str(spec(tmp_path, step)), cwd=tmp_path)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert message in done.stderr.replace(str(tmp_path) + "/", "")


def test_labels_a_source_gave_other_names_are_a_clear_error(labeller: Server, tmp_path: Path) -> None:
    step = server_step(labeller, "    compare: [gold]\n").replace("[positive, negative]", "[pos, neg]")
    done = run_cli("build", str(spec(tmp_path, step)))
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "column 'gold' holds 'negative', which is not one of the labels ['pos', 'neg']" in done.stderr


def test_a_template_that_fails_on_a_row_names_the_template_and_the_row(tiny_lm_dir: Path, tmp_path: Path) -> None:
    shutil.copytree(tiny_lm_dir, tmp_path / "tiny-lm")
    step = "    endpoint: {local: tiny-lm}\n    labels: [positive, negative]\n    prompt: 'Label {{ text[12] }}'\n"
    done = run_cli("build", str(spec(tmp_path, step)))
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "step 'annotate.llm-label' (llm-label): template prompt line 1: " in done.stderr
    assert "no element 12 (row _id 'rows:7'); a template sees: text, gold, labels" in done.stderr  # 'love love'
