"""Croissant 1.1 JSON-LD metadata (with the Responsible AI vocabulary) for a built data set.

`croissant_metadata` describes the output folder as written by `specc.publish.write_outputs`:
one `cr:FileObject` per Parquet file (pinned by the SHA-256 in stats.json), one `cr:RecordSet`
per output split with a `cr:Field` per column, one enumeration record set per label column,
and `rai:` properties filled from stats.json (sources, steps, split) and the spec's card prose.
Nothing here reads the clock: the same build gives the same bytes.
"""

from __future__ import annotations

import json
import re
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from specc import stages
from specc.card.cells import predefined_text
from specc.output import DATA_DIR

if TYPE_CHECKING:
    import pyarrow as pa

    from specc.stats import BuildStats, DataView, Step

CROISSANT_FILE = "croissant.json"
CONFORMS_TO = "http://mlcommons.org/croissant/1.1"
PARQUET_FORMAT = "application/x-parquet"

# The @context of Croissant 1.1, as mlcroissant 1.1 writes it (mlcroissant/_src/core/rdf.py
# `make_context` for a 1.1 document); keys in the same order as there.
CONTEXT: dict[str, Any] = {
    "@language": "en",
    "@vocab": "https://schema.org/",
    "arrayShape": "cr:arrayShape",
    "citeAs": "cr:citeAs",
    "column": "cr:column",
    "conformsTo": "dct:conformsTo",
    "containedIn": "cr:containedIn",
    "cr": "http://mlcommons.org/croissant/",
    "rai": "http://mlcommons.org/croissant/RAI/",
    "data": {"@id": "cr:data", "@type": "@json"},
    "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
    "dct": "http://purl.org/dc/terms/",
    "description": {"@container": "@language"},
    "equivalentProperty": "cr:equivalentProperty",
    "examples": {"@id": "cr:examples", "@type": "@json"},
    "extract": "cr:extract",
    "field": "cr:field",
    "fileProperty": "cr:fileProperty",
    "fileObject": "cr:fileObject",
    "fileSet": "cr:fileSet",
    "format": "cr:format",
    "includes": "cr:includes",
    "isArray": "cr:isArray",
    "isLiveDataset": "cr:isLiveDataset",
    "jsonPath": "cr:jsonPath",
    "key": "cr:key",
    "md5": "cr:md5",
    "name": {"@container": "@language"},
    "parentField": "cr:parentField",
    "path": "cr:path",
    "recordSet": "cr:recordSet",
    "references": "cr:references",
    "regex": "cr:regex",
    "repeated": "cr:repeated",
    "replace": "cr:replace",
    "samplingRate": "cr:samplingRate",
    "sc": "https://schema.org/",
    "separator": "cr:separator",
    "source": "cr:source",
    "subField": "cr:subField",
    "transform": "cr:transform",
}

# Hub license ids (the spec's `license:`) that are not Creative Commons, to SPDX ids.
SPDX_IDS = {
    "apache-2.0": "Apache-2.0",
    "mit": "MIT",
    "bsd": "BSD-4-Clause",
    "bsd-2-clause": "BSD-2-Clause",
    "bsd-3-clause": "BSD-3-Clause",
    "bsd-3-clause-clear": "BSD-3-Clause-Clear",
    "isc": "ISC",
    "gpl-2.0": "GPL-2.0-only",
    "gpl-3.0": "GPL-3.0-only",
    "lgpl-2.1": "LGPL-2.1-only",
    "lgpl-3.0": "LGPL-3.0-only",
    "agpl-3.0": "AGPL-3.0-only",
    "mpl-2.0": "MPL-2.0",
    "epl-2.0": "EPL-2.0",
    "eupl-1.1": "EUPL-1.1",
    "eupl-1.2": "EUPL-1.2",
    "unlicense": "Unlicense",
    "wtfpl": "WTFPL",
    "zlib": "Zlib",
    "artistic-2.0": "Artistic-2.0",
    "ecl-2.0": "ECL-2.0",
    "bsl-1.0": "BSL-1.0",
    "afl-3.0": "AFL-3.0",
    "osl-3.0": "OSL-3.0",
    "postgresql": "PostgreSQL",
    "ofl-1.1": "OFL-1.1",
    "odbl": "ODbL-1.0",
    "odc-by": "ODC-By-1.0",
    "pddl": "PDDL-1.0",
    "cdla-sharing-1.0": "CDLA-Sharing-1.0",
    "cdla-permissive-1.0": "CDLA-Permissive-1.0",
    "cdla-permissive-2.0": "CDLA-Permissive-2.0",
    "gfdl": "GFDL-1.3-only",
    "lppl-1.3c": "LPPL-1.3c",
    "etalab-2.0": "etalab-2.0",
}
_CC = re.compile(r"^cc-(by(?:-nc)?(?:-nd|-sa)?)-(\d\.\d)$")
_CC0 = re.compile(r"^cc0-(\d\.\d)$")
_ID_SAFE = re.compile(r"[^A-Za-z0-9_.\-]")


