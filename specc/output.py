"""Writing the data set: Parquet per split with declared features, stats.json, card and Croissant."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from specc.errors import SpeccError
from specc.licenses import license_report
from specc.pins import sha256_file
from specc.stats import CLASSIFICATION, STATS_FILE, BuildStats, build_stats

if TYPE_CHECKING:
    import datasets
    import pyarrow as pa

DATA_DIR = "data"
LLAMA_FACTORY_FILE = "dataset_info.json"
KNOWN_SPLIT_ORDER = ("train", "validation", "test")
PARQUET_OPTIONS: dict[str, Any] = {
    "compression": "zstd",
    "compression_level": 1,  # 2x faster to write than level 3, for files about 10% larger
    "row_group_size": 100_000,
    "use_dictionary": True,
    "write_statistics": True,
    "data_page_version": "1.0",
}


def shard_name(split: str, folder: str | None = None) -> str:
    """Deterministic file name of a split's (single) shard, relative to the output folder (in a subfolder if given)."""
    return f"{DATA_DIR}/{folder + '/' if folder else ''}{split}-00000-of-00001.parquet"


def order_splits(names: list[str], preferred: list[str]) -> list[str]:
    """Splits in output order: the splitter's order, then train/validation/test, then by name."""
    rank = {n: i for i, n in enumerate(list(preferred) + list(KNOWN_SPLIT_ORDER))}
    return sorted(set(names), key=lambda n: (rank.get(n, len(rank)), n))


def features_for(table: pa.Table, label_names: dict[str, list[str]]) -> datasets.Features:
    """Hugging Face features of a table's data columns (not `_split`, `_source`), ClassLabel where names are given."""
    import datasets
    import pyarrow as pa

    schema = table.select([c for c in table.column_names if c not in ("_split", "_source")]).schema
    features = datasets.Features.from_arrow_schema(pa.schema([f.remove_metadata() for f in schema]))
    for column, names in label_names.items():
        if column not in features:
            continue
        if not pa.types.is_integer(schema.field(column).type):
            raise SpeccError(
                f"error: column '{column}' has label names but holds {schema.field(column).type}, "
                f"not integer ids; map the names to ids or drop the `labels:`"
            )
        features[column] = datasets.ClassLabel(names=names)
    return features


def split_parts(table: pa.Table, split_order: list[str]) -> dict[str, pa.Table]:
    """Each split's rows of a table with `_split`, in `split_order`."""
    import pyarrow.compute as pc

    return {split: table.filter(pc.equal(table.column("_split"), split)) for split in split_order}


def write_split(
    table: pa.Table, folder: Path, split: str, features: datasets.Features, subfolder: str | None = None
) -> dict[str, Any]:
    """Write one split as Parquet with the features' schema; returns its split, path, rows and digest."""
    import pyarrow.parquet as pq

    name = shard_name(split, subfolder)
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    table = table.select(list(features)).cast(features.arrow_schema)
    pq.write_table(table, path, **PARQUET_OPTIONS)
    return {
        "split": split,
        "path": name,
        "rows": table.num_rows,
        "sha256": sha256_file(path),
        "num_bytes": table.nbytes,
    }


def all_outputs(stats: dict[str, Any]) -> list[dict[str, Any]]:
    """Every data file of a build as stats.json lists them (`BuildStats.all_outputs`; the lock pins them all)."""
    return [output.model_dump() for output in BuildStats.model_validate(stats).all_outputs()]


def _write_classification(
    table: pa.Table, folder: Path, split_order: list[str], label_names: dict[str, list[str]]
) -> dict[str, Any]:
    """The rows before formatting, one Parquet file per split under data/classification/."""
    features = features_for(table, label_names)
    outputs = [
        write_split(part, folder, split, features, CLASSIFICATION)
        for split, part in split_parts(table, split_order).items()
    ]
    return {"features": features.to_dict(), "outputs": outputs}


def llama_factory_info(name: str, layout: dict[str, Any], outputs: list[dict[str, Any]]) -> dict[str, Any]:
    """LLaMA-Factory's dataset_info.json: one entry `<name>_<split>` per split file, in `layout`'s format."""
    return {f"{name}_{out['split']}": {"file_name": out["path"], **layout} for out in outputs}


def json_text(data: Any) -> str:
    """Deterministic JSON in the order the data was built (struct fields keep theirs), two-space indent."""
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def write_json(path: Path, data: Any) -> None:
    """Write `json_text(data)` to `path`."""
    path.write_text(json_text(data), encoding="utf-8")


def label_counts(table: pa.Table, label_names: dict[str, list[str]]) -> dict[str, dict[str, int]]:
    """Rows per label name of each label column the table holds, labels sorted."""
    from specc.executor.tables import value_counts

    by_label: dict[str, dict[str, int]] = {}
    for column, names in label_names.items():
        if column in table.column_names:
            counts = {
                names[int(k)] if k.isdigit() and int(k) < len(names) else k: n
                for k, n in value_counts(table.column(column).cast("string")).items()
            }
            by_label[column] = dict(sorted(counts.items()))
    return by_label


