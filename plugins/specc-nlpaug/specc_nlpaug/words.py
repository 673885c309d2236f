"""Word augmenters: random edits, spelling mistakes, tf-idf, reserved words, splits, embeddings, WordNet."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

import specc
from specc_nlpaug.base import NlpaugAugmenter, NlpaugParams, WordParams

if TYPE_CHECKING:
    import pyarrow as pa


class RandomWordParams(WordParams):
    """nlpaug RandomWordAug's options."""

    action: Literal["swap", "delete", "crop", "substitute"] = Field(
        "delete",
        description="Swap neighbouring words, delete words, delete a run of words (crop), or substitute "
        "words with `target_words`.",
    )
    target_words: list[str] | None = Field(None, description="For substitute: the words put in (nlpaug's default: _).")


class RandomWord(NlpaugAugmenter):
    """Random word edits: swaps, deletions, crops or substitutions (nlpaug RandomWordAug)."""

    name = "nlpaug.random-word"
    Params = RandomWordParams
    nlpaug_class = "RandomWordAug"


class SpellingParams(WordParams):
    """nlpaug SpellingAug's options."""

    dictionary: specc.InputPath | None = Field(
        None,
        description="A misspelling dictionary (`word mistake mistake ...` per line); default: the English "
        "one nlpaug ships.",
    )
    include_reverse: bool = Field(True, description="Also replace a mistake by its correct word.")


class Spelling(NlpaugAugmenter):
    """Common misspellings from a dictionary (nlpaug SpellingAug, with its candidates in a fixed order)."""

    name = "nlpaug.spelling"
    Params = SpellingParams

    def files(self) -> list[Path]:
        """A dictionary of the spec's own (nlpaug's is pinned by the plugin's version)."""
        return [self.context.path(self.params.dictionary)] if self.params.dictionary else []

    def build(self) -> Any:
        """SpellingAug over its own dictionary, not nlpaug's process-wide one."""
        import os

        from nlpaug.util import LibraryUtil

        from specc_nlpaug import isolated

        own = self.files()
        path = str(own[0]) if own else os.path.join(LibraryUtil.get_res_dir(), "word", "spelling", "spelling_en.txt")
        model = isolated.spelling_model(path, self.params.include_reverse)
        return isolated.SpellingAug(model, dict_path=path, **self.nlpaug_kwargs("dictionary"))


class TfIdfParams(WordParams):
    """nlpaug TfIdfAug's options."""

    action: Literal["insert", "substitute"] = Field("substitute", description="Insert words or substitute them.")
    top_k: int = Field(5, ge=1, description="New words are drawn from this many candidates.")


class TfIdf(NlpaugAugmenter):
    """Words with low tf-idf replaced by (or joined by) others; the model is trained on the train split of
    this build (nlpaug TfIdfAug)."""

    name = "nlpaug.tfidf"
    Params = TfIdfParams
    _model: Any = None

    def fit(self, table: pa.Table) -> bytes:
        """nlpaug's tf-idf tables trained on the texts of `columns` of the train split, as JSON."""
        import nlpaug.model.word_stats as nmws
        from nlpaug.util.text.tokenizer import Tokenizer

        texts = [t for name in self.params.columns for t in self.column(table, name).to_pylist() if t and t.strip()]
        if len(texts) < 2:
            raise self.fail(
                f"tf-idf learns from the train split's texts, and it has {len(texts)}; it needs two or more"
            )
        model = nmws.TfIdf()
        model.train([Tokenizer.tokenizer(t) for t in texts])
        return json.dumps({"w2idf": model.w2idf, "w2tfidf": model.w2tfidf}, ensure_ascii=False).encode()

    def load(self, state: bytes) -> None:
        """The trained tables."""
        from specc_nlpaug import isolated

        tables = json.loads(state)
        self._model = isolated.tfidf_model(tables["w2idf"], tables["w2tfidf"])
        self._nlpaug = None

    def build(self) -> Any:
        """TfIdfAug over the trained model."""
        from specc_nlpaug import isolated

        if self._model is None:
            raise self.fail("(plugin bug) augment before the tf-idf model was loaded")
        return isolated.TfIdfAug(self._model, **self.nlpaug_kwargs())


class ReservedParams(NlpaugParams):
    """nlpaug ReservedAug's options."""

    reserved_tokens: list[list[str]] = Field(
        ...,
        min_length=1,
        description="Groups of interchangeable words or phrases, such as [[thanks, thank you, "
        "cheers]]; each is replaced by another of its group.",
    )
    case_sensitive: bool = Field(True, description="Match the words with their case.")
    aug_p: float = Field(0.3, ge=0, le=1, description="Share of the matches replaced.")
    aug_min: int = Field(1, ge=0, description="Fewest matches replaced.")
    aug_max: int | None = Field(10, ge=1, description="Most matches replaced.")


