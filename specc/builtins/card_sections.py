"""Built-in card sections, in the order of the Hugging Face dataset card and "Datasheets for Datasets".

| order | name | heading | from |
|---:|---|---|---|
| 100 | summary | the title, description and facts | spec, stats.license |
| 200 | uses | Uses (direct, out of scope) | spec.card |
| 300 | structure | Dataset structure: fields, one example row per split | stats.features, stats.examples |
| 400 | splits | Splits: method, seed, rows per split, source and label, leakage | stats.split |
| 450 | lengths | Text lengths per split | stats.lengths |
| 460 | tokens | Prompt and completion tokens per split, rows over the budget | stats.tokens |
| 500 | plots | Plots | stats.plots |
| 600 | sources | Source data: origin, pins, files | stats.sources |
| 700 | processing | Processing: each step's rows in, out, dropped (and added, and nulls filled) | stats.steps |
| 800 | personal_information | Personal and sensitive information | spec.card |
| 850 | limitations | Bias, risks and limitations | spec.card |
| 870 | citation | Citation: the data set's (`card.citation`) and each source's homepage and BibTeX | spec |
| 900 | reproducibility | Reproducibility: versions, digests, the rebuild command | stats.build, stats.outputs |

Plugins that annotate or augment add their own sections between processing and personal
information (orders 710-790).
"""

from __future__ import annotations

import json
import re
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

from specc.card import render_template
from specc.card.cells import added_text, cell_text, params_text, predefined_text
from specc.components import CardData, CardSection
from specc.leakage import leakage_markdown
from specc.licenses import license_link_file, license_phrase

if TYPE_CHECKING:
    from specc.stats import Leakage, Step

# what the internal columns a build may write mean
INTERNAL_COLUMNS = {
    "_id": "the row's identity, `<source>:<row number>`, kept through every step",
    "_origin_id": "for a row made by augmentation, the `_id` of the row it was made from",
    "_augmenter": "for a row made by augmentation, the augmenter that made it",
    "_parent_id": "for a row exploded from a list in a source row, the `_id` of that row",
}


def _counts_text(counts: dict[str, int]) -> str:
    return ", ".join(f"{n:,} {reason}" for reason, n in sorted(counts.items()))


def _dropped_text(step: Step) -> str:
    """The rows a step dropped per reason, and the nulls it filled per column (`info.filled`) where there were any."""
    text = _counts_text(step.dropped) or "0"
    filled = sorted((column, n) for column, n in ((step.info or {}).get("filled") or {}).items() if n)
    return f"{text}; filled: {', '.join(f'{n:,} in {column}' for column, n in filled)}" if filled else text


def _fills(card: CardData) -> list[dict[str, Any]]:
    """Per step that filled after the split (`impute:`): what it learnt from, and per column how and where it filled."""
    fills = []
    for step in card.stats.steps:
        info = step.info or {}
        if "filled_by_split" not in info:
            continue
        order = list(card.stats.split.splits)
        statistics = info.get("statistics") or {}
        filled = {s for counts in info["filled_by_split"].values() for s in counts}
        splits = order + sorted(filled - set(order))
        rows = []
        for column, how in step.params["columns"].items():
            if column in statistics:
                value = statistics[column]["value"]
                shown = f"{statistics[column]['statistic']} of the training rows: `{value!r}`"
            elif isinstance(how, dict) and "template" in how:
                shown = "template (below)"
            else:
                shown = f"value `{how.get('value') if isinstance(how, dict) else how!r}`"
            counts = info["filled_by_split"].get(column, {})
            rows.append((column, shown, [counts.get(split, 0) for split in splits]))
        training = info.get("training")
        if training is None:
            learnt = ""
        elif training["rows"] == training["of"]:
            learnt = f"all {training['rows']:,} rows (every row is in the training split)"
        else:
            named = ", ".join(f"`{s}`" for s in training["splits"])
            learnt = f"the {training['rows']:,} training rows of {training['of']:,} (split {named})"
        fills.append({"id": step.id, "learnt": learnt, "splits": splits, "rows": rows})
    return fills


