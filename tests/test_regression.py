"""`task: text-regression`: finite targets, quantile-bin stratification, the target in the card, tfidf-ridge."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from specc.builder import build
from specc.errors import SpeccError
from specc.regression import regression_metrics
from tests.conftest import run_cli, write

WEIGHTS = {"good": 1.0, "bad": -1.0, "great": 2.0, "awful": -2.0, "fine": 0.5, "meh": 0.0, "poor": -1.5, "nice": 1.2}
SPEC = """\
specc: 1
name: scores
description: Texts with a numeric score.
license: mit
task: text-regression
seed: 7
sources:
  rows: {{type: csv, path: rows.csv, columns: {{text: review, label: score}}}}
split:
{split}
evaluate:
{evaluate}
card: {{draft: true}}
"""
STRATIFIED = "  {method: stratified, bins: 5, ratios: {train: 0.6, validation: 0.2, test: 0.2}}"


def rows(n: int = 200, seed: int = 0) -> list[tuple[str, float]]:
    """Texts of weighted words; the score is their sum plus noise."""
    rng = np.random.default_rng(seed)
    words = list(WEIGHTS)
    out = []
    for i in range(n):
        chosen = list(rng.choice(words, 5))
        score = sum(WEIGHTS[w] for w in chosen) + rng.normal(0, 0.3)
        out.append((" ".join(chosen) + f" r{i}", round(float(score), 3)))
    return out


def make(
    folder: Path, data: list[tuple[str, object]] | None = None, split: str = STRATIFIED, evaluate: str = ""
) -> Path:
    body = "".join(f'"{text}",{score}\n' for text, score in (rows() if data is None else data))
    write(folder / "rows.csv", "review,score\n" + body)
    return write(folder / "scores.yaml", SPEC.format(split=split, evaluate=evaluate or "  []"))


def written(stats: dict, out: Path) -> dict[str, pa.Table]:
    """The rows of each output split, read from its Parquet file."""
    return {o["split"]: pq.read_table(out / o["path"]) for o in stats["outputs"]}


def test_metrics_equal_scikit_learns_and_scipys() -> None:
    from scipy.stats import spearmanr
    from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

    rng = np.random.default_rng(1)
    for n in (5, 50, 500):
        true = rng.normal(size=n).round(1)  # rounded: ties in the ranks
        for pred in (true + rng.normal(0, 0.5, n), rng.integers(0, 3, n).astype(float), np.full(n, 0.3)):
            got = regression_metrics(true, pred)
            mse = mean_squared_error(true, pred)
            assert got["mse"] == round(mse, 4) and got["rmse"] == round(np.sqrt(mse), 4)
            assert got["mae"] == round(mean_absolute_error(true, pred), 4)
            assert got["r2"] == round(r2_score(true, pred), 4)
            rho = spearmanr(true, pred).statistic
            assert got["spearman"] == (None if np.isnan(rho) else round(rho, 4))
            assert got["support"] == n
    constant = np.ones(4)
    assert regression_metrics(constant, constant)["r2"] == r2_score(constant, constant) == 1.0
    assert regression_metrics(constant, constant + 1)["r2"] == r2_score(constant, constant + 1) == 0.0


def test_build_card_and_tfidf_ridge_scores_equal_scikit_learns(tmp_path: Path) -> None:
    from scipy.stats import spearmanr
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import Ridge
    from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

    stats = build(make(tmp_path, evaluate="  - {type: tfidf-ridge, alpha: 0.5}"))
    out = tmp_path / "build" / "scores"
    parts = written(stats, out)
    assert str(parts["train"].schema.field("label").type) == "double"  # a float target stays float64
    assert json.loads((out / "stats.json").read_text())["features"]["label"] == {"dtype": "float64", "_type": "Value"}

    # the same model with scikit-learn on the written splits gives the scores stats.json reports
    train = parts["train"]
    vectorizer = TfidfVectorizer(sublinear_tf=True, max_features=100_000, dtype=np.float64)
    model = Ridge(alpha=0.5).fit(vectorizer.fit_transform(train.column("text").to_pylist()), train.column("label"))
    result = stats["evaluate"]["evaluate.tfidf-ridge"]
    mean = float(np.mean(train.column("label")))
    assert result["task"] == "regression" and result["train_rows"] == 120 and result["train_mean"] == round(mean, 4)
    for split in ("validation", "test"):
        true = parts[split].column("label").to_numpy()
        pred = model.predict(vectorizer.transform(parts[split].column("text").to_pylist()))
        scores = result["splits"][split]
        assert scores["mse"] == pytest.approx(mean_squared_error(true, pred), abs=2e-4)
        assert scores["rmse"] == pytest.approx(np.sqrt(mean_squared_error(true, pred)), abs=2e-4)
        assert scores["mae"] == pytest.approx(mean_absolute_error(true, pred), abs=2e-4)
        assert scores["r2"] == pytest.approx(r2_score(true, pred), abs=2e-4)
        assert scores["spearman"] == pytest.approx(spearmanr(true, pred).statistic, abs=2e-4)
        baseline = result["baseline"][split]
        assert baseline["mse"] == round(mean_squared_error(true, np.full(len(true), mean)), 4)
        assert baseline["spearman"] is None and scores["r2"] > 0.8 > baseline["r2"]
    assert result["warnings"] == []

    card = (out / "README.md").read_text()
    assert "task_categories:\n- text-classification\ntask_ids:\n- text-scoring\n" in card
    target = card[card.index("## Regression target") : card.index("## Text lengths")]
    assert "of its 5 quantile bins" in target and "rows per bin before the split: 40, 40, 40, 40, 40" in target
    train_rows = train.column("label").to_numpy()
    summary = stats["target"]["splits"]["train"]
    assert summary["mean"] == round(np.mean(train_rows), 4) and summary["std"] == round(np.std(train_rows), 4)
    assert summary["quantiles"]["0.25"] == round(np.quantile(train_rows, 0.25), 4)
    assert f"| train | 120 | {summary['mean']:.4g} | {summary['std']:.4g} | {summary['quantiles']['0']:.4g} |" in target
    assert "![Histograms of the regression target label, one per split." in card
    assert (out / "plots" / "target-label.png").read_bytes().startswith(b"\x89PNG")
    section = card[card.index("### `evaluate.tfidf-ridge`") :]
    mse = result["splits"]["test"]["mse"]
    assert f"| test | 40 | {mse:.4f} ({result['baseline']['test']['mse']:.4f}) |" in section
    assert "Chance is the better" not in card  # the classifiers' paragraph is left out

    first = {p.name: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    build(tmp_path / "scores.yaml")
    assert {p.name: p.read_bytes() for p in out.rglob("*") if p.is_file()} == first


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_quantile_bins_keep_shares_like_scikit_learns_stratified_shuffle_split(tmp_path: Path, seed: int) -> None:
    import pandas as pd
    from sklearn.model_selection import StratifiedShuffleSplit

    data = rows(n=317, seed=seed)
    stats = build(make(tmp_path, data, "  {method: stratified, bins: 7, ratios: {train: 0.8, test: 0.2}}"))
    out = tmp_path / "build" / "scores"
    values = np.array([score for _, score in data])
    bins = pd.qcut(values, 7, labels=False, duplicates="drop")  # pandas' quantile bins: the oracle of specc's
    stated = stats["split"]["bins"]
    assert stated["column"] == "label" and stated["count"] == 7
    assert stated["edges"] == pytest.approx(list(pd.qcut(values, 7, retbins=True)[1][1:-1]))
    assert stated["rows"] == np.bincount(bins).tolist()

    by_score = {round(score, 3): b for score, b in zip(values, bins)}
    test = written(stats, out)["test"].column("label").to_pylist()
    ours = np.bincount([by_score[round(v, 3)] for v in test], minlength=7)
    _, test_index = next(StratifiedShuffleSplit(1, test_size=0.2, random_state=seed).split(values, bins))
    theirs = np.bincount(bins[test_index], minlength=7)
    assert np.abs(ours - theirs).max() <= 1, (ours, theirs)


def test_kfold_stratifies_on_bins_too(tmp_path: Path) -> None:
    stats = build(make(tmp_path, split="  {method: kfold, folds: 4, stratify: label, bins: 4}"))
    rows_per_bin = stats["split"]["bins"]["rows"]
    out = tmp_path / "build" / "scores"
    edges = stats["split"]["bins"]["edges"]
    for fold in range(4):
        labels = written(stats, out)[f"fold_{fold}"].column("label").to_numpy()
        counts = np.bincount(np.searchsorted(edges, labels, side="left"), minlength=4)
        assert all(abs(c - n / 4) <= 1 for c, n in zip(counts, rows_per_bin)), counts


@pytest.mark.parametrize(
    ("value", "line", "shown"),
    [("nan", 4, "null or NaN"), ("inf", 4, "infinity"), ("-inf", 4, "-infinity"), ("", 4, "null or NaN")],
)
def test_a_non_finite_target_names_its_file_and_line(tmp_path: Path, value: str, line: int, shown: str) -> None:
    data: list[tuple[str, object]] = list(rows(20))
    data[2] = ("a bad row", value)
    result = run_cli("build", str(make(tmp_path, data, "  {method: random}")))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith(f"rows.csv:{line}: error: text-regression: regression target")
    assert f"'rows:2' ({shown})" in result.stderr and "drop-missing" in result.stderr


def test_target_mistakes_say_what_to_do(tmp_path: Path) -> None:
    words = make(tmp_path, [("x", "high"), ("y", "low")] * 10, "  {method: random}")
    assert "target column 'label' holds string, not numbers" in run_cli("build", str(words)).stderr
    write(tmp_path / "rows.csv", "review,score\nx,1.0\ny,2.0\n")
    write(
        tmp_path / "other.yaml",
        (tmp_path / "scores.yaml").read_text().replace(", columns: {text: review, label: score}", ""),
    )
    missing = run_cli("build", str(tmp_path / "other.yaml")).stderr
    assert (
        "no target column 'label'; map a source's numeric column to it with `columns: {label: YOUR_COLUMN}`" in missing
    )


def test_a_float_target_on_the_classifier_baseline_names_the_regression_task(tmp_path: Path) -> None:
    result = run_cli("build", str(make(tmp_path, split="  {method: random}", evaluate="  - {type: tfidf-logreg}")))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "column 'label' holds double numbers, not classes" in result.stderr
    assert "`task: text-regression` and use the `tfidf-ridge` evaluator" in result.stderr


@pytest.mark.parametrize(
    ("split", "message"),
    [
        ("  {method: stratified, bins: 1}", "bins is 1; give at least 2"),
        ("  {method: kfold, bins: 3}", "bins needs `stratify:`"),
    ],
)
def test_bins_mistakes_are_spec_errors(tmp_path: Path, split: str, message: str) -> None:
    result = run_cli("validate", str(make(tmp_path, split=split)))
    assert result.returncode == 1 and message in result.stderr
    assert f"{tmp_path / 'scores.yaml'}:10:" in result.stderr


def test_bins_on_text_fail_naming_the_column(tmp_path: Path) -> None:
    spec = make(tmp_path, split="  {method: stratified, stratify: text, bins: 3}")
    with pytest.raises(SpeccError, match="cannot stratify on quantile bins of column 'text': it holds string"):
        build(spec)


def test_a_misspelt_task_suggests_text_regression(tmp_path: Path) -> None:
    spec = make(tmp_path)
    spec.write_text(spec.read_text().replace("task: text-regression", "task: text-regresion"))
    result = run_cli("validate", str(spec))
    assert "unknown task category 'text-regresion'; did you mean 'text-regression'?" in result.stderr


def test_the_self_check_audits_the_target_behind_a_chat_format(tmp_path: Path) -> None:
    from specc.selfcheck import audit_card
    from specc.stats import read_stats

    spec = make(tmp_path, split="  {method: stratified, bins: 4, ratios: {train: 0.8, test: 0.2}}")
    spec.write_text(
        spec.read_text().replace(
            "card:",
            'format: {type: chat, user: "{{ text }}", assistant: "{{ label }}", keep_classification: true}\ncard:',
        )
    )
    stats = build(spec)
    out = tmp_path / "build" / "scores"
    assert stats["target"]["splits"]["test"]["rows"] == 40
    written = read_stats(out / "stats.json", "rebuild")
    audit_card(out, written)
    assert written.target is not None
    written.target.splits["test"]["mean"] += 0.5
    with pytest.raises(SpeccError, match="card section 'Regression target': the target's distribution in split 'test'"):
        audit_card(out, written)


def test_stratifying_on_a_float_column_without_bins_says_to_add_them(tmp_path: Path) -> None:
    result = run_cli("build", str(make(tmp_path, split="  {method: stratified, ratios: {train: 0.8, test: 0.2}}")))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "column 'label' holds double numbers: every distinct number would be a class of its own; add `bins: 5`" in (
        result.stderr
    )
