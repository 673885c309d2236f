"""specc-llm: steps that call a language model through an OpenAI-compatible server or a local transformers folder.

Importing this package imports neither openai nor transformers, nor the steps' modules: each is imported when
a spec uses its type.
"""

from __future__ import annotations

from specc.plugin import Register, hookimpl


@hookimpl
def register_sources(register: Register) -> None:
    """Register `self-instruct`."""
    register("specc_llm.selfinstruct:SelfInstruct", name="self-instruct")


@hookimpl
def register_steps(register: Register) -> None:
    """Register `llm-judge`."""
    register("specc_llm.judge:LlmJudge", name="llm-judge")


@hookimpl
def register_annotators(register: Register) -> None:
    """Register `llm-label`."""
    register("specc_llm.label:LlmLabel", name="llm-label")


@hookimpl
def register_augmenters(register: Register) -> None:
    """Register `llm-generate`."""
    register("specc_llm.generate:LlmGenerate", name="llm-generate")


@hookimpl
def register_card_sections(register: Register) -> None:
    """Register the language-model section of the card."""
    register("specc_llm.card:LanguageModelSection", name="language-models")
