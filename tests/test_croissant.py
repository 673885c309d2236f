"""croissant.json on real builds: mlcroissant's own CLI validates it and reads every record set."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from specc.card.croissant import CONFORMS_TO, CONTEXT, croissant_metadata, license_url, write_croissant
from specc.spec import load_spec
from specc.stats import BuildStats, Source
from tests.conftest import ROOT, run_cli

mlcroissant = pytest.importorskip("mlcroissant")

CARD = """card:
  summary: Generated rows with nested columns.
  uses: Testing.
  out_of_scope: Anything else.
  limitations: Tiny and synthetic.
  personal_information: None.
"""


def _build(workdir: Path, spec_text: str | None = None, name: str = "quickstart.yaml") -> tuple[Path, Any, dict]:
    """Build a copy of specs/ (with `spec_text` as `name` when given); returns output, spec model, stats."""
    shutil.copytree(ROOT / "specs", workdir / "specs", ignore=shutil.ignore_patterns("build", ".specc"))
    spec = workdir / "specs" / name
    if spec_text is not None:
        spec.write_text(spec_text, encoding="utf-8")
    result = run_cli("build", str(spec), "--cache-dir", str(workdir / "cache"))
    assert result.returncode == 0, result.stderr
    loaded = load_spec(spec)
    out = loaded.output_dir
    return out, loaded.model, json.loads((out / "stats.json").read_text(encoding="utf-8"))


def _cli(*args: str) -> subprocess.CompletedProcess:
    """The `mlcroissant` command installed beside this Python."""
    exe = Path(sys.executable).with_name("mlcroissant")
    command = [str(exe)] if exe.exists() else [shutil.which("mlcroissant") or "mlcroissant"]
    return subprocess.run(command + list(args), capture_output=True, text=True, timeout=300)


def _records(jsonld: Path, record_set: str) -> int:
    """Records `mlcroissant load --num_records -1` prints for a record set (one dict per line)."""
    result = _cli("load", "--jsonld", str(jsonld), "--record_set", record_set, "--num_records", "-1")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Done." in result.stdout
    return sum(1 for line in result.stdout.splitlines() if line.startswith("{"))


@pytest.fixture(scope="module")
def quickstart(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any, dict]:
    out, spec, stats = _build(tmp_path_factory.mktemp("croissant"))
    write_croissant(out, spec, BuildStats.model_validate(stats))
    return out, spec, stats


def test_quickstart_validates_and_loads_with_the_mlcroissant_cli(quickstart: tuple[Path, Any, dict]) -> None:
    out, _, stats = quickstart
    jsonld = out / "croissant.json"
    result = _cli("validate", "--jsonld", str(jsonld))
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Done." in result.stderr and "error(s)" not in result.stderr
    for output in stats["outputs"]:
        assert _records(jsonld, output["split"]) == output["rows"]
    assert _records(jsonld, "label-classes") == len(stats["label_names"]["label"])


def test_quickstart_metadata(quickstart: tuple[Path, Any, dict]) -> None:
    out, spec, stats = quickstart
    data = json.loads((out / "croissant.json").read_text(encoding="utf-8"))
    assert data["conformsTo"] == CONFORMS_TO == "http://mlcommons.org/croissant/1.1"
    assert data["@type"] == "sc:Dataset"
    assert data["name"] == "support-intents" and data["version"] == "1.0.0"
    assert data["license"] == "https://creativecommons.org/licenses/by/4.0/"
    assert "datePublished" not in data and "dateCreated" not in data and "dateModified" not in data
    # every Parquet file, pinned by the digest in stats.json, addressed relative to the output
    files = {d["contentUrl"]: d for d in data["distribution"]}
    assert set(files) == {o["path"] for o in stats["outputs"]}
    for output in stats["outputs"]:
        assert files[output["path"]]["sha256"] == output["sha256"]
        assert files[output["path"]]["encodingFormat"] == "application/x-parquet"
        assert (out / output["path"]).is_file()
    sets = {rs["@id"]: rs for rs in data["recordSet"]}
    fields = {f["name"]: f for f in sets["train"]["field"]}
    assert list(fields) == ["_id", "text", "label"]  # the Parquet column order
    assert fields["text"]["dataType"] == "sc:Text"
    assert fields["label"]["dataType"] == "sc:Integer"
    assert fields["label"]["references"] == {"field": {"@id": "label-classes/id"}}
    assert "0 = billing" in fields["label"]["description"]
    assert fields["label"]["source"] == {"fileObject": {"@id": "train-parquet"}, "extract": {"column": "label"}}
    classes = sets["label-classes"]
    assert classes["dataType"] == "sc:Enumeration"
    assert [row["label-classes/name"] for row in classes["data"]] == stats["label_names"]["label"]
    # Responsible AI: collection from the sources' pins, processing from the steps, prose from the card
    collection = data["rai:dataCollection"]
    for name, source in stats["sources"].items():
        assert f"`{name}`" in collection
        assert all(f["sha256"] in collection for f in source["files"])
    processing = data["rai:dataPreprocessingProtocol"]
    assert [p.split(" ")[0] for p in processing] == [s["id"] for s in stats["steps"]] + ["split"]
    for step, text in zip(stats["steps"], processing):
        assert f"{step['rows_in']:,} rows in, {step['rows_out']:,} rows out" in text
        assert all(f"{reason}: {n:,}" in text for reason, n in step["dropped"].items())
    assert ", ".join(f"{o['split']} {o['rows']:,}" for o in stats["outputs"]) in processing[-1]
    assert data["rai:dataUseCases"][0] == spec.card.uses
    assert data["rai:dataUseCases"][1] == f"Out of scope: {spec.card.out_of_scope}"
    assert data["rai:dataLimitations"] == [spec.card.limitations]
    assert data["rai:personalSensitiveInformation"] == [spec.card.personal_information]
    assert data["rai:dataAnnotationProtocol"]


def test_context_is_the_one_mlcroissant_writes_for_1_1() -> None:
    rdf = pytest.importorskip("mlcroissant._src.core.rdf")
    context = pytest.importorskip("mlcroissant._src.core.context")
    expected = rdf.make_context(context.Context(conforms_to=context.CroissantVersion.V_1_1))
    assert CONTEXT == expected


def test_python_api_reads_records_with_label_ids(quickstart: tuple[Path, Any, dict]) -> None:
    out, _, stats = quickstart
    dataset = mlcroissant.Dataset(jsonld=str(out / "croissant.json"))
    rows = list(dataset.records("test"))
    assert len(rows) == stats["split"]["splits"]["test"]["rows"]
    import pyarrow.parquet as pq

    table = pq.read_table(out / "data" / "test-00000-of-00001.parquet")
    assert [r["test/_id"].decode() for r in rows] == table.column("_id").to_pylist()
    assert [r["test/label"] for r in rows] == table.column("label").to_pylist()


def test_same_build_gives_same_bytes(quickstart: tuple[Path, Any, dict], tmp_path: Path) -> None:
    out, spec, stats = quickstart
    other, other_spec, other_stats = _build(tmp_path)
    write_croissant(other, other_spec, BuildStats.model_validate(other_stats))
    assert (other / "croissant.json").read_bytes() == (out / "croissant.json").read_bytes()
    assert croissant_metadata(spec, BuildStats.model_validate(stats), out) == json.loads(
        (out / "croissant.json").read_text(encoding="utf-8")
    )


def test_nested_columns_from_a_parquet_source(tmp_path: Path) -> None:
    """Chat-style list<struct>, list<string> and float/bool columns: fields that mlcroissant reads back."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    data = tmp_path / "specs" / "data" / "chat.parquet"
    data.parent.mkdir(parents=True)
    rows = 24
    pq.write_table(
        pa.table(
            {
                "prompt": [f"Question {i}: how do I reset my password?" for i in range(rows)],
                "messages": [
                    [{"role": "user", "content": f"hi {i}"}, {"role": "assistant", "content": "ok" * (i % 4)}]
                    for i in range(rows)
                ],
                "tags": [["a", "b"][: i % 3] for i in range(rows)],
                "score": [i / 8 for i in range(rows)],
                "ok": [i % 2 == 0 for i in range(rows)],
            }
        ),
        data,
    )
    spec = tmp_path / "specs" / "chat.yaml"
    spec.write_text(
        "specc: 1\nname: chat-mix\nversion: 0.1.0\ndescription: Nested columns.\nlicense: mit\nseed: 3\n"
        "sources:\n  chat: {type: parquet, path: data/chat.parquet, license: mit}\n"
        "split: {method: random, ratios: {train: 0.75, test: 0.25}}\n" + CARD,
        encoding="utf-8",
    )
    result = run_cli("build", str(spec), "--cache-dir", str(tmp_path / "cache"))
    assert result.returncode == 0, result.stderr
    loaded = load_spec(spec)
    out = loaded.output_dir
    stats = json.loads((out / "stats.json").read_text(encoding="utf-8"))
    jsonld = write_croissant(out, loaded.model, BuildStats.model_validate(stats))
    data_ = json.loads(jsonld.read_text(encoding="utf-8"))
    assert data_["license"] == "https://spdx.org/licenses/MIT.html"
    fields = {f["name"]: f for f in data_["recordSet"][0]["field"]}
    assert fields["messages"]["repeated"] is True
    assert [f["name"] for f in fields["messages"]["subField"]] == ["role", "content"]
    assert fields["tags"]["isArray"] is True and fields["tags"]["dataType"] == "sc:Text"
    assert fields["score"]["dataType"] == "sc:Float" and fields["ok"]["dataType"] == "sc:Boolean"
    assert _cli("validate", "--jsonld", str(jsonld)).returncode == 0
    for output in stats["outputs"]:
        assert _records(jsonld, output["split"]) == output["rows"]
    record = next(iter(mlcroissant.Dataset(jsonld=str(jsonld)).records("test")))
    turns = record["test/messages"]
    assert [t["test/messages/role"] for t in turns] == [b"user", b"assistant"]