def _feature_type(feature: Any) -> str:
    """A feature of `datasets.Features.to_dict()` in words."""
    if isinstance(feature, list):
        return f"list of {_feature_type(feature[0])}" if feature else "list"
    if not isinstance(feature, dict):
        return str(feature)
    kind = feature.get("_type")
    if kind == "Value":
        return str(feature.get("dtype"))
    if kind == "ClassLabel":
        return f"class label ({len(feature.get('names', [])):,} classes)"
    if kind in ("List", "Sequence", "LargeList"):
        return f"list of {_feature_type(feature.get('feature'))}"
    if kind is None:
        return "struct {" + ", ".join(f"{k}: {_feature_type(v)}" for k, v in feature.items()) + "}"
    return kind


def _feature_description(name: str, feature: Any) -> str:
    if name in INTERNAL_COLUMNS:
        return INTERNAL_COLUMNS[name]
    if isinstance(feature, dict) and feature.get("_type") == "ClassLabel":
        return cell_text(", ".join(f"{i} {label}" for i, label in enumerate(feature.get("names", []))))
    if (
        isinstance(feature, dict)
        and feature.get("_type") == "Value"
        and feature.get("dtype") in ("string", "large_string")
    ):
        return "text (lengths under Text lengths)"
    return "values as the sources and steps made them"


LEAKAGE_EXAMPLES = 3  # examples of each kind per pair of splits the card shows (stats.json keeps up to five)


def _ids_text(example: dict[str, Any], split: str) -> str:
    shown, count = example["ids"][split], example["rows"][split]
    more = f" and {count - len(shown):,} more" if count > len(shown) else ""
    return f"{split} {', '.join(f'`{i}`' for i in shown)}{more}"


def _quoted(text: Any) -> str:
    return cell_text(json.dumps(text, ensure_ascii=False))


def _leakage_examples(leakage: Leakage | None) -> list[tuple[str, list[str]]]:
    """A few shared texts per pair of splits: (pair, Markdown list items), pairs without examples left out."""
    if leakage is None:
        return []
    result = []
    for pair, entry in leakage.pairs.items():
        items = [
            f"exact: {_quoted(e['text'])}: {'; '.join(_ids_text(e, s) for s in e['ids'])}"
            for e in entry.examples[:LEAKAGE_EXAMPLES]
        ]
        items += [
            f"near (Jaccard {e['jaccard']}): "
            + "; ".join(f"{_ids_text(e, s)}: {_quoted(e['texts'][s])}" for s in e["ids"])
            for e in (entry.near_examples or [])[:LEAKAGE_EXAMPLES]
        ]
        if items:
            result.append((pair, items))
    return result


def _spec_file(command: str) -> str:
    """The spec's file name, from the build command `specc build NAME`."""
    return command.removeprefix("specc build ").strip()


def fence(text: str) -> str:
    """A Markdown code fence longer than any run of backticks in `text`."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


BUDGET_ACTIONS = {"drop": "dropped", "truncate": "truncated at a token boundary", "error": "an error"}


def _budget(card: CardData) -> dict[str, Any] | None:
    """The token budget's step id, limit, tokenizer and what happened to rows over it, or None."""
    tokens = card.stats.tokens
    step = next((s for s in card.stats.steps if s.stage == "tokens"), None)
    if tokens is None or step is None:
        return None
    return {
        "id": step.id,
        "max_tokens": tokens.max_tokens,
        "tokenizer": tokens.tokenizer,
        "action": BUDGET_ACTIONS.get(tokens.action, tokens.action),
    }


class SummarySection(CardSection):
    """Title, description and the headline facts."""

    name = "summary"
    order = 100

    def render(self, card: CardData) -> str:
        """The card's opening."""
        spec = card.spec
        return render_template(
            "summary.md.j2",
            title=spec.card.pretty_name or spec.name,
            description=spec.description,
            summary=spec.card.summary,
            version=spec.version,
            license=spec.license,
            languages=spec.languages,
            task=spec.task,
            total=sum(out.rows for out in card.stats.outputs),
            draft=spec.card.draft,
            missing_prose=spec.card.missing_prose(),
            licensing=card.stats.license,
            license_phrase=license_phrase(spec.license, getattr(spec, "license_name", None)),
            license_name=getattr(spec, "license_name", None),
            license_link=license_link_file(getattr(spec, "license_link", None)) or getattr(spec, "license_link", None),
        )


