"""Audit samples: a seeded random sample of labelled rows for review, and label accuracy from the verdicts.

The sample takes the labelled rows with the smallest per-row hashes (from the step's seed and each
row's `_id`), so it is the same on every build and a row stays in it when the data grows unless a
row with a smaller hash arrives. Reviewers fill the `verdict` column of a copy of the sample
(`correct` or `incorrect`; also yes/no, true/false, 1/0; blank: not reviewed yet) and save it as the
verdicts file. The estimated label accuracy is correct / reviewed, with a Wilson score interval.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from statistics import NormalDist
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field, model_validator

from specc.components import Params
from specc.errors import SpeccError
from specc.paths import OutputPath

if TYPE_CHECKING:
    import numpy as np

PendingPath = Annotated[OutputPath, Field(description="A file relative to the spec's folder; it may not exist yet.")]
VERDICTS = {
    "correct": True,
    "yes": True,
    "true": True,
    "1": True,
    "y": True,
    "incorrect": False,
    "no": False,
    "false": False,
    "0": False,
    "n": False,
}


class AuditParams(Params):
    """Spot checks: export a seeded random sample of labelled rows; report accuracy once verdicts exist."""

    size: int = Field(ge=1, description="Rows in the sample (all labelled rows when there are fewer).")
    sample: PendingPath = Field(
        description="Where the sample is written (CSV: key, label, the shown columns, an "
        "empty `verdict` column); rewritten by each run of the step."
    )
    verdicts: PendingPath | None = Field(
        None,
        description="The reviewed copy of the sample (CSV with the key and "
        "`verdict` columns); its bytes are pinned in the lock.",
    )
    columns: list[str] = Field(["text"], description="Columns shown to reviewers.")
    confidence: float = Field(0.95, gt=0, lt=1, description="Confidence level of the accuracy's Wilson interval.")

    @model_validator(mode="after")
    def _separate_files(self) -> AuditParams:
        if self.verdicts is not None and Path(self.verdicts) == Path(self.sample):
            raise ValueError(
                "`verdicts` must differ from `sample`: the sample is rewritten by every build; review a copy of it"
            )
        return self


def sample_rows(seeds: np.ndarray, labelled: np.ndarray, size: int) -> np.ndarray:
    """Positions of the `size` labelled rows with the smallest seeds, in that order."""
    import numpy as np

    candidates = np.flatnonzero(labelled)
    return candidates[np.argsort(seeds[candidates], kind="stable")[:size]]


def read_verdicts(path: Path, shown: str, key: str) -> dict[str, bool | None]:
    """Verdict per key (None: not reviewed yet) from a reviewed sample; errors name the file and line."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in (key, "verdict") if c not in (reader.fieldnames or [])]
        if missing:
            raise SpeccError(
                f"{shown}: error: the verdicts file has no column {', '.join(repr(c) for c in missing)}; "
                f"its columns are: {', '.join(reader.fieldnames or [])}; fill the `verdict` column "
                f"of a copy of the audit sample"
            )
        verdicts: dict[str, bool | None] = {}
        for row in reader:
            raw = (row["verdict"] or "").strip().lower()
            if raw and raw not in VERDICTS:
                raise SpeccError(
                    f"{shown}:{reader.line_num}: error: verdict {row['verdict']!r} is not one of "
                    f"correct, incorrect (or yes/no, true/false, 1/0); leave it blank when not reviewed"
                )
            verdicts[row[key]] = VERDICTS[raw] if raw else None
    return verdicts


def wilson_interval(correct: int, n: int, confidence: float) -> tuple[float, float]:
    """The Wilson score interval of a proportion `correct / n`."""
    if n == 0:
        return 0.0, 1.0
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    p = correct / n
    denominator = 1 + z * z / n
    center = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, center - half), min(1.0, center + half)


def audit_report(sampled: list[str], verdicts: dict[str, bool | None] | None, confidence: float) -> dict[str, Any]:
    """What the card shows of an audit: sample size, reviewed, correct, accuracy and its interval."""
    report: dict[str, Any] = {"sampled": len(sampled), "confidence": confidence, "interval": "wilson"}
    if verdicts is None:
        return {**report, "reviewed": 0, "pending": len(sampled)}
    in_sample = set(sampled)
    judged = [verdicts[k] for k in sampled if verdicts.get(k) is not None]
    correct = sum(bool(v) for v in judged)
    report.update(
        reviewed=len(judged),
        pending=len(sampled) - len(judged),
        correct=correct,
        outside_sample=sorted(k for k in verdicts if k not in in_sample)[:20],
        outside_sample_count=sum(k not in in_sample for k in verdicts),
    )
    if judged:
        low, high = wilson_interval(correct, len(judged), confidence)
        report.update(accuracy=round(correct / len(judged), 4), ci=[round(low, 4), round(high, 4)])
    return report
