"""A real OpenAI-compatible server for the tests: `transformers serve` with a tiny random Llama, on 127.0.0.1.

`save_tiny_lm(folder)` saves the model (hidden size 32, one layer) with the tests' chat tokenizer; `serve(folder)`
starts `transformers serve` on a free port in a subprocess and returns once it answers /health. The server is
started in the folder's parent and given the folder's name, so the model id it lists is that name (a path
would put this machine's folders into locks and outputs). A random model writes gibberish, but the same
request with the same seed gets the same text, and at temperature 0 the most likely text.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "specc-transformers" / "tests"))

from tiny_transformers import save_tokenizer  # noqa: E402

STARTUP_SECONDS = 180  # loading transformers and the model takes ~20 s on a quiet machine


def save_tiny_lm(folder: Path, seed: int = 0) -> Path:
    """A tiny random Llama and the chat-template tokenizer, saved in `folder`."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from specc.plugin import quiet_transformers

    save_tokenizer(folder)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=512,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=None,
    )
    model = LlamaForCausalLM(config)
    # as chat models ship: sampling at a request's temperature (`transformers serve` decodes greedily at 0)
    model.generation_config.do_sample = True
    with quiet_transformers():
        model.save_pretrained(folder)
    return folder


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """A running `transformers serve`: its API base `url` and the `model` id it lists."""

    process: subprocess.Popen[bytes]
    url: str
    model: str
    log: Path

    def stop(self) -> None:
        """Stop the server and wait for it."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def serve(folder: Path) -> Server:
    """Start `transformers serve` for the model in `folder` on a free port; returns when it answers /health."""
    port = free_port()
    log = folder.parent / f"{folder.name}-serve-{port}.log"
    command = [sys.executable, "-m", "transformers.cli.transformers", "serve", folder.name]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_VERBOSITY": "error"}
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*command, "--host", "127.0.0.1", "--port", str(port)],
            cwd=folder.parent,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = Server(process, f"http://127.0.0.1:{port}/v1", folder.name, log)
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"transformers serve exited with {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2):
                return server
        except OSError:
            time.sleep(0.5)
    server.stop()
    raise RuntimeError(f"transformers serve did not answer within {STARTUP_SECONDS} s:\n{log.read_text()}")
