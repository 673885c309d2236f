"""Publishing a run: its output folder's data, stats.json, plots, card and Croissant, then the self-check."""

from __future__ import annotations

import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from specc.components import Formatter
from specc.errors import SpeccError
from specc.licenses import license_report
from specc.output import (
    DATA_DIR,
    LLAMA_FACTORY_FILE,
    build_info,
    features_for,
    labelled_rows,
    llama_factory_info,
    split_parts,
    split_stats,
    write_classification,
    write_json,
    write_split,
)
from specc.paths import spec_paths
from specc.pins import sha256_file, shown_path
from specc.stats import CLASSIFICATION, STATS_FILE, BuildStats, build_stats

if TYPE_CHECKING:
    from specc.compiler import Plan
    from specc.executor import Staged


def described_steps(plan: Plan, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The step records with the texts each step's component shows readers (`Component.describe`), where any."""
    steps = {step.id: step for step in plan.steps}
    described = []
    for record in records:
        step = steps.get(record["id"])
        texts = plan.instantiate(step).describe() if step is not None and step.component is not None else {}
        described.append({**record, "texts": texts} if texts else record)
    return described


def attach_files(folder: Path, spec_dir: Path, stats: BuildStats) -> None:
    """Copy the spec's files the card links (a human round's guidelines) into the output folder.

    A step asks for it in its `info` as `attachments: [{path, from, sha256}]`: `path` inside the output folder,
    `from` relative to the spec's folder, `sha256` the bytes pinned when the build began. A card published on
    the Hub can only link files that travel with it.
    """
    from specc.card.croissant import CROISSANT_FILE
    from specc.card.plots import PLOTS_DIR
    from specc.staging import MARKER

    reserved = {"README.md", STATS_FILE, CROISSANT_FILE, DATA_DIR, PLOTS_DIR, LLAMA_FACTORY_FILE, MARKER}
    for step in stats.steps:
        for attachment in (step.info or {}).get("attachments", []):
            where = PurePosixPath(attachment["path"])
            if where.is_absolute() or ".." in where.parts or where.parts[0] in reserved:
                raise SpeccError(
                    f"error: step '{step.id}' asks to attach '{where}', which is not a new file inside the output "
                    f"folder (taken: {', '.join(sorted(reserved))}); this is a bug in the step's plugin"
                )
            target = folder / where
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(spec_dir / attachment["from"], target)  # the bytes, never a link
            if sha256_file(target) != attachment["sha256"]:
                raise SpeccError(
                    f"error: {attachment['from']} changed during the build (step '{step.id}' pinned SHA-256 "
                    f"{attachment['sha256'][:12]} when it began); build again"
                )


def _without_machine_paths(data: Any, plan: Plan) -> Any:
    """`data` with each absolute path the spec wrote (allowed by `allow_external_paths`) named as the lock names it:
    by its file name, its SHA-256 pinned beside it. An output folder to publish names no folder of this machine."""
    written = {v for s in plan.steps if s.params is not None for v in spec_paths(s.params) if os.path.isabs(v)}
    names = sorted(((v, shown_path(Path(v), plan.spec.dir)) for v in written), key=lambda pair: -len(pair[0]))

    def shown(value: Any) -> Any:
        if isinstance(value, str):
            for path, name in names:
                value = value.replace(path, name)
            return value
        if isinstance(value, dict):
            return {k: shown(v) for k, v in value.items()}
        return [shown(v) for v in value] if isinstance(value, list) else value

    return shown(data) if names else data


def write_outputs(staged: Staged) -> BuildStats:
    """Write every split, stats.json, plots, the card and croissant.json into the staging folder, then check them.

    Each evaluator's result gets a confusion matrix plot per scored split; the classification table is
    written as a second configuration; a formatter with a LLaMA-Factory layout gets a dataset_info.json
    beside the data. This is `BuildOptions.publish` for `specc build`: the executor calls it before it
    moves the staging folder into place.
    """
    from specc.card import card_statistics, copy_license_file, render_card
    from specc.card.croissant import write_croissant
    from specc.card.plots import target_plot, write_plots
    from specc.plugins import get_registry
    from specc.regression import TARGET, is_regression, target_summary, targets
    from specc.selfcheck import check_output

    staged.report("writing the splits and plots")
    plan, table, folder, unformatted = staged.plan, staged.table, staged.folder, staged.unformatted
    split_order, label_names = staged.split_order, staged.label_names
    spec = plan.spec
    features = features_for(table, label_names)
    parts = split_parts(table, split_order)
    labelled = split_parts(labelled_rows(table, unformatted), split_order)
    splits = {split: split_stats(part, labelled[split], label_names) for split, part in parts.items()}
    # Plots are drawn while the Parquet writer (which releases the GIL) works on the other core.
    feature_dict = features.to_dict()
    by_label = {split: counts["by_label"] for split, counts in splits.items()}
    with ThreadPoolExecutor(1) as pool:
        plots = pool.submit(write_plots, folder, feature_dict, label_names, by_label, parts)
        outputs = [write_split(part, folder, split, features) for split, part in parts.items()]
        plots_written = plots.result()
    stats = {
        "build": build_info(plan),
        "sources": staged.sources,
        "steps": described_steps(plan, staged.steps),
        "split": {**staged.split_info, "splits": splits},
        "label_names": label_names,
        "features": feature_dict,
        "outputs": outputs,
        "license": license_report(spec.model),
        "plots": plots_written,
    }
    if is_regression(spec.model):
        stats["target"] = target_summary(labelled, TARGET)
        stats["plots"].append(
            target_plot(
                folder, TARGET, {s: targets(t.column(TARGET)) for s, t in labelled.items() if TARGET in t.column_names}
            )
        )
    if staged.tokens:
        stats["tokens"] = staged.tokens
    if staged.classification is not None:
        stats[CLASSIFICATION] = write_classification(staged.classification, folder, split_order, label_names)
    if staged.evaluations:
        from specc.card.evaluation_plots import confusion_plots

        stats["evaluate"] = {
            step_id: {**result, "plots": confusion_plots(folder, step_id, result)} if "task" not in result else result
            for step_id, result in staged.evaluations.items()
        }
    formats = plan.stage("format")
    layout = plan.instance(formats[0], Formatter).llama_factory() if formats else None
    if layout:
        write_json(folder / LLAMA_FACTORY_FILE, llama_factory_info(spec.model.name, layout, outputs))
    staged.report("writing stats.json, the card and croissant.json")
    stats.update(card_statistics(table, split_order))  # text lengths and one example row per split
    attach_files(folder, spec.dir, build_stats(stats))
    built = build_stats(_without_machine_paths(stats, plan))
    write_json(folder / STATS_FILE, built.json_data())
    (folder / "README.md").write_text(render_card(spec.model, built, get_registry(), spec.dir), encoding="utf-8")
    copy_license_file(spec.model, spec.dir, folder)
    write_croissant(folder, spec.model, built)
    staged.report("checking the output folder")
    check_output(folder, built, unformatted, places=(spec.dir, plan.cache_dir))
    return built
