"""The types of the first-party plugins, so that naming one whose plugin is missing says what to install."""

from __future__ import annotations

# distribution -> kind -> the type names it registers (tests/test_install_hints.py checks it against the plugins)
FIRST_PARTY: dict[str, dict[str, tuple[str, ...]]] = {
    "specc-example": {"step": ("min-words",)},
    "specc-llm": {
        "annotator": ("llm-label",),
        "augmenter": ("llm-generate",),
        "card_section": ("language-models",),
        "source": ("self-instruct",),
        "step": ("llm-judge",),
    },
    "specc-nlpaug": {
        "augmenter": (
            "nlpaug.antonym",
            "nlpaug.back-translation",
            "nlpaug.contextual",
            "nlpaug.keyboard",
            "nlpaug.ocr",
            "nlpaug.random-char",
            "nlpaug.random-word",
            "nlpaug.reserved",
            "nlpaug.sentence-shuffle",
            "nlpaug.spelling",
            "nlpaug.split",
            "nlpaug.synonym",
            "nlpaug.tfidf",
            "nlpaug.word-embeddings",
        ),
        "card_section": ("augmentation",),
    },
    "specc-ray": {"executor": ("ray",)},
    "specc-transformers": {
        "annotator": ("transformers-classify",),
        "card_section": ("model_labels",),
        "evaluator": ("transformers-finetune",),
        "tokenizer": ("transformers",),
    },
}


def provider(kind: str, name: str) -> str | None:
    """The first-party distribution that provides `name` as a type of `kind`, or None."""
    for distribution, kinds in FIRST_PARTY.items():
        if name in kinds.get(kind, ()):
            return distribution
    return None


def distributions(kind: str) -> list[str]:
    """The first-party distributions that provide types of `kind`, sorted."""
    return sorted(distribution for distribution, kinds in FIRST_PARTY.items() if kind in kinds)


def known_names(kind: str) -> list[str]:
    """Every first-party plugin type of `kind`, sorted."""
    return sorted(name for kinds in FIRST_PARTY.values() for name in kinds.get(kind, ()))


def install_hint(kind: str, name: str) -> str | None:
    """`'NAME' is provided by the plugin DIST; install it with pip install DIST`, or None for an unknown type."""
    distribution = provider(kind, name)
    if distribution is None:
        return None
    return f"'{name}' is provided by the plugin {distribution}; install it with pip install {distribution}"
