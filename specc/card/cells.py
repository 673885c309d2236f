"""Text for the cells of the card's Markdown tables, shared by the built-in and plugin card sections."""

from __future__ import annotations

import json
from typing import Any


def cell_text(text: str) -> str:
    """Text that stays inside one table cell: pipes escaped, line breaks as spaces."""
    return text.replace("|", "\\|").replace("\n", " ")


def params_text(params: dict[str, Any]) -> str:
    """A step's parameters as `key=json` pairs in key order (unset ones left out), or "defaults"."""
    shown = {k: v for k, v in params.items() if v is not None}
    if not shown:
        return "defaults"
    return cell_text(", ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in sorted(shown.items())))


def added_text(added: dict[str, int]) -> str:
    """Rows added in total and per split, `12 (train 10, validation 2)`, or "0"."""
    if not added:
        return "0"
    return f"{sum(added.values()):,} ({', '.join(f'{split} {n:,}' for split, n in added.items())})"


def predefined_text(params: dict[str, Any]) -> str:
    """Where a predefined split takes each row's split from, and the renames, in words."""
    column = params.get("column", "_split")
    text = (
        "each row keeps the split its source gives (the source's `split:`)"
        if column == "_split"
        else f"each row keeps the split named in its column `{column}`"
    )
    renames = params.get("rename") or {}
    if renames:
        text += "; renamed " + ", ".join(f"{old} → {new}" for old, new in sorted(renames.items()))
    return text
