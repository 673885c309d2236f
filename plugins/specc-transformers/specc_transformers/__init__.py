"""specc components over Hugging Face transformers: model labelers, token budgets, a fine-tuning baseline.

Every module here imports transformers and torch only inside the methods that run during a build,
and each module is imported when a spec uses its type, so `specc validate` stays fast.
"""

from __future__ import annotations

from specc.plugin import Register, hookimpl


@hookimpl
def register_annotators(register: Register) -> None:
    """Register the model labeler."""
    register("specc_transformers.labeler:ModelLabeler", name="transformers-classify")


@hookimpl
def register_tokenizers(register: Register) -> None:
    """Register the token counter of `format.tokens`."""
    register("specc_transformers.tokens:TransformersTokenCounter", name="transformers")


@hookimpl
def register_evaluators(register: Register) -> None:
    """Register the fine-tuning baseline."""
    register("specc_transformers.finetune:FineTune", name="transformers-finetune")


@hookimpl
def register_card_sections(register: Register) -> None:
    """Register the model labelers' card section."""
    register("specc_transformers.card_section:ModelLabelsSection", name="model_labels")
