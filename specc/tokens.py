"""Token budgets (`format.tokens`): where formatted rows keep their prompt and completion, and holding rows to a budget.

A TokenCounter (a plugin's tokenizer) counts each row's prompt and completion tokens; this module
finds the rows over `max_tokens`, drops, truncates or fails on them, and summarizes the counts per
split for stats.json (`tokens`) and the card. The layouts are those the formatters write:

| layout | columns | prompt | completion |
|---|---|---|---|
| messages | `messages`: [{role, content}] | every turn before the last assistant turn | the last assistant turn |
| conversations | `conversations`: [{from, value}] (ShareGPT) | the same, roles mapped | the same |
| prompt-completion | `prompt`, `completion` | prompt | completion |
| alpaca | `instruction`, `input`, `output` | instruction, then input on the next line when not empty | output |
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from specc.errors import SpeccError
from specc.layouts import CHAT_LAYOUTS, KNOWN_ROLES

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

    from specc.components import TokenCounter

# plain layouts: (prompt columns, completion column)
PLAIN_LAYOUTS = {"prompt-completion": (("prompt",), "completion"), "alpaca": (("instruction", "input"), "output")}
OVER_BUDGET = "over token budget"
PROMPT_OVER_BUDGET = "prompt over token budget"


def layout_of(table: pa.Table) -> str:
    """The layout of formatted rows (see the module's table), or an error naming the columns there are."""
    for name in CHAT_LAYOUTS:
        if name in table.column_names:
            return name
    for name, (prompt, completion) in PLAIN_LAYOUTS.items():
        if prompt[0] in table.column_names and completion in table.column_names:
            return name
    shown = ", ".join(c for c in table.column_names if not c.startswith("_"))
    raise SpeccError(
        f"error: step 'tokens': the formatted rows have none of the columns a token budget reads "
        f"(messages, conversations, prompt/completion, instruction/output); they have: {shown}; "
        f"use a format type that writes one of them"
    )


def chats(table: pa.Table, layout: str) -> list[list[dict[str, str]]]:
    """Each row's conversation as [{role, content}] (ShareGPT's human and gpt become user and assistant)."""
    role_key, content_key = CHAT_LAYOUTS[layout]
    return [
        [{"role": KNOWN_ROLES.get(t[role_key], t[role_key]), "content": t[content_key]} for t in turns or []]
        for turns in table.column(layout).to_pylist()
    ]


def last_assistant(roles: list[str]) -> int:
    """The index of a conversation's last assistant turn (its completion), or len(roles) when there is none."""
    for i in range(len(roles) - 1, -1, -1):
        if roles[i] == "assistant":
            return i
    return len(roles)


def plain_pairs(table: pa.Table, layout: str) -> tuple[list[str], list[str]]:
    """Prompt and completion texts of a plain layout (nulls are empty)."""
    prompt_columns, completion = PLAIN_LAYOUTS[layout]
    parts = [table.column(c).to_pylist() for c in prompt_columns if c in table.column_names]
    prompts = ["\n".join(p for p in row if p) for row in zip(*parts)]
    return prompts, [c or "" for c in table.column(completion).to_pylist()]


def with_completions(table: pa.Table, layout: str, rows: np.ndarray, texts: list[str]) -> pa.Table:
    """`table` with the completion of each of `rows` (indices) replaced by the matching text of `texts`."""
    import pyarrow as pa

    column = layout if layout in CHAT_LAYOUTS else PLAIN_LAYOUTS[layout][1]
    values = table.column(column).to_pylist()
    for row, text in zip(rows.tolist(), texts):
        if layout in CHAT_LAYOUTS:
            role_key, content_key = CHAT_LAYOUTS[layout]
            turns = values[row]
            turns[last_assistant([KNOWN_ROLES.get(t[role_key], t[role_key]) for t in turns])][content_key] = text
        else:
            values[row] = text
    index = table.column_names.index(column)
    return table.set_column(index, column, pa.array(values, table.schema.field(column).type))


def token_summary(counts: dict[str, np.ndarray], splits: np.ndarray, split_order: list[str]) -> dict[str, Any]:
    """Per split: rows, min, median, p95, max and mean tokens of prompt, completion and both together."""
    from specc.lengths import length_stats

    columns = {
        "prompt": counts["prompt"],
        "completion": counts["completion"],
        "total": counts["prompt"] + counts["completion"],
    }
    summary = length_stats({name: {s: values[splits == s] for s in split_order} for name, values in columns.items()})
    return {s: {name: summary[name][s] for name in columns} for s in split_order}


def apply_budget(
    counter: TokenCounter, table: pa.Table, split_order: list[str]
) -> tuple[pa.Table, dict[str, Any], dict[str, pa.Array]]:
    """Count every row and handle those over `max_tokens` as `action` says.

    Returns the rows kept, the record of `BuildStats.tokens` and the drop masks over the rows given, by reason.
    """
    import numpy as np
    import pyarrow as pa

    budget = counter.params
    limit = budget.max_tokens
    counts = counter.count(table)
    over = counts["prompt"] + counts["completion"] > limit
    splits = table.column("_split").to_numpy(zero_copy_only=False)
    if budget.action == "error" and over.any():
        row = int(np.flatnonzero(over)[0])
        raise counter.fail(
            f"row _id '{table.column('_id')[row].as_py()}' has {int(counts['prompt'][row])} prompt "
            f"and {int(counts['completion'][row])} completion tokens, over max_tokens {limit} "
            f"({int(over.sum()):,} rows are over); raise max_tokens, shorten the rows, or set "
            f"`action: drop` or `truncate`"
        )
    dropped = {OVER_BUDGET: over} if budget.action == "drop" else {}
    if budget.action == "truncate" and over.any():
        table = counter.truncate(table, over, limit)
        recounted = counter.count(table.filter(pa.array(over)))  # only the cut rows changed
        counts = {part: np.array(values) for part, values in counts.items()}
        for part, values in counts.items():
            values[over] = recounted[part]
        dropped = {PROMPT_OVER_BUDGET: counts["prompt"] + counts["completion"] > limit}
    keep = ~np.logical_or.reduce(list(dropped.values())) if dropped else np.ones(table.num_rows, bool)
    kept = table.filter(pa.array(keep))
    shown = {s: int((over & (splits == s)).sum()) for s in split_order}
    record = {
        "tokenizer": counter.shown(),
        "max_tokens": limit,
        "action": budget.action,
        "over_budget": shown,
        "splits": token_summary({k: v[keep] for k, v in counts.items()}, splits[keep], split_order),
    }
    if budget.action == "truncate":
        still_over = dropped.get(PROMPT_OVER_BUDGET, np.zeros(len(over), bool))  # absent when no row was over
        record["truncated"] = {s: n - int((still_over & (splits == s)).sum()) for s, n in shown.items()}
    return kept, record, {reason: pa.array(mask) for reason, mask in dropped.items()}
