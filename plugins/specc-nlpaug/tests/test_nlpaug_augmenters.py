"""Every character, word and sentence augmenter on real nlpaug with its shipped resources, in this process."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from nlpaug_rows import TEXTS, WORDS, augment, rows

import specc
from specc_nlpaug.chars import Keyboard, Ocr, RandomChar
from specc_nlpaug.sentences import SentenceShuffle
from specc_nlpaug.words import Antonym, RandomWord, Reserved, Spelling, Split, Synonym, TfIdf, WordEmbeddings

TABLE = rows(TEXTS * 4)


def words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def chars(text: str) -> int:
    return len(re.sub(r"\s", "", text))


# (augmenter, its parameters, what must hold between each origin text and its new text)
CASES: list[tuple[type, dict[str, Any], Callable[[str, str], bool]]] = [
    (Keyboard, {}, lambda a, b: abs(len(a) - len(b)) <= 2),
    (Ocr, {"aug_word_p": 0.6}, lambda a, b: chars(a) == chars(b)),
    (RandomChar, {"action": "insert"}, lambda a, b: chars(b) > chars(a)),
    (RandomChar, {"action": "substitute"}, lambda a, b: chars(b) == chars(a)),
    (RandomChar, {"action": "swap"}, lambda a, b: sorted(a.lower()) == sorted(b.lower())),
    (RandomChar, {"action": "delete"}, lambda a, b: chars(b) < chars(a)),
    (RandomWord, {"action": "swap"}, lambda a, b: Counter(words(a)) == Counter(words(b))),
    (RandomWord, {"action": "delete"}, lambda a, b: len(words(b)) < len(words(a))),
    (RandomWord, {"action": "crop"}, lambda a, b: len(words(b)) < len(words(a))),
    (RandomWord, {"action": "substitute", "target_words": ["zzz"]}, lambda a, b: "zzz" in words(b)),
    (Spelling, {"aug_p": 0.5}, lambda a, b: len(words(b)) >= len(words(a)) - 1),
    (
        Reserved,
        {
            "reserved_tokens": [["thanks", "cheers", "ta"], ["please", "kindly", "pls"]],
            "aug_p": 1.0,
            "case_sensitive": False,
        },
        lambda a, b: {"cheers", "ta", "kindly", "pls"} & set(words(b)),
    ),
    (Split, {"aug_p": 0.5}, lambda a, b: len(words(b)) > len(words(a))),
    (SentenceShuffle, {}, lambda a, b: sorted(re.split(r"(?<=[.!?])\s+", a)) == sorted(re.split(r"(?<=[.!?])\s+", b))),
]


@pytest.mark.parametrize(
    ("cls", "params", "holds"), CASES, ids=[f"{c.name}-{p.get('action', '')}" for c, p, _ in CASES]
)
def test_augmenter_changes_rows_as_its_method_says(
    cls: type, params: dict[str, Any], holds: Callable[[str, str], bool]
) -> None:
    made, info = augment(cls, TABLE, **params)
    origin = dict(zip(TABLE["_id"].to_pylist(), TABLE["text"].to_pylist()))
    assert made.num_rows + info["unchanged"] == TABLE.num_rows
    assert made.num_rows >= TABLE.num_rows // 3, f"{cls.name} changed only {made.num_rows} rows"
    for row in made.to_pylist():
        before = origin[row["_origin_id"]]
        assert row["text"] != before
        assert holds(before, row["text"]), (before, row["text"])
        assert row["_id"] == f"{row['_origin_id']}~augment.x.1" and row["_augmenter"] == cls.name
        assert row["_split"] == "train" and row["label"] == TABLE["label"][int(row["_origin_id"][2:])].as_py()
    assert "_seed" not in made.column_names
    again, _ = augment(cls, TABLE, **params)
    assert again.equals(made)  # the same random state per row: the same rows
    other, _ = augment(cls, TABLE, seed=12, **params)
    assert other["text"].to_pylist() != made["text"].to_pylist()


def test_fraction_and_copies_pick_rows_by_their_own_random_state() -> None:
    table = rows([f"{text} number {i}" for i, text in enumerate(TEXTS * 40)])
    made, info = augment(Keyboard, table, fraction=0.5, copies=3, aug_word_p=0.5)
    chosen = set(made["_origin_id"].to_pylist())
    assert 0.35 * table.num_rows < len(chosen) < 0.65 * table.num_rows
    assert made.num_rows + info["unchanged"] == 3 * len(chosen)
    by_origin = Counter(made["_origin_id"].to_pylist())
    assert max(by_origin.values()) == 3
    ids = [i for i in made["_id"].to_pylist() if i.startswith(made["_origin_id"][0].as_py() + "~")]
    assert ids == [f"{made['_origin_id'][0]}~augment.x.{n}" for n in range(1, len(ids) + 1)]
    copies = made.filter(pa.compute.equal(made["_origin_id"], made["_origin_id"][0]))["text"].to_pylist()
    assert len(set(copies)) == len(copies)  # each copy has its own random state
    # a row's choice depends on its own `_id` only: half of the table makes the same choices
    half, _ = augment(Keyboard, table.slice(0, 100), fraction=0.5, copies=3, aug_word_p=0.5)
    assert set(half["_origin_id"].to_pylist()) == {i for i in chosen if int(i[2:]) < 100}


def test_only_the_splits_asked_for_are_augmented() -> None:
    table = pa.concat_tables([rows(TEXTS, "train"), rows(TEXTS, "test", source="t")])
    made, _ = augment(Keyboard, table, aug_word_p=1.0)
    assert set(made["_split"].to_pylist()) == {"train"} and made.num_rows == len(TEXTS)
    made, _ = augment(Keyboard, table, aug_word_p=1.0, splits=["train", "test"], allow_eval=True)
    assert Counter(made["_split"].to_pylist()) == {"train": len(TEXTS), "test": len(TEXTS)}
    assert all(
        origin.startswith("t:")
        for origin, split in zip(made["_origin_id"].to_pylist(), made["_split"].to_pylist())
        if split == "test"
    )


def test_augmenting_an_eval_split_needs_allow_eval() -> None:
    with pytest.raises(
        ValueError,
        match="augmenting 'test' puts made-up rows into a split that evaluates models; "
        "augment train only, or set `allow_eval: true`",
    ):
        Keyboard.Params.model_validate({"splits": ["train", "test"]})
    assert Keyboard.Params.model_validate({"splits": ["test"], "allow_eval": True}).splits == ["test"]


def test_missing_column_and_missing_split_are_named(tmp_path: Path) -> None:
    with pytest.raises(
        specc.SpeccError,
        match=r"step 'augment.x' \(nlpaug.keyboard\): no column 'body'; "
        r"the columns are: text, label",
    ):
        augment(Keyboard, TABLE, columns=["body"])
    with pytest.raises(specc.SpeccError, match=r"column 'label' holds int64, not text"):
        augment(Keyboard, TABLE, columns=["label"])
    with pytest.raises(specc.SpeccError, match=r"splits: the data has no split 'dev' \(its splits: train\)"):
        augment(Keyboard, TABLE, splits=["dev"], allow_eval=True)


def test_spelling_uses_its_own_dictionary_not_the_one_nlpaug_loaded_first(tmp_path: Path) -> None:
    (tmp_path / "mistakes.txt").write_text("please pleeze\norder ordre\n", encoding="utf-8")
    shipped, _ = augment(Spelling, TABLE, aug_p=1.0)
    own, _ = augment(Spelling, TABLE, spec_dir=tmp_path, dictionary="mistakes.txt", aug_p=1.0)
    again, _ = augment(Spelling, TABLE, aug_p=1.0)
    assert again.equals(shipped)
    assert "pleeze" not in " ".join(shipped["text"].to_pylist())
    for row in own.to_pylist():
        changed = set(words(row["text"])) - set(words(TABLE["text"][int(row["_origin_id"][2:])].as_py()))
        assert changed <= {"pleeze", "ordre"} and changed


def test_tfidf_learns_from_the_train_split_and_each_step_keeps_its_model() -> None:
    table = pa.concat_tables([rows(TEXTS * 3), rows(["zebra quartz xylophone yak"] * 6, "test", source="t")])
    made, info = augment(TfIdf, table, aug_p=0.5)
    state = info["component"].fit(table.filter(pa.compute.equal(table["_split"], "train")))
    learned = set(__import__("json").loads(state)["w2idf"])
    assert {"zebra", "quartz"}.isdisjoint(learned)  # the test split taught it nothing
    vocabulary = {w.lower() for t in TEXTS for w in re.findall(r"\w+", t)}
    for row in made.to_pylist():
        assert set(words(row["text"])) <= vocabulary
    other = rows(["alpha beta gamma delta", "beta gamma delta epsilon", "gamma delta epsilon zeta"] * 3)
    theirs, _ = augment(TfIdf, other, aug_p=0.5)
    ours_again, _ = augment(TfIdf, table, aug_p=0.5)
    assert ours_again.equals(made)
    assert set(w for t in theirs["text"].to_pylist() for w in words(t)) <= {
        "alpha",
        "beta",
        "gamma",
        "delta",
        "epsilon",
        "zeta",
    }


def test_tfidf_needs_train_rows() -> None:
    with pytest.raises(specc.SpeccError, match="tf-idf learns from the train split's texts, and it has 0"):
        augment(TfIdf, rows(TEXTS, "test"), splits=["test"], allow_eval=True)


@pytest.fixture(scope="module")
def vectors(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A word2vec binary file over the test vocabulary, written with gensim."""
    import numpy as np
    from gensim.models import KeyedVectors

    vocabulary = sorted(set(WORDS))
    keyed = KeyedVectors(vector_size=8)
    keyed.add_vectors(vocabulary, np.random.default_rng(0).normal(size=(len(vocabulary), 8)).astype(np.float32))
    path = tmp_path_factory.mktemp("vectors") / "vectors.bin"
    keyed.save_word2vec_format(str(path), binary=True)
    return path


