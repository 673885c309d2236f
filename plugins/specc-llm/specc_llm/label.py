"""The `llm-label` annotator: a language model chooses each row's label from the spec's label set."""

from __future__ import annotations

from pydantic import Field

from specc.plugin import Annotator, LabelNames, Params


class LabelParams(Params):
    """The label set, the column read and the column written."""

    labels: LabelNames = Field(..., description="The class names; the label written is the index in this list.")
    text: str = Field("text", description="The string column the model reads.")
    column: str = Field("label", description="The column the label ids are written to.")


class LlmLabel(Annotator):
    """Label rows with a language model."""

    name = "llm-label"
    version = 1
    Params = LabelParams
    params: LabelParams
