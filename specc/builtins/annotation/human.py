"""The `human` annotate step: one round of human annotation, from export to gated, aggregated labels.

A round exports the items still to annotate (a Label Studio import file and a CSV), imports the
annotators' files (Label Studio JSON export, wide or long CSV), matches them to rows by a key,
drops annotators who fail the gold items, measures agreement with bootstrap confidence intervals,
fails the build when agreement is below the spec's minimum, aggregates one label per item
(majority or Dawid-Skene) and handles items whose annotators disagree. Everything it counts goes
into the step's record in stats.json (`info`), which the card's annotation section shows.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from specc.annotation.labels import ColumnLabeler, label_counts, write_column
from specc.builtins.annotation.human_params import AnnotationFile, HumanParams
from specc.components import Params, StepResult, Where
from specc.errors import SpeccError

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

    from specc.annotation.readers import Problem
    from specc.annotation.table import Annotations

TIE_BREAKS = {"first-listed": "lowest", "most-common": "most-common", "abstain": "abstain"}
EXAMPLES = 10  # problems listed by name in stats.json and the card
DIGITS = 4  # agreement values and intervals are rounded to this many decimals


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, DIGITS)
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    return value


class HumanRound(ColumnLabeler):
    """One round of human annotation: export, import, gold, agreement gate, aggregation, audit."""

    name = "human"
    version = 1
    scope = "global"
    Params: ClassVar[type[Params]] = HumanParams
    params: HumanParams

    def columns_read(self) -> dict[str, Where]:
        """The `key`, the gold column, the exported text and the audited columns (those the step does not write)."""
        p = self.params
        read = self.columns_named("key")
        if p.gold is not None and p.gold.column is not None:
            read.setdefault(p.gold.column, ("gold", "column"))
        if p.export is not None:
            read.setdefault(p.export.text, ("export", "text"))
        written = self.written()
        for i, column in enumerate(p.audit.columns if p.audit is not None else []):
            if column not in written:
                read.setdefault(column, ("audit", "columns", i))
        return read

    def columns_after(self, columns: list[str]) -> list[str] | None:
        """The input's columns and those the step writes."""
        return [*columns, *(c for c in self.written() if c not in columns)]

    def written(self) -> list[str]:
        """The label column, and the agreement and flag columns when asked for."""
        p = self.params
        flag = p.item_agreement.column if p.item_agreement is not None and p.item_agreement.action == "flag" else None
        return [c for c in (p.column, p.agreement_column, flag) if c is not None]

    def files(self) -> list[Path]:
        """Every file the round reads that exists: results, adjudications, verdicts, gold items, guidelines."""
        p = self.params
        named = [f.path for f in p.results]
        if p.item_agreement is not None and p.item_agreement.adjudicated is not None:
            named.append(p.item_agreement.adjudicated.path)
        if p.audit is not None and p.audit.verdicts is not None:
            named.append(p.audit.verdicts)
        named += [path for path in (p.gold.path if p.gold else None, p.guidelines) if path is not None]
        return [path for path in (self.context.path(n) for n in named) if path.is_file()]

    def guidelines_copy(self) -> str:
        """Where the output folder holds the round's guidelines: annotation/<round id>/<their file name>."""
        assert self.params.guidelines is not None
        return f"annotation/{self.context.step_id.split('.', 1)[-1]}/{Path(self.params.guidelines).name}"

    def sha256(self, name: str) -> str:
        """SHA-256 of a file the round reads: its pin from the plan (hashed when the build began), else hashed now."""
        path = self.context.path(name)
        for pin in self.context.pins.get("files", ()):
            if self.context.path(pin["path"]) == path:
                return pin["sha256"]
        from specc.pins import sha256_file

        return sha256_file(path)

    # --- reading --------------------------------------------------------------------------------

    def read(self, entry: AnnotationFile) -> tuple[Annotations, list[Problem]]:
        """One annotation file; its errors name it as the spec does, and this step."""
        from specc.annotation.readers import read_annotations

        path = self.context.path(entry.path)
        item = entry.item if entry.item is not None or entry.format != "label-studio" else self.params.key
        annotator = entry.annotators if entry.format == "wide-csv" else entry.annotator
        try:
            return read_annotations(
                path, entry.format, item=item, annotator=annotator, label=entry.label, from_name=entry.from_name
            )
        except SpeccError as exc:
            text = str(exc).replace(str(path), entry.path, 1)
            step = f"error: step '{self.context.step_id}' ({self.name}): "
            raise SpeccError(text.replace("error: ", step, 1)) from None

    def as_ids(self, a: Annotations, where: str) -> Annotations:
        """The table with label names replaced by their index in `labels`; unknown names are an error."""
        import numpy as np

        from specc.annotation.table import Annotations
        from specc.spec.diagnose import did_you_mean

        index = {name: i for i, name in enumerate(self.params.labels)}
        unknown = [label for label in a.categories if label not in index]
        if unknown:
            counts = {label: int((a.labels == label).sum()) for label in unknown}
            shown = "; ".join(
                f"{label!r} ({n} annotations{did_you_mean(str(label), self.params.labels)})"
                for label, n in list(counts.items())[:5]
            )
            raise self.fail(
                f"{where}: labels that are not among `labels` {self.params.labels}: {shown}; fix the "
                f"file or add them to `labels`"
            )
        ids = np.array([None if v is None else index[v] for v in a.labels.flat], dtype=object)
        return Annotations(a.items, a.annotators, ids.reshape(a.labels.shape))

    def read_round(
        self, entries: list[AnnotationFile]
    ) -> tuple[Annotations, list[tuple[str, Problem]], list[dict[str, Any]]]:
        """Every file of the round merged (an annotator in several files is one person), with problems per file."""
        from specc.annotation.readers import merge_annotations

        parts, problems, files = [], [], []
        for entry in entries:
            a, found = self.read(entry)
            a = self.as_ids(a, entry.path)
            parts.append((entry.path, a))
            problems += [(entry.path, problem) for problem in found]
            files.append(
                {
                    "path": entry.path,
                    "format": entry.format,
                    "sha256": self.sha256(entry.path),
                    "items": len(a.items),
                    "annotators": len(a.annotators),
                    "annotations": int(a.annotations_per_item().sum()),
                }
            )
        merged, duplicates = merge_annotations(parts)
        return merged, problems + duplicates, files

    def keys(self, table: pa.Table) -> list[str | None]:
        """Each row's key as text."""
        import pyarrow as pa

        values = self.column(table, self.params.key)
        try:
            return values.cast(pa.string()).to_pylist()
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise self.fail(
                f"key column '{self.params.key}' ({values.type}) cannot be read as text: {exc}; "
                f"name a column of ids as `key`"
            ) from None

    # --- gold items -----------------------------------------------------------------------------

    def gold_labels(self, table: pa.Table, keys: list[str | None]) -> dict[str, int]:
        """Gold label id per item, from the gold file or column."""
        gold = self.params.gold
        assert gold is not None
        if gold.path is not None:
            entry = AnnotationFile.model_validate(
                {"path": gold.path, "format": "wide-csv", "item": gold.item, "annotators": [gold.label]}
            )
            a = self.as_ids(self.read(entry)[0], f"gold file {gold.path}")
            return {item: row[0] for item, row in zip(a.items, a.labels) if row[0] is not None}
        assert gold.column is not None  # GoldParams holds a path or a column
        names = self.column(table, gold.column).to_pylist()
        index = {name: i for i, name in enumerate(self.params.labels)}
        found: dict[str, int] = {}
        for key, name, row_id in zip(keys, names, table.column("_id").to_pylist()):
            if key is None or name is None or name == "":
                continue
            if name not in index:
                raise self.fail(
                    f"gold column '{gold.column}' holds {name!r} (row _id '{row_id}'), which is not among `labels` "
                    f"{self.params.labels}; gold labels are label names"
                )
            found[key] = index[name]
        return found

    def gold_report(self, a: Annotations, gold: dict[str, int]) -> tuple[list[str], dict[str, Any]]:
        """Each annotator's accuracy on the gold items, and who falls below `min_accuracy`."""
        p = self.params.gold
        assert p is not None
        per_annotator: dict[str, dict[str, Any]] = {}
        excluded = []
        rows = [(n, gold[item]) for n, item in enumerate(a.items) if item in gold]
        for j, name in enumerate(a.annotators):
            given = [(a.labels[n, j], truth) for n, truth in rows if a.labels[n, j] is not None]
            correct = sum(label == truth for label, truth in given)
            accuracy = round(correct / len(given), DIGITS) if given else None
            per_annotator[name] = {"items": len(given), "correct": correct, "accuracy": accuracy}
            if accuracy is not None and accuracy < p.min_accuracy:
                excluded.append(name)
        report = {
            "source": p.path or f"column {p.column}",
            "items": len(rows),
            "min_accuracy": p.min_accuracy,
            "excluded": excluded,
        }
        return excluded, {**report, "annotators": per_annotator}

    # --- agreement ------------------------------------------------------------------------------

    def agreement(self, a: Annotations) -> dict[str, Any] | None:
        """The agreement report (every metric with its bootstrap interval), checked against the gate."""
        import numpy as np

        from specc.annotation.agreement import METRICS, agreement_report, value_text
        from specc.annotation.table import Annotations

        p = self.params
        gate = p.agreement
        if not a.items:
            return None
        level = gate.level if gate is not None else "nominal"
        if gate is not None and gate.metric == "cohen-kappa" and len(a.annotators) != 2:
            raise self.fail(
                f"agreement.metric cohen-kappa needs exactly two annotators, the round has "
                f"{len(a.annotators)}; use fleiss-kappa or krippendorff-alpha"
            )
        measured = a
        if level in ("interval", "ratio"):
            try:
                values = [float(name) for name in p.labels]
            except ValueError:
                raise self.fail(
                    f"agreement.level {level} needs numeric label names, not {p.labels}; use ordinal "
                    f"(the order of `labels`) or nominal"
                ) from None
            cells = np.array([None if v is None else values[v] for v in a.labels.flat], object)
            measured = Annotations(a.items, a.annotators, cells.reshape(a.labels.shape))
        report = _rounded(
            agreement_report(
                measured,
                seed=self.context.seed,
                level=level,
                order=list(range(len(p.labels))),
                resamples=p.resamples,
                confidence=p.confidence,
            )
        )
        report.pop("labels", None)
        if gate is None:
            return report
        value, (low, high) = report.get(gate.key), report["ci"].get(gate.key, [None, None])
        passed = value is not None and value >= gate.min
        report["gate"] = {
            "metric": gate.metric,
            "level": gate.level,
            "min": gate.min,
            "value": value,
            "ci": [low, high],
            "passed": passed,
        }
        if not passed:
            name = METRICS[gate.key]
            measured_text = (
                "is undefined (every annotation has the same label, or no item has two annotations)"
                if value is None
                else f"is {value:.3f} ({p.confidence:.0%} CI {value_text(low)} to "
                f"{value_text(high)}, {p.resamples:,} bootstrap resamples of {report['items']:,} items)"
            )
            others = ", ".join(f"{METRICS[k]} {value_text(report[k])}" for k in report["ci"] if k != gate.key)
            raise self.fail(
                f"agreement below the minimum: {name} {measured_text}, but `agreement.min` of step "
                f"'{self.context.step_id}' is {gate.min} (metric {gate.metric}); the round has "
                f"{report['annotators']} annotators and {report['annotations']:,} annotations ({others}); "
                f"improve the guidelines or the annotations, or lower agreement.min"
            )
        return report

    def aggregated(self, a: Annotations) -> tuple[dict[str, int | None], np.ndarray, dict[str, Any]]:
        """One label id per item, the items that tied, and what the card says about the method."""
        import numpy as np

        from specc.annotation.aggregate import dawid_skene, majority_vote

        p = self.params
        if p.aggregate == "dawid-skene":
            estimate = dawid_skene(a)
            posterior = round(float(estimate.posteriors.max(axis=1).mean()), DIGITS) if a.items else None
            info = {
                "method": "dawid-skene",
                "iterations": estimate.iterations,
                "converged": estimate.converged,
                "mean_posterior": posterior,
            }
            return dict(zip(a.items, estimate.labels)), np.zeros(len(a.items), bool), info
        vote = majority_vote(a, TIE_BREAKS[p.tie_break])
        info = {"method": "majority", "tie_break": p.tie_break, "ties": int(vote.ties.sum())}
        return dict(zip(a.items, vote.labels)), vote.ties, info

    # --- the step -------------------------------------------------------------------------------

    def collect(
        self, table: pa.Table, keys: list[str | None], present: list[AnnotationFile]
    ) -> tuple[Annotations, list[tuple[str, Problem]], dict[str, Any]]:
        """The round's annotations of items in the data, by the annotators kept after the gold items."""
        from specc.annotation.readers import match_items

        p = self.params
        a, problems, files = self.read_round(present)
        a, unmatched = match_items(a, [k for k in keys if k is not None])
        problems += [(", ".join(f.path for f in present), problem) for problem in unmatched]
        if unmatched and p.unmatched == "fail":
            shown = ", ".join(repr(u.item) for u in unmatched[:EXAMPLES])
            raise self.fail(
                f"{len(unmatched):,} annotated item(s) are not in the data (column '{p.key}'): {shown}; "
                f"check `key` and the files' item column, or set `unmatched: report`"
            )
        info: dict[str, Any] = {"rows": table.num_rows, "files": files}
        if p.gold is not None:
            excluded, info["gold"] = self.gold_report(a, self.gold_labels(table, keys))
            kept = [name for name in a.annotators if name not in excluded]
            if a.annotators and not kept:
                raise self.fail(
                    f"every annotator is below gold.min_accuracy {p.gold.min_accuracy}; check the gold "
                    f"labels, or lower the minimum"
                )
            a = a.subset(annotators=kept)
        a = a.subset(items=[item for item, n in zip(a.items, a.annotations_per_item()) if n > 0])
        info["annotators"] = {name: int(n) for name, n in zip(a.annotators, (a.codes() >= 0).sum(axis=0))}
        return a, problems, info

    def apply(self, table: pa.Table) -> StepResult:
        """The rows with the round's label; rows dropped by the round's rules are counted by reason."""
        from specc.annotation.agreement import per_item_agreement

        p = self.params
        keys = self.keys(table)
        missing = [f for f in p.results if not self.context.path(f.path).is_file()]
        a, problems, info = self.collect(table, keys, [f for f in p.results if f not in missing])
        info["pending"] = [f.path for f in missing]
        if missing and p.pending == "fail":
            self.export(table, keys, a, set(), info)
            raise self.fail(self.pending_message(missing, info))
        info["agreement"] = self.agreement(a)
        labels, ties, info["aggregate"] = self.aggregated(a)
        shares = dict(zip(a.items, per_item_agreement(a).tolist()))
        low, adjudicated = self.low_agreement(a, shares, info)
        labels.update(adjudicated)
        awaiting = low - set(adjudicated)
        adjudicate = p.item_agreement is not None and p.item_agreement.action == "adjudicate"
        self.export(table, keys, a, awaiting if adjudicate else set(), info)
        tied = {item for item, tie in zip(a.items, ties) if tie and labels[item] is None}
        result = self.labelled(table, keys, labels, tied, awaiting, shares, drop_unannotated=not missing)
        kept_labels = self.column(result.table, p.column).fill_null(-1).to_numpy()
        info["by_label"] = label_counts(kept_labels, p.labels)
        info["problems"] = _problem_summary(problems)
        if p.audit is not None:
            info["audit"] = self.audit(result.table, kept_labels)
        if p.guidelines is not None:
            info["guidelines"] = {"path": p.guidelines, "sha256": self.sha256(p.guidelines), "url": p.guidelines_url}
            if p.guidelines_url is None:  # the card links a copy inside the output folder
                info["guidelines"]["copy"] = self.guidelines_copy()
                info["attachments"] = [
                    {"path": info["guidelines"]["copy"], "from": p.guidelines, "sha256": info["guidelines"]["sha256"]}
                ]
        result.info = info
        return result

    def labelled(
        self,
        table: pa.Table,
        keys: list[str | None],
        labels: dict[str, int | None],
        tied: set[str],
        below: set[str],
        shares: dict[str, float],
        drop_unannotated: bool,
    ) -> StepResult:
        """The rows with their label (and flag or agreement columns), and what is dropped for which reason."""
        import numpy as np
        import pyarrow as pa

        p = self.params
        rule = p.item_agreement
        action = rule.action if rule else None
        found = [None if k is None else labels.get(k) for k in keys]
        ids = np.array([-1 if label is None else label for label in found], np.int64)
        masks: dict[str, np.ndarray] = {}
        if p.unannotated == "drop" and drop_unannotated:
            masks["not annotated"] = np.array([k not in labels for k in keys])
            masks["tied vote"] = np.array([k in tied for k in keys])
        is_below = np.array([k in below for k in keys])
        if action in ("drop", "adjudicate"):
            masks["low agreement" if action == "drop" else "awaiting adjudication"] = is_below
        table = write_column(table, p.column, pa.array(ids, pa.int64(), mask=ids < 0))
        if rule is not None and rule.action == "flag":
            flagged = [None if k not in shares else bool(b) for k, b in zip(keys, is_below)]
            table = write_column(table, rule.column, pa.array(flagged, pa.bool_()))
        if p.agreement_column is not None:
            values = [None if k is None else shares.get(k) for k in keys]
            table = write_column(table, p.agreement_column, pa.array(values, pa.float64()))
        gone = np.zeros(table.num_rows, bool)
        dropped = {}
        for reason, mask in masks.items():
            dropped[reason] = pa.array(mask & ~gone)
            gone |= mask
        return StepResult(table.filter(pa.array(~gone)), dropped)

    def low_agreement(
        self, a: Annotations, shares: dict[str, float], info: dict[str, Any]
    ) -> tuple[set[str], dict[str, int | None]]:
        """The items below the per-item threshold, and adjudicated labels that replace aggregated ones."""
        from specc.annotation.aggregate import majority_vote
        from specc.annotation.readers import match_items

        rule = self.params.item_agreement
        if rule is None:
            return set(), {}
        low = {item for item, share in shares.items() if share < rule.min}
        report: dict[str, Any] = {"min": rule.min, "action": rule.action, "below": len(low)}
        adjudicated: dict[str, int | None] = {}
        if rule.adjudicated is not None and self.context.path(rule.adjudicated.path).is_file():
            decisions, problems, files = self.read_round([rule.adjudicated])
            decisions, unmatched = match_items(decisions, a.items)
            vote = majority_vote(decisions, "lowest")
            adjudicated = {item: label for item, label in zip(decisions.items, vote.labels) if label is not None}
            report["adjudicated"] = {
                **files[0],
                "items": len(adjudicated),
                "unmatched": len(unmatched),
                "problems": _problem_summary(problems),
            }
        report["awaiting"] = len(low - set(adjudicated)) if rule.action == "adjudicate" else 0
        info["item_agreement"] = report
        return low, adjudicated

    def export(
        self, table: pa.Table, keys: list[str | None], a: Annotations, adjudicate: set[str], info: dict[str, Any]
    ) -> None:
        """Write the items no one annotated yet, and those to adjudicate with their votes, for the annotators."""
        from specc.annotation.readers import write_annotation_csv, write_label_studio_tasks

        p = self.params
        if p.export is None:
            return
        texts = self.column(table, p.export.text).to_pylist()
        folder = self.context.path(p.export.dir)
        counts = dict(zip(a.items, a.counts().tolist()))
        todo, review, seen = [], [], set()
        for key, text in zip(keys, texts):
            if key is None or key in seen:
                continue
            seen.add(key)
            row = {p.key: key, p.export.text: text}
            if key not in counts:
                todo.append(row)
            elif key in adjudicate:
                votes = sorted(zip(a.categories, counts[key]), key=lambda v: (-v[1], v[0]))
                review.append({**row, "votes": ", ".join(f"{p.labels[label]} {n}" for label, n in votes if n)})
        written = {}
        for stem, rows, extra in (("tasks", todo, ()), ("adjudication", review, ("votes",))):
            if stem == "adjudication" and not rows and not (folder / "adjudication.json").exists():
                continue
            write_label_studio_tasks(rows, folder / f"{stem}.json", p.export.text, p.key, extra=extra)
            write_annotation_csv(rows, folder / f"{stem}.csv", p.export.text, p.key, extra=extra)
            written[stem] = len(rows)
        info["export"] = {
            "dir": p.export.dir,
            "tasks": written["tasks"],
            "adjudication": written.get("adjudication", 0),
        }

    def pending_message(self, missing: list[AnnotationFile], info: dict[str, Any]) -> str:
        """What to do when the annotators' files are not there yet."""
        names = ", ".join(f.path for f in missing)
        export = self.params.export
        if export is None:
            where = "set `export: {dir: ...}` to have the items to annotate written for the annotators"
        else:
            where = (
                f"the {info['export']['tasks']:,} items to annotate were written to {export.dir}/tasks.json "
                f"(Label Studio import) and {export.dir}/tasks.csv"
            )
        return (
            f"no annotations yet: {names} not found; {where}; put the annotators' file(s) there and build again, "
            f"or set `pending: unlabeled` to build meanwhile without these labels"
        )

    def audit(self, table: pa.Table, labels: np.ndarray) -> dict[str, Any]:
        """Write the audit sample of labelled rows; the estimated accuracy once verdicts exist."""
        from specc.annotation.readers import write_csv
        from specc.builtins.annotation.audit import audit_report, read_verdicts, sample_rows

        p = self.params
        audit = p.audit
        assert audit is not None
        rows = sample_rows(self.context.row_seeds(table.column("_id")), labels >= 0, audit.size)
        keys = self.keys(table)
        shown = [self.column(table, c).to_pylist() for c in audit.columns]
        sampled, lines = [], []
        for n in rows.tolist():
            if keys[n] in sampled:
                continue
            sampled.append(keys[n])
            lines.append([keys[n], p.labels[labels[n]], *(values[n] for values in shown), ""])
        write_csv(self.context.path(audit.sample), [p.key, p.column, *audit.columns, "verdict"], lines)
        verdicts = None
        if audit.verdicts is not None and self.context.path(audit.verdicts).is_file():
            verdicts = read_verdicts(self.context.path(audit.verdicts), audit.verdicts, p.key)
        return {
            "sample": audit.sample,
            "verdicts": audit.verdicts,
            "size": audit.size,
            **audit_report(sampled, verdicts, audit.confidence),
        }


def _problem_summary(problems: list[tuple[str, Problem]]) -> dict[str, Any]:
    """Problems counted by kind, with the first few in words."""
    from specc.annotation.readers import count_kinds

    return {
        "count": count_kinds(problem for _, problem in problems),
        "examples": [problem.message(where) for where, problem in problems[:EXAMPLES]],
    }
