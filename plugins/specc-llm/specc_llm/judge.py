"""The `llm-judge` clean step: a language model scores each row on a rubric; rows under a threshold are dropped."""

from __future__ import annotations

from pydantic import Field

from specc.plugin import Params, Step


class JudgeParams(Params):
    """The rubric's prompt, the score range and the threshold."""

    template: str = Field(..., description="The prompt; `{column}` stands for a row's value.")
    threshold: float = Field(..., description="Rows scoring under this are dropped.")


class LlmJudge(Step):
    """Score rows with a language model and drop those under the threshold."""

    name = "llm-judge"
    version = 1
    Params = JudgeParams
    params: JudgeParams
