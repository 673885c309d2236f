"""What a label or a score is in a model's answer, and the constraints that ask a server for nothing else.

A constrained answer is JSON (`{"label": ...}`, `{"score": ...}`) or, with vLLM's `guided_choice`, one of the
choices verbatim; a server that ignores the constraint (`transformers serve` ignores `response_format`) answers in
free text, which is parsed the same way: an answer that names no label, or several, is an abstention.
"""

from __future__ import annotations

import json
import math
import re
from functools import lru_cache
from typing import Any, Literal

Constraint = Literal["json_schema", "choices", "none"]
CONSTRAINTS = {
    "json_schema": "response_format with a JSON schema (OpenAI, vLLM, llama.cpp, Ollama)",
    "choices": "vLLM's guided_choice",
    "none": "free text, parsed",
}
NUMBER = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)")
EDGES = " \t\r\n\"'`*.,;:!?()[]{}<>"


def json_schema(name: str, field: str, schema: dict[str, Any]) -> dict[str, Any]:
    """A `response_format` asking for one JSON object `{field: ...}` whose value `schema` describes."""
    return {
        "type": "json_schema",
        "json_schema": {
            "name": name,
            "strict": True,
            "schema": {
                "type": "object",
                "properties": {field: schema},
                "required": [field],
                "additionalProperties": False,
            },
        },
    }


def constraint_body(constraint: Constraint, field: str, schema: dict[str, Any], choices: list[str]) -> dict[str, Any]:
    """The request fields of a constraint: `response_format`, `guided_choice` (sent at the body's top level, as the
    openai client's `extra_body` would) or none."""
    if constraint == "json_schema":
        return {"response_format": json_schema(field, field, schema)}
    if constraint == "choices":
        return {"guided_choice": choices}
    return {}


def _field(text: str, field: str) -> Any:
    """The value of `field` when `text` is a JSON object holding it (as a constrained answer is), else `text`."""
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return value[field] if isinstance(value, dict) and field in value else text


@lru_cache(maxsize=16)
def _label_pattern(labels: tuple[str, ...]) -> re.Pattern[str]:
    # longest first, so "very positive" is found as itself and not as "positive"
    names = sorted(labels, key=len, reverse=True)
    return re.compile("|".join(rf"(?<!\w){re.escape(n)}(?!\w)" for n in names), re.IGNORECASE)


def parse_label(text: str, labels: list[str]) -> int | None:
    """The index in `labels` of the label an answer gives, or None when it names none or several.

    The answer is the label itself (case, quotes and end punctuation aside), a JSON object with a `label`, or a
    text that names exactly one of the labels as a whole word.
    """
    value = _field(text, "label")
    if not isinstance(value, str):
        return None
    folded = [name.casefold() for name in labels]
    bare = value.strip(EDGES).casefold()
    if bare in folded:
        return folded.index(bare)
    named = {m.group(0).casefold() for m in _label_pattern(tuple(labels)).finditer(value)}
    return folded.index(named.pop()) if len(named) == 1 else None


def parse_score(text: str, low: float, high: float) -> float | None:
    """The score an answer gives, or None when it gives no number, or the first one is outside [low, high].

    The answer is a JSON object with a `score`, or a text whose first number is the score ("4", "Score: 4/5").
    """
    value = _field(text, "score")
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        found = NUMBER.search(value)
        if found is None:
            return None
        value = float(found.group(0))
    if not isinstance(value, (int, float)) or not math.isfinite(value) or not low <= value <= high:
        return None
    return float(value)


def confidence(logprobs: list[dict[str, Any]] | None) -> float | None:
    """The probability the model gave its whole answer: exp of the sum of its tokens' log-probabilities."""
    if not logprobs:
        return None
    return math.exp(sum(float(token["logprob"]) for token in logprobs))
