"""The card's augmentation section: every augment step (of any plugin), what it added, and an example."""

from __future__ import annotations

from typing import Any

import specc
from specc.plugin import added_text, cell_text, params_text

SHARED = set(specc.AugmenterParams.model_fields)


def _method(kind: str) -> str:
    """The augmenter's one-line description, from the installed plugin (its type when not installed)."""
    from specc.plugin import get_registry

    try:
        doc = get_registry().get("augmenter", kind).cls.__doc__ or ""
    except KeyError:
        return kind
    return cell_text(" ".join(doc.split("\n\n")[0].split()))


def _quoted(text: Any) -> str:
    shown = str(text) if len(str(text)) <= 300 else str(text)[:300] + "…"
    return "`" + cell_text(shown).replace("`", "'") + "`"


def _pinned(info: dict[str, Any], pins: dict[str, Any]) -> list[str]:
    """What a step read from outside the spec (its info and pins): trained models, model files, Hub commits."""
    lines = []
    if info.get("fitted"):
        lines.append(
            f"trained on the train split of this build: {info['fitted']['bytes']:,} bytes, "
            f"SHA-256 `{info['fitted']['sha256']}`"
        )
    for key, hub in sorted((pins.get("hub") or {}).items()):
        lines.append(
            f"{key}: Hugging Face Hub [`{hub['repo']}`](https://huggingface.co/{hub['repo']}) at commit "
            f"`{hub['revision']}`"
        )
    for file in pins.get("files") or []:
        lines.append(f"file `{file['path']}`: {file['size']:,} bytes, SHA-256 `{file['sha256']}`")
    return lines


class AugmentationSection(specc.CardSection):
    """Augmentation: methods, parameters, rows added per split, a before/after example per step, eval splits flagged."""

    name = "augmentation"
    order = 750

    def render(self, card: specc.CardData) -> str | None:
        """The section, when the build has augment steps."""
        steps = [s for s in card.stats.steps if s.stage == "augment"]
        if not steps:
            return None
        added: dict[str, int] = {}
        for step in steps:
            for split, n in (step.added or {}).items():
                added[split] = added.get(split, 0) + n
        out = [
            "## Augmentation",
            "",
            f"Rows made by augmentation: {added_text(added)}. Each one names the row it was made from in "
            f"`_origin_id` and its augmenter in `_augmenter`, and stays in that row's split. "
            f"Augmenters work on the rows that came from the sources, never on rows another augmenter made; "
            f"a new row identical to its origin is not added. Each row's random state comes from the step's "
            f"seed and the row's `_id`, so the same spec gives the same rows.",
            "",
        ]
        for step in steps:
            evaluation = [s for s in step.params.get("splits", []) if s != "train"]
            if evaluation:
                out += [
                    f"> **Warning:** step `{step.id}` augmented the evaluation split"
                    f"{'s' if len(evaluation) > 1 else ''} {', '.join(f'`{s}`' for s in evaluation)} "
                    f"(`allow_eval: true`): scores measured on them include made-up rows.",
                    "",
                ]
        out += [
            "| Step | Method | Splits | Fraction | Copies | Columns | Rows chosen | Added | Identical, not added |",
            "|---|---|---|---:|---:|---|---:|---|---:|",
        ]
        for step in steps:
            params, info = step.params, step.info or {}
            out.append(
                f"| `{step.id}` | {_method(step.type)} | {', '.join(params.get('splits', []))} | "
                f"{params.get('fraction', 1)} | {params.get('copies', 1)} | "
                f"{', '.join(params.get('columns', []))} | {info.get('rows_chosen', 0):,} | "
                f"{added_text(step.added or {})} | {info.get('unchanged', 0):,} |"
            )
        out += ["", "Each step's own parameters, and what it read besides the rows:", ""]
        for step in steps:
            own = {k: v for k, v in step.params.items() if k not in SHARED}
            out.append(f"- `{step.id}` ({step.type}): {params_text(own)}")
            out += [f"  - {line}" for line in _pinned(step.info or {}, step.pins or {})]
        examples = [(s.id, (s.info or {}).get("example")) for s in steps]
        if any(example for _, example in examples):
            out += [
                "",
                "One example per step (the first row it changed):",
                "",
                "| Step | Row | Column | Before | After |",
                "|---|---|---|---|---|",
            ]
            for step_id, example in examples:
                if example:
                    out.append(
                        f"| `{step_id}` | `{cell_text(example['_id'])}` | {example['column']} | "
                        f"{_quoted(example['before'])} | {_quoted(example['after'])} |"
                    )
        return "\n".join(out) + "\n"
