"""The `llm-label` annotator: a language model chooses each row's label from the spec's label set.

The request asks for nothing but a label where the server can enforce it (`constrain`: a JSON schema whose
`label` is one of the labels, or vLLM's `guided_choice`); every answer is then parsed and validated the same way
(`answers.parse_label`), so a server that ignores the constraint still gives labels. An answer that is none of
the labels, or names several, is an abstention: the row keeps a null label (or is dropped) and is counted. Where
the server returns log-probabilities, the model's probability of its whole answer is written as a confidence.

The step runs on the whole table (scope global): its labels are measured against the other labelers' columns
named in `compare` (rules, human rounds, other models, a source's labels) with specc's agreement metrics over the
rows both labelled, with bootstrap intervals as a human round reports them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field, ValidationInfo, field_validator

from specc.plugin import Annotator, LabelNames, StepResult, did_you_mean, write_column
from specc_llm.answers import Constraint, confidence, constraint_body, parse_label
from specc_llm.asking import AsksPerRow, PromptParams
from specc_llm.prompts import PromptTemplate

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

DIGITS = 4  # confidences and agreement values are rounded to this many decimals
DEFAULT_PROMPT = (
    "Label the text below with one of these labels: {{ labels | join(', ') }}.\n"
    "Answer with the label only.\n\nText: {{ text }}"
)


class LabelParams(PromptParams):
    """The label set, the prompt, how the answer is constrained, and the labelers the model is measured against."""

    labels: LabelNames
    prompt: PromptTemplate = Field(
        DEFAULT_PROMPT,
        description="The user message: a jinja2 template over the row's columns and `labels` (the list of labels).",
    )
    column: str = Field("label", description="The column the label ids are written to.")
    constrain: Constraint = Field(
        "json_schema",
        description='json_schema: ask for {"label": <one of labels>} (response_format; OpenAI, vLLM, llama.cpp, '
        "Ollama); choices: vLLM's guided_choice over the labels; none: free text. Answers are parsed either way.",
    )
    confidence: bool = Field(
        True,
        description="Ask for log-probabilities and write the model's probability of its answer to "
        "`<column>_confidence` (null where the server gives none).",
    )
    mode: Literal["replace", "fill"] = Field(
        "replace",
        description="replace: label every row; fill: ask only about rows whose `column` is null (after rules, say); "
        "the column must hold label ids under the same `labels`.",
    )
    abstained: Literal["keep", "drop"] = Field(
        "keep",
        description="Rows the model gave no label (an abstention or a failed request): keep them with a null label, "
        "or drop them (reason `abstained`).",
    )
    compare: list[str] = Field(
        [],
        description="Label columns of other labelers (rules, human, models, a source's labels) to measure the "
        "model's labels against: ids under the same `labels`, or the label names.",
    )
    resamples: int = Field(
        1000, ge=10, le=100_000, description="Bootstrap resamples of the rows for the agreement intervals."
    )

    @field_validator("compare")
    @classmethod
    def _others(cls, value: list[str], info: ValidationInfo) -> list[str]:
        if info.data.get("column") in value:
            raise ValueError(
                f"'{info.data['column']}' is the column this step writes; name the other labelers' columns"
            )
        if len(set(value)) < len(value):
            raise ValueError("a column is named twice")
        return value


class LlmLabel(AsksPerRow, Annotator):
    """Label rows with a language model: constrained where the server can, parsed and validated always."""

    name = "llm-label"
    version = 1
    scope = "global"
    Params = LabelParams
    params: LabelParams
    given: ClassVar[frozenset[str]] = frozenset({"labels"})

    def label_names(self) -> dict[str, list[str]]:
        """The step's `labels` for its column."""
        return {self.params.column: list(self.params.labels)}

    @property
    def confidence_column(self) -> str | None:
        """Where the confidence goes, if it is asked for."""
        return f"{self.params.column}_confidence" if self.params.confidence else None

    def columns_read(self) -> dict[str, Any]:
        """The templates' columns, the compared columns, and in fill mode the column filled."""
        read = super().columns_read()
        read.update({c: ("compare", i) for i, c in enumerate(self.params.compare) if c not in read})
        if self.params.mode == "fill":
            read.setdefault(self.params.column, ("column",))
        return read

    def used_columns(self) -> list[str]:
        """The templates' columns: the compared columns and the column filled are null where no label was given."""
        return list(super().columns_read())

    def columns_after(self, columns: list[str]) -> list[str] | None:
        """The input's columns, the label column and the confidence column."""
        written = [c for c in (self.params.column, self.confidence_column) if c is not None]
        return [*columns, *(c for c in written if c not in columns)]

    def label_ids(self, table: pa.Table, column: str) -> np.ndarray:
        """A column of label ids or label names as ids (-1: none), or an error saying which values do not fit."""
        import numpy as np
        import pyarrow as pa

        names = list(self.params.labels)
        values = self.column(table, column)
        if pa.types.is_integer(values.type):
            ids = values.cast(pa.int64()).fill_null(-1).to_numpy()
            wrong = ids[(ids < -1) | (ids >= len(names))]
            if wrong.size:
                raise self.fail(
                    f"column '{column}' holds label id {wrong[0]}, but there are {len(names)} labels {names}; "
                    f"its labeler must use the same labels"
                )
            return ids
        if pa.types.is_string(values.type) or pa.types.is_large_string(values.type):
            index = {name: i for i, name in enumerate(names)}
            found = values.to_pylist()
            unknown = sorted({v for v in found if v is not None and v not in index})
            if unknown:
                raise self.fail(
                    f"column '{column}' holds '{unknown[0]}', which is not one of the labels "
                    f"{names}{did_you_mean(unknown[0], names)}"
                )
            return np.array([-1 if v is None else index[v] for v in found], np.int64)
        raise self.fail(f"column '{column}' holds {values.type}; labels are ids (integers) or label names (strings)")

    def agreement(self, table: pa.Table, ids: np.ndarray) -> dict[str, Any]:
        """Per compared column, over the rows both it and the model (`ids`, -1 for none) labelled: the share that
        agree, Cohen's kappa and Krippendorff's alpha, with bootstrap intervals (specc's agreement metrics)."""
        import numpy as np

        from specc.plugin import Annotations, agreement_report

        keys = np.array(self.column(table, "_id").cast("string").to_pylist(), object)
        measured = {}
        for other in self.params.compare:
            theirs = self.label_ids(table, other)
            both = (ids >= 0) & (theirs >= 0)
            pairs = np.stack([ids[both], theirs[both]], axis=1).astype(object)
            report = agreement_report(
                Annotations(list(keys[both]), ["model", "other"], pairs),
                seed=self.context.seed,
                metrics=["percent_agreement", "cohen_kappa", "krippendorff_alpha"],
                resamples=self.params.resamples,
            )
            # with two labels on every row, specc's percent agreement (the share of a row's labels that equal its
            # most common one) is (1 + p) / 2, p the share of rows the two agree on; the card shows p (and so its
            # interval's ends, a linear map of the bootstrap's quantiles)
            report["agreement"] = _agreeing(report["percent_agreement"])
            report["ci"]["agreement"] = [_agreeing(v) for v in report["ci"]["percent_agreement"]]
            shown = {"agreement": "agreement", "kappa": "cohen_kappa", "alpha": "krippendorff_alpha"}
            measured[other] = {
                "rows": int(both.sum()),
                **{name: _rounded(report[key]) for name, key in shown.items()},
                "ci": {name: [_rounded(v) for v in report["ci"][key]] for name, key in shown.items()},
                "bootstrap": report["bootstrap"],
            }
        return measured

    def apply(self, table: pa.Table) -> StepResult:
        """The table with the model's labels (and confidences); info counts labels, abstentions and agreement."""
        import numpy as np
        import pyarrow as pa

        p = self.params
        names = list(p.labels)
        kept = self.label_ids(table, p.column) if p.mode == "fill" else np.full(table.num_rows, -1, np.int64)
        rows = np.flatnonzero(kept < 0)
        constraint = constraint_body(p.constrain, "label", {"type": "string", "enum": names}, names)
        extra = {"logprobs": True} if p.confidence else {}
        answers = self.ask_rows(table.take(pa.array(rows, pa.int64())), {"labels": names}, constraint, **extra)
        ids = kept.copy()
        scores = np.full(table.num_rows, np.nan)
        abstained = failed = 0
        for row, answer in zip(rows.tolist(), answers):
            label = None if answer.text is None else parse_label(answer.text, names)
            failed += answer.text is None
            abstained += answer.text is not None and label is None
            if label is not None:
                ids[row] = label
                found = confidence(answer.logprobs)
                scores[row] = np.nan if found is None else round(found, DIGITS)
        labels = pa.array(ids, pa.int64(), mask=ids < 0)
        table = write_column(table, p.column, labels)
        if self.confidence_column is not None:
            table = write_column(table, self.confidence_column, pa.array(scores, pa.float64(), mask=np.isnan(scores)))
        chosen = ids[rows][ids[rows] >= 0]
        info: dict[str, Any] = {
            "rows": table.num_rows,
            "asked": len(rows),
            "labelled": len(chosen),
            "abstained": abstained,
            "failed": failed,
            "by_label": dict(zip(names, np.bincount(chosen, minlength=len(names)).tolist())),
            "llm": self.model.stats(),
        }
        if p.compare:
            mine = np.full(table.num_rows, -1, np.int64)
            mine[rows] = ids[rows]
            info["agreement"] = self.agreement(table, mine)
        if p.abstained == "drop":
            result = self.keep(table, labels.is_valid(), "abstained")
            result.info = info
            return result
        return StepResult(table, info=info)


def _agreeing(percent_agreement: float | None) -> float | None:
    return None if percent_agreement is None else 2 * percent_agreement - 1


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, DIGITS)
