"""The one client every language-model step uses: pinned model, content-addressed answers, concurrent requests.

A step builds request bodies with `LanguageModel.body`, sends them with `ask` and reports `stats()`:

    llm = LanguageModel(self)                      # self: a component whose Params inherit LlmParams
    def pin(self, locked): return llm.pin(locked)  # the lock keeps the model id (or the folder's hashes)
    answers = llm.ask([llm.body([{"role": "user", "content": text}], seed) for text, seed in ...])
    StepResult(..., info={"llm": llm.stats()})

`stats()` counts the requests since its last call (call it once per `apply` or `augment`: specc adds up the infos
of a step's batches). It holds only what the same spec and lock always reproduce (model, endpoint kind, requests,
failed, tokens in and out): it goes into stats.json, whose bytes must not depend on which answers were already in
the store. How many requests were sent and how many came from the store is `traffic()`, for logs, not outputs.
Steps put `stats()` into `StepResult.info["llm"]`; augmenters return `{"llm": ...}` from `Augmenter.info()`.
"""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from collections.abc import Callable, Coroutine, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from specc.plugin import Component, SpeccError
from specc_llm.endpoint import Endpoint, LlmParams
from specc_llm.store import MAX_ANSWER_BYTES, ResponseStore, open_store, request_key

if TYPE_CHECKING:
    from openai import AsyncOpenAI

    from specc_llm.local import LocalModel

SEED_RANGE = 2**31  # servers keep the seed in 32 bits (vLLM, llama.cpp); row seeds are 64-bit
NO_KEY = "no-key"  # what openai sends when the endpoint takes no key (it refuses to run without one)
SHOWN_ERRORS = 3
T = TypeVar("T")


@dataclass(frozen=True)
class Answer:
    """One request's answer: its text, or why it failed after the retries."""

    text: str | None
    error: str | None = None
    tokens_in: int = 0
    tokens_out: int = 0
    logprobs: list[dict[str, Any]] | None = None  # per token: {token, logprob, top_logprobs: [{token, logprob}]}
    cached: bool = False

    def stored(self) -> dict[str, Any]:
        """The answer as the store keeps it (without `cached`, which says where this copy came from)."""
        return {k: v for k, v in asdict(self).items() if k not in ("cached", "error")}


class Unreachable(Exception):
    """The endpoint refused the connection (nothing listens at its URL)."""


