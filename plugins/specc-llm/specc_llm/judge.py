"""The `llm-judge` clean step: a language model scores each row on a rubric; rows under `threshold` are dropped.

The score is a number from `min_score` to `max_score`, asked for in a constrained form where the server can
enforce it and parsed from the answer always (`answers.parse_score`). An answer that gives no score in the range,
or a request that failed after the retries (within `max_failed`), leaves the row unscored: by default it is
dropped (reason `unscored`), because a judge filter promises that every row it kept passed the rubric; with
`unscored: keep` it stays. Both counts are in the card.

The step runs on the whole table (scope global): its requests go out together, bounded by the endpoint's
`concurrency`, and `max_failed` is a share of all of them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field, ValidationInfo, field_validator

from specc.plugin import Step, StepResult, write_column
from specc_llm.answers import Constraint, constraint_body, parse_score
from specc_llm.asking import AsksPerRow, PromptParams
from specc_llm.prompts import PromptTemplate

if TYPE_CHECKING:
    import pyarrow as pa

BELOW, UNSCORED = "below threshold", "unscored"


class JudgeParams(PromptParams):
    """The rubric's prompt, the score range, the threshold and what happens to rows without a score."""

    prompt: PromptTemplate = Field(
        description="The user message stating the rubric: a jinja2 template over the row's columns, `min_score` and "
        "`max_score`; the answer is a score in that range."
    )
    min_score: int = Field(1, description="The lowest score of the rubric.")
    max_score: int = Field(5, description="The highest score of the rubric.")
    threshold: float = Field(description="Rows scoring under this are dropped (reason `below threshold`).")
    constrain: Constraint = Field(
        "json_schema",
        description='json_schema: ask for {"score": <an integer of the scale>} (response_format); choices: vLLM\'s '
        "guided_choice over the scores; none: free text. Answers are parsed either way.",
    )
    unscored: Literal["drop", "keep"] = Field(
        "drop",
        description="Rows whose answer gives no score in the range, or whose request failed: drop them (reason "
        "`unscored`; the default, so every row kept passed the rubric) or keep them.",
    )
    score_column: str | None = Field(None, description="Also write each row's score to this column (null: unscored).")

    @field_validator("max_score")
    @classmethod
    def _a_range(cls, value: int, info: ValidationInfo) -> int:
        low = info.data.get("min_score")
        if low is not None and value <= low:
            raise ValueError(f"max_score {value} must be greater than min_score {low}")
        return value

    @field_validator("threshold")
    @classmethod
    def _in_range(cls, value: float, info: ValidationInfo) -> float:
        low, high = info.data.get("min_score"), info.data.get("max_score")
        if low is not None and high is not None and not low <= value <= high:
            raise ValueError(
                f"threshold {value:g} is outside the scores {low} to {high}; give a threshold in that range "
                "(or change min_score and max_score)"
            )
        return value


class LlmJudge(AsksPerRow, Step):
    """Score rows on a rubric with a language model; drop those under the threshold."""

    name = "llm-judge"
    version = 1
    scope = "global"
    Params = JudgeParams
    params: JudgeParams
    given: ClassVar[frozenset[str]] = frozenset({"min_score", "max_score"})

    def columns_after(self, columns: list[str]) -> list[str] | None:
        """The input's columns and the score column, if asked for."""
        column = self.params.score_column
        return columns if column is None or column in columns else [*columns, column]

    def apply(self, table: pa.Table) -> StepResult:
        """The rows scoring at least `threshold` (and unscored ones under `unscored: keep`); info counts the rest."""
        import pyarrow as pa

        p = self.params
        scale = list(range(p.min_score, p.max_score + 1))
        # an enum, not minimum/maximum: OpenAI's strict schemas and every grammar backend take enums
        schema = {"type": "integer", "enum": scale}
        constraint = constraint_body(p.constrain, "score", schema, [str(n) for n in scale])
        answers = self.ask_rows(table, {"min_score": p.min_score, "max_score": p.max_score}, constraint)
        scores = [None if a.text is None else parse_score(a.text, p.min_score, p.max_score) for a in answers]
        unscored = pa.array([s is None for s in scores], pa.bool_())
        below = pa.array([s is not None and s < p.threshold for s in scores], pa.bool_())
        if p.score_column is not None:
            table = write_column(table, p.score_column, pa.array(scores, pa.float64()))
        dropped = {BELOW: below, **({UNSCORED: unscored} if p.unscored == "drop" else {})}
        kept = [not (b or (u and p.unscored == "drop")) for b, u in zip(below.to_pylist(), unscored.to_pylist())]
        given = [s for s in scores if s is not None]
        info: dict[str, Any] = {
            "rows": table.num_rows,
            "scored": len(given),
            "unscored": unscored.true_count,
            "failed": sum(a.text is None for a in answers),
            "below_threshold": below.true_count,
            "by_score": {f"{s:g}": given.count(s) for s in sorted(set(given))},
            "llm": self.model.stats(),
        }
        return StepResult(table.filter(pa.array(kept, pa.bool_())), dropped, info)
