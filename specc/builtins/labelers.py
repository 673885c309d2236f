"""Built-in annotators (rule labelers, human annotation rounds) and the card section that reports them."""

from __future__ import annotations

from specc.annotation.card_section import AnnotationSection
from specc.annotation.human import HumanRound
from specc.annotation.rules import RuleLabeler
from specc.hookspecs import Register, hookimpl


@hookimpl
def register_annotators(register: Register) -> None:
    """Register the built-in annotators."""
    register(RuleLabeler)
    register(HumanRound)


@hookimpl
def register_card_sections(register: Register) -> None:
    """Register the card section that reports them."""
    register(AnnotationSection)
