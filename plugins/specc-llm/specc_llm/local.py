"""The in-process backend: a local model folder run with transformers, answering request bodies like a server.

Greedy decoding at temperature 0, else sampling seeded by the request's seed (`torch.manual_seed` per request),
so one request always gets one answer. `response_format` and other server-side constraints are not applied
(the answer is plain text, as `transformers serve` gives); `logprobs`/`top_logprobs` are, from the model's scores.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from specc.plugin import Context, quiet_transformers
from specc_llm.client import Answer


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def folder_pins(context: Context, local: str) -> dict[str, Any]:
    """The folder's files (outside `.git`) with SHA-256 and size, named from the spec's folder, and a digest of all."""
    folder = context.path(local)
    files = sorted(p for p in folder.rglob("*") if p.is_file() and ".git" not in p.relative_to(folder).parts)
    pins = [
        {
            "path": Path(os.path.normpath(Path(local) / p.relative_to(folder))).as_posix(),
            "sha256": _sha256(p),
            "size": p.stat().st_size,
        }
        for p in files
    ]
    # the digest names each file within the folder: the fingerprint leaves the `path` of pinned files out
    named = "".join(f"{p.relative_to(folder).as_posix()}\0{pin['sha256']}\n" for p, pin in zip(files, pins))
    return {"files": pins, "folder_sha256": hashlib.sha256(named.encode()).hexdigest()}


def folder_digest(pins: Mapping[str, Any]) -> str:
    """The SHA-256 that names a pinned folder's contents."""
    return str(pins["folder_sha256"])


class LocalModel:
    """A causal LM and its chat-template tokenizer, loaded from a folder once per process."""

    def __init__(self, folder: Path):
        from transformers import AutoModelForCausalLM, AutoTokenizer

        with quiet_transformers():
            self.tokenizer: Any = AutoTokenizer.from_pretrained(folder)
            self.model: Any = AutoModelForCausalLM.from_pretrained(folder)
        self.model.eval()
        pad = self.tokenizer.pad_token_id
        self.pad_id = self.tokenizer.eos_token_id if pad is None else pad

    def answer(self, body: dict[str, Any]) -> Answer:
        """The answer to one chat-completion request body (`messages`, `max_tokens`, `temperature`, `seed` ...)."""
        import torch

        inputs = self.tokenizer.apply_chat_template(
            body["messages"], add_generation_prompt=True, return_tensors="pt", return_dict=True
        )
        prompt = int(inputs["input_ids"].shape[1])
        temperature = float(body.get("temperature", 0))
        sampling: dict[str, Any] = {"do_sample": False}
        if temperature > 0:
            sampling = {"do_sample": True, "temperature": temperature, "top_p": body.get("top_p") or 1.0}
        stop = body.get("stop") or []
        torch.manual_seed(int(body.get("seed", 0)))
        with torch.inference_mode(), quiet_transformers():
            out = self.model.generate(
                **inputs,
                max_new_tokens=int(body.get("max_tokens", 256)),
                top_k=None,
                stop_strings=stop or None,
                tokenizer=self.tokenizer,
                output_logits=True,
                return_dict_in_generate=True,
                pad_token_id=self.pad_id,
                **sampling,
            )
        tokens = out.sequences[0, prompt:]
        text = self.tokenizer.decode(tokens, skip_special_tokens=True)
        for s in stop:  # like a server, the answer ends before its stop text
            text = text.split(s, 1)[0]
        logprobs = (
            self._logprobs(tokens, out.logits, int(body.get("top_logprobs") or 0)) if body.get("logprobs") else None
        )
        return Answer(text, tokens_in=prompt, tokens_out=int(tokens.shape[0]), logprobs=logprobs)

    def _logprobs(self, tokens: Any, logits: tuple[Any, ...], top: int) -> list[dict[str, Any]]:
        """Per generated token: its log-probability under the model and the `top` most likely tokens'."""
        import torch

        result = []
        for token, step in zip(tokens.tolist(), logits):
            scores = torch.log_softmax(step[0].float(), dim=-1)
            best = torch.topk(scores, top) if top else None
            result.append(
                {
                    "token": self.tokenizer.decode([token]),
                    "logprob": float(scores[token]),
                    "top_logprobs": []
                    if best is None
                    else [
                        {"token": self.tokenizer.decode([i]), "logprob": float(v)}
                        for v, i in zip(best.values.tolist(), best.indices.tolist())
                    ],
                }
            )
        return result