@pytest.mark.parametrize(
    "license, url",
    [
        ("cc-by-4.0", "https://creativecommons.org/licenses/by/4.0/"),
        ("cc-by-nc-sa-4.0", "https://creativecommons.org/licenses/by-nc-sa/4.0/"),
        ("cc0-1.0", "https://creativecommons.org/publicdomain/zero/1.0/"),
        ("apache-2.0", "https://spdx.org/licenses/Apache-2.0.html"),
        ("odc-by", "https://spdx.org/licenses/ODC-By-1.0.html"),
        ("other", "other"),
        ("https://example.org/terms", "https://example.org/terms"),
    ],
)
def test_license_urls(license: str, url: str) -> None:
    assert license_url(license) == url


def _reordered(value: Any) -> Any:
    """The same JSON with every object's keys in reverse order (stats in memory vs stats.json, sorted)."""
    if isinstance(value, dict):
        return {k: _reordered(value[k]) for k in reversed(list(value))}
    if isinstance(value, list):
        return [_reordered(v) for v in value]
    return value


def test_key_order_of_stats_does_not_matter(quickstart: tuple[Path, Any, dict]) -> None:
    """The build passes its stats in memory (insertion order); stats.json has sorted keys: same metadata."""
    out, spec, stats = quickstart
    assert croissant_metadata(spec, BuildStats.model_validate(_reordered(stats)), out) == croissant_metadata(
        spec, BuildStats.model_validate(stats), out
    )


