"""Parameters of the `human` annotate step: annotation files, exports, aggregation, gates, gold items."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from specc.annotation.agreement import metric_key
from specc.annotation.labels import LabelNames
from specc.builtins.annotation.audit import AuditParams, PendingPath
from specc.components import Params
from specc.paths import InputPath, OutputPath
from specc.spec.model import located_errors

Metric = Literal["percent-agreement", "cohen-kappa", "fleiss-kappa", "krippendorff-alpha"]
EXPORT_FILES = ("tasks.json", "tasks.csv", "adjudication.json", "adjudication.csv")


class AnnotationFile(Params):
    """One annotation file: its format and where the item, annotator and label are in it."""

    path: PendingPath = Field(
        description="The file, relative to the spec's folder; it may not exist yet (see "
        "`pending`). Its bytes are pinned in the lock."
    )
    format: Literal["label-studio", "wide-csv", "long-csv"] = Field(
        description="label-studio: Label Studio's JSON export (several annotators per task); wide-csv: one row per "
        "item, one column per annotator; long-csv: one row per annotation (item, annotator, label)."
    )
    item: str | None = Field(
        None,
        description="The item column (CSV; default the first of _id, id, item) or the "
        "task data field (label-studio; default the step's `key`) holding the key.",
    )
    annotators: list[str] | str | None = Field(
        None,
        description="wide-csv: the annotator columns, a list or a glob pattern such as 'label_*' (default every "
        "column but the item column and `text`).",
    )
    annotator: str | None = Field(None, description="long-csv: the annotator column (default 'annotator').")
    label: str | None = Field(None, description="long-csv: the label column (default 'label').")
    from_name: str | None = Field(
        None,
        description="label-studio: the labeling control to read (needed only when the labeling config has several).",
    )

    @model_validator(mode="after")
    def _options_fit_format(self) -> AnnotationFile:
        own = {"annotators": "wide-csv", "annotator": "long-csv", "label": "long-csv", "from_name": "label-studio"}
        wrong: list[tuple[tuple[str | int, ...], object, str]] = [
            ((name,), getattr(self, name), f"`{name}` applies to {fmt} files only; this one is {self.format}")
            for name, fmt in own.items()
            if getattr(self, name) is not None and self.format != fmt
        ]
        if wrong:
            raise located_errors("AnnotationFile", wrong)
        return self


class ExportParams(Params):
    """Where the items to annotate (and to adjudicate) are written for the annotators."""

    dir: OutputPath = Field(
        description="A folder relative to the spec's folder; the step writes tasks.json (a Label "
        "Studio import file) and tasks.csv there, and adjudication.json/.csv when items await "
        "adjudication."
    )
    text: str = Field("text", description="The column shown to annotators.")


class AgreementGate(Params):
    """Fail the build when agreement is lower than this."""

    metric: Metric = Field("krippendorff-alpha", description="The agreement metric the gate checks.")
    min: float = Field(ge=-1, le=1, description="The lowest acceptable value (the point estimate).")
    level: Literal["nominal", "ordinal", "interval", "ratio"] = Field(
        "nominal",
        description="krippendorff-alpha's level of measurement: ordinal ranks the labels in the order of "
        "`labels`; interval and ratio need numeric label names (ratio: values with a true zero, none negative).",
    )

    @model_validator(mode="after")
    def _level_for_alpha(self) -> AgreementGate:
        if self.level != "nominal" and self.metric != "krippendorff-alpha":
            raise ValueError(f"`level` applies to krippendorff-alpha only, not {self.metric}")
        return self

    @property
    def key(self) -> str:
        """The metric's key in the agreement report."""
        return metric_key(self.metric, self.level)


class ItemAgreement(Params):
    """What happens to items whose annotators agree less than `min`."""

    min: float = Field(
        gt=0, le=1, description="The lowest share of an item's annotations that agree with its most common label."
    )
    action: Literal["flag", "drop", "adjudicate"] = Field(
        "flag",
        description="flag: a boolean column says which rows are below; drop: such rows are dropped (reason "
        "`low agreement`); adjudicate: they are exported for adjudication and left out (reason `awaiting "
        "adjudication`) until an adjudicated label exists for them.",
    )
    column: str = Field("low_agreement", description="flag: the boolean column written.")
    adjudicated: AnnotationFile | None = Field(
        None,
        description="adjudicate: the adjudicators' labels (any annotation format); for an item listed there "
        "the adjudicated label (its majority, if several) replaces the aggregated one.",
    )

    @model_validator(mode="after")
    def _adjudicated_with_adjudicate(self) -> ItemAgreement:
        if self.adjudicated is not None and self.action != "adjudicate":
            raise ValueError("`adjudicated` applies to action adjudicate only")
        return self


