"""The `rules` annotator: keyword and regex labeling functions combined by vote or first match.

Each rule gives its label to the rows it matches and abstains on the others. `vote` gives a row
the label most of its matching rules give (a tie between labels leaves the row unlabelled and is
counted as a tie); `first` gives the label of the first matching rule in the order listed. The
step's record in stats.json holds, over all rows it saw, how many rows each rule matches
(coverage), how many of those another rule matches too (overlaps) and how many another rule
matches with a different label (conflicts), as in Snorkel's LFAnalysis.
"""

from __future__ import annotations

import re
import warnings
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field, model_validator

from specc.annotation.labels import ColumnLabeler, LabelNames, label_counts, write_column
from specc.builtins.clean import re2_syntax
from specc.components import LabelName, Params, StepResult, Where
from specc.spec.diagnose import did_you_mean
from specc.spec.model import located_errors

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

ASCII_WORD = re.compile(r"[A-Za-z0-9_]")


class Rule(Params):
    """One labeling function: keywords or an RE2 pattern, and the label it gives to the rows it matches."""

    name: str | None = Field(
        None,
        description="A name for the card and stats.json; default `<label>-keywords` or "
        "`<label>-regex` (with -2, -3 ... when repeated).",
    )
    label: LabelName = Field(description="The label this rule gives; one of the step's `labels`.")
    keywords: list[str] | None = Field(
        None,
        min_length=1,
        description="Words or phrases; a row matches when its text "
        "contains one as a whole word (ASCII word boundaries).",
    )
    regex: str | None = Field(None, min_length=1, description="An RE2 pattern searched anywhere in the text.")
    ignore_case: bool = Field(True, description="Match without regard to case.")

    @model_validator(mode="after")
    def _one_matcher(self) -> Rule:
        if (self.keywords is None) == (self.regex is None):
            raise ValueError("give `keywords` or `regex` (one of them)")
        if self.regex is not None:
            try:
                with warnings.catch_warnings():  # POSIX classes like [[:alpha:]] are fine in RE2
                    warnings.simplefilter("ignore", FutureWarning)
                    re.compile(re2_syntax(self.regex))
            except re.error as exc:
                raise ValueError(f"invalid regular expression: {exc}") from exc
        return self

    @property
    def pattern(self) -> str:
        """The RE2 pattern this rule searches: its regex, or its keywords as whole words."""
        if self.regex is not None:
            return self.regex
        parts = []
        for word in self.keywords or []:
            quoted = re.escape(word)
            start = r"\b" if ASCII_WORD.match(word[0]) else ""
            end = r"\b" if ASCII_WORD.match(word[-1]) else ""
            parts.append(f"{start}{quoted}{end}")
        return "|".join(parts)


class RulesParams(Params):
    """The rules, the labels they give and how their votes are combined."""

    text: str = Field("text", description="The string column the rules read.")
    column: str = Field("label", description="The column the label ids are written to.")
    labels: LabelNames
    rules: list[Rule] = Field(min_length=1, description="The labeling functions.")
    combine: Literal["vote", "first"] = Field(
        "vote",
        description="vote: the label most matching rules give (a tie leaves the row unlabelled); "
        "first: the label of the first matching rule in the order listed.",
    )
    mode: Literal["replace", "fill"] = Field(
        "replace",
        description="replace: write `column` anew; fill: only rows whose `column` is null get a rule "
        "label (the column must hold label ids under the same `labels`).",
    )
    unlabeled: Literal["keep", "drop"] = Field(
        "keep", description="Rows left without a label: keep them (null label), or drop them (reason `unlabeled`)."
    )

    @model_validator(mode="after")
    def _rules_fit_labels(self) -> RulesParams:
        unknown: list[tuple[tuple[str | int, ...], object, str]] = [
            (
                ("rules", i, "label"),
                rule.label,
                f"'{rule.label}' is not one of the labels {self.labels}{did_you_mean(rule.label, self.labels)}",
            )
            for i, rule in enumerate(self.rules)
            if rule.label not in self.labels
        ]
        if unknown:
            raise located_errors("RulesParams", unknown)
        names = [r.name for r in self.rules if r.name is not None]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"rule name '{repeated[0]}' is used twice; rule names must be unique")
        return self

    def rule_names(self) -> list[str]:
        """Each rule's name: the one given, or `<label>-keywords` / `<label>-regex` made unique."""
        given = {r.name for r in self.rules if r.name is not None}
        names: list[str] = []
        for rule in self.rules:
            name = rule.name
            if name is None:
                base = f"{rule.label}-{'keywords' if rule.keywords is not None else 'regex'}"
                name, n = base, 1
                while name in given or name in names:
                    n += 1
                    name = f"{base}-{n}"
            names.append(name)
        return names


