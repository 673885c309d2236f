"""The output folder's data side: Parquet per split with declared features, the classification copy, and the
counts and build facts stats.json records (publishing them is `specc.publish`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from specc.errors import SpeccError
from specc.pins import sha256_file
from specc.stats import CLASSIFICATION

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

    from specc.multilabel import is_list

    schema = table.select([c for c in table.column_names if c not in ("_split", "_source")]).schema
    features = datasets.Features.from_arrow_schema(pa.schema([f.remove_metadata() for f in schema]))
    for column, names in label_names.items():
        if column not in features:
            continue
        type_ = schema.field(column).type
        listed = is_list(type_)  # multi-label: a list of ids per row
        if not pa.types.is_integer(type_.value_type if listed else type_):
            raise SpeccError(
                f"error: column '{column}' has label names but holds {type_}, "
                f"not integer ids; map the names to ids or drop the `labels:`"
            )
        label = datasets.ClassLabel(names=names)
        features[column] = datasets.List(label) if listed else label
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


def write_classification(
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
    import pyarrow.compute as pc

    from specc.counts import value_counts
    from specc.multilabel import is_list

    by_label: dict[str, dict[str, int]] = {}
    for column, names in label_names.items():
        if column in table.column_names:
            values = table.column(column)
            if is_list(values.type):  # multi-label: the rows holding each label
                values = pc.list_flatten(values)
            counts = {
                names[int(k)] if k.isdigit() and int(k) < len(names) else k: n
                for k, n in value_counts(values.cast("string")).items()
            }
            by_label[column] = dict(sorted(counts.items()))
    return by_label


def split_stats(table: pa.Table, labelled: pa.Table, label_names: dict[str, list[str]]) -> dict[str, Any]:
    """A split's rows and rows per source of `table`, rows per label of `labelled` (the same rows before formatting)."""
    from specc.counts import value_counts
    from specc.multilabel import label_sets

    counts = {
        "rows": table.num_rows,
        "by_source": dict(sorted(value_counts(table.column("_source")).items())),
        "by_label": label_counts(labelled, label_names),
    }
    sets = label_sets(labelled, label_names)
    return {**counts, "label_sets": sets} if sets else counts


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
    """The plugins whose components the plan runs, and specc's built-ins (their card sections render every card),
    sorted; as the lock lists them."""
    from specc.plugins import DEFAULT_PLUGINS, load_plugins

    used = {
        (s.component.plugin, s.component.distribution, s.component.dist_version)
        for s in plan.steps
        if s.component is not None
    }
    infos = load_plugins().infos
    used |= {(i.name, i.distribution, i.version) for i in infos.values() if i.name in DEFAULT_PLUGINS}
    return [{"name": n, "distribution": d, "version": v} for n, d, v in sorted(used)]


def build_info(plan: Any, specc_version: str | None = None) -> dict[str, Any]:
    """`stats["build"]`: what made the build (specc version, by default this one; spec digest; plugins; plan fingerprint)."""
    from specc.version import __version__

    return {
        "specc_version": specc_version or __version__,
        "spec_sha256": plan.spec.sha256,
        "command": f"specc build {plan.spec.path.name}",
        "plugins": used_plugins(plan),
        "fingerprint": plan.fingerprint,
    }