class GoldParams(Params):
    """Items with known labels: each annotator's accuracy on them, and who is excluded."""

    path: InputPath | None = Field(None, description="A CSV of gold items: an item column and a label column.")
    column: str | None = Field(None, description="Or a data column holding gold label names (null where unknown).")
    item: str | None = Field(None, description="path: the item column (default the first of _id, id, item).")
    label: str = Field("label", description="path: the gold label column.")
    min_accuracy: float = Field(
        ge=0,
        le=1,
        description="Annotators whose accuracy on the gold items they labelled is "
        "lower are excluded before aggregation and agreement.",
    )

    @model_validator(mode="after")
    def _one_source(self) -> GoldParams:
        if (self.path is None) == (self.column is None):
            raise ValueError("give the gold labels as `path` (a CSV) or `column` (a data column), one of them")
        return self


class HumanParams(Params):
    """One round of human annotation: export, import, aggregation, agreement and its gates."""

    labels: LabelNames
    results: list[AnnotationFile] = Field(
        min_length=1, description="The annotation files of this round; an annotator named in several is one person."
    )
    key: str = Field("_id", description="The data column whose values (as text) name the items in the files.")
    column: str = Field("label", description="The column the aggregated label ids are written to.")
    export: ExportParams | None = Field(None, description="Write the items still to annotate for the annotators.")
    pending: Literal["fail", "unlabeled"] = Field(
        "fail",
        description="When a results file does not exist yet: fail (after writing the export) with where to "
        "put it, or build with the files there are, rows without annotations kept unlabelled.",
    )
    unannotated: Literal["drop", "keep"] = Field(
        "drop",
        description="Rows no (kept) annotator labelled, or whose vote tied under tie_break abstain: drop them "
        "(reasons `not annotated`, `tied vote`) or keep them with a null label.",
    )
    unmatched: Literal["report", "fail"] = Field(
        "report",
        description="Annotations of items that are not in the data: report them (stats.json and the card) "
        "or fail the build.",
    )
    aggregate: Literal["majority", "dawid-skene"] = Field(
        "majority",
        description="majority: the most common label; dawid-skene: Dawid & Skene's EM estimate, which "
        "weighs annotators by their estimated confusion matrices.",
    )
    tie_break: Literal["first-listed", "most-common", "abstain"] = Field(
        "first-listed",
        description="majority: a tie goes to the tied label listed first in `labels`, to the tied "
        "label given most often in the whole round, or to no label.",
    )
    agreement: AgreementGate | None = Field(None, description="Fail the build when agreement is lower.")
    item_agreement: ItemAgreement | None = Field(None, description="Flag, drop or adjudicate low-agreement items.")
    agreement_column: str | None = Field(
        None,
        description="Also write each row's item agreement (share of its "
        "annotations that agree with the most common label) to this column.",
    )
    resamples: int = Field(
        1000,
        ge=10,
        le=100_000,
        description="Bootstrap resamples of the items for the confidence intervals of the agreement metrics.",
    )
    confidence: float = Field(0.95, gt=0, lt=1, description="Confidence level of the intervals.")
    gold: GoldParams | None = Field(None, description="Gold items to measure annotators by.")
    audit: AuditParams | None = Field(None, description="Spot checks of the aggregated labels.")
    guidelines: InputPath | None = Field(
        None,
        description="The annotation guidelines; the card links them with their SHA-256, and the lock pins their bytes.",
    )
    guidelines_url: str | None = Field(
        None,
        pattern=r"^https?://",
        description="Where readers of the card find the guidelines (default: the file's path from the output folder).",
    )

    @model_validator(mode="after")
    def _consistent(self) -> HumanParams:
        written = [("column", self.column), ("agreement_column", self.agreement_column)]
        if self.item_agreement is not None and self.item_agreement.action == "flag":
            written.append(("item_agreement.column", self.item_agreement.column))
        names = [name for _, name in written if name is not None]
        for option, name in written:
            if name is not None and (names.count(name) > 1 or name == self.key):
                raise ValueError(
                    f"`{option}` '{name}' is also the key or another column the step writes; give each its own name"
                )
        if self.item_agreement is not None and self.item_agreement.action == "adjudicate" and self.export is None:
            raise ValueError(
                "item_agreement.action adjudicate needs `export: {dir: ...}` to write the items to adjudicate"
            )
        if self.export is not None:
            exported = {Path(self.export.dir) / name for name in EXPORT_FILES}
            inputs = [f.path for f in self.results]
            if self.item_agreement is not None and self.item_agreement.adjudicated is not None:
                inputs.append(self.item_agreement.adjudicated.path)
            for path in inputs:
                if Path(path) in exported:
                    raise ValueError(f"'{path}' is a file the export writes; save the annotations under another name")
        return self