class Reserved(NlpaugAugmenter):
    """Words or phrases replaced by others of their group, such as brand names or greetings (nlpaug ReservedAug)."""

    name = "nlpaug.reserved"
    Params = ReservedParams
    nlpaug_class = "ReservedAug"


class SplitParams(WordParams):
    """nlpaug SplitAug's options."""

    min_char: int = Field(4, ge=2, description="Only words at least this long are split.")


class Split(NlpaugAugmenter):
    """Words split in two at a random character (nlpaug SplitAug)."""

    name = "nlpaug.split"
    Params = SplitParams
    nlpaug_class = "SplitAug"


class WordEmbeddingsParams(WordParams):
    """nlpaug WordEmbsAug's options, with the vectors file of the spec."""

    vectors: specc.InputPath = Field(
        ..., description="The word vectors: word2vec binary, GloVe text or fastText .vec text, as `model_type` says."
    )
    model_type: Literal["word2vec", "glove", "fasttext"] = Field(..., description="The format of `vectors`.")
    action: Literal["insert", "substitute"] = Field("substitute", description="Insert words or substitute them.")
    top_k: int = Field(100, ge=1, description="Substitutes are drawn from this many nearest words.")


class WordEmbeddings(NlpaugAugmenter):
    """Words replaced by near neighbours in a word-vector space (nlpaug WordEmbsAug over gensim)."""

    name = "nlpaug.word-embeddings"
    Params = WordEmbeddingsParams

    def files(self) -> list[Path]:
        """The vectors file."""
        return [self.context.path(self.params.vectors)]

    def build(self) -> Any:
        """WordEmbsAug over vectors read here, not nlpaug's process-wide model."""
        import nlpaug.augmenter.word as naw
        import nlpaug.model.word_embs as nmw

        kind = self.params.model_type
        model = {"word2vec": nmw.Word2vec, "glove": nmw.GloVe, "fasttext": nmw.Fasttext}[kind](top_k=self.params.top_k)
        try:
            model.read(str(self.files()[0]))
        except (ValueError, OSError, EOFError, UnicodeDecodeError, IndexError) as exc:
            raise self.fail(
                f"cannot read '{self.params.vectors}' as {kind} vectors ({type(exc).__name__}: {exc}); "
                f"check the file and `model_type`"
            ) from None
        return naw.WordEmbsAug(model=model, **self.nlpaug_kwargs("vectors"))


class WordNetParams(WordParams):
    """Options of the WordNet augmenters."""

    pos_tagger: Literal["wordnet", "nltk"] = Field(
        "wordnet",
        description="How words get their part of speech: `wordnet`, each word's commonest one in WordNet "
        "(no other data needed); `nltk`, nltk's perceptron tagger in context (its data must "
        "be installed).",
    )


class WordNetAugmenter(NlpaugAugmenter):
    """An augmenter over WordNet, whose data specc finds (nltk's or Debian's) instead of downloading it."""

    is_synonym = True

    def files(self) -> list[Path]:
        """The WordNet data files read."""
        from specc_nlpaug.wordnet import wordnet_files

        try:
            return wordnet_files()
        except LookupError as exc:
            raise self.fail(str(exc)) from None

    def dictionary(self) -> Any:
        """nlpaug's WordNet dictionary over the installed data."""
        from specc_nlpaug import isolated
        from specc_nlpaug.wordnet import nltk_tagger, wordnet_reader, wordnet_tagger

        scratch = Path(self.context.cache_dir or tempfile.gettempdir()) / "nlpaug"
        try:
            reader = wordnet_reader(scratch)
            tagger = wordnet_tagger(reader) if self.params.pos_tagger == "wordnet" else nltk_tagger()
        except LookupError as exc:
            raise self.fail(str(exc)) from None
        return isolated.WordNet(reader, tagger, is_synonym=self.is_synonym)


class Synonym(WordNetAugmenter):
    """Words replaced by WordNet synonyms of their part of speech (nlpaug SynonymAug)."""

    name = "nlpaug.synonym"
    Params = WordNetParams

    def build(self) -> Any:
        """SynonymAug over the installed WordNet."""
        from specc_nlpaug import isolated

        return isolated.SynonymAug(self.dictionary(), **self.nlpaug_kwargs("pos_tagger"))


class Antonym(WordNetAugmenter):
    """Verbs, adjectives and adverbs replaced by WordNet antonyms (nlpaug AntonymAug)."""

    name = "nlpaug.antonym"
    Params = WordNetParams
    is_synonym = False

    def build(self) -> Any:
        """AntonymAug over the installed WordNet."""
        from specc_nlpaug import isolated

        return isolated.AntonymAug(self.dictionary(), **self.nlpaug_kwargs("pos_tagger"))