def license_url(license: str) -> str:
    """The URL of a license given by its Hub id (`cc-by-4.0`, `apache-2.0`), else the text as given."""
    text = license.strip()
    if re.match(r"^https?://", text):
        return text
    key = text.lower()
    if match := _CC.match(key):
        return f"https://creativecommons.org/licenses/{match[1]}/{match[2]}/"
    if match := _CC0.match(key):
        return f"https://creativecommons.org/publicdomain/zero/{match[1]}/"
    if key in SPDX_IDS:
        return f"https://spdx.org/licenses/{SPDX_IDS[key]}.html"
    return text


def _data_type(arrow_type: pa.DataType) -> str | None:
    """The Croissant data type of a primitive Arrow type (None for nested or unknown types)."""
    import pyarrow as pa

    if pa.types.is_boolean(arrow_type):
        return "sc:Boolean"
    if pa.types.is_integer(arrow_type):
        return "sc:Integer"
    if pa.types.is_floating(arrow_type) or pa.types.is_decimal(arrow_type):
        return "sc:Float"
    if (
        pa.types.is_string(arrow_type)
        or pa.types.is_large_string(arrow_type)
        or getattr(pa.types, "is_string_view", lambda t: False)(arrow_type)
    ):
        return "sc:Text"
    if (
        pa.types.is_binary(arrow_type)
        or pa.types.is_large_binary(arrow_type)
        or pa.types.is_fixed_size_binary(arrow_type)
    ):
        return "sc:Text"
    if pa.types.is_date(arrow_type):
        return "sc:Date"
    if pa.types.is_timestamp(arrow_type):
        return "sc:DateTime"
    if pa.types.is_time(arrow_type):
        return "sc:Time"
    return None


def _is_list(arrow_type: pa.DataType) -> bool:
    import pyarrow as pa

    return pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type) or pa.types.is_fixed_size_list(arrow_type)


def _json_path(key: str) -> str:
    """A JSONPath step selecting `key` (bracketed unless it is a plain name)."""
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
        return key
    return "['" + key.replace("\\", "\\\\").replace("'", "\\'") + "']"


def _field(
    field_id: str,
    name: str,
    arrow_type: pa.DataType,
    origin: dict[str, Any],
    column: str,
    path: tuple[str, ...],
    description: str,
    label_set: str | None = None,
) -> dict[str, Any]:
    """One `cr:Field` for a column (or, with `path`, a part of a struct column) of a Parquet file.

    Structs become `subField`s read with `jsonPath`, lists of structs repeated fields, lists of
    other values arrays (`isArray`), the layout mlcroissant and the Hub's own Croissant use.
    """
    import pyarrow as pa

    field: dict[str, Any] = {"@type": "cr:Field", "@id": field_id, "name": name, "description": description}
    element = arrow_type.value_type if _is_list(arrow_type) else arrow_type
    if pa.types.is_struct(element):
        field["subField"] = [
            _field(
                f"{field_id}/{child.name}",
                child.name,
                child.type,
                origin,
                column,
                path + (child.name,),
                f"Field `{child.name}` of `{name}` ({child.type}).",
            )
            for child in element
        ]
        if _is_list(arrow_type):
            field["repeated"] = True
        return field
    if _is_list(arrow_type):
        field["isArray"] = True
        field["arrayShape"] = "-1"
    field["dataType"] = _data_type(element) or "sc:Text"
    source: dict[str, Any] = {**origin, "extract": {"column": column}}
    if path:
        steps = [{"jsonPath": _json_path(p)} for p in path]
        source["transform"] = steps if len(steps) > 1 else steps[0]
    field["source"] = source
    if label_set is not None:
        field["references"] = {"field": {"@id": f"{label_set}/id"}}
    return field


def _column_description(column: str, arrow_type: pa.DataType, names: list[str] | None) -> str:
    if column == "_id":
        return "Stable row id `<source>:<row number>`, assigned when the row was read."
    if names is not None:
        listed = ", ".join(f"{i} = {name}" for i, name in enumerate(names))
        return f"Class id of `{column}` ({listed})."
    return f"Column `{column}` ({arrow_type})."


