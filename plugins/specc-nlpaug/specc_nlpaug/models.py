"""Model augmenters: contextual word embeddings (fill-mask) and back-translation, from local folders or
Hub models pinned to a commit."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, Field, ValidationInfo

import specc
from specc.plugin import HubRepo, check_repo_id, check_revision, quiet_transformers
from specc_nlpaug.base import NlpaugAugmenter, NlpaugParams, WordParams

# nlpaug's model types by the `model_type` of a model's config.json (it filters subwords by them)
FILL_MASK_TYPES = {
    "bert": "bert",
    "distilbert": "bert",
    "roberta": "roberta",
    "xlm-roberta": "roberta",
    "camembert": "roberta",
    "bart": "bart",
}


def _model_name(value: str, info: ValidationInfo) -> str:
    spec_dir = (info.context or {}).get("spec_dir")
    if spec_dir is None or (Path(spec_dir) / value).is_dir():
        return value
    try:
        return check_repo_id(value, "Helsinki-NLP/opus-mt-en-de")
    except ValueError:
        raise ValueError(
            f"'{value}' is neither a folder beside the spec nor a Hub model name such as Helsinki-NLP/opus-mt-en-de"
        ) from None


ModelName = Annotated[
    str,
    AfterValidator(_model_name),
    specc.NOT_FINGERPRINTED,
    Field(
        description="A model folder (relative to the spec's folder) or a Hugging Face Hub model name; its files' "
        "hashes or its Hub commit are pinned in the lock."
    ),
]
Revision = Annotated[
    str,
    AfterValidator(check_revision),
    specc.NOT_FINGERPRINTED,
    Field(description="For a Hub model: a branch, tag or commit; the lock pins the commit."),
]


class ModelAugmenter(NlpaugAugmenter):
    """An augmenter over transformers models named by folder or Hub name; one text per call, torch seeded."""

    uses_torch = True
    modules = ("nlpaug.augmenter.word", "transformers.pipelines")
    models: ClassVar[dict[str, str]] = {}  # model parameter (its pin key): its revision parameter

    def local(self, name: str) -> Path | None:
        """The model's folder when `name` is a folder beside the spec."""
        folder = self.context.path(name)
        return folder if folder.is_dir() else None

    def hub(self, key: str) -> HubRepo:
        """Model `key` as a Hub repository at the revision the spec asks for."""
        return HubRepo(
            getattr(self.params, key),
            getattr(self.params, self.models[key]),
            "model",
            self.fail,
            "specc lock --upgrade",
        )

    def commit(self, key: str, pins: Mapping[str, Any] | None) -> str:
        """Hub model `key`'s commit: the one `pins` hold while it still applies, else the one its revision names."""
        repo = self.hub(key)
        return repo.pinned_commit((pins or {}).get("hub", {}).get(key, {})) or repo.resolve()

    def files(self) -> list[Path]:
        """Every file of the local model folders (Hub models are pinned by their commit)."""
        folders = [self.local(getattr(self.params, key)) for key in self.models]
        return [
            p
            for folder in folders
            if folder is not None
            for p in sorted(folder.rglob("*"))
            if p.is_file() and not p.name.startswith(".")
        ]

    def pin(self, locked: Mapping[str, Any] | None) -> dict[str, Any]:
        """SHA-256 of every file of local model folders; the commit of Hub models (kept from `locked`)."""
        hub = {}
        for key in self.models:
            if self.local(getattr(self.params, key)) is None:
                repo = self.hub(key)
                hub[key] = {"repo": repo.repo_id, "requested": repo.revision, "revision": self.commit(key, locked)}
        return {**super().pin(locked), **({"hub": hub} if hub else {})}

    def folder(self, key: str) -> str:
        """Where model `key` is on disk: its folder, or its pinned commit in the Hub cache."""
        folder = self.local(getattr(self.params, key))
        if folder is not None:
            return str(folder)
        return str(self.hub(key).snapshot(self.commit(key, self.context.pins)))

    def build(self) -> Any:
        """The nlpaug augmenter, quietly loaded with its own model (never one nlpaug cached for another step)."""
        import importlib

        try:
            for module in ("torch", "transformers"):
                importlib.import_module(module)
        except ImportError:
            raise self.fail("it needs torch and transformers: pip install 'specc-nlpaug[models]'") from None
        with quiet_transformers():
            return self.load_model()

    def load_model(self) -> Any:
        """A new nlpaug augmenter over this step's model(s)."""
        raise NotImplementedError


class ContextualParams(WordParams):
    """nlpaug ContextualWordEmbsAug's options."""

    model: ModelName
    revision: Revision = "main"
    action: Literal["insert", "substitute"] = Field("substitute", description="Insert words or substitute them.")
    top_k: int = Field(100, ge=1, description="New words are drawn from the model's top this many predictions.")


class Contextual(ModelAugmenter):
    """Words replaced (or inserted) by a masked language model's predictions in context (nlpaug
    ContextualWordEmbsAug through the transformers fill-mask pipeline)."""

    name = "nlpaug.contextual"
    Params = ContextualParams
    models = {"model": "revision"}

    def load_model(self) -> Any:
        """ContextualWordEmbsAug on the CPU over the fill-mask pipeline (use_custom_api=False: nlpaug's own
        path is broken on transformers 5)."""
        from specc_nlpaug import isolated

        folder = self.folder("model")
        kind = json.loads((Path(folder) / "config.json").read_text(encoding="utf-8")).get("model_type")
        if kind not in FILL_MASK_TYPES:
            raise self.fail(
                f"model '{self.params.model}' is a {kind} model; nlpaug fills masks with "
                f"{', '.join(sorted(FILL_MASK_TYPES))} models"
            )
        return isolated.ContextualWordEmbsAug(
            model_path=folder,
            model_type=FILL_MASK_TYPES[kind],
            device="cpu",
            use_custom_api=False,
            batch_size=1,
            **self.nlpaug_kwargs("model", "revision"),
        )


class BackTranslationParams(NlpaugParams):
    """nlpaug BackTranslationAug's options: the two translation models."""

    from_model: ModelName
    from_revision: Revision = "main"
    to_model: ModelName
    to_revision: Revision = "main"
    max_length: int = Field(256, ge=1, description="The longest translation, in tokens, each way.")


class BackTranslation(ModelAugmenter):
    """Texts translated to another language and back (nlpaug BackTranslationAug over two seq2seq models,
    such as Marian's opus-mt en-de and de-en)."""

    name = "nlpaug.back-translation"
    Params = BackTranslationParams
    models = {"from_model": "from_revision", "to_model": "to_revision"}

    def load_model(self) -> Any:
        """BackTranslationAug on the CPU with its own two models."""
        from specc_nlpaug import isolated

        return isolated.BackTranslationAug(
            from_model_name=self.folder("from_model"),
            to_model_name=self.folder("to_model"),
            max_length=self.params.max_length,
            device="cpu",
            batch_size=1,
        )
