"""Must show (issue 20, the recipe as one example): specs/recipe/ builds offline from a copy of the project with the
commands of docs/how-to/recipe.md, and its card shows every stage; so does its regression variant.

The recipe lives in a subfolder of specs/, which the tests that build every `specs/*.yaml` (test_upload_ready,
test_column_checks, test_schema) do not reach: this module builds it once, runs their checks on it, and skips cleanly
without ../shared/data or the plugins the recipe uses.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT, SHARED_DATA, run_cli
from tests.test_column_checks import problems
from tests.test_docs import run_shell, shell_script
from tests.test_upload_ready import Built, assert_nothing_of_the_machine, check_card, check_croissant

PAGE = ROOT / "docs" / "how-to" / "recipe.md"
OUTPUT = Path("specs/recipe/build/hateful-tweets-recipe")
VARIANT = Path("specs/recipe/build/tweet-agreement-recipe")
FOLDS = [f"fold_{i}" for i in range(5)]


@dataclass(frozen=True)
class Recipe:
    """The recipe built in a copy of the project: the project's folder, the spec and the output folder."""

    root: Path  # holds project/ and shared/, a link to the shared data (../../../shared from specs/recipe/)
    project: Path
    spec: Path
    folder: Path


def page_commands() -> list[str]:
    """The bash blocks of docs/how-to/recipe.md (which the docs' tests skip: their copy cannot reach the data)."""
    return re.findall(r"^```bash\n(.*?)^```", PAGE.read_text(encoding="utf-8"), re.MULTILINE | re.DOTALL)


def in_project(project: Path, script: str) -> str:
    """Bash that runs `script` in the project's folder, its install commands checked and left out."""
    return f"cd {shlex.quote(str(project))}\n{shell_script(script)}"


