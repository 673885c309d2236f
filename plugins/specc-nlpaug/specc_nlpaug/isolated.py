"""nlpaug augmenters that use the model specc gives them, not nlpaug's module-level caches.

nlpaug keeps one spelling dictionary, one tf-idf model and one WordNet reader per process, and its
transformers models by folder name, and hands the first one loaded to every later augmenter; these
subclasses load or take their own instead. Imported only when an augment step runs (it imports nlpaug).
"""

from __future__ import annotations

from typing import Any

import nlpaug.augmenter.word as naw
import nlpaug.model.lang_models as nml
import nlpaug.model.word_dict as nmwd
import nlpaug.model.word_stats as nmws
from nltk.corpus.reader import WordNetCorpusReader


def spelling_model(path: str, include_reverse: bool) -> Any:
    """nlpaug's spelling dictionary with its candidates sorted (nlpaug builds them from a set, whose
    order changes with PYTHONHASHSEED)."""
    model = nmwd.Spelling(path, include_reverse)
    model.dict = {word: sorted(candidates) for word, candidates in model.dict.items()}
    return model


class SpellingAug(naw.SpellingAug):
    """SpellingAug with the dictionary given."""

    def __init__(self, model: Any, **kwargs: Any):
        self.own_model = model
        super().__init__(**kwargs)

    def get_model(self, force_reload: bool) -> Any:
        """The dictionary given."""
        return self.own_model


def tfidf_model(w2idf: dict[str, float], w2tfidf: dict[str, float]) -> Any:
    """nlpaug's tf-idf model from its two tables (what `TfIdf.read` would load from files)."""
    model = nmws.TfIdf()
    model.w2idf, model.w2tfidf = dict(w2idf), dict(w2tfidf)
    model.tokens, model.tfidf_scores = list(w2tfidf), list(w2tfidf.values())
    return model


class TfIdfAug(naw.TfIdfAug):
    """TfIdfAug with the model given."""

    def __init__(self, model: Any, **kwargs: Any):
        self.own_model = model
        super().__init__(**kwargs)

    def get_model(self, force_reload: bool = False) -> Any:
        """The model given."""
        return self.own_model


class EnglishWordNetReader(WordNetCorpusReader):
    """nltk's WordNet reader for English only: it maps no other WordNet version onto this one (nltk would
    load its own downloaded copy to do that, even when it reads another)."""

    def map_wn(self, version: str = "wordnet") -> None:
        """No mapping."""
        return None


class WordNet(nmwd.WordNet):
    """nlpaug's WordNet dictionary over a given reader, tagging parts of speech with `tagger`."""

    def __init__(self, reader: Any, tagger: Any, is_synonym: bool):
        self.reader, self.tagger = reader, tagger
        super().__init__(lang="eng", is_synonym=is_synonym)

    def read(self) -> Any:
        """The reader given (nlpaug's own would download the data when it is missing)."""
        return self.reader

    def pos_tag(self, tokens: list[str]) -> list[tuple[str, str]]:
        """Penn Treebank tags of `tokens`."""
        return self.tagger(tokens)


class SynonymAug(naw.SynonymAug):
    """SynonymAug over the WordNet dictionary given."""

    def __init__(self, model: Any, **kwargs: Any):
        self.own_model = model
        super().__init__(aug_src="wordnet", **kwargs)

    def get_model(self, *args: Any) -> Any:
        """The dictionary given."""
        return self.own_model


class AntonymAug(naw.AntonymAug):
    """AntonymAug over the WordNet dictionary given."""

    def __init__(self, model: Any, **kwargs: Any):
        self.own_model = model
        super().__init__(**kwargs)

    def get_model(self, *args: Any) -> Any:
        """The dictionary given."""
        return self.own_model


class NoWorkerPipeline:
    """A transformers pipeline run in this process: nlpaug asks it for a DataLoader worker on every call,
    which forks a process per text."""

    def __init__(self, pipeline: Any):
        self.pipeline = pipeline

    def __call__(self, inputs: Any, **kwargs: Any) -> Any:
        """The pipeline's output, with no worker process."""
        return self.pipeline(inputs, **{**kwargs, "num_workers": 0})

    def __getattr__(self, name: str) -> Any:
        return getattr(self.pipeline, name)


class ContextualWordEmbsAug(naw.ContextualWordEmbsAug):
    """ContextualWordEmbsAug over its own fill-mask pipeline (transformers' pipeline, not nlpaug's own API)."""

    @classmethod
    def get_model(
        cls,
        model_path: str,
        model_type: str,
        device: str = "cpu",
        force_reload: bool = False,
        batch_size: int = 32,
        top_k: int | None = None,
        silence: bool = True,
        use_custom_api: bool = False,
    ) -> Any:
        """A new model for this augmenter alone."""
        model = nml.FmTransformers(
            model_path, model_type=model_type, device=device, batch_size=batch_size, top_k=top_k, silence=silence
        )
        model.model = NoWorkerPipeline(model.model)
        return model


class MtTransformers(nml.MtTransformers):
    """nlpaug's pair of translation models, translating in this process (nlpaug's own starts a DataLoader
    worker process per call)."""

    def translate_one_step_batched(self, data: str | list[str], tokenizer: Any, model: Any) -> list[str]:
        """`data` (a text or texts) translated by `model`, `batch_size` texts at a time."""
        import torch

        data = [data] if isinstance(data, str) else data
        texts: list[str] = []
        for start in range(0, len(data), self.batch_size):
            batch = tokenizer(data[start : start + self.batch_size], padding=True, truncation=True, return_tensors="pt")
            with torch.no_grad():
                ids = model.generate(
                    input_ids=batch["input_ids"].to(self.device),
                    attention_mask=batch["attention_mask"].to(self.device),
                    max_length=self.max_length,
                )
            texts.extend(tokenizer.batch_decode(ids, skip_special_tokens=True))
        return texts


class BackTranslationAug(naw.BackTranslationAug):
    """BackTranslationAug over its own two models."""

    @classmethod
    def get_model(
        cls,
        from_model_name: str,
        to_model_name: str,
        device: str = "cpu",
        force_reload: bool = False,
        batch_size: int = 32,
        max_length: int | None = None,
    ) -> Any:
        """New models for this augmenter alone."""
        return MtTransformers(
            src_model_name=from_model_name,
            tgt_model_name=to_model_name,
            device=device,
            batch_size=batch_size,
            max_length=max_length,
        )
