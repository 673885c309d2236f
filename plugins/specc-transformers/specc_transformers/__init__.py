"""specc components over Hugging Face transformers: model labelers, token budgets, a fine-tuning baseline.

Every module here imports transformers and torch only inside the methods that run during a build,
so `specc validate` stays fast.
"""

from __future__ import annotations

from specc.hookspecs import Register, hookimpl
from specc_transformers.card_section import ModelLabelsSection
from specc_transformers.finetune import FineTune
from specc_transformers.labeler import ModelLabeler
from specc_transformers.tokens import TransformersTokenCounter


@hookimpl
def register_annotators(register: Register) -> None:
    """Register the model labeler."""
    register(ModelLabeler)


@hookimpl
def register_tokenizers(register: Register) -> None:
    """Register the token counter of `format.tokens`."""
    register(TransformersTokenCounter)


@hookimpl
def register_evaluators(register: Register) -> None:
    """Register the fine-tuning baseline."""
    register(FineTune)


@hookimpl
def register_card_sections(register: Register) -> None:
    """Register the model labelers' card section."""
    register(ModelLabelsSection)
