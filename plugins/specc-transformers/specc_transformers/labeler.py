"""The `transformers-classify` annotator: labels rows with a transformers text- or zero-shot-classification pipeline.

A row gets the model's top label and its score. Scores are rounded to SCORE_DIGITS decimals
before they are compared with `threshold`, so the written score and the decision agree. Rows
scoring below the threshold are left unlabelled (null) or, with `below_threshold: review`, keep
the model's label and are marked in the review column for a person to check.
"""

from __future__ import annotations

import json
from functools import cached_property
from typing import TYPE_CHECKING, Literal

from pydantic import Field, model_validator

from specc.plugin import Annotator, LabelNames, Params, StepResult, did_you_mean, quiet_transformers, write_column
from specc_transformers.models import ModelLocation, Revision, UsesModel

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa
    from transformers import Pipeline

SCORE_DIGITS = 4


class ClassifyParams(Params):
    """The model, the pipeline task, the columns and what happens to rows the model is unsure of."""

    model: ModelLocation
    revision: Revision = None
    task: Literal["text-classification", "zero-shot-classification"] = Field(
        "text-classification",
        description="text-classification: the model's own classes; zero-shot-classification: "
        "an NLI model scores each of `labels` as a hypothesis.",
    )
    text: str = Field("text", description="The string column the model reads.")
    column: str = Field("label", description="The column the label ids are written to.")
    labels: LabelNames | None = Field(
        None,
        description="The class names; the label written is the index in this "
        "list. Required for zero-shot (the candidate labels); default for "
        "text-classification: the model's labels in the order of its ids.",
    )
    label_map: dict[str, str] = Field(
        {}, description="Model label -> one of `labels`, for models whose labels are named otherwise (such as LABEL_0)."
    )
    hypothesis_template: str = Field(
        "This example is {}.",
        description="Zero-shot: the hypothesis each label is put into (`{}` stands for the label).",
    )
    threshold: float = Field(
        0.0, ge=0, le=1, description="Rows whose top score is below this are not labelled (or are sent to review)."
    )
    below_threshold: Literal["unlabeled", "review"] = Field(
        "unlabeled", description="unlabeled: a null label; review: the model's label, and true in `review_column`."
    )
    score_column: str | None = Field(None, description="The column for the model's score; default `<column>_score`.")
    review_column: str = Field("needs_review", description="With below_threshold review: true for rows to check.")
    mode: Literal["replace", "fill"] = Field(
        "replace",
        description="replace: label every row; fill: only rows whose `column` is null (after rules, "
        "say); the column must hold label ids under the same `labels`.",
    )
    batch_size: int = Field(
        16,
        ge=1,
        description="Rows per forward pass (padding makes scores depend on it "
        "in the last decimals, so it is part of the fingerprint).",
    )

    @model_validator(mode="after")
    def _labels_fit(self) -> ClassifyParams:
        if self.task == "zero-shot-classification" and self.labels is None:
            raise ValueError("zero-shot-classification needs `labels`: the candidate labels the model chooses from")
        if "{}" not in self.hypothesis_template:
            raise ValueError("hypothesis_template must contain `{}`, where each label goes")
        for model_label, name in self.label_map.items():
            if self.labels is not None and name not in self.labels:
                raise ValueError(
                    f"label_map: '{model_label}' maps to '{name}', which is not one of the labels "
                    f"{self.labels}{did_you_mean(name, self.labels)}"
                )
        return self


