"""The stage table: every kind of component, where a spec names it, its hook and its place in the pipeline.

Hookspecs, the registry's kinds, the spec model, diagnostics, the compiler's order and the executor's row
stages derive from `STAGES`; a new kind is one entry here plus its base class.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from specc.components import (
    Annotator,
    Augmenter,
    CardSection,
    Component,
    Evaluator,
    Executor,
    Formatter,
    Imputer,
    Params,
    Source,
    Splitter,
    Step,
    TokenBudget,
    TokenCounter,
)

# how a spec writes a stage's entries: a mapping of names to entries, a list of entries, or one entry
Shape = Literal["map", "list", "single"]


@dataclass(frozen=True)
class Stage:
    """One kind of component: its spec field, base class, hook, and how a spec writes its entries."""

    kind: str
    base: type[Component]
    hook: str
    field: str | None = None  # `format.tokens`: inside the entry of `format`; None: not a pipeline stage
    shape: Shape = "list"
    tag: str = "type"
    operational: bool = False  # entries take the operational params (resources) of specc.spec.model.OPERATIONAL
    reads: str | None = None  # a branch: reads the rows after this stage; the output waits for it, the chain does not
    note: str = ""  # what the hook's docstring says the kind is for, when no spec field says it
    entry: type[Params] | None = None  # a nested stage's one entry model, which checks its own `type`
    description: str = ""  # a nested stage's field in the schema

    @property
    def name(self) -> str:
        """The stage's name in a plan and its step ids (the field's last part: `tokens`)."""
        assert self.field is not None
        return self.field.rpartition(".")[2]

    @property
    def parent(self) -> str | None:
        """The spec field whose entry holds this stage's, for a nested field; else None."""
        parent = (self.field or "").rpartition(".")[0]
        return parent or None

    @property
    def rows(self) -> bool:
        """Whether its components transform rows as steps (`Step` subclasses), run like `clean`."""
        return issubclass(self.base, Step)

    def used_for(self) -> str:
        """What a spec names with this kind, in words."""
        if self.field is None:
            return self.note
        where = {"map": "each entry under", "list": "entries under", "single": ""}[self.shape]
        return f"the `{self.tag}:` of {where + ' ' if where else ''}`{self.field}:`{self.note}"


STAGES: tuple[Stage, ...] = (
    Stage("source", Source, "register_sources", "sources", shape="map"),
    Stage("step", Step, "register_steps", "clean", operational=True),
    Stage("annotator", Annotator, "register_annotators", "annotate", operational=True),
    Stage("splitter", Splitter, "register_splitters", "split", shape="single", tag="method"),
    Stage("imputer", Imputer, "register_imputers", "impute"),
    Stage("augmenter", Augmenter, "register_augmenters", "augment", operational=True),
    Stage("formatter", Formatter, "register_formatters", "format", shape="single", operational=True),
    Stage(
        "tokenizer",
        TokenCounter,
        "register_tokenizers",
        "format.tokens",
        shape="single",
        note=", default `transformers`",
        entry=TokenBudget,
        description="Count each row's tokens, prompt and completion apart, and hold rows to a budget.",
    ),
    Stage("evaluator", Evaluator, "register_evaluators", "evaluate", reads="augment"),
    Stage("card_section", CardSection, "register_card_sections", note="sections rendered into the dataset card"),
    Stage("executor", Executor, "register_executors", note="chosen with `specc build --executor NAME`"),
)


def kinds() -> dict[str, Stage]:
    """Every stage of the table by its kind."""
    return {stage.kind: stage for stage in STAGES}


def pipeline() -> tuple[Stage, ...]:
    """The stages a spec names, in the fixed order of the plan."""
    return tuple(stage for stage in STAGES if stage.field is not None)
