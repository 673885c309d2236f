"""A tiny causal LM whose greedy answer is scripted: a trigger word anywhere in the prompt picks the answer.

`save_scripted_model(folder, {"love": "positive", "refund": "negative"}, default="no idea")` saves a
one-layer Llama and the tests' chat tokenizer (with every trigger and answer added as one token) so
that, decoding greedily, the model writes the answer of the trigger found most often in the prompt,
or `default` when the prompt has none, and then ends. How the weights do it:

- Embeddings: every token has 1 in a bias dimension; the first token of the assistant turn (the
  newline after `<|assistant|>`) has 1 in a "start" dimension; each answer token has 1 in an
  "answered" dimension; a trigger token has 8 in its answer's class dimension.
- Attention: the query weights are zero, so every position attends evenly to all before it; the
  value and output weights copy only the class dimensions, so the residual stream carries each
  class's share of the prompt's triggers.
- The MLP's weights are zero (it adds nothing).
- The head: at the start position each answer's logit is START plus CLASS times its class share;
  the default answer's is START plus 1, which any trigger share beats; after an answer token, the
  end token's logit is END, far above the rest, so the answer is one token followed by the end.

A trigger or answer added as a token also matches inside longer words ("love" in "lovely").
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "specc-transformers" / "tests"))

from tiny_transformers import save_tokenizer  # noqa: E402

HIDDEN = 32
BIAS, START, ANSWERED, FIRST_CLASS = 0, 1, 2, 3
TRIGGER_WEIGHT = 8.0
START_LOGIT, CLASS_LOGIT, END_LOGIT = 100.0, 1000.0, 10_000.0


def save_scripted_model(folder: Path, triggers: dict[str, str], default: str, scale: float = 1.0) -> Path:
    """Save a model that answers `triggers[word]` for the word found most in the prompt, else `default`.

    `scale` multiplies the head: below 1 the model is less sure of its answers (its greedy answers stay the same).
    """
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    answers = list(dict.fromkeys([*triggers.values(), default]))
    if len(answers) + FIRST_CLASS > HIDDEN:
        raise ValueError(f"at most {HIDDEN - FIRST_CLASS} answers fit the model")
    if set(triggers) & set(answers):
        raise ValueError("a word cannot be both a trigger and an answer")
    save_tokenizer(folder)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    tokenizer.add_tokens([*triggers, *answers])
    tokenizer.save_pretrained(folder)

    def token(text: str) -> int:
        (found,) = tokenizer.encode(text)
        return found

    end, newline = token("<|end|>"), token("\n")
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=HIDDEN,
        intermediate_size=HIDDEN,
        num_hidden_layers=1,
        num_attention_heads=1,
        num_key_value_heads=1,
        max_position_embeddings=2048,
        tie_word_embeddings=False,
        bos_token_id=None,
        eos_token_id=end,
        pad_token_id=token("<pad>"),
    )
    model = LlamaForCausalLM(config)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.zero_()
        for norm in (model.model.norm, model.model.layers[0].input_layernorm):
            norm.weight.fill_(1.0)
        embed = model.model.embed_tokens.weight
        head = model.lm_head.weight
        embed[:, BIAS] = 1.0
        embed[newline, START] = 1.0
        attention = model.model.layers[0].self_attn
        for k, answer in enumerate(answers):
            dim = FIRST_CLASS + k
            attention.v_proj.weight[dim, dim] = 1.0
            attention.o_proj.weight[dim, dim] = 1.0
            embed[token(answer), ANSWERED] = 1.0
            head[token(answer), START] = START_LOGIT
            head[token(answer), dim] = CLASS_LOGIT
        for word, answer in triggers.items():
            embed[token(word), FIRST_CLASS + answers.index(answer)] = TRIGGER_WEIGHT
        head[token(default), BIAS] = 1.0
        head[end, ANSWERED] = END_LOGIT
        head.mul_(scale)
    model.generation_config.eos_token_id = end
    model.generation_config.pad_token_id = config.pad_token_id
    model.save_pretrained(folder)
    return folder
