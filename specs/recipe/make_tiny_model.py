"""Make the recipe's tiny model offline: a one-layer BERT sequence classifier with random weights.

`python make_tiny_model.py` writes models/tiny-bert/ beside this file (a byte-level BPE tokenizer
trained on the sentences below, and the model), the same bytes on every run with the same
versions of torch, tokenizers and transformers. Nothing is downloaded. It stands in for a real
pretrained model (`model: distilbert-base-uncased` in the spec fine-tunes that one instead).
"""

from __future__ import annotations

import sys
from pathlib import Path

FOLDER = Path(__file__).resolve().parent / "models" / "tiny-bert"
VOCAB = 512
# A few sentences to learn the tokenizer's merges from; bytes cover every other text.
CORPUS = [
    "You are reading this tweet about people, women, men, the girls and the boys.",
    "I hate it when they talk like that, stop calling me names, you idiot.",
    "Lol my brother and his friends are so funny, love them all.",
    "That is not hateful, it is just a rude joke between friends.",
    "Go back to where you came from, we do not want your kind here.",
    "The annotators read each post and decide whether it attacks a group of people.",
]


def main(folder: Path = FOLDER) -> Path:
    """Write the tokenizer and the model to `folder`."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import BertConfig, BertForSequenceClassification, PreTrainedTokenizerFast
    from transformers.utils.logging import disable_progress_bar

    tokenizer = Tokenizer(models.BPE(unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB,
        special_tokens=["<pad>", "<unk>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(CORPUS, trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, unk_token="<unk>", pad_token="<pad>", model_max_length=128
    )
    fast.save_pretrained(folder)
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=tokenizer.get_vocab_size(),
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
        pad_token_id=0,
    )
    disable_progress_bar()
    BertForSequenceClassification(config).save_pretrained(folder)
    return folder


if __name__ == "__main__":
    print(f"wrote {main(Path(sys.argv[1]) if len(sys.argv) > 1 else FOLDER)}")
