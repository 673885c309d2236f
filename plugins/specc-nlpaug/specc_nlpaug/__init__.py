"""specc-nlpaug: augmenters over nlpaug (characters, words, sentences, models) and the card's augmentation section.

Importing this package imports no nlpaug, torch or transformers: each augmenter imports them when it
first augments a row.
"""

from __future__ import annotations

from typing import Any

import specc
from specc_nlpaug.card import AugmentationSection
from specc_nlpaug.chars import Keyboard, Ocr, RandomChar
from specc_nlpaug.models import BackTranslation, Contextual
from specc_nlpaug.sentences import SentenceShuffle
from specc_nlpaug.words import Antonym, RandomWord, Reserved, Spelling, Split, Synonym, TfIdf, WordEmbeddings

AUGMENTERS = (Keyboard, Ocr, RandomChar, RandomWord, Spelling, TfIdf, Reserved, Split, WordEmbeddings, Synonym,
              Antonym, SentenceShuffle, Contextual, BackTranslation)


@specc.hookimpl
def register_augmenters(register: Any) -> None:
    """Register the nlpaug augmenters (types `nlpaug.*`)."""
    for cls in AUGMENTERS:
        register(cls)


@specc.hookimpl
def register_card_sections(register: Any) -> None:
    """Register the augmentation section of the card."""
    register(AugmentationSection)