@pytest.fixture(scope="module")
def recipe(tmp_path_factory: pytest.TempPathFactory) -> Recipe:
    """Copy specs/ (no model, build or lock) beside a link to the shared data, and run the page's commands there."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"the recipe reads the shared data, not found at {SHARED_DATA}")
    for module in ("sklearn", "specc_nlpaug", "specc_transformers"):
        pytest.importorskip(module, reason=f"the recipe needs {module}")
    root = tmp_path_factory.mktemp("recipe")
    project = root / "project"
    shutil.copytree(
        ROOT / "specs", project / "specs", ignore=shutil.ignore_patterns("build", ".specc", "models", "*.lock")
    )
    (root / "shared").symlink_to(SHARED_DATA.parent, target_is_directory=True)
    commands = page_commands()
    assert len(commands) == 1 and "specc build specs/recipe/recipe-regression.yaml" in commands[0]
    result = run_shell(in_project(project, commands[0]))
    assert result.returncode == 0, result.stderr
    return Recipe(root, project, project / "specs" / "recipe" / "recipe.yaml", project / OUTPUT)


@pytest.fixture(scope="module")
def variant(recipe: Recipe) -> Recipe:
    """The regression variant, built by the same commands."""
    return Recipe(
        recipe.root, recipe.project, recipe.spec.with_name("recipe-regression.yaml"), recipe.project / VARIANT
    )


def card_of(recipe: Recipe) -> str:
    return (recipe.folder / "README.md").read_text(encoding="utf-8")


def stats_of(recipe: Recipe) -> dict:
    return json.loads((recipe.folder / "stats.json").read_text(encoding="utf-8"))


def test_the_card_shows_every_step_of_the_spec(recipe: Recipe) -> None:
    card, stats = card_of(recipe), stats_of(recipe)
    spec = yaml.safe_load(recipe.spec.read_text(encoding="utf-8"))
    ids = [step["id"] for step in stats["steps"]]
    assert [i for i in ids if i.startswith("clean.")] == [f"clean.{step['type']}" for step in spec["clean"]]
    assert {"annotate.round1", "augment.nlpaug.keyboard", "augment.nlpaug.random-word", "format"} <= set(ids)
    for step_id in ids:
        assert f"| `{step_id}` |" in card, step_id
    for section in ("Dataset structure", "Splits", "Source data", "Processing", "Annotation", "Baseline evaluation"):
        assert f"\n## {section}\n" in card, section
    assert "\n## Augmentation\n" in card
    assert '| `clean.drop-missing` | drop-missing | columns=["id", "text"]' in card


def test_the_card_shows_the_human_round_and_its_quality_control(recipe: Recipe) -> None:
    card = card_of(recipe)
    (round1,) = [s for s in stats_of(recipe)["steps"] if s["id"] == "annotate.round1"]
    info = round1["info"]
    assert "guidelines.pdf" in card and "annotations_g1.csv" in card
    excluded = info["gold"]["excluded"]
    assert excluded and all(info["gold"]["annotators"][name]["accuracy"] < 0.55 for name in excluded)
    shown = ", ".join(f"`{name}`" for name in excluded)
    assert f"annotators below 0.55 were excluded before aggregation and agreement: {shown}." in card
    assert re.search(r"\| agreement \| Krippendorff's alpha \(nominal\) ≥ 0\.15 \| 0\.\d+ \(CI .*\) \| passed \|", card)
    assert "flagged in column `low_agreement`" in card
    assert re.search(r"20 were reviewed \(\d+ correct\): estimated label accuracy 0\.\d+, 95% Wilson", card)


def test_the_split_is_k_fold_and_only_the_folds_are_augmented(recipe: Recipe) -> None:
    card, stats = card_of(recipe), stats_of(recipe)
    assert "| `fold-0` | train = fold_1 + fold_2 + fold_3 + fold_4; validation = fold_0; test = test |" in card
    assert {o["split"] for o in stats["outputs"]} == {*FOLDS, "test"}
    import pyarrow.parquet as pq

    made = pq.read_table(recipe.folder / "data" / "test-00000-of-00001.parquet")
    assert made.column("_augmenter").null_count == made.num_rows  # test holds original rows only
    assert "augmented the evaluation splits `fold_0`, `fold_1`, `fold_2`, `fold_3`, `fold_4`" in card


def test_both_baselines_report_accuracy_recall_and_f1_on_test(recipe: Recipe) -> None:
    card, stats = card_of(recipe), stats_of(recipe)
    assert set(stats["evaluate"]) == {"evaluate.tfidf-logreg", "evaluate.transformers-finetune"}
    folds = "`, `".join(FOLDS)
    for step_id, result in stats["evaluate"].items():
        test = result["splits"]["test"]
        assert {"accuracy", "recall_macro", "f1_macro"} <= set(test), step_id
        assert result["train_rows"] == sum(o["rows"] for o in stats["outputs"] if o["split"] in FOLDS)
        assert f"rows of `{folds}`, predicting `label` (2 classes)" in card
        assert f"| test | {test['support']} | {test['accuracy']:.4f} | {test['precision_macro']:.4f} | " in card
    assert "| Split | Rows | Accuracy | Macro precision | Macro recall | Macro F1 |" in card


def test_the_regression_variant_reports_its_target_and_regression_metrics(variant: Recipe) -> None:
    card, stats = card_of(variant), stats_of(variant)
    assert {"annotate.round1", "augment.nlpaug.keyboard", "format"} <= {step["id"] for step in stats["steps"]}
    for section in ("Splits", "Regression target", "Annotation", "Baseline evaluation", "Augmentation"):
        assert f"\n## {section}\n" in card, section
    assert "split kept the share of each of its 4 quantile bins in every split" in card
    assert set(stats["evaluate"]) == {"evaluate.tfidf-ridge", "evaluate.transformers-finetune"}
    for step_id, result in stats["evaluate"].items():
        assert {"mse", "rmse", "mae", "r2", "spearman"} <= set(result["splits"]["test"]), step_id
    assert "| Split | Rows | MSE | RMSE | MAE | R² | Spearman ρ |" in card
    import pyarrow.parquet as pq

    rows = pq.read_table(variant.folder / "data" / "classification" / "test-00000-of-00001.parquet").to_pylist()
    assert rows and all(0.5 <= row["label"] <= 1 for row in rows)  # the share agreeing with the majority


@pytest.mark.parametrize("which", ["recipe", "variant"])
def test_the_output_may_be_uploaded_as_it_is(which: str, request: pytest.FixtureRequest) -> None:
    built: Recipe = request.getfixturevalue(which)
    # the spec reads ../../../shared from specs/recipe/, one level deeper than the examples in specs/
    assert_nothing_of_the_machine(Built(built.root, {which: built.folder}), built.folder, climb="../../../../")
    check_card(built.folder, built.spec)
    check_croissant(built.folder, built.spec)
    result = run_cli("publish", str(built.folder), "--repo", "my-org/recipe", "--dry-run")
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("which", ["recipe", "variant"])
def test_the_spec_validates_and_the_schema_accepts_it(which: str, request: pytest.FixtureRequest) -> None:
    import jsonschema

    spec: Path = request.getfixturevalue(which).spec
    assert problems(spec) == []
    schema = json.loads((ROOT / "schemas" / "specc.schema.json").read_text(encoding="utf-8"))
    assert list(jsonschema.Draft202012Validator(schema).iter_errors(yaml.safe_load(spec.read_text()))) == []


def test_a_stricter_agreement_gate_stops_the_build_and_keeps_the_output(recipe: Recipe) -> None:
    strict = recipe.spec.with_name("recipe-strict.yaml")
    text = recipe.spec.read_text(encoding="utf-8")
    assert "agreement: {metric: krippendorff-alpha, min: 0.15}" in text
    strict.write_text(
        text.replace("min: 0.15}", "min: 0.5}").replace("name: hateful-tweets-recipe", "name: recipe-strict"),
        encoding="utf-8",
    )
    before = (recipe.folder / "README.md").read_bytes()
    result = run_cli("build", str(strict))
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "agreement below the minimum: Krippendorff's alpha (nominal) is 0." in result.stderr
    assert "`agreement.min` of step 'annotate.round1' is 0.5" in result.stderr
    assert not (strict.parent / "build" / "recipe-strict").exists()
    assert (recipe.folder / "README.md").read_bytes() == before


def test_the_tiny_model_is_made_the_same_every_time(recipe: Recipe, tmp_path: Path) -> None:
    made = recipe.spec.parent / "models" / "tiny-bert"
    result = run_shell(in_project(recipe.project, f"python specs/recipe/make_tiny_model.py {tmp_path / 'again'}"))
    assert result.returncode == 0, result.stderr
    names = sorted(p.name for p in made.iterdir())
    assert names == sorted(p.name for p in (tmp_path / "again").iterdir()) and "model.safetensors" in names
    for name in names:
        assert (made / name).read_bytes() == (tmp_path / "again" / name).read_bytes(), name
