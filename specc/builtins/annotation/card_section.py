"""The card's Annotation section: what the rule labelers and human rounds of the build did, from stats.json."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from specc.annotation.agreement import METRICS, metric_key, value_text
from specc.card.cells import cell_text
from specc.components import CardData, CardSection

if TYPE_CHECKING:
    from specc.stats import Step

METRIC_NAMES = {key: name[0].upper() + name[1:] for key, name in METRICS.items()}
TIE_BREAK_TEXT = {
    "first-listed": "a tie goes to the tied label listed first in the step's labels",
    "most-common": "a tie goes to the tied label given most often in the whole round",
    "abstain": "a tie leaves the item without a label",
}
ACTION_TEXT = {
    "flag": "flagged in column `{column}`",
    "drop": "dropped (reason `low agreement`)",
    "adjudicate": "exported for adjudication and left out until adjudicated (reason `awaiting adjudication`)",
}
UNANNOTATED_TEXT = {"drop": "dropped (reason `not annotated`)", "keep": "kept without a label"}


def _interval(ci: list[float | None]) -> str:
    return "n/a" if None in ci else f"{ci[0]:.3f} – {ci[1]:.3f}"


def _share(n: int, total: int) -> str:
    return f"{n:,} ({100 * n / total:.1f}%)" if total else f"{n:,}"


def _table(header: list[str], align: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    return lines + ["| " + " | ".join(cell_text(str(c)) for c in row) + " |" for row in rows]


def rules_markdown(step: Step) -> list[str]:
    """A rules step: coverage, overlaps and conflicts per rule and overall, and the labels given."""
    params, info = step.params, step.info or {}
    rows = info["rows"]
    combine = (
        "vote: the label most of the matching rules give (a tie leaves the row unlabelled)"
        if params["combine"] == "vote"
        else "first match: the label of the first matching rule listed"
    )
    table = []
    for name, rule in zip(info["by_rule"], params["rules"]):
        counts = info["by_rule"][name]
        matches = f"keywords: {', '.join(rule['keywords'])}" if rule.get("keywords") else f"regex `{rule['regex']}`"
        table.append(
            [
                f"`{name}`",
                rule["label"],
                matches,
                _share(counts["covered"], rows),
                _share(counts["overlaps"], rows),
                _share(counts["conflicts"], rows),
            ]
        )
    given = ", ".join(f"{label} {n:,}" for label, n in info["by_label"].items())
    ties = f" ({info['ties']:,} of them vote ties)" if info["ties"] else ""
    lines = [
        f"### Rules: `{step.id}`",
        "",
        f"{len(table)} keyword and regex rules label column `{params['column']}` ({params['mode']} mode), "
        f"combined by {combine}. Of {rows:,} rows, {_share(info['covered'], rows)} are matched by at least one "
        f"rule, {_share(info['overlaps'], rows)} by two or more (overlaps) and {_share(info['conflicts'], rows)} "
        f"by rules that give different labels (conflicts). The rules labelled {info['labelled']:,} rows "
        f"({given}); {info['unlabeled']:,} rows have no label{ties}.",
        "",
    ]
    return lines + _table(
        ["Rule", "Label", "Matches", "Coverage", "Overlaps", "Conflicts"],
        ["---", "---", "---", "---:", "---:", "---:"],
        table,
    )


def _guidelines(info: dict[str, Any]) -> list[str]:
    """The guidelines, linked at their URL or at the copy inside the output folder (where the card is)."""
    guidelines = info.get("guidelines")
    if not guidelines:
        return ["No annotation guidelines are named in the spec.", ""]
    link = guidelines["url"] or guidelines.get("copy")  # an output built before copies has neither: no link
    named = f"[`{guidelines['path']}`]({link})" if link else f"`{guidelines['path']}`"
    return [
        f"Guidelines: {named}, SHA-256 `{guidelines['sha256']}` (pinned in the lock).",
        "",
    ]


def _files(info: dict[str, Any]) -> list[str]:
    rows = [
        [
            f"`{f['path']}`",
            f["format"],
            f"{f['items']:,}",
            f"{f['annotators']:,}",
            f"{f['annotations']:,}",
            f"`{f['sha256']}`",
        ]
        for f in info["files"]
    ]
    lines = _table(
        ["Annotation file", "Format", "Items", "Annotators", "Annotations", "SHA-256"],
        ["---", "---", "---:", "---:", "---:", "---"],
        rows,
    ) + [""]
    if info["pending"]:
        lines += [
            f"**Annotations pending**: {', '.join(f'`{p}`' for p in info['pending'])} did not exist at build "
            f"time; the rows they would label were built without a label.",
            "",
        ]
    return lines


def _annotators(info: dict[str, Any]) -> list[str]:
    gold = info.get("gold")
    agreement = info.get("agreement") or {}
    per_item = agreement.get("annotations_per_item")
    counts = info["annotators"]
    lines = []
    if per_item:
        lines += [
            f"{len(counts):,} annotators gave {agreement['annotations']:,} annotations on {agreement['items']:,} "
            f"items of the data ({per_item['mean']:.1f} per item, min {per_item['min']:,}, max "
            f"{per_item['max']:,}).",
            "",
        ]
    if gold is None:
        return lines + [
            "Annotations per annotator: " + ", ".join(f"`{name}` {n:,}" for name, n in counts.items()) + ".",
            "",
        ]
    rows = [
        [
            f"`{name}`",
            f"{g['items']:,}",
            value_text(g["accuracy"]),
            "excluded" if name in gold["excluded"] else "kept",
            f"{counts.get(name, 0):,}",
        ]
        for name, g in gold["annotators"].items()
    ]
    excluded = ", ".join(f"`{name}`" for name in gold["excluded"]) or "none"
    lines += [
        f"Each annotator's accuracy on the {gold['items']:,} gold items (from {gold['source']}) that they "
        f"labelled; annotators below {gold['min_accuracy']} were excluded before aggregation and agreement: "
        f"{excluded}.",
        "",
    ]
    return (
        lines
        + _table(
            ["Annotator", "Gold items", "Accuracy", "Status", "Annotations used"],
            ["---", "---:", "---:", "---", "---:"],
            rows,
        )
        + [""]
    )


def _agreement(info: dict[str, Any]) -> list[str]:
    report = info.get("agreement")
    if not report:
        return ["Agreement was not measured: no annotations matched the data.", ""]
    boot = report["bootstrap"]
    rows = [[METRIC_NAMES[key], value_text(report[key]), _interval(ci)] for key, ci in report["ci"].items()]
    return (
        [
            f"Agreement of the annotations used, with {boot['confidence']:.0%} percentile bootstrap intervals over "
            f"items ({boot['resamples']:,} resamples, seed {boot['seed']}):",
            "",
        ]
        + _table(["Metric", "Value", f"{boot['confidence']:.0%} CI"], ["---", "---:", "---"], rows)
        + [""]
    )


def _gates(params: dict[str, Any], info: dict[str, Any]) -> list[str]:
    rows = []
    gate = (info.get("agreement") or {}).get("gate")
    if gate is not None:
        name = METRIC_NAMES[metric_key(gate["metric"], gate["level"])]
        measured = f"{value_text(gate['value'])} (CI {_interval(gate['ci'])})"
        rows.append(["agreement", f"{name} ≥ {gate['min']}", measured, "passed" if gate["passed"] else "failed"])
    elif params.get("agreement") is not None:
        rows.append(
            [
                "agreement",
                f"{params['agreement']['metric']} ≥ {params['agreement']['min']}",
                "not measured",
                "not checked (annotations pending)",
            ]
        )
    low = info.get("item_agreement")
    if low is not None:
        outcome = ACTION_TEXT[low["action"]].format(column=params["item_agreement"]["column"])
        if low["action"] == "adjudicate":
            done = (low.get("adjudicated") or {}).get("items", 0)
            outcome += f"; {done:,} adjudicated, {low['awaiting']:,} awaiting adjudication"
        rows.append(
            [
                "item agreement",
                f"share of an item's annotations agreeing with its most common label ≥ {low['min']}",
                f"{low['below']:,} items below",
                outcome,
            ]
        )
    if not rows:
        return []
    return ["Gates:", ""] + _table(["Gate", "Rule", "Measured", "Outcome"], ["---", "---", "---", "---"], rows) + [""]


def _aggregation(params: dict[str, Any], info: dict[str, Any]) -> list[str]:
    method = info.get("aggregate")
    if method is None:
        return []
    if method["method"] == "majority":
        ties = f"{method['ties']:,} tie{'' if method['ties'] == 1 else 's'}"
        text = f"Labels are aggregated by majority vote; {TIE_BREAK_TEXT[method['tie_break']]} ({ties})."
    else:
        text = (
            f"Labels are aggregated by Dawid-Skene EM ({method['iterations']} iterations, "
            f"{'converged' if method['converged'] else 'not converged'}); the mean posterior probability of the "
            f"chosen label is {value_text(method['mean_posterior'])}."
        )
    given = ", ".join(f"{label} {n:,}" for label, n in info["by_label"].items())
    return [f"{text} Rows kept per label in column `{params['column']}`: {given}.", ""]


def _matching(params: dict[str, Any], info: dict[str, Any]) -> list[str]:
    problems = info["problems"]
    counted = ", ".join(f"{n:,} {kind}" for kind, n in problems["count"].items())
    policy = (
        "kept without a label while annotations are pending"
        if info["pending"]
        else UNANNOTATED_TEXT[params["unannotated"]]
    )
    lines = [
        f"Rows are matched to annotations by column `{params['key']}`; rows without annotations are {policy}. "
        + (
            f"Annotations not taken as they stood: {counted} (examples below)."
            if counted
            else "Every annotation in the files was used (no duplicates, no unmatched items)."
        ),
        "",
    ]
    lines += [f"- {cell_text(example)}" for example in problems["examples"]]
    return lines + ([""] if problems["examples"] else [])


def _exports(info: dict[str, Any]) -> list[str]:
    lines = []
    export = info.get("export")
    if export is not None:
        lines.append(
            f"Items still to annotate: {export['tasks']:,}, written to `{export['dir']}/tasks.json` (Label "
            f"Studio import) and `tasks.csv`"
            + (
                f"; items to adjudicate: {export['adjudication']:,}, in `adjudication.json` and `.csv`"
                if export["adjudication"]
                else ""
            )
            + "."
        )
    audit = info.get("audit")
    if audit is not None:
        text = (
            f"Audit: a seeded random sample of {audit['sampled']:,} labelled rows was written to "
            f"`{audit['sample']}` for review. "
        )
        if audit.get("accuracy") is not None:
            text += (
                f"{audit['reviewed']:,} were reviewed ({audit['correct']:,} correct): estimated label accuracy "
                f"{audit['accuracy']:.3f}, {audit['confidence']:.0%} Wilson score interval "
                f"{_interval(audit['ci'])}; {audit['pending']:,} not reviewed yet."
            )
        else:
            text += "No verdicts yet: label accuracy is not estimated."
        lines.append(text)
    return [line for text in lines for line in (text, "")]


def human_markdown(step: Step) -> list[str]:
    """A human round: guidelines, files, annotators, agreement with intervals, gates, aggregation, audit."""
    params, info = step.params, step.info or {}
    return (
        [f"### Human annotation: `{step.id}`", ""]
        + _guidelines(info)
        + _files(info)
        + _annotators(info)
        + _agreement(info)
        + _gates(params, info)
        + _aggregation(params, info)
        + _matching(params, info)
        + _exports(info)
    )


class AnnotationSection(CardSection):
    """Rule labelers (coverage, overlaps, conflicts) and human rounds (guidelines, agreement, gates, audits)."""

    name = "annotation"
    order = 710
    title = "Annotation"

    def render(self, card: CardData) -> str | None:
        """One subsection per rules or human step of the build."""
        parts: list[str] = []
        for step in card.stats.steps:
            if step.stage != "annotate" or step.info is None:
                continue
            if step.type == "rules":
                parts += rules_markdown(step) + [""]
            elif step.type == "human":
                parts += human_markdown(step)
        if not parts:
            return None
        return "\n".join(["## Annotation", ""] + parts).rstrip() + "\n"
