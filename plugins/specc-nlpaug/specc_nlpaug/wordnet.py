"""WordNet for the synonym and antonym augmenters: nltk's download, or Debian's packages."""

from __future__ import annotations

import os
import shutil
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

DEBIAN_DIR = Path("/usr/share/wordnet")  # wordnet-base and wordnet-sense-index
READER_FILES = tuple(f"{kind}.{pos}" for kind in ("data", "index") for pos in ("adj", "adv", "noun", "verb")) + (
    "adj.exc",
    "adv.exc",
    "noun.exc",
    "verb.exc",
    "index.sense",
)
INSTALL = (
    "install WordNet: `apt-get install wordnet-base wordnet-sense-index` (Debian, Ubuntu; works offline) "
    "or `python -m nltk.downloader wordnet` (needs the network)"
)
# WordNet 3.0's lexicographer files, which nltk's reader needs and Debian's packages leave out
LEXNAMES = """adj.all adj.pert adv.all noun.Tops noun.act noun.animal noun.artifact noun.attribute noun.body
noun.cognition noun.communication noun.event noun.feeling noun.food noun.group noun.location noun.motive
noun.object noun.person noun.phenomenon noun.plant noun.possession noun.process noun.quantity noun.relation
noun.shape noun.state noun.substance noun.time verb.body verb.change verb.cognition verb.communication
verb.competition verb.consumption verb.contact verb.creation verb.emotion verb.motion verb.perception
verb.possession verb.social verb.stative verb.weather adj.ppl""".split()
LEX_POS = {"adj": 3, "adv": 4, "noun": 1, "verb": 2}
PENN_TAGS = {"n": "NN", "v": "VB", "a": "JJ", "s": "JJ", "r": "RB"}


def _nltk_wordnet() -> Path | None:
    """nltk's WordNet folder or zip, if nltk's downloader put one on its data path."""
    import nltk

    try:
        return Path(str(nltk.data.find("corpora/wordnet")).removesuffix("/"))
    except LookupError:
        try:
            return Path(str(nltk.data.find("corpora/wordnet.zip")))
        except LookupError:
            return None


def wordnet_files() -> list[Path]:
    """The WordNet files the reader will read (their bytes pin the data); LookupError with how to install it."""
    found = _nltk_wordnet()
    if found is not None:
        return [found] if found.is_file() else sorted(p for p in found.iterdir() if p.is_file())
    if all((DEBIAN_DIR / name).is_file() for name in READER_FILES):
        return [DEBIAN_DIR / name for name in READER_FILES]
    raise LookupError(f"WordNet's data is not installed (neither nltk's corpora/wordnet nor {DEBIAN_DIR}); {INSTALL}")


def _english(root: Any) -> Any:
    """An English-only reader (without the warning that other languages are not available)."""
    from specc_nlpaug.isolated import EnglishWordNetReader

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "The multilingual functions are not available")
        return EnglishWordNetReader(root, None)


def wordnet_reader(scratch: Path) -> Any:
    """nltk's WordNet reader over the installed data; Debian's files are copied into `scratch` with a lexnames file."""
    import nltk

    found = _nltk_wordnet()
    if found is not None:
        return _english(nltk.data.find("corpora/wordnet"))
    wordnet_files()  # the install error, when Debian's files are missing too
    folder = scratch / "wordnet-debian"
    if not (folder / "lexnames").is_file():  # nltk refuses links out of its folder: a copy, made once
        scratch.mkdir(parents=True, exist_ok=True)
        building = Path(tempfile.mkdtemp(prefix="wordnet-", dir=scratch))
        for name in READER_FILES:
            shutil.copyfile(DEBIAN_DIR / name, building / name)
        (building / "lexnames").write_text(
            "".join(f"{i:02d} {name} {LEX_POS[name.split('.')[0]]}\n" for i, name in enumerate(LEXNAMES)),
            encoding="utf-8",
        )
        try:
            os.replace(building, folder)
        except OSError:  # another process made it first
            shutil.rmtree(building, ignore_errors=True)
    if str(folder) not in nltk.data.path:  # nltk reads only below the folders on its data path
        nltk.data.path.append(str(folder))
    return _english(str(folder))


def wordnet_tagger(reader: Any) -> Callable[[list[str]], list[tuple[str, str]]]:
    """Tags each word with its commonest part of speech in WordNet (most synsets; nouns first on a tie)."""

    def tag(tokens: list[str]) -> list[tuple[str, str]]:
        tags = []
        for token in tokens:
            counts: dict[str, int] = {}
            for synset in reader.synsets(token.lower()):
                pos = "a" if synset.pos() == "s" else synset.pos()
                counts[pos] = counts.get(pos, 0) + 1
            best = max("nvar", key=lambda pos: counts.get(pos, 0))
            tags.append((token, PENN_TAGS[best] if counts else ""))
        return tags

    return tag


def nltk_tagger() -> Callable[[list[str]], list[tuple[str, str]]]:
    """nltk's averaged perceptron tagger; LookupError with how to install its data."""
    import nltk

    try:
        nltk.data.find("taggers/averaged_perceptron_tagger_eng")
    except LookupError:
        raise LookupError(
            "nltk's part-of-speech tagger is not installed; install it with `python -m nltk.downloader "
            "averaged_perceptron_tagger_eng` (needs the network), or use `pos_tagger: wordnet`"
        ) from None
    return nltk.pos_tag