def _split_stats(table: pa.Table, labelled: pa.Table, label_names: dict[str, list[str]]) -> dict[str, Any]:
    """A split's rows and rows per source of `table`, rows per label of `labelled` (the same rows before formatting)."""
    from specc.executor.tables import value_counts

    return {
        "rows": table.num_rows,
        "by_source": dict(sorted(value_counts(table.column("_source")).items())),
        "by_label": label_counts(labelled, label_names),
    }


def labelled_rows(table: pa.Table, unformatted: pa.Table | None) -> pa.Table:
    """The rows of `table` with their label columns: `table` itself, or its rows (by `_id`) of `unformatted`.

    A format replaces the label columns and a token budget may drop rows after it, so the labels
    of the rows written are those of the unformatted rows the output still holds.
    """
    import pyarrow.compute as pc

    if unformatted is None:
        return table
    return unformatted.filter(pc.is_in(unformatted.column("_id"), value_set=table.column("_id")))


def used_plugins(plan: Any) -> list[dict[str, str]]:
    """The plugins whose components the plan runs or whose card sections render, sorted."""
    from specc.plugins import load_plugins

    used = {
        (s.component.plugin, s.component.distribution, s.component.dist_version)
        for s in plan.steps
        if s.component is not None
    }
    infos = load_plugins().infos
    used |= {(i.name, i.distribution, i.version) for i in infos.values() if "card_section" in i.provides}
    return [{"name": n, "distribution": d, "version": v} for n, d, v in sorted(used)]


def build_info(plan: Any, specc_version: str | None = None) -> dict[str, Any]:
    """`stats["build"]`: what made the build (specc version, by default this one; spec digest; plugins; plan fingerprint)."""
    from specc import __version__

    return {
        "specc_version": specc_version or __version__,
        "spec_sha256": plan.spec.sha256,
        "command": f"specc build {plan.spec.path.name}",
        "plugins": used_plugins(plan),
        "fingerprint": plan.fingerprint,
    }


def write_outputs(
    plan: Any,
    table: pa.Table,
    folder: Path,
    sources: dict[str, Any],
    steps: list[dict[str, Any]],
    split_info: dict[str, Any],
    split_order: list[str],
    label_names: dict[str, list[str]],
    *,
    evaluations: dict[str, Any] | None = None,
    classification: pa.Table | None = None,
    unformatted: pa.Table | None = None,
    tokens: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Write every split, stats.json, plots, the card and croissant.json into `folder`, then check them.

    `evaluations` are the evaluators' results by step id (with a confusion matrix plot per scored
    split); `classification` is the table before formatting, written as a second configuration;
    a formatter with a LLaMA-Factory layout gets a dataset_info.json beside the data. `unformatted` (given
    with a format) holds the rows before formatting, for the counts per label. `tokens` holds the
    token counts of the format's `tokens:` budget (`specc.tokens.apply_budget`).
    """
    from specc.card import card_statistics, render_card
    from specc.card.croissant import write_croissant
    from specc.card.plots import write_plots
    from specc.plugins import get_registry
    from specc.selfcheck import check_output

    spec = plan.spec
    features = features_for(table, label_names)
    parts = split_parts(table, split_order)
    labelled = split_parts(labelled_rows(table, unformatted), split_order)
    splits = {split: _split_stats(part, labelled[split], label_names) for split, part in parts.items()}
    # Plots are drawn while the Parquet writer (which releases the GIL) works on the other core.
    feature_dict = features.to_dict()
    by_label = {split: counts["by_label"] for split, counts in splits.items()}
    with ThreadPoolExecutor(1) as pool:
        plots = pool.submit(write_plots, folder, feature_dict, label_names, by_label, parts)
        outputs = [write_split(part, folder, split, features) for split, part in parts.items()]
        plots_written = plots.result()
    stats = {
        "build": build_info(plan),
        "sources": sources,
        "steps": steps,
        "split": {**split_info, "splits": splits},
        "label_names": label_names,
        "features": feature_dict,
        "outputs": outputs,
        "license": license_report(spec.model),
        "plots": plots_written,
    }
    if tokens:
        stats["tokens"] = tokens
    if classification is not None:
        stats[CLASSIFICATION] = _write_classification(classification, folder, split_order, label_names)
    if evaluations:
        from specc.card.evaluation_plots import confusion_plots

        stats["evaluate"] = {
            step_id: {**result, "plots": confusion_plots(folder, step_id, result)}
            for step_id, result in evaluations.items()
        }
    formats = plan.stage("format")
    layout = plan.instantiate(formats[0]).llama_factory() if formats else None
    if layout:
        write_json(folder / LLAMA_FACTORY_FILE, llama_factory_info(spec.model.name, layout, outputs))
    stats.update(card_statistics(table, split_order))  # text lengths and one example row per split
    built = build_stats(stats)
    stats = built.json_data()
    write_json(folder / STATS_FILE, stats)
    (folder / "README.md").write_text(render_card(spec.model, built, get_registry(), spec.dir), encoding="utf-8")
    write_croissant(folder, spec.model, built)
    check_output(folder, built, unformatted)
    return stats