class ModelLabeler(UsesModel, Annotator):
    """Label rows with a text-classification or zero-shot-classification model from a folder or the Hub."""

    name = "transformers-classify"
    version = 1
    scope = "row"
    Params = ClassifyParams
    params: ClassifyParams
    LOADED = (*UsesModel.LOADED, "pipeline")

    # --- labels ----------------------------------------------------------------------------------

    def model_labels(self) -> list[str]:
        """The model's own label names in the order of its ids (from its config.json)."""
        path = self.model_files.folder / "config.json"
        try:
            id2label = json.loads(path.read_text(encoding="utf-8")).get("id2label") or {}
        except (OSError, ValueError) as exc:
            raise self.fail(f"cannot read the model's config ({path}): {exc}") from None
        return [str(id2label[k]) for k in sorted(id2label, key=int)]

    def names(self) -> list[str]:
        """The class names written: `labels`, or the model's labels (through `label_map`)."""
        if self.params.labels is not None:
            return list(self.params.labels)
        return [self.params.label_map.get(n, n) for n in self.model_labels()]

    def label_names(self) -> dict[str, list[str]]:
        """The class names of the label column this step writes."""
        return {self.params.column: self.names()}

    def columns_read(self) -> dict[str, tuple[str | int, ...]]:
        """The `text` the model reads, and in fill mode the `column` it fills."""
        return self.columns_named("text", *(["column"] if self.params.mode == "fill" else []))

    def columns_after(self, columns: list[str]) -> list[str] | None:
        """The input's columns, the label and score columns, and the review column when rows go to review."""
        p = self.params
        review = [p.review_column] if p.below_threshold == "review" else []
        written = [p.column, p.score_column or f"{p.column}_score", *review]
        return [*columns, *(c for c in written if c not in columns)]

    # --- the model -------------------------------------------------------------------------------

    @cached_property
    def pipeline(self) -> Pipeline:
        """The pipeline, loaded once per process, on the CPU (in eval mode, as from_pretrained leaves a model)."""
        import torch
        from transformers import pipeline as load_pipeline

        torch.manual_seed(self.context.seed)  # a head the folder lacks is initialized from torch's generator
        folder = str(self.model_files.folder)
        with quiet_transformers():
            try:
                return load_pipeline(
                    self.params.task, model=folder, tokenizer=folder, device="cpu", trust_remote_code=False
                )
            except (OSError, ValueError, KeyError) as exc:
                raise self.fail(f"cannot load a {self.params.task} model from {folder}: {exc}") from None

    def predict(self, texts: list[str]) -> tuple[list[str], list[float]]:
        """The top label and its score for each text."""
        import torch

        p = self.params
        with torch.inference_mode(), quiet_transformers():
            if p.task == "zero-shot-classification":
                found = self.pipeline(
                    texts,
                    candidate_labels=list(p.labels or []),
                    hypothesis_template=p.hypothesis_template,
                    batch_size=p.batch_size,
                )
                return [r["labels"][0] for r in found], [float(r["scores"][0]) for r in found]
            found = self.pipeline(texts, batch_size=p.batch_size, truncation=True, top_k=1)
        return [r[0]["label"] for r in found], [float(r[0]["score"]) for r in found]

    def label_ids(self, predicted: list[str], names: list[str]) -> np.ndarray:
        """Each predicted model label as an index into `names`, or a clear error for one that is not there."""
        import numpy as np

        index = {n: i for i, n in enumerate(names)}
        ids = np.empty(len(predicted), np.int64)
        for i, label in enumerate(predicted):
            name = self.params.label_map.get(label, label)
            if name not in index:
                raise self.fail(
                    f"the model predicted '{label}', which is not one of the labels {names}; map it "
                    f"with `label_map: {{{label}: ...}}`{did_you_mean(name, names)}"
                )
            ids[i] = index[name]
        return ids

    # --- the step --------------------------------------------------------------------------------

    def open_rows(self, table: pa.Table) -> np.ndarray:
        """The rows this step may label: all, or (mode fill) those whose label is null."""
        import numpy as np
        import pyarrow as pa

        if self.params.mode == "replace":
            return np.ones(table.num_rows, bool)
        existing = self.column(table, self.params.column)
        if not pa.types.is_integer(existing.type):
            raise self.fail(
                f"mode fill: column '{self.params.column}' holds {existing.type}, not label ids; give "
                f"its source `labels:` so names become ids, or use mode replace"
            )
        return existing.is_null().to_numpy(zero_copy_only=False)

    def apply(self, table: pa.Table) -> StepResult:
        """The table with the label, score (and review) columns written; info counts what happened."""
        import numpy as np
        import pyarrow as pa

        p = self.params
        values = self.column(table, p.text)
        if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
            raise self.fail(f"column '{p.text}' has type {values.type}; the model needs a string column")
        names = self.names()
        todo = self.open_rows(table) & values.is_valid().to_numpy(zero_copy_only=False)
        rows = np.flatnonzero(todo)
        ids = np.full(table.num_rows, -1, np.int64)
        scores = np.full(table.num_rows, np.nan)
        if rows.size:
            predicted, found = self.predict(values.take(pa.array(rows)).to_pylist())
            ids[rows] = self.label_ids(predicted, names)
            scores[rows] = np.round(found, SCORE_DIGITS)
        low = todo & (scores < p.threshold)
        labelled = todo & ~low if p.below_threshold == "unlabeled" else todo
        if p.mode == "fill":
            kept = self.column(table, p.column).cast(pa.int64()).fill_null(-1).to_numpy()
            ids = np.where(todo, ids, kept)
            labelled = labelled | (~todo & (kept >= 0))
        table = write_column(table, p.column, pa.array(ids, pa.int64(), mask=~labelled))
        table = write_column(table, p.score_column or f"{p.column}_score", pa.array(scores, pa.float64(), mask=~todo))
        if p.below_threshold == "review":
            table = write_column(table, p.review_column, pa.array(low))
        chosen = ids[todo & labelled]
        info = {
            "model": self.shown(),
            "rows": table.num_rows,
            "scored": int(todo.sum()),
            "below_threshold": int(low.sum()),
            "labelled": int((todo & labelled).sum()),
            "unlabeled": int((~labelled).sum()),
            "by_label": {name: int((chosen == i).sum()) for i, name in enumerate(names)},
        }
        return StepResult(table, info=info)
