"""Contextual word embeddings and back-translation with tiny random models: local folders and a pinned Hub model."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from nlpaug_rows import TEXTS, augment, rows, spec_text

from specc.builder import build
from specc_nlpaug.models import BackTranslation, Contextual
from tests.hub_cache import add_commit

TABLE = rows(TEXTS * 2)
REPO = "specc-test/tiny-bert"
COMMIT, NEWER = "a" * 40, "b" * 40


def test_contextual_fills_masks_with_its_own_model(tiny_models: dict[str, Path], tmp_path: Path) -> None:
    import torch
    from transformers import BertForMaskedLM

    other = tmp_path / "other" / "bert"  # the same folder name: nlpaug's cache key, which must not matter
    shutil.copytree(tiny_models["bert"], other)
    torch.manual_seed(1)
    BertForMaskedLM(BertForMaskedLM.from_pretrained(other).config).save_pretrained(other)
    first, info = augment(Contextual, TABLE, spec_dir=tiny_models["bert"].parent, model="bert", top_k=5, aug_p=0.3)
    theirs, _ = augment(Contextual, TABLE, spec_dir=other.parent, model="bert", top_k=5, aug_p=0.3)
    again, _ = augment(Contextual, TABLE, spec_dir=tiny_models["bert"].parent, model="bert", top_k=5, aug_p=0.3)
    assert first.num_rows >= TABLE.num_rows // 2
    assert again.equals(first) and not theirs.equals(first)
    vocabulary = {t.lower() for t in json.loads((tiny_models["bert"] / "tokenizer.json").read_text())["model"]["vocab"]}
    for row in first.to_pylist():
        before = TABLE["text"][int(row["_origin_id"][2:])].as_py().lower().split()
        assert set(row["text"].lower().split()) - set(before) <= vocabulary
    files = info["component"].pin(None)["files"]
    assert [f["path"] for f in files] == [
        "bert/config.json",
        "bert/model.safetensors",
        "bert/tokenizer.json",
        "bert/tokenizer_config.json",
    ]


def test_back_translation_with_two_local_models(tiny_models: dict[str, Path]) -> None:
    made, info = augment(
        BackTranslation,
        TABLE,
        spec_dir=tiny_models["en-xx"].parent,
        from_model="en-xx",
        to_model="xx-en",
        max_length=12,
    )
    assert made.num_rows + info["unchanged"] == TABLE.num_rows and made.num_rows > 0
    assert all(0 < len(text.split()) <= 12 for text in made["text"].to_pylist())
    again, _ = augment(
        BackTranslation,
        TABLE,
        spec_dir=tiny_models["en-xx"].parent,
        from_model="en-xx",
        to_model="xx-en",
        max_length=12,
    )
    assert again.equals(made)


def test_a_model_must_be_a_folder_or_a_hub_name(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="'models/nope/' is neither a folder beside the spec nor a Hub model name"):
        Contextual.Params.model_validate({"model": "models/nope/"}, context={"spec_dir": tmp_path})
    assert Contextual.Params.model_validate({"model": REPO}, context={"spec_dir": tmp_path}).model == REPO


SPEC = spec_text(
    "models",
    5,
    {"train": 0.75, "test": 0.25},
    [
        f"{{type: nlpaug.contextual, model: {REPO}, top_k: 5}}",
        "{type: nlpaug.back-translation, from_model: models/en-xx, to_model: models/xx-en, max_length: 12, fraction: 0.5}",
    ],
)


def test_hub_model_pinned_in_the_lock_and_built_alike_on_one_or_two_processes(
    tiny_models: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from huggingface_hub import constants

    cache = tmp_path / "hf-cache"
    model_files = {p.name: p.read_bytes() for p in tiny_models["bert"].iterdir()}
    add_commit(cache, REPO, COMMIT, model_files, lfs={"model.safetensors"}, ref="main", repo_type="model")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))  # for the worker processes
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    for name in ("en-xx", "xx-en"):
        shutil.copytree(tiny_models[name], tmp_path / "models" / name)
    (tmp_path / "rows.jsonl").write_text("".join(json.dumps({"text": t}) + "\n" for t in TEXTS * 3))
    spec = tmp_path / "models.yaml"
    spec.write_text(SPEC)

    stats = build(spec, cache_dir=tmp_path / "cache")
    lock = json.loads((tmp_path / "models.lock").read_text())
    assert lock["steps"]["augment.nlpaug.contextual"]["pins"] == {
        "hub": {"model": {"repo": REPO, "requested": "main", "revision": COMMIT}}
    }
    files = lock["steps"]["augment.nlpaug.back-translation"]["pins"]["files"]
    assert {f["path"].split("/")[1] for f in files} == {"en-xx", "xx-en"}
    card = (tmp_path / "build" / "models" / "README.md").read_text()
    assert f"model: Hugging Face Hub [`{REPO}`](https://huggingface.co/{REPO}) at commit `{COMMIT}`" in card
    added = {s["id"]: s["added"] for s in stats["steps"] if s["stage"] == "augment"}
    assert added["augment.nlpaug.contextual"]["train"] > 0 and "test" not in added["augment.nlpaug.contextual"]
    data = {p.name: p.read_bytes() for p in (tmp_path / "build" / "models" / "data").glob("*.parquet")}

    # main moves on; the lock keeps the commit, and two worker processes give the same bytes
    add_commit(cache, REPO, NEWER, {**model_files, "README.md": b"newer"}, lfs=set(), ref="main", repo_type="model")
    build(spec, num_proc=2, cache_dir=tmp_path / "cache-2")
    assert (
        json.loads((tmp_path / "models.lock").read_text())["steps"]["augment.nlpaug.contextual"]["pins"]["hub"][
            "model"
        ]["revision"]
        == COMMIT
    )
    assert {p.name: p.read_bytes() for p in (tmp_path / "build" / "models" / "data").glob("*.parquet")} == data
    train = pq.read_table(tmp_path / "build" / "models" / "data" / "train-00000-of-00001.parquet").to_pylist()
    ids = {row["_id"] for row in train}
    assert all(row["_origin_id"] in ids for row in train if row["_origin_id"])