def _label_record_set(set_id: str, column: str, names: list[str]) -> dict[str, Any]:
    """An enumeration of a label column's classes: id and name per class."""
    return {
        "@type": "cr:RecordSet",
        "@id": set_id,
        "name": set_id,
        "description": f"The classes of `{column}`: the integer id stored in the data and its name.",
        "dataType": "sc:Enumeration",
        "key": {"@id": f"{set_id}/id"},
        "field": [
            {
                "@type": "cr:Field",
                "@id": f"{set_id}/id",
                "name": "id",
                "description": "Class id.",
                "dataType": "sc:Integer",
            },
            {
                "@type": "cr:Field",
                "@id": f"{set_id}/name",
                "name": "name",
                "description": "Class name.",
                "dataType": "sc:Text",
            },
        ],
        "data": [{f"{set_id}/id": i, f"{set_id}/name": name} for i, name in enumerate(names)],
    }


def _unique_id(wanted: str, taken: set[str], configuration: str | None = None) -> str:
    """An id not yet taken, made of safe characters; `<configuration>/<id>` when a configuration is given."""
    base = _ID_SAFE.sub("_", wanted) or "x"
    if configuration is not None:
        base = f"{_ID_SAFE.sub('_', configuration) or 'x'}/{base}"
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}-{n}", n + 1
    taken.add(candidate)
    return candidate


def _params_text(params: dict[str, Any]) -> str:
    return ", ".join(
        f"{k}={json.dumps(v, ensure_ascii=False, sort_keys=True)}" for k, v in sorted(params.items()) if v is not None
    )


def _counts_text(counts: dict[str, Any]) -> str:
    return ", ".join(f"{reason}: {n:,}" for reason, n in sorted(counts.items()))


def _collection(stats: BuildStats) -> str:
    """rai:dataCollection: every source with its type, license, rows, pins and pinned files."""
    sources = stats.sources
    parts = [
        f"The rows were read from {len(sources)} source{'s' if len(sources) != 1 else ''} "
        f"declared in the spec; no rows were collected by specc itself."
    ]
    for name, source in sorted(sources.items()):
        details = [f"type {source.type}", f"license {source.license or 'not stated'}", f"{source.rows:,} rows read"]
        if source.split:
            details.append(f"all rows to split `{source.split}`")
        details += [f"{key} {source.pins[key]}" for key in ("repo", "revision", "url") if source.pins.get(key)]
        files = [f"{f.path} (sha256 {f.sha256}, {f.size:,} bytes)" for f in source.files]
        text = f"Source `{name}`: {'; '.join(details)}."
        if files:
            text += " Files: " + "; ".join(files) + "."
        parts.append(text)
    return " ".join(parts)


def _step_text(step: Step) -> str:
    texts = step.texts or {}
    params = _params_text({k: v for k, v in step.params.items() if k not in texts})
    text = (
        f"{step.id} ({step.type}{'; ' + params if params else ''}): "
        f"{step.rows_in:,} rows in, {step.rows_out:,} rows out"
    )
    dropped = step.dropped
    if dropped:
        text += f"; dropped {sum(dropped.values()):,} ({_counts_text(dropped)})"
    added = step.added
    if added:
        text += f"; added {sum(added.values()):,} ({_counts_text(added)})"
    if texts:
        text += "; " + "; ".join(
            f"{name} {'template' if len(sources) == 1 else f'templates ({len(sources)}, one per row)'}: "
            + " | ".join(json.dumps(source, ensure_ascii=False) for source in sources)
            for name, sources in texts.items()
        )
    return text + "."


def _part_order(parts: dict[str, Any]) -> list[str]:
    """A configuration's splits in a fixed order (train, validation, test, then by name), whatever the dict's."""
    known = {"train": 0, "validation": 1, "test": 2}
    return sorted(parts, key=lambda p: (known.get(p, len(known)), p))


def _split_text(stats: BuildStats) -> str:
    split = stats.split
    counts = split.splits
    order = [o.split for o in stats.outputs if o.split in counts]
    order += sorted(set(counts) - set(order))  # the output order (stats.json sorts its keys)
    rows = ", ".join(f"{name} {counts[name].rows:,}" for name in order)
    params = _params_text(split.params)
    method = split.method
    if method == "source":
        text = f"split (each row keeps its source's split): {rows}."
    elif method == "predefined":
        text = f"split (predefined: {predefined_text(split.params)}): {rows}."
    else:
        text = f"split ({method}{'; ' + params if params else ''}; seed {split.seed}): {rows}."
    configurations = split.configurations or {}
    if configurations:
        text += (
            " Configurations: "
            + "; ".join(
                f"{config} = " + ", ".join(f"{part} from {'+'.join(parts[part])}" for part in _part_order(parts))
                for config, parts in sorted(configurations.items())
            )
            + "."
        )
    return text


