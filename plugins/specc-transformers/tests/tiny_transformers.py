"""Tiny random transformers models and a BPE tokenizer with a chat template, saved to folders in well under a second."""

from __future__ import annotations

from pathlib import Path

CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|>\n{{ m['content'] }}<|end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)
SPECIALS = ["<pad>", "<unk>", "<|system|>", "<|user|>", "<|assistant|>", "<|end|>"]
CORPUS = [
    "I love this film, it is wonderful and great fun.",
    "Terrible service, the worst order I ever had; refund please.",
    "Where is my parcel? The delivery is late again.",
    "Reset my password, I cannot log in to my account.",
    "The weather today is mild with a little rain in the evening.",
    "Write a short poem about the sea. Summarize the text below in one sentence.",
]


def save_tokenizer(folder: Path, chat_template: bool = True) -> Path:
    """A byte-level BPE tokenizer (every string round-trips) as a PreTrainedTokenizerFast in `folder`."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE(unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=SPECIALS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(CORPUS * 3, trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, unk_token="<unk>", pad_token="<pad>", eos_token="<|end|>", model_max_length=512
    )
    if chat_template:
        fast.chat_template = CHAT_TEMPLATE
    fast.save_pretrained(folder)
    return folder


def save_classifier(
    folder: Path, labels: list[str], seed: int = 0, hidden: int = 16, initializer_range: float = 0.6
) -> Path:
    """A one-layer random BERT sequence classifier over the tiny tokenizer.

    The default wide initialization spreads the scores of an untrained model across rows; a model
    to fine-tune wants the usual 0.02 (and 64 hidden units learn the tests' easy task in 40 steps).
    """
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    from specc.quiet import quiet_transformers

    save_tokenizer(folder, chat_template=False)
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=400,
        hidden_size=hidden,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=2 * hidden,
        max_position_embeddings=128,
        initializer_range=initializer_range,
        num_labels=len(labels),
        id2label=dict(enumerate(labels)),
        label2id={name: i for i, name in enumerate(labels)},
        pad_token_id=0,
    )
    with quiet_transformers():
        BertForSequenceClassification(config).save_pretrained(folder)
    return folder


def direct_scores(folder: Path, texts: list[str]) -> tuple[list[int], list[float]]:
    """The id and softmax probability of each text's top class, from the model itself, one text at a time."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from specc.quiet import quiet_transformers

    with quiet_transformers():
        tokenizer = AutoTokenizer.from_pretrained(folder)
        model = AutoModelForSequenceClassification.from_pretrained(folder).eval()
    ids, scores = [], []
    with torch.no_grad():
        for text in texts:
            probabilities = model(**tokenizer(text, return_tensors="pt")).logits.softmax(-1)[0]
            ids.append(int(probabilities.argmax()))
            scores.append(float(probabilities.max()))
    return ids, scores


def folder_bytes(folder: Path) -> dict[str, bytes]:
    """Every file of a saved model folder by its name within the folder (for a Hub cache commit)."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}