def test_collection_names_a_hub_sources_repository_and_commit_and_a_url_sources_address(
    quickstart: tuple[Path, Any, dict],
) -> None:
    """The pins are read where the executor writes them (`sources.<name>.pins`)."""
    out, spec, stats = quickstart
    typed = BuildStats.model_validate(stats)
    commit = "0123456789abcdef0123456789abcdef01234567"
    typed.sources = {
        "hub": Source(
            type="hf",
            license="mit",
            split=None,
            rows=10,
            pins={"repo": "org/data", "requested": "main", "revision": commit, "config": None, "split": "train"},
            files=[],
        ),
        "web": Source(
            type="url",
            license="cc0-1.0",
            split="test",
            rows=5,
            pins={"url": "https://example.org/x.csv", "sha256": "b" * 64, "size": 50, "format": None},
            files=[],
        ),
    }
    collection = croissant_metadata(spec, typed, out)["rai:dataCollection"]
    assert f"Source `hub`: type hf; license mit; 10 rows read; repo org/data; revision {commit}." in collection
    assert "Source `web`: type url; license cc0-1.0; 5 rows read; all rows to split `test`; " in collection
    assert "url https://example.org/x.csv." in collection


KFOLD = (
    "\nsplit:\n  method: kfold\n  folds: 3\n  test: 0.2\n  stratify: label\n"
    "\nformat:\n  type: prompt-completion\n  keep_classification: true\n"
    "  prompt: 'Which intent? {{ text }}'\n  completion: '{{ label_name }}'\n"
)


def test_every_configuration_and_split_has_a_record_set(tmp_path: Path) -> None:
    text = (ROOT / "specs" / "quickstart.yaml").read_text(encoding="utf-8")
    out, _, stats = _build(tmp_path, re.sub(r"\nsplit:\n(?:  .*\n)+", KFOLD, text))
    data = json.loads((out / "croissant.json").read_text(encoding="utf-8"))
    sets = {rs["@id"]: rs for rs in data["recordSet"]}
    configurations = stats["split"]["configurations"]
    wanted = [o["split"] for o in stats["outputs"]]  # the written folds, as files
    wanted += [f"{c}/{s}" for c, parts in configurations.items() for s in parts]
    wanted += [f"classification-{c}/{s}" for c, parts in configurations.items() for s in parts]
    assert list(sets) == wanted + ["label-classes"]
    files = {d["@id"]: d for d in data["distribution"]}
    train = sets["fold-0/train"]["field"][0]["source"]["fileSet"]["@id"]
    members = configurations["fold-0"]["train"]
    paths = {o["split"]: o["path"] for o in stats["outputs"]}
    assert files[train]["@type"] == "cr:FileSet" and files[train]["includes"] == [paths[m] for m in members]
    jsonld = out / "croissant.json"
    result = _cli("validate", "--jsonld", str(jsonld))
    assert result.returncode == 0 and "error(s)" not in result.stderr, result.stderr[-3000:]
    rows = {o["split"]: o["rows"] for o in stats["outputs"]}
    assert _records(jsonld, "fold-0/train") == sum(rows[m] for m in members)  # read from both files
    assert _records(jsonld, "classification-fold-1/validation") == rows[configurations["fold-1"]["validation"][0]]