def rule_votes(
    fires: np.ndarray, rule_labels: np.ndarray, n_labels: int, combine: str
) -> tuple[np.ndarray, np.ndarray]:
    """The label id each row gets (-1: none) and which rows had a vote tie, from rows x rules matches."""
    import numpy as np

    votes = fires.astype(np.int64) @ np.eye(n_labels, dtype=np.int64)[rule_labels]
    covered = fires.any(axis=1)
    if combine == "first":
        chosen = rule_labels[fires.argmax(axis=1)]
        ties = np.zeros(len(fires), bool)
    else:
        top = votes.max(axis=1)
        ties = covered & ((votes == top[:, None]).sum(axis=1) > 1)
        chosen = votes.argmax(axis=1)
        covered = covered & ~ties
    return np.where(covered, chosen, -1), ties


def rule_analysis(fires: np.ndarray, rule_labels: np.ndarray, names: list[str]) -> dict[str, Any]:
    """Coverage, overlaps and conflicts of the rules, overall and per rule (row counts)."""
    import numpy as np

    n_fired = fires.sum(axis=1)
    distinct = np.zeros(len(fires), np.int64)
    for label in np.unique(rule_labels):
        distinct += fires[:, rule_labels == label].any(axis=1)
    overlap, conflict = n_fired >= 2, distinct >= 2
    by_rule = {
        name: {
            "covered": int(fires[:, j].sum()),
            "overlaps": int((fires[:, j] & overlap).sum()),
            "conflicts": int((fires[:, j] & conflict).sum()),
        }
        for j, name in enumerate(names)
    }
    return {
        "covered": int((n_fired > 0).sum()),
        "overlaps": int(overlap.sum()),
        "conflicts": int(conflict.sum()),
        "by_rule": by_rule,
    }


class RuleLabeler(ColumnLabeler):
    """Label rows with keyword and regex rules that each give a label or abstain."""

    name = "rules"
    version = 1
    scope = "row"
    Params: ClassVar[type[Params]] = RulesParams
    params: RulesParams

    def columns_read(self) -> dict[str, Where]:
        """The `text` the rules read, and in fill mode the `column` they fill."""
        return self.columns_named("text", *(["column"] if self.params.mode == "fill" else []))

    def columns_after(self, columns: list[str]) -> list[str] | None:
        """The input's columns and the label `column`."""
        return columns if self.params.column in columns else [*columns, self.params.column]

    def matches(self, table: pa.Table) -> np.ndarray:
        """Rows x rules: whether each rule matches each row's text (null text matches nothing)."""
        import numpy as np
        import pyarrow as pa
        import pyarrow.compute as pc

        values = self.column(table, self.params.text)
        if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
            raise self.fail(f"column '{self.params.text}' has type {values.type}; the rules need a string column")
        fires = np.zeros((table.num_rows, len(self.params.rules)), bool)
        for j, (rule, name) in enumerate(zip(self.params.rules, self.params.rule_names())):
            try:
                found = pc.match_substring_regex(values, rule.pattern, ignore_case=rule.ignore_case)
            except pa.ArrowInvalid as exc:
                raise self.fail(f"rule '{name}': pattern {rule.pattern!r} is not valid RE2: {exc}") from exc
            fires[:, j] = pc.fill_null(found, False).to_numpy(zero_copy_only=False)
        return fires

    def apply(self, table: pa.Table) -> StepResult:
        """The table with `column` labelled by the rules; info holds the rules' coverage, overlaps and conflicts."""
        import numpy as np
        import pyarrow as pa

        p = self.params
        fires = self.matches(table)
        rule_labels = np.array([p.labels.index(r.label) for r in p.rules], np.int64)
        chosen, ties = rule_votes(fires, rule_labels, len(p.labels), p.combine)
        labels = pa.array(chosen, pa.int64(), mask=chosen < 0)
        open_rows = np.ones(table.num_rows, bool)
        if p.mode == "fill":
            existing = self.column(table, p.column)
            if not pa.types.is_integer(existing.type):
                raise self.fail(
                    f"mode fill: column '{p.column}' holds {existing.type}, not label ids; give its "
                    f"source `labels:` so names become ids, or use mode replace"
                )
            open_rows = existing.is_null().to_numpy(zero_copy_only=False)
            labels = pa.array(
                np.where(open_rows, chosen, existing.cast(pa.int64()).fill_null(-1).to_numpy()),
                pa.int64(),
                mask=open_rows & (chosen < 0),
            )
        set_here = open_rows & (chosen >= 0)
        info = {
            "rows": table.num_rows,
            **rule_analysis(fires, rule_labels, p.rule_names()),
            "ties": int((ties & open_rows).sum()),
            "labelled": int(set_here.sum()),
            "unlabeled": int(labels.null_count),
            "by_label": label_counts(chosen[set_here], p.labels),
        }
        table = write_column(table, p.column, labels)
        if p.unlabeled == "drop":
            result = self.keep(table, labels.is_valid(), "unlabeled")
            result.info = info
            return result
        return StepResult(table, info=info)
