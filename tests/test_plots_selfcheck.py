"""Card plots and the output self-checks, on real builds of the quickstart."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from specc.card.plots import write_plots
from specc.errors import SpeccError
from specc.selfcheck import check_load_dataset, check_output
from specc.spec import load_spec
from specc.stats import BuildStats
from tests.conftest import ROOT, run_cli

pytest.importorskip("matplotlib")

PNG = b"\x89PNG\r\n\x1a\n"


def _build(
    workdir: Path, edit: Callable[[str], str] | None = None
) -> tuple[Path, Any, dict, subprocess.CompletedProcess]:
    """Build a copy of the quickstart with its own cache; returns output, spec model, stats and the run."""
    shutil.copytree(ROOT / "specs", workdir / "specs", ignore=shutil.ignore_patterns("build", ".specc"))
    spec = workdir / "specs" / "quickstart.yaml"
    if edit is not None:
        spec.write_text(edit(spec.read_text(encoding="utf-8")), encoding="utf-8")
    result = run_cli("build", str(spec), "--cache-dir", str(workdir / "cache"))
    loaded = load_spec(spec)
    out = loaded.output_dir
    stats = json.loads((out / "stats.json").read_text(encoding="utf-8")) if result.returncode == 0 else {}
    return out, loaded.model, stats, result


def _plots(folder: Path, stats: dict, data: Path) -> list[dict]:
    """The card's plots written into `folder` from a build's statistics and its Parquet files in `data`."""
    import pyarrow.parquet as pq

    typed = BuildStats.model_validate(stats)
    parts = {o.split: pq.read_table(data / o.path) for o in typed.outputs}
    by_label = {o.split: typed.split.splits[o.split].by_label for o in typed.outputs}
    return write_plots(folder, typed.features, typed.label_names, by_label, parts)


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[Path, Any, dict, list[dict]]]:
    """Two builds of the quickstart in different folders, each with a fresh cache."""
    made = []
    for _ in range(2):
        out, spec, stats, result = _build(tmp_path_factory.mktemp("build"))
        assert result.returncode == 0, result.stderr
        made.append((out, spec, stats, stats["plots"]))
    return made


@pytest.fixture
def built(builds: list, tmp_path: Path) -> tuple[Path, dict]:
    """A copy of one build's output to tamper with."""
    out, _, stats, _ = builds[0]
    copy = tmp_path / "support-intents"
    shutil.copytree(out, copy)
    return copy, stats


# --- plots -------------------------------------------------------------------------------------


def test_plots_are_pngs_beside_the_data(builds: list) -> None:
    import matplotlib.image

    out, _, stats, entries = builds[0]
    assert [(e["kind"], e["column"], e["path"]) for e in entries] == [
        ("labels", "label", "plots/labels-label.png"),
        ("length", "text", "plots/length-text.png"),
    ]
    for entry in entries:
        path = out / entry["path"]
        assert path.read_bytes().startswith(PNG)
        height, width, _ = matplotlib.image.imread(path).shape
        assert width == 640 and height >= 400
        assert entry["title"] and entry["alt"]
    assert not list((out / "data").glob("*.png"))  # stay out of the data file globs
    names = stats["label_names"]["label"]
    for output in stats["outputs"]:
        counts = stats["split"]["splits"][output["split"]]["by_label"]["label"]
        listed = ", ".join(f"{name} {counts.get(name, 0):,}" for name in names)
        assert f"{output['split']}: {listed}" in entries[0]["alt"]
    assert re.search(r"train: min \d+, median \d+, max \d+", entries[1]["alt"])


def test_plots_have_identical_bytes_across_builds(builds: list) -> None:
    (first, *_), (second, *_) = builds
    assert first != second
    plots = {k: v for k, v in _files(first).items() if k.startswith("plots/")}
    assert plots == {k: v for k, v in _files(second).items() if k.startswith("plots/")}
    assert len(plots) == 2
    for data in plots.values():
        assert b"matplotlib" not in data.lower() and b"Software" not in data