class LanguageModel:
    """The language model of one step: its pin, its request bodies, and answers from the store or the endpoint."""

    def __init__(self, component: Component):
        self.component = component
        params = component.params
        assert isinstance(params, LlmParams), "a language-model step's Params inherit LlmParams"
        self.params = params
        self.endpoint: Endpoint = params.endpoint
        self.store: ResponseStore | None = open_store(component.context.cache_dir)
        self.counts: Counter[str] = Counter()  # since the last `stats()`
        self.sent = self.cache_hits = 0
        self._local: LocalModel | None = None
        self._pins: dict[str, Any] | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_local": None}  # each process loads a local model for itself

    # pins

    def pin(self, locked: Mapping[str, Any] | None) -> dict[str, Any]:
        """The lock's pin of the model: the id the server lists at GET /models, or the local folder's files' SHA-256.

        `locked` (the lock's pins of this step) is returned while it names the same model, so a build with
        --frozen, or with every answer in the store, needs no server.
        """
        if self.endpoint.local is not None:
            from specc_llm.local import folder_pins

            return {"endpoint": "local", **folder_pins(self.component.context, self.endpoint.local)}
        if locked and locked.get("endpoint") == "server" and locked.get("model") == self.endpoint.model:
            return dict(locked)
        return {"endpoint": "server", "model": self._listed_model()}

    @property
    def pins(self) -> dict[str, Any]:
        """This step's pins from the lock (resolved now if the build gave none)."""
        if self._pins is None:
            given = dict(self.component.context.pins)
            self._pins = given if given.get("endpoint") == self.endpoint.kind else self.pin(None)
        return self._pins

    @property
    def model_id(self) -> str:
        """The model every body names: the pinned server id, or `local:` and the SHA-256 of the folder's files."""
        pins = self.pins
        if self.endpoint.local is not None:
            from specc_llm.local import folder_digest

            return f"local:{folder_digest(pins)}"
        return str(pins["model"])

    def shown(self) -> str:
        """The model for people: the pinned server id, or the folder as the spec names it."""
        return self.endpoint.local if self.endpoint.local is not None else self.model_id

    def _listed_model(self) -> str:
        import openai

        wanted = str(self.endpoint.model)

        async def listed() -> list[str]:
            async with self._client() as client:
                return [m.id async for m in client.models.list()]

        try:
            ids = _run(listed())
        except openai.APIConnectionError as exc:
            raise self._unreachable(str(exc.__cause__ or exc)) from None
        except openai.APIStatusError as exc:
            raise self.component.fail(
                f"GET {self.endpoint.url}/models answered {exc.status_code}: {_message(exc)}; check `url` (it ends in "
                "/v1) and the API key"
            ) from None
        if wanted not in ids:
            raise self.component.fail(
                f"model '{wanted}' is not served at {self.endpoint.url}; it serves: {', '.join(sorted(ids)) or 'none'}"
                "; set `model` to one of them"
            )
        return wanted

    # requests

    def body(self, messages: list[dict[str, Any]], seed: int, **extra: Any) -> dict[str, Any]:
        """The whole request: pinned model id, messages, sampling, the row's seed, and extras (`response_format`,
        `logprobs` ...); what it holds is what its answer is stored under."""
        sampling = self.params.sampling
        body: dict[str, Any] = {
            "model": self.model_id,
            "messages": messages,
            "temperature": sampling.temperature,
            "max_tokens": sampling.max_tokens,
            "seed": int(seed) % SEED_RANGE,
        }
        if sampling.top_p is not None:
            body["top_p"] = sampling.top_p
        if sampling.stop:
            body["stop"] = list(sampling.stop)
        return {**body, **extra}

    def ask(self, bodies: list[dict[str, Any]]) -> list[Answer]:
        """An answer per body, in order: from the store when there, else sent (concurrently) and stored as each
        arrives. Fails the step when the endpoint is unreachable, or when more than `max_failed` of these requests
        failed after the retries."""
        keys = [request_key(body) for body in bodies]
        answers: dict[str, Answer] = {}
        for key in dict.fromkeys(keys):
            stored = self.store.get(key) if self.store is not None else None
            if stored is not None:
                answers[key] = Answer(**stored, cached=True)
        missing = {key: body for key, body in zip(keys, bodies) if key not in answers}
        if missing:
            answers.update(self._answer(missing))
        result = [answers[key] for key in keys]
        self.counts.update(
            requests=len(result),
            sent=len(missing),  # identical bodies are sent once
            cache_hits=sum(a.cached for a in result),
            failed=sum(a.error is not None for a in result),
            tokens_in=sum(a.tokens_in for a in result),
            tokens_out=sum(a.tokens_out for a in result),
        )
        self._check_failures(result)
        return result

    def _answer(self, bodies: dict[str, dict[str, Any]]) -> dict[str, Answer]:
        """Answers of requests not in the store, each stored as it arrives."""

        def save(key: str, answer: Answer) -> Answer:
            if answer.error is None and self.store is not None:
                self.store.put(key, answer.stored())
            return answer

        if self.endpoint.local is not None:
            local = self.local_model()
            return {key: save(key, local.answer(body)) for key, body in bodies.items()}
        try:
            return _run(self._send_all(bodies, save))
        except Unreachable as exc:
            raise self._unreachable(str(exc)) from None

    def local_model(self) -> LocalModel:
        """The local folder's model, loaded in this process on first use."""
        if self._local is None:
            from specc_llm.local import LocalModel

            assert self.endpoint.local is not None
            self._local = LocalModel(self.component.context.path(self.endpoint.local))
        return self._local

    async def _send_all(
        self, bodies: dict[str, dict[str, Any]], save: Callable[[str, Answer], Answer]
    ) -> dict[str, Answer]:
        limit = asyncio.Semaphore(self.endpoint.concurrency)
        async with self._client() as client:
            # the first error that stops the step (unreachable, another model) ends the rest with the event loop
            sends = (self._send(client, limit, body, partial(save, key)) for key, body in bodies.items())
            answers = await asyncio.gather(*sends)
        return dict(zip(bodies, answers))

    async def _send(
        self, client: AsyncOpenAI, limit: asyncio.Semaphore, body: dict[str, Any], save: Callable[[Answer], Answer]
    ) -> Answer:
        import openai
        from openai.types.chat import ChatCompletion

        async with limit:
            try:
                response = await client.post("/chat/completions", cast_to=ChatCompletion, body=body)
            except openai.APITimeoutError:
                return Answer(None, f"no answer within {self.endpoint.timeout:g} s")
            except openai.APIConnectionError as exc:
                # openai 1.x wraps httpx, 3.x httpx2: both name a refused connection ConnectError
                if type(exc.__cause__).__name__ == "ConnectError":
                    raise Unreachable(str(exc.__cause__)) from exc
                return Answer(None, f"connection failed: {exc.__cause__ or exc}")
            except openai.APIStatusError as exc:
                return Answer(None, f"HTTP {exc.status_code}: {_message(exc)}")
        return save(self._read(body, response))

    def _read(self, body: dict[str, Any], response: Any) -> Answer:
        """The Answer of one completion, after checking the model that wrote it and its size."""
        if response.model != body["model"]:
            raise self.component.fail(
                f"model '{response.model}' answered at {self.endpoint.url}, but the lock pins '{body['model']}': the "
                "server now serves another model; re-lock with `specc lock --upgrade` (if the pinned name is an "
                f"alias, set `model: {response.model}` to pin that version)"
            )
        if not response.choices:
            return Answer(None, "the server answered without a choice")
        choice = response.choices[0]
        logprobs = None
        if choice.logprobs is not None and choice.logprobs.content is not None:
            logprobs = [
                {
                    "token": t.token,
                    "logprob": t.logprob,
                    "top_logprobs": [{"token": o.token, "logprob": o.logprob} for o in t.top_logprobs],
                }
                for t in choice.logprobs.content
            ]
        usage = response.usage
        answer = Answer(
            choice.message.content or "",
            tokens_in=usage.prompt_tokens if usage else 0,
            tokens_out=usage.completion_tokens if usage else 0,
            logprobs=logprobs,
        )
        size = len(repr(answer.stored()).encode())
        if size > MAX_ANSWER_BYTES:
            return Answer(None, f"an answer of {size:,} bytes is over the limit of {MAX_ANSWER_BYTES:,}")
        return answer

    def _client(self) -> AsyncOpenAI:
        from openai import AsyncOpenAI

        name = self.endpoint.api_key_env
        key = os.environ.get(name) if name else NO_KEY
        if not key:
            raise self.component.fail(
                f"environment variable {name} (`api_key_env`) is not set; export {name}=<your key> before building"
            )
        return AsyncOpenAI(
            base_url=self.endpoint.url, api_key=key, timeout=self.endpoint.timeout, max_retries=self.endpoint.retries
        )

    def _unreachable(self, cause: str) -> SpeccError:
        return self.component.fail(
            f"cannot reach the language model at {self.endpoint.url} ({cause}); start the server there (a build "
            "needs none when its lock pins the model and its --cache-dir holds every answer)"
        )

    # accounting

    def _check_failures(self, answers: list[Answer]) -> None:
        failed = [a.error for a in answers if a.error is not None]
        if len(failed) > self.params.max_failed * len(answers):
            first = "; ".join(dict.fromkeys(failed[:SHOWN_ERRORS]))
            raise self.component.fail(
                f"{len(failed)} of {len(answers)} requests to {self.endpoint.url or self.endpoint.local} failed after "
                f"{self.endpoint.retries} retries (`max_failed` allows {self.params.max_failed:g} of them): {first}; "
                "fix the endpoint, or raise `max_failed`"
            )

    def stats(self) -> dict[str, Any]:
        """The step's info (JSON) since the last call: model, endpoint kind, requests, failed, tokens in and out."""
        counts, self.counts = self.counts, Counter()
        self.sent += counts["sent"]
        self.cache_hits += counts["cache_hits"]
        return {
            "model": self.shown(),
            "endpoint": self.endpoint.kind,
            **{k: counts[k] for k in ("requests", "failed", "tokens_in", "tokens_out")},
        }

    def traffic(self) -> dict[str, int]:
        """Requests sent to the endpoint and answered from the store in this process (they differ between builds of
        the same bytes)."""
        return {"sent": self.sent + self.counts["sent"], "cache_hits": self.cache_hits + self.counts["cache_hits"]}


def _run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run `coroutine` to its end, in a thread of its own when this one runs an event loop (a notebook's)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, coroutine).result()


def _message(exc: Any) -> str:
    body = exc.body
    if isinstance(body, dict):
        return str(body.get("message") or body.get("error") or body)
    return str(body or exc.message)