def test_word_embeddings_from_a_vectors_file(vectors: Path) -> None:
    made, info = augment(
        WordEmbeddings, TABLE, spec_dir=vectors.parent, vectors="vectors.bin", model_type="word2vec", top_k=5, aug_p=0.5
    )
    assert made.num_rows >= TABLE.num_rows // 2
    for row in made.to_pylist():
        assert set(words(row["text"])) <= set(WORDS) | {w.lower() for t in TEXTS for w in re.findall(r"\w+", t)}
    assert info["component"].files() == [vectors.resolve()]
    (vectors.parent / "broken.bin").write_bytes(b"not vectors")
    with pytest.raises(specc.SpeccError, match="cannot read 'broken.bin' as word2vec vectors"):
        augment(WordEmbeddings, TABLE, spec_dir=vectors.parent, vectors="broken.bin", model_type="word2vec")


def test_word_embeddings_vectors_file_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="file 'missing.bin' not found; paths are relative to the spec's folder"):
        WordEmbeddings.Params.model_validate(
            {"vectors": "missing.bin", "model_type": "word2vec"}, context={"spec_dir": tmp_path}
        )


def _wordnet_installed() -> bool:
    from specc_nlpaug.wordnet import wordnet_files

    try:
        return bool(wordnet_files())
    except LookupError:
        return False


