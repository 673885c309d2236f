"""The card section of the language-model steps: models, sampling, requests, tokens and what the answers did."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from specc.plugin import CardData, CardSection, cell_text

if TYPE_CHECKING:
    from specc.plugin import BuildStats

ENDPOINTS = {"server": "OpenAI-compatible server", "local": "local folder, in-process transformers"}


def _sampling(params: dict[str, Any]) -> str:
    sampling = params.get("sampling") or {}
    shown = [
        f"{key} {sampling[key]}" for key in ("temperature", "top_p", "max_tokens") if sampling.get(key) is not None
    ]
    if sampling.get("stop"):
        shown.append("stop " + ", ".join(f"`{cell_text(repr(s))}`" for s in sampling["stop"]))
    return ", ".join(shown) or "the server's defaults"


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{n:,} {cell_text(reason)}" for reason, n in sorted(counts.items()))


def _outcome(step: Any) -> list[str]:
    """What the step did with the answers: rows added, abstentions, rows judged away, failed requests."""
    info, llm = step.info or {}, (step.info or {})["llm"]
    said = []
    if step.added:
        said.append(f"rows added: {_counts(step.added)}")
    if step.dropped:
        said.append(f"rows dropped: {_counts(step.dropped)}")
    if info.get("abstained") is not None:
        said.append(f"abstentions (answers that were none of the labels): {info['abstained']:,}")
    if llm.get("failed"):
        share = (step.params or {}).get("max_failed", 0)
        said.append(f"requests failed after the retries: {llm['failed']:,} (the spec allows a share of {share})")
    if step.texts:
        said.append("prompt templates " + ", ".join(f"`{name}`" for name in step.texts) + " (under Processing)")
    return said


def _agreement(step: Any) -> list[str]:
    """The model's labels against the other labelers of the same column, as the step measured it."""
    agreement = (step.info or {}).get("agreement") or {}
    if not agreement:
        return []
    lines = [
        "",
        f"Agreement of `{step.id}` with the other labels of the rows both labelled:",
        "",
        "| Other labels | Rows | Agreement | Cohen's kappa |",
        "|---|---:|---:|---:|",
    ]
    for other, measured in sorted(agreement.items()):
        kappa = measured.get("kappa")
        lines.append(
            f"| `{cell_text(other)}` | {measured['rows']:,} | {measured['agreement']:.3f} | "
            f"{'n/a' if kappa is None else f'{kappa:.3f}'} |"
        )
    return lines


def llm_steps(stats: BuildStats) -> list[Any]:
    """The steps of a build that asked a language model (their info holds the client's `llm` statistics)."""
    return [s for s in stats.steps if (s.info or {}).get("llm")]


class LanguageModelSection(CardSection):
    """Each step that asked a language model: its pinned model, endpoint kind, sampling, requests, tokens, outcome."""

    name = "language-models"
    order = 740
    title = "Language models"

    def render(self, card: CardData) -> str | None:
        """Markdown for the build's language-model steps, or None when it has none."""
        steps = llm_steps(card.stats)
        if not steps:
            return None
        lines = [
            "## Language models",
            "",
            "Rows written, labelled or judged by a language model. Each request is keyed by the SHA-256 of the "
            "model's id and the whole request (messages, sampling, the row's seed); its answer is kept in the "
            "build's cache, so a rebuild with the same lock sends no request. The model is named as the server "
            "reported it when the lock was written (or, for a local folder, by its files' SHA-256), never by the "
            "address it was reached at.",
            "",
            "| Step | Model | Endpoint | Sampling | Requests | Sent | From the cache | Failed | Tokens in | Tokens out |",
            "|---|---|---|---|---:|---:|---:|---:|---:|---:|",
        ]
        for step in steps:
            llm = step.info["llm"]
            lines.append(
                f"| `{step.id}` | `{cell_text(str(llm['model']))}` | "
                f"{ENDPOINTS.get(llm['endpoint'], cell_text(str(llm['endpoint'])))} | {_sampling(step.params)} | "
                f"{llm['requests']:,} | {llm['sent']:,} | {llm['cache_hits']:,} | {llm['failed']:,} | "
                f"{llm['tokens_in']:,} | {llm['tokens_out']:,} |"
            )
        total_in = sum(s.info["llm"]["tokens_in"] for s in steps)
        total_out = sum(s.info["llm"]["tokens_out"] for s in steps)
        lines += ["", f"Tokens in all: {total_in:,} in, {total_out:,} out (as the endpoints counted them).", ""]
        for step in steps:
            said = _outcome(step)
            if said:
                lines.append(f"- `{step.id}` ({step.type}): " + "; ".join(said) + ".")
            lines += [f"  {line}" if line else "" for line in _agreement(step)]
        return "\n".join(lines).rstrip() + "\n"