class UsesSection(CardSection):
    """What the data set is for and what it must not be used for (the spec's prose)."""

    name = "uses"
    order = 200

    def render(self, card: CardData) -> str | None:
        """Direct and out-of-scope uses, where given."""
        prose = card.spec.card
        parts = [
            (title, text)
            for title, text in (("Direct use", prose.uses), ("Out-of-scope use", prose.out_of_scope))
            if text and text.strip()
        ]
        return render_template("prose.md.j2", title="Uses", parts=parts) if parts else None


def _fields(features: dict[str, Any], formatted: Step | None = None) -> list[tuple[str, str, str]]:
    """(name, type, description) of each field of a configuration; `formatted`: the format step that wrote it."""
    kept = set(formatted.params.get("keep_columns") or []) if formatted is not None else set()
    fields = []
    for name, feature in features.items():
        description = _feature_description(name, feature)
        if formatted is not None and not name.startswith("_") and name not in kept:
            description = f"written by the format step ({formatted.type}) from its templates, shown under Processing"
        fields.append((name, cell_text(_feature_type(feature)), description))
    return fields


def _examples(card: CardData) -> list[tuple[str, str, str, list[tuple[str, Any, str]]]]:
    """The first row of each split of the written rows: (split, file, JSON, the class names of label ids)."""
    features = card.stats.features
    labels = {
        name: f["names"] for name, f in features.items() if isinstance(f, dict) and f.get("_type") == "ClassLabel"
    }
    examples = []
    for out in card.stats.outputs:
        row = card.stats.examples.get(out.split)
        if row is None:
            continue
        named = [
            (c, row[c], labels[c][row[c]])
            for c in labels
            if isinstance(row.get(c), int) and 0 <= row[c] < len(labels[c])
        ]
        examples.append((out.split, out.path, json.dumps(row, indent=2, ensure_ascii=False), named))
    return examples


def _folder(paths: list[str]) -> str:
    """The folder that holds a configuration's files, as a glob (`data/classification/*.parquet`)."""
    folders = sorted({str(PurePosixPath(p).parent) for p in paths})
    return ", ".join(f"`{folder}/*.parquet`" for folder in folders)


class StructureSection(CardSection):
    """Every configuration with its splits and fields, and the first row of each split."""

    name = "structure"
    order = 300

    def render(self, card: CardData) -> str:
        """The configurations table (when there are several), each one's fields, and the example records."""
        views: list[dict[str, Any]] = []
        formatted = next((step for step in card.stats.steps if step.stage == "format"), None)
        for index, view in enumerate(card.stats.views()):
            rows = {out.split: out.rows for out in view.outputs}
            configurations = [
                (
                    name,
                    [(split, sum(rows[m] for m in members)) for split, members in parts.items()],
                    _folder([out.path for out in view.outputs]),
                )
                for name, parts in view.configurations.items()
            ]
            views.append(
                {
                    "names": list(view.configurations),
                    "configurations": configurations,
                    "fields": _fields(view.features, formatted if index == 0 else None),
                    "before_format": index > 0,
                }
            )
        return render_template(
            "structure.md.j2",
            views=views,
            several=sum(len(v["names"]) for v in views) > 1,
            fields=views[0]["fields"],
            examples=_examples(card),
            splits=len(card.stats.outputs),
            total=sum(o.rows for o in card.stats.outputs),
        )


class SplitsSection(CardSection):
    """Split method and seed, rows per split, per source and per label."""

    name = "splits"
    order = 400

    def render(self, card: CardData) -> str:
        """The split tables."""
        split = card.stats.split
        splits = [(out.split, split.splits[out.split]) for out in card.stats.outputs]
        labels = []
        for column, names in sorted(card.stats.label_names.items()):
            rows = [(label, [info.by_label.get(column, {}).get(label, 0) for _, info in splits]) for label in names]
            labels.append((column, rows))
        params = {k: v for k, v in split.params.items() if k != "leakage"}
        predefined = split.method == "predefined"
        return render_template(
            "splits.md.j2",
            method=split.method,
            predefined=predefined_text(params) if predefined else None,
            seed=None if predefined else split.seed,
            params_text=params_text(params) if params and not predefined else "",
            splits=splits,
            source_names=sorted(card.stats.sources),
            labels=labels,
            total=sum(info.rows for _, info in splits),
            configurations=split.configurations or {},
            leakage=split.leakage,
            leakage_table=leakage_markdown(split.leakage.model_dump()),
            leakage_examples=_leakage_examples(split.leakage),
            examples_shown=LEAKAGE_EXAMPLES,
        )