def test_plots_from_the_table_match_plots_read_back(builds: list, tmp_path: Path) -> None:
    """The plots the build drew from its rows are those drawn from the Parquet files read back."""
    out, _, stats, entries = builds[0]
    again = tmp_path / "again"
    assert _plots(again, stats, out) == entries
    for entry in entries:
        assert (again / entry["path"]).read_bytes() == (out / entry["path"]).read_bytes()


def test_plots_ignore_the_users_matplotlib_style(builds: list, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import matplotlib

    out, _, stats, entries = builds[0]
    monkeypatch.setitem(matplotlib.rcParams, "axes.facecolor", "red")
    monkeypatch.setitem(matplotlib.rcParams, "font.size", 17.0)
    copy = tmp_path / "copy"
    shutil.copytree(out, copy, ignore=shutil.ignore_patterns("plots"))
    _plots(copy, stats, copy)
    for entry in entries:
        assert (copy / entry["path"]).read_bytes() == (out / entry["path"]).read_bytes()
    assert matplotlib.rcParams["axes.facecolor"] == "red"  # and leave it as it was


# --- self-check --------------------------------------------------------------------------------


def test_selfcheck_passes_and_leaves_nothing_behind(builds: list, tmp_path: Path) -> None:
    """In a fresh process with its own HF_HOME: no Arrow cache in the user's cache or the output."""
    out, _, _, _ = builds[0]
    before = _files(out)
    home = tmp_path / "hf-home"
    home.mkdir()
    code = (
        "import json, sys; from pathlib import Path; from specc.selfcheck import check_output; "
        "from specc.stats import read_stats; f = Path(sys.argv[1]); check_output(f, read_stats(f / 'stats.json', ''))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**_environ(), "HF_HOME": str(home), "HF_DATASETS_CACHE": str(home / "datasets")},
    )
    assert result.returncode == 0, result.stderr
    assert [p for p in home.rglob("*") if p.is_file()] == []
    assert _files(out) == before


def _environ() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if k not in ("HF_HOME", "HF_DATASETS_CACHE")}


def test_selfcheck_passes_on_kfold_configurations(tmp_path: Path) -> None:
    """Every configuration of a k-fold output loads with its train, validation and test splits."""

    def kfold(text: str) -> str:
        return re.sub(
            r"split:\n(?:  .*\n)+", "split:\n  method: kfold\n  folds: 3\n  test: 0.2\n  stratify: label\n", text
        )

    out, spec, stats, result = _build(tmp_path, kfold)
    if result.returncode != 0 and "split name" in result.stderr:
        pytest.skip(f"the k-fold split names do not build yet: {result.stderr.strip()}")
    assert result.returncode == 0, result.stderr
    assert len(stats["split"]["configurations"]) == 3
    check_output(out, BuildStats.model_validate(stats))


def _rewrite(path: Path, change: Callable[[Any], Any]) -> None:
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    pq.write_table(change(table), path)


def _fails(folder: Path, stats: dict, pattern: str) -> None:
    with pytest.raises(SpeccError, match=pattern) as caught:
        check_output(folder, BuildStats.model_validate(stats))
    message = str(caught.value)
    assert message.startswith("error: self-check: ")
    assert "bug in specc or in a plugin" in message


def test_selfcheck_finds_a_column_of_another_type(built: tuple[Path, dict]) -> None:
    import pyarrow as pa

    folder, stats = built
    _rewrite(
        folder / "data" / "test-00000-of-00001.parquet",
        lambda t: t.set_column(t.column_names.index("label"), "label", t.column("label").cast(pa.string())),
    )
    _fails(
        folder,
        stats,
        r"data/test-00000-of-00001\.parquet does not match the declared features: "
        r"column 'label' holds string, declared int64",
    )


def test_selfcheck_finds_a_missing_row(built: tuple[Path, dict]) -> None:
    folder, stats = built
    rows = stats["outputs"][0]["rows"]
    _rewrite(folder / "data" / "train-00000-of-00001.parquet", lambda t: t.slice(1))
    _fails(folder, stats, rf"data/train-00000-of-00001\.parquet holds {rows - 1:,} rows; stats\.json says {rows:,}")


