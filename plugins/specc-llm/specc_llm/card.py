"""The card section of the language-model steps: models, sampling, requests, tokens and what the answers did."""

from __future__ import annotations

from specc.plugin import CardData, CardSection


class LanguageModelSection(CardSection):
    """Each step that asked a language model: its pinned model, sampling, requests and tokens."""

    name = "language-models"
    order = 740
    title = "Language models"

    def render(self, card: CardData) -> str | None:
        """Markdown for the build's language-model steps, or None when it has none."""
        steps = [s for s in card.stats.steps if (s.info or {}).get("llm")]
        if not steps:
            return None
        lines = ["## Language models", ""]
        for step in steps:
            llm = (step.info or {})["llm"]
            lines.append(f"- `{step.id}` ({step.type}): model `{llm.get('model')}`")
        return "\n".join(lines) + "\n"