class LengthsSection(CardSection):
    """Characters per row of each text column, per split."""

    name = "lengths"
    order = 450

    def render(self, card: CardData) -> str | None:
        """One table per text column."""
        lengths = card.stats.lengths
        if not lengths:
            return None
        order = [out.split for out in card.stats.outputs]
        tables = [
            (column, [(s, per_split[s]) for s in order if s in per_split]) for column, per_split in lengths.items()
        ]
        return render_template("lengths.md.j2", tables=tables)


class TokensSection(CardSection):
    """Prompt and completion tokens per split, and the rows over the format's token budget."""

    name = "tokens"
    order = 460

    def render(self, card: CardData) -> str | None:
        """One table: each split's prompt, completion and total tokens."""
        tokens = card.stats.tokens
        if tokens is None:
            return None
        action = {
            "drop": "dropped (see Processing)",
            "error": "an error (there were none)",
            "truncate": "truncated: the completion cut at a token boundary (rows whose prompt alone is over "
            "were dropped, see Processing)",
        }[tokens.action]
        rows = [(split, list(parts.items())) for split, parts in tokens.splits.items()]
        return render_template("tokens.md.j2", tokens=tokens, rows=rows, action=action)


class PlotsSection(CardSection):
    """Label distribution and text length histograms per split, as PNG files beside the data."""

    name = "plots"
    order = 500

    def render(self, card: CardData) -> str | None:
        """The plots, linked."""
        plots = card.stats.plots
        return render_template("plots.md.j2", plots=plots) if plots else None


class SourcesSection(CardSection):
    """Every source with where it comes from (path, Hub commit or URL), its files, hashes, license and rows read."""

    name = "sources"
    order = 600

    def render(self, card: CardData) -> str:
        """The source tables."""
        sources = []
        for name, source in sorted(card.stats.sources.items()):
            pins = source.pins
            if pins.get("repo") and pins.get("revision"):
                origin = (
                    f"Hugging Face Hub [`{pins['repo']}`](https://huggingface.co/datasets/{pins['repo']}) at "
                    f"commit `{pins['revision']}`"
                )
                if pins.get("requested") and pins["requested"] != pins["revision"]:
                    origin += f" (`{pins['requested']}` when locked)"
                details = [f"{k} `{pins[k]}`" for k in ("config", "split") if pins.get(k)]
                origin += f", {', '.join(details)}" if details else ""
            elif pins.get("url"):
                origin = f"<{pins['url']}>, SHA-256 `{pins.get('sha256', '')}`"
            elif source.files:
                files = source.files
                origin = f"{len(files):,} local file{'s' if len(files) != 1 else ''}"
            else:
                origin = f"made by the `{source.type}` source, from no files"
            sources.append((name, source, cell_text(origin)))
        unsplit = "train (no split step)" if card.stats.split.method == "source" else "assigned by the split step"
        return render_template(
            "sources.md.j2",
            sources=sources,
            unsplit=unsplit,
            any_files=any(source.files for _, source, _ in sources),
        )