def _rai(spec: Any, stats: BuildStats) -> dict[str, Any]:
    """The Responsible AI properties: collection, processing and annotation from the build, prose from the card."""
    steps = stats.steps
    rai: dict[str, Any] = {"rai:dataCollection": _collection(stats)}
    names = [stage.name for stage in stages.pipeline()]
    after_split = set(names[names.index("split") + 1 :])
    preprocessing = (
        [_step_text(s) for s in steps if s.stage != "annotate" and s.stage not in after_split]
        + [_split_text(stats)]
        + [_step_text(s) for s in steps if s.stage in after_split]
    )
    rai["rai:dataPreprocessingProtocol"] = preprocessing
    annotation = [_step_text(s) for s in steps if s.stage == "annotate"]
    label_columns = sorted(stats.label_names)
    if label_columns and not annotation:
        annotation = [
            f"The labels ({', '.join(f'`{c}`' for c in label_columns)}) come from the sources "
            f"as given; the build ran no annotation step."
        ]
    if annotation:
        rai["rai:dataAnnotationProtocol"] = annotation
    card: Any = getattr(spec, "card", None)
    uses = [text for text in (getattr(card, "uses", None),) if text]
    if getattr(card, "out_of_scope", None):
        uses.append(f"Out of scope: {card.out_of_scope}")
    if uses:
        rai["rai:dataUseCases"] = uses
    for key, attribute in (
        ("rai:dataLimitations", "limitations"),
        ("rai:dataBiases", "biases"),
        ("rai:personalSensitiveInformation", "personal_information"),
    ):
        value = getattr(card, attribute, None)
        if value:
            rai[key] = [value] if isinstance(value, str) else list(value)
    return rai


def _view_schema(output_folder: Path, view: DataView) -> pa.Schema:
    """The Arrow schema of a view's Parquet files (all its splits share it), else of its features."""
    import pyarrow.parquet as pq

    for output in view.outputs:
        path = output_folder / output.path
        if path.is_file():
            return pq.read_schema(path)
    import datasets

    return datasets.Features.from_dict(view.features).arrow_schema


def _class_names(views: list[DataView]) -> dict[str, list[str]]:
    """Each label column's class names (ClassLabel features), from the first view that declares the column."""
    names: dict[str, list[str]] = {}
    for view in views:
        for column, feature in view.features.items():
            if isinstance(feature, dict) and feature.get("_type") == "ClassLabel":
                names.setdefault(column, list(feature["names"]))
    return names


def _record_set(
    set_id: str,
    name: str,
    description: str,
    columns: list[tuple[str, pa.DataType]],
    source: dict[str, Any],
    label_names: dict[str, list[str]],
    label_sets: dict[str, str],
) -> dict[str, Any]:
    """A record set with a field per column, read from one FileObject or FileSet (`source`)."""
    record_set: dict[str, Any] = {"@type": "cr:RecordSet", "@id": set_id, "name": name, "description": description}
    if "_id" in dict(columns):
        record_set["key"] = {"@id": f"{set_id}/_id"}
    record_set["field"] = [
        _field(
            f"{set_id}/{column}",
            column,
            arrow_type,
            source,
            column,
            (),
            _column_description(column, arrow_type, label_names.get(column)),
            label_sets.get(column),
        )
        for column, arrow_type in columns
    ]
    return record_set


