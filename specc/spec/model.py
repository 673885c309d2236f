"""The spec's pydantic model, built at run time from the installed components."""

from __future__ import annotations

from typing import Annotated, Any, Literal, Optional, Union

from pydantic import BaseModel, Field, create_model

from specc.components import Params
from specc.registry import Registry
from specc.spec.paths import OutputPath

# (kind, field under the spec, discriminator key)
STAGES: tuple[tuple[str, str, str], ...] = (
    ("source", "sources", "type"),
    ("step", "clean", "type"),
    ("annotator", "annotate", "type"),
    ("splitter", "split", "method"),
    ("augmenter", "augment", "type"),
    ("formatter", "format", "type"),
)
STEP_ID = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"


class CardModel(Params):
    """Prose for the dataset card that the build cannot know."""

    pretty_name: str | None = None
    summary: str | None = None
    uses: str | None = None
    out_of_scope: str | None = None
    limitations: str | None = None
    personal_information: str | None = None


class OutputModel(Params):
    """Where the built data set goes."""

    dir: OutputPath | None = Field(None, description="Default: build/<name> beside the spec.")


def entry_model(kind: str, name: str, params: type[Params], tag: str) -> type[BaseModel]:
    """The model of one spec entry: the component's params plus its tag and an optional id."""
    fields: dict[str, Any] = {tag: (Literal[name], ...)}
    if kind not in ("source", "splitter", "formatter"):
        fields["id"] = (Optional[Annotated[str, Field(pattern=STEP_ID)]], None)
    model_name = "".join(p.capitalize() for p in f"{kind}-{name}".replace("_", "-").split("-"))
    return create_model(model_name, __base__=params, **fields)


def _union(registry: Registry, kind: str, tag: str) -> Any:
    models = [entry_model(kind, e.cls.name, e.cls.Params, tag) for e in registry.entries(kind)]
    if not models:
        return None
    return Annotated[Union[tuple(models)], Field(discriminator=tag)]


def build_spec_model(registry: Registry) -> type[BaseModel]:
    """The whole spec as one model: a discriminated union per stage over what is installed."""
    unions = {field: _union(registry, kind, tag) for kind, field, tag in STAGES}

    def listed(field: str) -> Any:
        inner = unions[field]
        if inner is None:
            return (Annotated[list[Any], Field(max_length=0)], [])
        return (list[inner], [])

    def single(field: str) -> Any:
        inner = unions[field]
        return (Optional[inner] if inner is not None else None, None)

    sources = unions["sources"]
    return create_model(
        "Spec",
        __base__=Params,
        specc=(Literal[1], Field(..., description="The spec language version.")),
        name=(Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._-]*$")], ...),
        version=(str, "0.1.0"),
        description=(str, ...),
        license=(str, ...),
        languages=(list[str], []),
        task=(Optional[str], None),
        seed=(int, 0),
        allow_external_paths=(bool, False),
        sources=(Annotated[dict[Annotated[str, Field(pattern=STEP_ID)], sources], Field(min_length=1)], ...),
        clean=listed("clean"),
        annotate=listed("annotate"),
        split=single("split"),
        augment=listed("augment"),
        format=single("format"),
        card=(CardModel, CardModel()),
        output=(OutputModel, OutputModel()),
    )
