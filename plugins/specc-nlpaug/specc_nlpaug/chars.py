"""Character augmenters: OCR confusions, keyboard typos, random character edits."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from specc_nlpaug.base import CharParams, NlpaugAugmenter

# the keyboard layouts nlpaug 1.1.11 ships
KEYBOARD_LANGUAGES = Literal["de", "en", "es", "fr", "he", "it", "nl", "pl", "th", "tr", "uk"]


class CharAugmenter(NlpaugAugmenter):
    """An augmenter over one of nlpaug's character augmenters."""

    modules = ("nlpaug.augmenter.char",)


class KeyboardParams(CharParams):
    """nlpaug KeyboardAug's options."""

    lang: KEYBOARD_LANGUAGES = Field("en", description="The keyboard layout nlpaug ships for this language.")
    include_special_char: bool = Field(True, description="Typos may be punctuation and symbols.")
    include_numeric: bool = Field(True, description="Typos may be digits.")
    include_upper_case: bool = Field(True, description="Typos may be upper-case letters.")


class Keyboard(CharAugmenter):
    """Typos: characters replaced by their neighbours on a keyboard (nlpaug KeyboardAug)."""

    name = "nlpaug.keyboard"
    Params = KeyboardParams
    nlpaug_class = "KeyboardAug"


class OcrParams(CharParams):
    """nlpaug OcrAug's options (its defaults differ from the other character augmenters')."""

    aug_char_min: int = Field(2, ge=0, description="Fewest characters changed per word.")
    min_char: int = Field(1, ge=1, description="Words shorter than this are left alone.")


class Ocr(CharAugmenter):
    """OCR errors: characters replaced by ones OCR confuses them with, such as 0 for o (nlpaug OcrAug)."""

    name = "nlpaug.ocr"
    Params = OcrParams
    nlpaug_class = "OcrAug"


class RandomCharParams(CharParams):
    """nlpaug RandomCharAug's options."""

    action: Literal["insert", "substitute", "swap", "delete"] = Field(
        "substitute", description="Insert, substitute, swap or delete characters."
    )
    include_upper_case: bool = Field(True, description="New characters may be upper-case letters.")
    include_lower_case: bool = Field(True, description="New characters may be lower-case letters.")
    include_numeric: bool = Field(True, description="New characters may be digits.")
    swap_mode: Literal["adjacent", "middle", "random"] = Field(
        "adjacent", description="For swap: with the next character, within the word's middle, or anywhere in it."
    )
    spec_char: str = Field("!@#$%^&*()_+", description="Symbols new characters may be.")
    candidates: list[str] | None = Field(None, description="Draw new characters from these only.")


class RandomChar(CharAugmenter):
    """Random character edits: insertions, substitutions, swaps or deletions (nlpaug RandomCharAug)."""

    name = "nlpaug.random-char"
    Params = RandomCharParams
    nlpaug_class = "RandomCharAug"
