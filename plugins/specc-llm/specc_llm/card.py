"""The card section of the language-model steps: models, sampling, requests, tokens and what the answers did."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from specc.plugin import CardData, CardSection, added_text, cell_text

ENDPOINTS = {"server": "OpenAI-compatible server", "local": "local folder, run in-process"}
OWN = {
    "llm",
    "agreement",
    "by_label",
    "by_score",
    "rows",
    "failed",
}  # info keys shown otherwise, or not counts of the step's own


@dataclass(frozen=True)
class Asker:
    """A source or step of the build that asked a language model: what the card shows of it."""

    id: str
    type: str
    info: dict[str, Any]
    sampling: dict[str, Any]
    added: dict[str, int]
    dropped: dict[str, int]
    templates: list[str]


def askers(card: CardData) -> list[Asker]:
    """The sources (in name order) and steps (in build order) whose info holds the client's `llm` statistics."""
    found = []
    for name, source in sorted(card.stats.sources.items()):
        if (source.info or {}).get("llm"):
            params = card.spec.sources.get(name)
            sampling = getattr(params, "sampling", None)
            shown = sampling.model_dump() if sampling is not None else {}
            found.append(Asker(f"sources.{name}", source.type, source.info or {}, shown, {}, {}, []))
    for step in card.stats.steps:
        if (step.info or {}).get("llm"):
            found.append(
                Asker(
                    step.id,
                    step.type,
                    step.info or {},
                    step.params.get("sampling") or {},
                    dict(step.added or {}),
                    dict(step.dropped),
                    list(step.texts or {}),
                )
            )
    return found


def _sampling(sampling: dict[str, Any]) -> str:
    shown = [
        f"{key} {sampling[key]}" for key in ("temperature", "top_p", "max_tokens") if sampling.get(key) is not None
    ]
    if sampling.get("stop"):
        shown.append("stop " + ", ".join(f"`{cell_text(repr(s))}`" for s in sampling["stop"]))
    return ", ".join(shown) or "not recorded"


def _counts(counts: dict[str, Any]) -> str:
    return ", ".join(f"{n:,} {cell_text(reason.replace('_', ' '))}" for reason, n in sorted(counts.items()))


def _outcome(asker: Asker) -> list[str]:
    """What the answers did: rows added and dropped, labels and abstentions, the step's own counts, failures."""
    info, llm = asker.info, asker.info["llm"]
    said = []
    if asker.added:
        said.append(f"rows added: {added_text(asker.added)}")
    if asker.dropped:
        said.append(f"rows dropped: {_counts(asker.dropped)}")
    if info.get("by_label"):
        said.append(f"labels given: {_counts(info['by_label'])}")
    if info.get("by_score"):
        scores = ", ".join(f"{score} ×{n:,}" for score, n in info["by_score"].items())
        said.append(f"scores given: {scores}")
    if "abstained" in info:
        said.append(f"abstentions (an answer naming none of the labels, or several): {info['abstained']:,}")
    own = {k: v for k, v in info.items() if k not in OWN and k != "abstained" and type(v) is int}
    if own:
        said.append(", ".join(f"{cell_text(k.replace('_', ' '))} {n:,}" for k, n in own.items()))
    if llm["failed"]:
        said.append(f"requests that failed after the retries: {llm['failed']:,}")
    if asker.templates:
        said.append("prompt templates " + ", ".join(f"`{name}`" for name in asker.templates) + " (under Processing)")
    return said


def _value(measured: dict[str, Any], name: str) -> str:
    value, interval = measured.get(name), (measured.get("ci") or {}).get(name) or [None, None]
    if value is None:
        return "n/a"
    return f"{value:.3f}" + ("" if None in interval else f" ({interval[0]:.3f} – {interval[1]:.3f})")


def _agreement(asker: Asker) -> list[str]:
    """The model's labels against each labeler the step compared them with, over the rows both labelled."""
    agreement = asker.info.get("agreement") or {}
    if not agreement:
        return []
    boot = next(iter(agreement.values())).get("bootstrap") or {}
    ci = f", with {boot['confidence']:.0%} bootstrap intervals" if boot.get("confidence") else ""
    lines = [
        "",
        f"Agreement of `{asker.id}` with the other labels of the rows both labelled{ci}:",
        "",
        "| Compared with | Rows | Agreement | Cohen's kappa | Krippendorff's alpha |",
        "|---|---:|---:|---:|---:|",
    ]
    for other, measured in sorted(agreement.items()):
        lines.append(
            f"| `{cell_text(other)}` | {measured['rows']:,} | {_value(measured, 'agreement')} | "
            f"{_value(measured, 'kappa')} | {_value(measured, 'alpha')} |"
        )
    return [*lines, ""]


class LanguageModelSection(CardSection):
    """Each source and step that asked a language model: pinned model, endpoint kind, sampling, requests, tokens,
    and what the answers did (rows added, labels, abstentions, rows judged away, agreement, failures)."""

    name = "language-models"
    order = 740
    title = "Language models"

    def render(self, card: CardData) -> str | None:
        """Markdown for the build's language-model sources and steps, or None when it has none."""
        found = askers(card)
        if not found:
            return None
        lines = [
            "## Language models",
            "",
            "Rows made, labelled or judged by a language model. Each request is keyed by the SHA-256 of the model's "
            "id and the whole request (messages, sampling, the row's seed), and its answer is kept in the build's "
            "cache: a rebuild with the same lock and cache sends no request. The model is named as the server reported it when "
            "the lock was written, or by the local folder the spec names (its files' SHA-256 are in the lock), never "
            "by the address it was reached at.",
            "",
            "| Source or step | Model | Endpoint | Sampling | Requests | Failed | Tokens in | Tokens out |",
            "|---|---|---|---|---:|---:|---:|---:|",
        ]
        for asker in found:
            llm = asker.info["llm"]
            lines.append(
                f"| `{asker.id}` | `{cell_text(str(llm['model']))}` | "
                f"{ENDPOINTS.get(llm['endpoint'], cell_text(str(llm['endpoint'])))} | {_sampling(asker.sampling)} | "
                f"{llm['requests']:,} | {llm['failed']:,} | {llm['tokens_in']:,} | {llm['tokens_out']:,} |"
            )
        tokens_in = sum(a.info["llm"]["tokens_in"] for a in found)
        tokens_out = sum(a.info["llm"]["tokens_out"] for a in found)
        lines += ["", f"Tokens in all, as the endpoints counted them: {tokens_in:,} in, {tokens_out:,} out.", ""]
        for asker in found:
            said = _outcome(asker)
            if said:
                lines.append(f"- `{asker.id}` ({asker.type}): " + "; ".join(said) + ".")
            lines += [f"  {line}" if line else "" for line in _agreement(asker)]
        return "\n".join(lines).rstrip() + "\n"
