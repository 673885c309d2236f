"""specc-nlpaug: augmenters over nlpaug (characters, words, sentences, models) and the card's augmentation section.

Importing this package imports no nlpaug, torch or transformers, nor the augmenters' modules: each is
imported when a spec uses its type, and nlpaug when it first augments a row.
"""

from __future__ import annotations

from specc.plugin import Register, hookimpl

# type name: "module:Class", imported when a spec uses the type
AUGMENTERS = {
    "nlpaug.keyboard": "specc_nlpaug.chars:Keyboard",
    "nlpaug.ocr": "specc_nlpaug.chars:Ocr",
    "nlpaug.random-char": "specc_nlpaug.chars:RandomChar",
    "nlpaug.random-word": "specc_nlpaug.words:RandomWord",
    "nlpaug.spelling": "specc_nlpaug.words:Spelling",
    "nlpaug.tfidf": "specc_nlpaug.words:TfIdf",
    "nlpaug.reserved": "specc_nlpaug.words:Reserved",
    "nlpaug.split": "specc_nlpaug.words:Split",
    "nlpaug.word-embeddings": "specc_nlpaug.words:WordEmbeddings",
    "nlpaug.synonym": "specc_nlpaug.words:Synonym",
    "nlpaug.antonym": "specc_nlpaug.words:Antonym",
    "nlpaug.sentence-shuffle": "specc_nlpaug.sentences:SentenceShuffle",
    "nlpaug.contextual": "specc_nlpaug.models:Contextual",
    "nlpaug.back-translation": "specc_nlpaug.models:BackTranslation",
}


@hookimpl
def register_augmenters(register: Register) -> None:
    """Register the nlpaug augmenters (types `nlpaug.*`)."""
    for name, target in AUGMENTERS.items():
        register(target, name=name)


@hookimpl
def register_card_sections(register: Register) -> None:
    """Register the augmentation section of the card."""
    register("specc_nlpaug.card:AugmentationSection", name="augmentation")