def test_selfcheck_finds_changed_bytes(built: tuple[Path, dict]) -> None:
    import pyarrow as pa

    folder, stats = built
    _rewrite(
        folder / "data" / "validation-00000-of-00001.parquet",
        lambda t: t.set_column(
            t.column_names.index("text"), "text", pa.array(["changed"] + t.column("text").to_pylist()[1:])
        ),
    )
    _fails(folder, stats, r"validation-00000-of-00001\.parquet has SHA-256 [0-9a-f]{64}; stats\.json says")


def test_selfcheck_finds_a_card_that_declares_other_features(built: tuple[Path, dict]) -> None:
    folder, stats = built
    card = folder / "README.md"
    text = card.read_text(encoding="utf-8")
    assert "'4': technical" in text
    card.write_text(text.replace("'4': technical", "'4': hardware"), encoding="utf-8")
    _fails(
        folder,
        stats,
        r"configuration 'default', split 'train' loads with other features than stats\.json "
        r"declares: column 'label'",
    )


def test_selfcheck_finds_a_croissant_file_that_does_not_read(built: tuple[Path, dict]) -> None:
    pytest.importorskip("mlcroissant")
    folder, stats = built
    path = folder / "croissant.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    field = next(f for f in data["recordSet"][0]["field"] if f["name"] == "text")
    field["source"]["extract"]["column"] = "body"
    path.write_text(json.dumps(data), encoding="utf-8")
    _fails(folder, stats, r"mlcroissant could not read record set 'train' of croissant\.json")


def test_selfcheck_finds_a_croissant_pin_that_does_not_match(built: tuple[Path, dict]) -> None:
    pytest.importorskip("mlcroissant")
    folder, stats = built
    path = folder / "croissant.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data["distribution"][2]["sha256"] = "0" * 64
    path.write_text(json.dumps(data), encoding="utf-8")
    _fails(folder, stats, r"could not read record set 'test' of croissant\.json: .*Hash")


def test_key_order_of_stats_does_not_matter(builds: list, tmp_path: Path) -> None:
    """The build passes its stats in memory (insertion order); stats.json has sorted keys: same plots."""

    def reordered(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: reordered(value[k]) for k in reversed(list(value))}
        return [reordered(v) for v in value] if isinstance(value, list) else value

    out, _, stats, entries = builds[0]
    copy = tmp_path / "copy"
    shutil.copytree(out, copy, ignore=shutil.ignore_patterns("plots"))
    assert _plots(copy, reordered(stats), copy) == entries
    assert _files(copy) == _files(out)


def test_builder_load_check_passes_on_a_good_output(built: tuple[Path, dict]) -> None:
    """Large outputs are checked through the builder instead of converted: the same output passes that way too."""
    folder, stats = built
    check_load_dataset(folder, BuildStats.model_validate(stats).views()[0], full_count=0)


def test_builder_load_check_finds_a_card_that_declares_other_features(built: tuple[Path, dict]) -> None:
    folder, stats = built
    card = folder / "README.md"
    card.write_text(card.read_text(encoding="utf-8").replace("'4': technical", "'4': hardware"), encoding="utf-8")
    with pytest.raises(SpeccError, match=r"configuration 'default', split 'train' loads with other features"):
        check_load_dataset(folder, BuildStats.model_validate(stats).views()[0], full_count=0)


def test_builder_load_check_finds_a_card_that_declares_other_row_counts(built: tuple[Path, dict]) -> None:
    folder, stats = built
    rows = next(o["rows"] for o in stats["outputs"] if o["split"] == "test")
    card = folder / "README.md"
    text = card.read_text(encoding="utf-8")
    pattern = rf"(- name: test\n(?:\s+\w+: .*\n)*?\s+num_examples: ){rows}\n"
    assert re.search(pattern, text), text
    card.write_text(re.sub(pattern, rf"\g<1>{rows + 1}\n", text), encoding="utf-8")
    with pytest.raises(SpeccError, match=rf"split 'test' loads {rows + 1:,} rows; stats\.json says {rows:,}"):
        check_load_dataset(folder, BuildStats.model_validate(stats).views()[0], full_count=0)