@pytest.mark.skipif(not _wordnet_installed(), reason="WordNet data not installed (wordnet-base, or nltk's wordnet)")
@pytest.mark.parametrize("cls", [Synonym, Antonym])
def test_wordnet_synonyms_and_antonyms(cls: type, tmp_path: Path) -> None:
    table = rows(
        ["The old man was happy and the day was good", "I love the big fast car", "She is always early and very strong"]
        * 3
    )
    made, info = augment(cls, table, spec_dir=tmp_path, aug_p=0.5)
    assert made.num_rows >= 3
    reader = info["component"]._nlpaug.model.model
    for row in made.to_pylist():
        before = table["text"][int(row["_origin_id"][2:])].as_py().lower().split()
        lemmas = [lemma for word in before for synset in reader.synsets(word) for lemma in synset.lemmas()]
        found = [a for lemma in lemmas for a in lemma.antonyms()] if cls is Antonym else lemmas
        allowed = set(before) | {w for lemma in found for w in re.split(r"[_\s-]", lemma.name().lower())}
        assert set(row["text"].lower().split()) <= allowed, (before, row["text"])
        assert set(row["text"].lower().split()) - set(before)
    assert all(
        p.name.startswith(("data.", "index.", "adj", "adv", "noun", "verb", "lexnames", "wordnet"))
        for p in info["component"].files()
    )


def test_missing_wordnet_data_says_how_to_install_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import nltk

    from specc_nlpaug import wordnet

    monkeypatch.setattr(nltk.data, "path", [str(tmp_path / "nltk_data")])  # a machine without nltk's data
    monkeypatch.setattr(wordnet, "DEBIAN_DIR", tmp_path / "usr-share-wordnet")  # nor Debian's packages
    component = Synonym(Synonym.Params(), specc.Context("augment.syn", 1, tmp_path))
    with pytest.raises(specc.SpeccError) as info:
        component.pin(None)
    assert str(info.value) == (
        f"error: step 'augment.syn' (nlpaug.synonym): WordNet's data is not installed (neither nltk's "
        f"corpora/wordnet nor {tmp_path / 'usr-share-wordnet'}); install WordNet: `apt-get install wordnet-base "
        f"wordnet-sense-index` (Debian, Ubuntu; works offline) or `python -m nltk.downloader wordnet` (needs the "
        f"network)"
    )
