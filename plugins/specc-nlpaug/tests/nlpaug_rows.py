"""Helpers of the nlpaug plugin's tests: rows as the augment stage sees them, one augmenter run in this process."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import pyarrow as pa

from specc.components import Context
from specc.executor.tables import (
    augment_batches,
    augment_inputs,
    augment_rows,
    fitting_rows,
    load_fitted,
)

ROOT = Path(__file__).resolve().parents[3]
WORDS = (
    "my order has not arrived yet can you help the page is blank in my browser thanks do i pay for return "
    "shipping please the discount code did not apply to my total it is urgent someone else is using my account "
    "how do i change the password on this account"
).split()


def rows(texts: list[str], split: str = "train", source: str = "s") -> pa.Table:
    """A table as the split stage leaves it: `_id`, the texts, a label, `_source`, `_split`."""
    return pa.table(
        {
            "_id": [f"{source}:{i}" for i in range(len(texts))],
            "text": texts,
            "label": [i % 3 for i in range(len(texts))],
            "_source": [source] * len(texts),
            "_split": [split] * len(texts),
        }
    )


TEXTS = [
    "My order has not arrived yet, can you help?",
    "The page is blank in my browser thanks",
    "Do I pay for return shipping please",
    "The discount code did not apply to my total. It is urgent!",
    "Someone else is using my account. How do I change the password?",
    "Please help me with my order today",
    "I paid twice. The refund never came! Where is my money? Please call me.",
]


def spec_text(name: str, seed: int, ratios: dict[str, float], steps: list[str]) -> str:
    """A spec reading rows.jsonl beside it, split at random by `ratios`, with these augment steps (YAML flow maps)."""
    split = ", ".join(f"{split}: {share}" for split, share in ratios.items())
    return (
        f"specc: 1\nname: {name}\ndescription: d\nlicense: mit\nseed: {seed}\n"
        "sources:\n  rows: {type: jsonl, path: rows.jsonl, license: mit}\n"
        f"split: {{method: random, ratios: {{{split}}}}}\naugment:\n"
        + "".join(f"  - {step}\n" for step in steps)
        + "card: {draft: true}\n"
    )


def augment(
    cls: type,
    table: pa.Table,
    spec_dir: Path = ROOT,
    seed: int = 11,
    step: str = "augment.x",
    pins: dict[str, Any] | None = None,
    **params: Any,
) -> tuple[pa.Table, dict[str, Any]]:
    """What the augment stage makes from `table` with one augmenter, in this process: new rows and counts."""
    component = cls(
        cls.Params.model_validate(params, context={"spec_dir": spec_dir}),
        Context(step, seed, spec_dir, pins=pins or {}),
    )
    state = component.fit(fitting_rows(table))
    if state is not None:
        with tempfile.NamedTemporaryFile(suffix=".bin", delete=False) as file:
            file.write(state)
        load_fitted(component, file.name)
        os.unlink(file.name)
    made, unchanged = [], 0
    for batch in augment_batches(augment_inputs(component, table), component.params.copies):
        part, info = augment_rows(component, batch)
        made.append(part)
        unchanged += info["unchanged"]
    return pa.concat_tables(made), {"unchanged": unchanged, "component": component}
