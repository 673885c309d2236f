"""A real OpenAI-compatible server for the tests: `transformers serve` with a tiny random Llama, on 127.0.0.1.

`save_tiny_lm(folder)` saves the model (hidden size 32, one layer) with the tests' chat tokenizer; `serve(folder)`
starts `transformers serve` on a free port in a subprocess and returns once it answers /health. The server is
started in the folder's parent and given the folder's name, so the model id it lists is that name (a path
would put this machine's folders into locks and outputs). A random model writes gibberish, but the same
request with the same seed gets the same text, and at temperature 0 the most likely text.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "specc-transformers" / "tests"))

from tiny_transformers import save_tokenizer  # noqa: E402

if TYPE_CHECKING:
    from specc_llm.client import LanguageModel

PINS = {"endpoint": "server", "model": "tiny-lm"}  # the lock's pins of the tiny model as `serve` serves it
STARTUP_SECONDS = 600  # loading transformers and the model takes ~20 s on a quiet machine, minutes on a busy one


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


def language_model(
    spec_dir: Path, cache: Path | None, pins: dict[str, Any] | None = None, **params: Any
) -> LanguageModel:
    """The client of a step whose parameters are `params` (`endpoint`, `sampling`, `max_failed`)."""
    from specc.plugin import Component, Context
    from specc_llm.client import LanguageModel
    from specc_llm.endpoint import LlmParams

    class Asker(Component):
        """A component with the language-model parameters, as every step of the plugin has them."""

        name = "asker"
        Params = LlmParams

    validated = LlmParams.model_validate(params, context={"spec_dir": spec_dir})
    return LanguageModel(Asker(validated, Context("clean.asker", 7, spec_dir, cache_dir=cache, pins=pins or {})))


def user(text: str) -> list[dict[str, str]]:
    """One user message."""
    return [{"role": "user", "content": text}]


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
        """Stop the server and the model process it started, and wait for them."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
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
            start_new_session=True,  # its own process group: `stop` ends the model's process with it
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


class FaultProxy:
    """A proxy in front of a server that fails chat completions on purpose, and counts them.

    The next `times` completion requests get `fault`: `429` or `500` (an error answer), `drop` (the connection
    closed without an answer), `delay` (no answer for `delay` seconds, then dropped). `rename` rewrites the model
    an answer names. With `hold_after` set, requests past that many forwarded ones wait (unanswered) until
    `release` is set. `requests` counts completion requests received, `forwarded` those sent on to the server.
    """

    def __init__(self, upstream: str):
        self.upstream = upstream.removesuffix("/v1")
        self.fault: str | None = None
        self.times = 0
        self.delay = 0.0
        self.rename: str | None = None
        self.hold_after: int | None = None
        self.release = threading.Event()
        self.requests = self.forwarded = 0
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        """The proxy's API base."""
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def reset(self) -> None:
        """No faults, no hold, counts at zero."""
        with self.lock:
            self.fault, self.times, self.rename, self.hold_after = None, 0, None, None
            self.requests = self.forwarded = 0

    def stop(self) -> None:
        """Stop listening; held requests are let go."""
        self.release.set()
        self.server.shutdown()
        self.server.server_close()

    def action(self) -> str | None:
        """What to do with the completion request that just arrived: a fault, `hold`, or None to forward it."""
        with self.lock:
            self.requests += 1
            if self.times > 0:
                self.times -= 1
                return self.fault
            if self.hold_after is not None and self.forwarded >= self.hold_after:
                return "hold"
            self.forwarded += 1
            return None


def _handler(proxy: FaultProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            """Quiet."""

        def do_GET(self) -> None:
            self.forward(None)

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            action = proxy.action() if self.path.endswith("/chat/completions") else None
            if action in ("429", "500"):
                self.reply(int(action), json.dumps({"error": {"message": f"fault {action}", "type": "fault"}}).encode())
            elif action in ("drop", "delay", "hold"):
                if action == "delay":
                    time.sleep(proxy.delay)
                elif action == "hold":
                    proxy.release.wait()
                self.close_connection = True  # no answer: the client sees the connection closed
            else:
                self.forward(body)

        def forward(self, body: bytes | None) -> None:
            request = urllib.request.Request(
                proxy.upstream + self.path, data=body, headers={"Content-Type": "application/json"}
            )
            try:
                with urllib.request.urlopen(request, timeout=600) as response:
                    status, data = response.status, response.read()
            except urllib.error.HTTPError as exc:
                status, data = exc.code, exc.read()
            if proxy.rename is not None and status == 200 and body is not None:
                data = json.dumps({**json.loads(data), "model": proxy.rename}).encode()
            self.reply(status, data)

        def reply(self, status: int, data: bytes) -> None:
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except OSError:  # the client went away (timed out, or was killed)
                self.close_connection = True

    return Handler
