"""Where a language-model step sends its requests (an OpenAI-compatible server or a local folder) and how it samples."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, model_validator

from specc.plugin import NOT_FINGERPRINTED, Params, resolve_path

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _folder(value: str, info: ValidationInfo) -> str:
    resolved = resolve_path(value, info)
    if resolved is not None and not resolved.is_dir():
        raise ValueError(
            f"folder '{value}' not found; give a model folder (saved with `save_pretrained`) relative to the spec's "
            "folder, or a `url` of an OpenAI-compatible server"
        )
    return value


def _url(value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise ValueError(
            f"url '{value}' is not an http(s) URL; give the server's API base, such as http://127.0.0.1:8000/v1"
        )
    return value.rstrip("/")


def _env_name(value: str) -> str:
    if not _ENV_NAME.fullmatch(value):
        raise ValueError(
            f"api_key_env '{value}' is not an environment variable's name; give the NAME of the variable that holds "
            "the key (such as OPENAI_API_KEY), never the key itself"
        )
    return value


class Endpoint(BaseModel):
    """An OpenAI-compatible server (`url` and `model`) or a local model folder (`local`), and how hard to push it.

    `LlmParams.endpoint` is not fingerprinted (nor shown in stats.json, so no host name reaches an output): the lock's
    pin of the model (the id the server lists, or the folder's files' SHA-256) decides the bytes, so the same spec
    may point at vLLM, Ollama or a hosted API.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: Annotated[str | None, AfterValidator(lambda v: None if v is None else _url(v))] = Field(
        None, description="Base URL of an OpenAI-compatible API, ending in /v1 (vLLM, Ollama, TGI, llama.cpp, ...)."
    )
    local: Annotated[str | None, AfterValidator(lambda v, i: None if v is None else _folder(v, i))] = Field(
        None, description="A model folder relative to the spec's folder, run in this process with transformers."
    )
    model: str | None = Field(None, min_length=1, description="The model's name as the server lists it (with `url`).")
    api_key_env: Annotated[str | None, AfterValidator(lambda v: None if v is None else _env_name(v))] = Field(
        None, description="The name of the environment variable holding the API key (never the key itself)."
    )
    concurrency: int = Field(4, ge=1, le=256, description="Requests in flight at once.")
    timeout: float = Field(120.0, gt=0, description="Seconds to wait for one answer.")
    retries: int = Field(
        4, ge=0, le=20, description="Retries with exponential backoff after 429, 5xx, timeouts and dropped connections."
    )

    @model_validator(mode="after")
    def _one_backend(self) -> Endpoint:
        if (self.url is None) == (self.local is None):
            raise ValueError("give either `url` (an OpenAI-compatible server) or `local` (a model folder), not both")
        if self.url is not None and self.model is None:
            raise ValueError("`url` needs `model`: the model's name as the server lists it at GET /models")
        if self.local is not None and (self.model is not None or self.api_key_env is not None):
            raise ValueError("`local` runs the folder's model in this process: remove `model` and `api_key_env`")
        return self

    @property
    def kind(self) -> str:
        """`server` or `local`."""
        return "server" if self.url is not None else "local"


class Sampling(BaseModel):
    """Sampling parameters sent with every request (fingerprinted: they change the answers)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    temperature: float = Field(0.0, ge=0, le=2, description="0 for the most likely tokens; higher is more varied.")
    top_p: float | None = Field(None, gt=0, le=1, description="Nucleus sampling: the share of probability mass kept.")
    max_tokens: int = Field(256, ge=1, le=65536, description="The most tokens one answer may have.")
    stop: list[str] = Field([], max_length=4, description="Texts that end an answer.")


class LlmParams(Params):
    """Parameters every language-model step has beside its kind's: the endpoint, sampling and allowed failures."""

    # specc leaves out of the fingerprint only whole top-level fields: the endpoint's pin stands for it
    endpoint: Annotated[Endpoint, NOT_FINGERPRINTED] = Field(
        description="An OpenAI-compatible server (`url`, `model`, `api_key_env`) or a local model folder (`local`)."
    )
    sampling: Sampling = Field(Sampling(), description="Sampling parameters of every request.")
    max_failed: float = Field(
        0.0,
        ge=0,
        le=1,
        description="The share of requests that may still fail after the retries before the build fails.",
    )
