"""`fill-missing`: constants and templates in `clean:`, training-split statistics in `impute:` after the split
(scikit-learn's SimpleImputer as the oracle), what the card says, and bad fills named at their line in the spec."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sklearn.impute import SimpleImputer

from specc.builder import build
from specc.errors import SpeccError, SpecError
from specc.spec import load_spec
from tests.conftest import run_cli, write

CITIES = ["Oslo", "Rome", "Paris", "Oslo", "Lima", "Rome", "Oslo"]


def rows(n: int = 60, outlier: dict[str, float] | None = None) -> list[dict]:
    """`n` reviews: every fourth rating missing, every fifth city; distinct ratings; `outlier` sets some."""
    out = []
    for i in range(n):
        rating = None if i % 4 == 0 else round(1 + (i * 37 % 101) / 25, 3)
        out.append(
            {
                "text": f"review number {i}",
                "rating": (outlier or {}).get(f"rows:{i}", rating),
                "city": None if i % 5 == 0 else CITIES[i % len(CITIES)],
                "stars": None if i % 6 == 0 else i % 5,
            }
        )
    return out


def spec(folder: Path, body: str, data: list[dict] | None = None) -> Path:
    """A spec over `rows()` (or `data`) with `body` after its sources."""
    write(folder / "rows.jsonl", "".join(json.dumps(r) + "\n" for r in (data if data is not None else rows())))
    return write(
        folder / "s.yaml",
        "specc: 1\nname: fill\ndescription: Reviews with holes.\nlicense: mit\ncard: {draft: true}\n"
        "sources:\n  rows: {type: jsonl, path: rows.jsonl}\n" + body,
    )


SPLIT = "split: {method: hash, ratios: {train: 0.6, validation: 0.2, test: 0.2}}\n"
IMPUTE = "impute:\n  - type: fill-missing\n    columns:\n      rating: {statistic: median}\n"


def output(folder: Path) -> dict[str, dict]:
    """Every output row by `_id`, with its split (from the file name)."""
    found = {}
    for path in sorted((folder / "build" / "fill" / "data").glob("*.parquet")):
        for row in pq.read_table(path).to_pylist():
            found[row["_id"]] = {**row, "split": path.name.split("-")[0]}
    return found


def fill_record(folder: Path, step: str = "impute.fill-missing") -> dict:
    """The step's record in stats.json."""
    stats = json.loads((folder / "build" / "fill" / "stats.json").read_text())
    return next(s for s in stats["steps"] if s["id"] == step)


def card(folder: Path) -> str:
    return (folder / "build" / "fill" / "README.md").read_text()


def test_median_comes_from_the_training_split_only(tmp_path: Path) -> None:
    path = spec(tmp_path, SPLIT + IMPUTE)
    build(path, cache_dir=tmp_path / "cache")
    first = output(tmp_path)
    info = fill_record(tmp_path)["info"]
    train = [r["rating"] for i, r in zip(range(60), rows()) if first[f"rows:{i}"]["split"] == "train"]
    oracle = SimpleImputer(strategy="median").fit(np.array([[np.nan if v is None else v] for v in train]))
    median = info["statistics"]["rating"]["value"]
    assert median == pytest.approx(oracle.statistics_[0])
    assert info["training"] == {"splits": ["train"], "rows": len(train), "of": 60}
    holes = [f"rows:{i}" for i, r in enumerate(rows()) if r["rating"] is None]
    assert {first[i]["rating"] for i in holes} == {median}
    assert sum(info["filled_by_split"]["rating"].values()) == len(holes) == info["filled"]["rating"]
    assert {split for i in holes for split in [first[i]["split"]]} == {"train", "validation", "test"}

    # an outlier planted in a test row does not move the fill value; in a training row it does
    test_row = next(i for i in first if first[i]["split"] == "test" and first[i]["rating"] != median)
    build(spec(tmp_path, SPLIT + IMPUTE, rows(outlier={test_row: 1e9})), cache_dir=tmp_path / "cache")
    again = output(tmp_path)
    assert again[test_row]["rating"] == 1e9
    assert fill_record(tmp_path)["info"]["statistics"]["rating"]["value"] == median
    assert {again[i]["rating"] for i in holes} == {median}
    train_row = next(i for i in first if first[i]["split"] == "train" and first[i]["rating"] < median)
    build(spec(tmp_path, SPLIT + IMPUTE, rows(outlier={train_row: 1e9})), cache_dir=tmp_path / "cache")
    assert fill_record(tmp_path)["info"]["statistics"]["rating"]["value"] > median


