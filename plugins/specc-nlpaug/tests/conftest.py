"""Fixtures of the nlpaug plugin's tests: tiny transformers models built here, with random weights."""

from __future__ import annotations

from pathlib import Path

import pytest
from nlpaug_rows import WORDS


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A BERT-style masked LM and two MarianMT models with word-level tokenizers, random weights, saved to folders."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from tokenizers import (
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        processors,
    )
    from transformers import (
        BertConfig,
        BertForMaskedLM,
        MarianConfig,
        MarianMTModel,
        PreTrainedTokenizerFast,
    )

    folder = tmp_path_factory.mktemp("models")
    vocabulary = sorted(set(WORDS))
    bert_vocab = {t: i for i, t in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *vocabulary])}
    words = Tokenizer(models.WordPiece(bert_vocab, unk_token="[UNK]"))
    words.normalizer = normalizers.BertNormalizer(lowercase=True)
    words.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    words.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)]
    )
    words.decoder = decoders.WordPiece()
    torch.manual_seed(0)
    bert = BertConfig(
        vocab_size=len(bert_vocab),
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=64,
    )
    BertForMaskedLM(bert).save_pretrained(folder / "bert")
    PreTrainedTokenizerFast(
        tokenizer_object=words,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
    ).save_pretrained(folder / "bert")

    marian_vocab = {t: i for i, t in enumerate(["<pad>", "</s>", "<unk>", *vocabulary])}
    pieces = Tokenizer(models.WordLevel(marian_vocab, unk_token="<unk>"))
    pieces.pre_tokenizer = pre_tokenizers.Whitespace()
    pieces.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", 1)])
    pieces.decoder = decoders.WordPiece()
    marian = MarianConfig(
        vocab_size=len(marian_vocab),
        d_model=16,
        encoder_layers=1,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=32,
        decoder_ffn_dim=32,
        max_position_embeddings=64,
        pad_token_id=0,
        eos_token_id=1,
        decoder_start_token_id=0,
        forced_eos_token_id=1,
    )
    for name in ("en-xx", "xx-en"):
        MarianMTModel(marian).save_pretrained(folder / name)
        PreTrainedTokenizerFast(
            tokenizer_object=pieces, unk_token="<unk>", pad_token="<pad>", eos_token="</s>"
        ).save_pretrained(folder / name)
    return {"bert": folder / "bert", "en-xx": folder / "en-xx", "xx-en": folder / "xx-en"}