def croissant_metadata(spec: Any, stats: BuildStats, output_folder: Path) -> dict[str, Any]:
    """Croissant 1.1 JSON-LD for the output folder; `spec` is the spec's model (`Spec.model`).

    Every Parquet file is a FileObject. The written splits of the rows (`train`, `fold_0` …) are record sets
    named after the split; every configuration other than `default` (`classification`, k-fold's `fold-0` …)
    has a record set per split named `<configuration>/<split>`, read from a FileSet when the split is made
    of several files.
    """
    views = stats.views()
    label_names = _class_names(views)
    taken: set[str] = set()
    distribution: list[dict[str, Any]] = []
    record_sets: list[dict[str, Any]] = []
    label_sets = {column: _unique_id(f"{column}-classes", taken) for column in sorted(label_names)}
    for index, view in enumerate(views):
        schema = _view_schema(Path(output_folder), view)
        columns = [(f.name, f.type) for f in schema if f.name not in ("_split", "_source")]
        folder = str(PurePosixPath(view.outputs[0].path).parent.relative_to(DATA_DIR)) if view.outputs else "."
        prefix = "" if folder == "." else f"{folder}/"
        files: dict[str, str] = {}
        for output in view.outputs:
            file_id = _unique_id(f"{prefix.replace('/', '-')}{output.split}-parquet", taken)
            files[output.split] = file_id
            distribution.append(
                {
                    "@type": "cr:FileObject",
                    "@id": file_id,
                    "name": file_id,
                    "description": f"Split `{output.split}`{f' of `{folder}`' if prefix else ''} as Parquet.",
                    "contentUrl": output.path,
                    "encodingFormat": PARQUET_FORMAT,
                    "sha256": output.sha256,
                }
            )
        if index == 0:  # the written splits of the rows, each its own record set
            for output in view.outputs:
                in_configs = sorted(
                    f"{config}/{part}"
                    for config, parts in view.configurations.items()
                    for part, members in parts.items()
                    if output.split in members and config != "default"
                )
                description = f"The {output.rows:,} rows of split `{output.split}`."
                if in_configs:
                    description += (
                        f" Part of configuration split{'s' if len(in_configs) > 1 else ''} {', '.join(in_configs)}."
                    )
                source = {"fileObject": {"@id": files[output.split]}}
                record_sets.append(
                    _record_set(
                        _unique_id(output.split, taken),
                        output.split,
                        description,
                        columns,
                        source,
                        label_names,
                        label_sets,
                    )
                )
        rows = {output.split: output.rows for output in view.outputs}
        paths = {output.split: output.path for output in view.outputs}
        for config, parts in view.configurations.items():
            if config == "default" and index == 0:
                continue  # its splits are the record sets above
            for part in _part_order(parts):
                members = parts[part]
                if len(members) == 1:
                    source = {"fileObject": {"@id": files[members[0]]}}
                else:
                    set_id = _unique_id(f"{config}-{part}-files", taken)
                    distribution.append(
                        {
                            "@type": "cr:FileSet",
                            "@id": set_id,
                            "name": set_id,
                            "description": f"The files of split `{part}` of configuration `{config}`.",
                            "encodingFormat": PARQUET_FORMAT,
                            "includes": [paths[m] for m in members],
                        }
                    )
                    source = {"fileSet": {"@id": set_id}}
                description = (
                    f"The {sum(rows[m] for m in members):,} rows of split `{part}` of configuration `{config}`"
                    + (f" (files of {' + '.join(members)})" if members != [part] else "")
                    + ("; the rows before the format step." if index > 0 else ".")
                )
                set_id = _unique_id(part, taken, config)
                record_sets.append(_record_set(set_id, set_id, description, columns, source, label_names, label_sets))
    record_sets += [_label_record_set(label_sets[c], c, label_names[c]) for c in sorted(label_names)]

    card: Any = getattr(spec, "card", None)
    description = spec.description.strip()
    if getattr(card, "summary", None):
        description += "\n\n" + card.summary.strip()
    metadata: dict[str, Any] = {
        "@context": CONTEXT,
        "@type": "sc:Dataset",
        "conformsTo": CONFORMS_TO,
        "name": spec.name,
        "description": description,
    }
    if getattr(card, "pretty_name", None):
        metadata["alternateName"] = card.pretty_name
    metadata["version"] = spec.version
    metadata["license"] = license_url(spec.license)
    for key, attributes in (("url", ("url", "homepage")), ("citeAs", ("citation", "cite_as"))):
        value = next((getattr(o, a) for o in (spec, card) for a in attributes if getattr(o, a, None)), None)
        if value:
            metadata[key] = value
    if list(spec.languages or []):
        metadata["inLanguage"] = list(spec.languages)
    if spec.task:
        metadata["keywords"] = [spec.task]
    metadata["distribution"] = distribution
    metadata["recordSet"] = record_sets
    metadata.update(_rai(spec, stats))
    return metadata


def write_croissant(folder: Path, spec: Any, stats: BuildStats) -> Path:
    """Write `folder/croissant.json` (deterministic: fixed key order, two-space indent)."""
    from specc.output import write_json

    path = Path(folder) / CROISSANT_FILE
    metadata = croissant_metadata(spec, stats, Path(folder))
    write_json(path, metadata)
    return path