def test_most_frequent_and_lower_median_keep_the_column_types(tmp_path: Path) -> None:
    body = (
        SPLIT
        + "impute:\n  - type: fill-missing\n    columns: {city: {statistic: most-frequent}, stars: {statistic: median}}\n"
    )
    build(spec(tmp_path, body), cache_dir=tmp_path / "cache")
    out = output(tmp_path)
    info = fill_record(tmp_path)["info"]
    train = [r for i, r in enumerate(rows()) if out[f"rows:{i}"]["split"] == "train"]
    cities = np.array([[r["city"] if r["city"] is not None else np.nan] for r in train], dtype=object)
    expected_city = SimpleImputer(strategy="most_frequent", missing_values=np.nan).fit(cities).statistics_[0]
    stars = sorted(r["stars"] for r in train if r["stars"] is not None)
    assert info["statistics"] == {
        "city": {"statistic": "most-frequent", "value": expected_city},
        "stars": {"statistic": "median", "value": stars[(len(stars) - 1) // 2]},  # the lower median
    }
    table = pa.concat_tables(pq.read_table(p) for p in sorted((tmp_path / "build" / "fill" / "data").glob("*")))
    assert table.schema.field("stars").type == pa.int64() and table.column("stars").null_count == 0
    assert table.column("city").null_count == 0
    text = card(tmp_path)
    assert f"| `city` | most-frequent of the training rows: `{expected_city!r}` |" in text
    assert "its statistics come from the " in text and "training rows of 60 (split `train`), none from another" in text


def test_without_a_split_every_row_is_a_training_row_and_the_card_says_so(tmp_path: Path) -> None:
    result = run_cli("build", str(spec(tmp_path, IMPUTE)), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    info = fill_record(tmp_path)["info"]
    present = [r["rating"] for r in rows() if r["rating"] is not None]
    assert info["statistics"]["rating"]["value"] == pytest.approx(float(np.median(present)))
    assert info["training"] == {"splits": ["train"], "rows": 60, "of": 60}
    assert "its statistics come from all 60 rows (every row is in the training split)" in card(tmp_path)


def test_under_kfold_the_statistics_come_from_the_folds_not_test(tmp_path: Path) -> None:
    body = "split: {method: kfold, folds: 3, test: 0.2}\n" + IMPUTE
    build(spec(tmp_path, body), cache_dir=tmp_path / "cache")
    info = fill_record(tmp_path)["info"]
    out = output(tmp_path)
    folds = [r["rating"] for i, r in enumerate(rows()) if out[f"rows:{i}"]["split"] != "test"]
    assert info["training"]["splits"] == ["fold_0", "fold_1", "fold_2"]
    assert info["training"]["rows"] == len(folds) < 60
    assert info["statistics"]["rating"]["value"] == pytest.approx(float(np.median([v for v in folds if v])))


def test_clean_fills_constants_and_templates_before_the_split(tmp_path: Path) -> None:
    body = (
        "clean:\n  - type: fill-missing\n    columns:\n      city: {template: 'near {{ text.split()[-1] }}'}\n"
        "      stars: {value: 0}\n      rating: -1.5\n"
    )
    build(spec(tmp_path, body), cache_dir=tmp_path / "cache")
    out = output(tmp_path)
    assert out["rows:0"]["city"] == "near 0" and out["rows:5"]["city"] == "near 5"
    assert out["rows:6"]["stars"] == 0 and out["rows:4"]["rating"] == -1.5
    assert out["rows:1"]["city"] == CITIES[1]
    assert fill_record(tmp_path, "clean.fill-missing")["info"] == {"filled": {"city": 12, "stars": 10, "rating": 15}}
    assert "near {{ text.split()[-1] }}" in card(tmp_path)


# --- bad fills: named at their line in the spec ----------------------------------------------------------------


def failure(tmp_path: Path, body: str) -> str:
    """The message of a build of `body` that must fail."""
    with pytest.raises(SpeccError) as caught:
        build(spec(tmp_path, body), cache_dir=tmp_path / "cache")
    assert not (tmp_path / "build" / "fill").exists()
    return str(caught.value)


def test_a_median_of_text_names_the_line_and_the_fix(tmp_path: Path) -> None:
    body = SPLIT + "impute:\n  - type: fill-missing\n    columns:\n      text: {statistic: median}\n"
    result = run_cli("build", str(spec(tmp_path, body)), cwd=tmp_path)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip() == (
        f"{tmp_path / 's.yaml'}:12:25: error: step 'impute.fill-missing' (fill-missing): columns: the median "
        "needs numbers, but column 'text' holds string; use most-frequent, a value or a template"
    )


@pytest.mark.parametrize(
    "columns,where,parts",
    [
        ("stars: {value: many}", "12:22", ["'many' cannot fill column 'stars', which holds int64", "give a value"]),
        ("stars: many", "12:14", ["'many' cannot fill column 'stars', which holds int64"]),
        ("stars: {template: '{{ text }}'}", "12:25", ["the template of 'stars' wrote text that is not int64"]),
        ("city: {template: '{{ text.nope() }}'}", "12:24", ["the template of 'city'", "(row _id 'rows:0')"]),
    ],
)
def test_fills_that_do_not_fit_name_their_line(tmp_path: Path, columns: str, where: str, parts: list[str]) -> None:
    message = failure(tmp_path, SPLIT + f"impute:\n  - type: fill-missing\n    columns:\n      {columns}\n")
    assert message.startswith(f"{tmp_path / 's.yaml'}:{where}: error: step 'impute.fill-missing' (fill-missing): ")
    assert all(part in message for part in parts), message


def test_a_training_split_is_needed_for_a_statistic(tmp_path: Path) -> None:
    body = "split: {method: hash, ratios: {dev: 0.5, test: 0.5}}\n" + IMPUTE
    message = failure(tmp_path, body)
    assert "the data has no training split to learn from (its splits: dev, test)" in message


def test_a_column_with_no_training_value_is_an_error(tmp_path: Path) -> None:
    data = [{**r, "rating": None} for r in rows()]
    with pytest.raises(SpeccError, match=r"column 'rating' has no value in the training split \(train\)"):
        build(spec(tmp_path, SPLIT + IMPUTE, data), cache_dir=tmp_path / "cache")


@pytest.mark.parametrize(
    "body,where,text",
    [
        (SPLIT + IMPUTE.replace("rating:", "ratnig:"), "12:15", "impute[0].columns.ratnig: no column 'ratnig'"),
        (
            "clean:\n  - type: fill-missing\n    columns:\n      rating: {statistic: median}\n",
            "11:7",
            "the median is learnt from the training split, which `clean:` runs before; put this fill-missing "
            "under `impute:`",
        ),
        (
            IMPUTE.replace("{statistic: median}", "{statistic: mean}"),
            "11:15",
            "impute[0].columns.rating.fill.statistic: Input should be 'median' or 'most-frequent'; got 'mean'",
        ),
        (
            IMPUTE.replace("{statistic: median}", "{value: 1, template: x}"),
            "11:15",
            "give exactly one of value, statistic and template (given: value, template)",
        ),
    ],
    ids=["unknown-column", "statistic-in-clean", "unknown-statistic", "two-ways"],
)
def test_spec_mistakes_are_found_before_the_build(tmp_path: Path, body: str, where: str, text: str) -> None:
    with pytest.raises(SpecError) as caught:
        load_spec(spec(tmp_path, body))
    message = str(caught.value)
    assert message.startswith(f"{tmp_path / 's.yaml'}:{where}"), message
    assert text in message, message