class ProcessingSection(CardSection):
    """The processing funnel: each step with parameters and rows in, out, dropped (and added, and nulls filled),
    per source."""

    name = "processing"
    order = 700

    def render(self, card: CardData) -> str | None:
        """The funnel table, overall and per source."""
        steps = [
            {
                "id": step.id,
                "type": step.type,
                "rows_in": step.rows_in,
                "rows_out": step.rows_out,
                "params_text": params_text({k: v for k, v in step.params.items() if k not in (step.texts or {})})
                + ("; templates below" if step.texts else ""),
                "dropped_text": _dropped_text(step),
                "added_text": added_text(step.added or {}),
            }
            for step in card.stats.steps
        ]
        if not steps:
            return None
        names = sorted(card.stats.sources)
        per_source = []
        for step in card.stats.steps:
            if not step.by_source:
                continue
            cells = []
            for name in names:
                counts = step.by_source.get(name)
                if counts is None:
                    cells.append("0 → 0")
                    continue
                dropped = _counts_text(counts.dropped)
                cells.append(f"{counts.rows_in:,} → {counts.rows_out:,}" + (f" ({dropped})" if dropped else ""))
            per_source.append((step.id, cells))
        read = {name: card.stats.sources[name].rows for name in names}
        described = [
            {
                "id": step.id,
                "type": step.type,
                "stage": step.stage,
                "texts": [(name, [(text, fence(text)) for text in texts]) for name, texts in step.texts.items()],
            }
            for step in card.stats.steps
            if step.texts
        ]
        return render_template(
            "processing.md.j2",
            steps=steps,
            source_names=names,
            read=read,
            total_read=sum(read.values()),
            per_source=per_source,
            any_added=any(step.added for step in card.stats.steps),
            described=described,
            fills=_fills(card),
            budget=_budget(card),
        )


class PersonalInformationSection(CardSection):
    """Whether rows hold personal or sensitive data, and what was done about it (the spec's prose)."""

    name = "personal_information"
    order = 800

    def render(self, card: CardData) -> str | None:
        """The spec's words, where given."""
        text = card.spec.card.personal_information
        if not (text and text.strip()):
            return None
        return render_template("prose.md.j2", title="Personal and sensitive information", parts=[(None, text)])


class LimitationsSection(CardSection):
    """Bias, risks and limitations (the spec's prose)."""

    name = "limitations"
    order = 850

    def render(self, card: CardData) -> str | None:
        """The spec's words, where given."""
        text = card.spec.card.limitations
        if not (text and text.strip()):
            return None
        return render_template("prose.md.j2", title="Bias, risks and limitations", parts=[(None, text)])


class CitationSection(CardSection):
    """How to cite the data set (the spec's `card.citation`) and each source (its `homepage` and `citation`)."""

    name = "citation"
    order = 870

    def render(self, card: CardData) -> str:
        """The data set's citation, then the sources', those with the same homepage and citation together."""
        spec = card.spec
        grouped: dict[tuple[str | None, str | None], list[str]] = {}
        uncited = []
        for name, source in sorted(card.stats.sources.items()):
            entry = spec.sources.get(name)
            homepage = getattr(entry, "homepage", None)
            if homepage is None and source.pins.get("repo"):
                homepage = f"https://huggingface.co/datasets/{source.pins['repo']}"
            elif homepage is None and source.pins.get("url"):
                homepage = source.pins["url"]
            citation = (getattr(entry, "citation", None) or "").strip() or None
            if homepage is None and citation is None:
                uncited.append(name)
            else:
                grouped.setdefault((homepage, citation), []).append(name)
        own = (getattr(spec.card, "citation", None) or "").strip() or None
        return render_template(
            "citation.md.j2",
            own=own,
            own_fence=fence(own or ""),
            total=len(card.stats.sources),
            cited=[
                (names, homepage, citation, fence(citation or "")) for (homepage, citation), names in grouped.items()
            ],
            uncited=uncited,
        )


class ReproducibilitySection(CardSection):
    """Versions, the spec's digest, the lock, output digests and the command that rebuilds it."""

    name = "reproducibility"
    order = 900

    def render(self, card: CardData) -> str:
        """How to rebuild exactly this data set."""
        build = card.stats.build
        spec_file = _spec_file(build.command)
        lock_file = PurePosixPath(spec_file).with_suffix(".lock").name  # as specc.lock.lock_path names it
        return render_template(
            "reproducibility.md.j2",
            specc_version=build.specc_version,
            spec_sha256=build.spec_sha256,
            spec_file=spec_file,
            lock_file=lock_file,
            fingerprint=build.fingerprint,
            plugins=build.plugins,
            outputs=card.stats.outputs,
        )
