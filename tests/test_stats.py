"""The typed build statistics: stats.json round-trips through the model, its schema is fresh, the card audits itself
(on builds with and without a format, k-fold, predefined splits, augmentation, annotation and a token budget)."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest

import specc
from specc.errors import SpeccError
from specc.selfcheck import audit_card
from specc.stats import STATS_VERSION, BuildStats, read_stats, stats_schema
from tests.conftest import ROOT, run_cli
from tests.test_plugins import Words

SCHEMA = ROOT / "schemas" / "stats.schema.json"
REGENERATE = (
    'python -c \'from specc.stats import stats_schema; open("schemas/stats.schema.json", "w").write(stats_schema())\''
)


def test_committed_stats_schema_is_fresh() -> None:
    assert SCHEMA.read_text() == stats_schema(), f"schemas/stats.schema.json is stale; regenerate it with {REGENERATE}"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The quickstart built once in a copy of specs/; its output folder."""
    folder = tmp_path_factory.mktemp("stats") / "specs"
    shutil.copytree(ROOT / "specs", folder, ignore=shutil.ignore_patterns("build", ".specc"))
    result = run_cli("build", str(folder / "quickstart.yaml"))
    assert result.returncode == 0, result.stderr
    return folder / "build" / "support-intents"


def test_stats_json_has_its_version_validates_and_round_trips(built: Path) -> None:
    import jsonschema

    text = (built / "stats.json").read_text(encoding="utf-8")
    data = json.loads(text)
    assert next(iter(data)) == "stats-version" and data["stats-version"] == STATS_VERSION
    jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text())).validate(data)
    stats = read_stats(built / "stats.json", "rebuild")
    assert stats.split.splits["train"].rows == stats.outputs[0].rows
    assert json.dumps(stats.json_data(), indent=2, ensure_ascii=False) + "\n" == text


@pytest.mark.parametrize(
    "damage, reason",
    [
        ("{", "Expecting property name"),
        ('{"stats-version": 99}', "stats-version 99, not 1"),
        ("[]", "it holds a JSON list, not an object"),
    ],
)
def test_a_damaged_stats_json_says_to_rebuild(built: Path, tmp_path: Path, damage: str, reason: str) -> None:
    path = tmp_path / "stats.json"
    path.write_text(damage)
    with pytest.raises(SpeccError, match=f"^{path}: error: cannot read the build's statistics \\({reason}.*; rebuild$"):
        read_stats(path, "rebuild")
    data = json.loads((built / "stats.json").read_text())
    del data["split"]["splits"]
    path.write_text(json.dumps(data))
    with pytest.raises(SpeccError, match=r"1 invalid field\(s\), first split\.splits\); rebuild$"):
        read_stats(path, "rebuild")


# --- the card audits itself -------------------------------------------------------------------------


def tampered(built: Path, change: Callable[[BuildStats], None]) -> BuildStats:
    stats = read_stats(built / "stats.json", "rebuild")
    change(stats)
    return stats


def more_billing(stats: BuildStats) -> None:
    stats.split.splits["train"].by_label["label"]["billing"] += 1


def more_rows(stats: BuildStats) -> None:
    stats.split.splits["test"].rows += 1


def another_drop_reason(stats: BuildStats) -> None:
    step = next(s for s in stats.steps if s.dropped)
    reason = next(iter(step.dropped))
    step.dropped[reason] -= 1
    step.dropped["other"] = 1


def fewer_rows_out(stats: BuildStats) -> None:
    stats.steps[-1].rows_out -= 1


def more_leakage(stats: BuildStats) -> None:
    stats.split.leakage.total["exact_pairs"] += 1


def longer_text(stats: BuildStats) -> None:
    stats.lengths["text"]["train"].max += 1  # type: ignore[operator]


def test_the_audit_passes_on_a_build(built: Path) -> None:
    audit_card(built, read_stats(built / "stats.json", "rebuild"))


@pytest.mark.parametrize(
    "change, section",
    [
        (more_billing, "Splits"),
        (more_rows, "Splits"),
        (another_drop_reason, "Processing"),
        (fewer_rows_out, "Processing"),
        (more_leakage, "Splits"),
        (longer_text, "Text lengths"),
    ],
)
def test_tampered_stats_fail_the_audit_naming_the_card_section(
    built: Path, change: Callable[[BuildStats], None], section: str
) -> None:
    with pytest.raises(SpeccError, match=f"^error: self-check: card section '{section}': "):
        audit_card(built, tampered(built, change))


def test_evaluation_scores_are_those_of_their_confusion_matrix(built: Path) -> None:
    from specc.evaluation import classification_metrics

    scores = classification_metrics([0, 0, 1, 1, 2], [0, 1, 1, 1, 0], 3)
    stats = read_stats(built / "stats.json", "rebuild")
    stats.evaluate = {"evaluate.baseline": {"splits": {"test": scores}}}
    audit_card(built, stats)
    stats.evaluate["evaluate.baseline"]["splits"]["test"] = {**scores, "accuracy": scores["accuracy"] + 0.1}
    with pytest.raises(
        SpeccError,
        match="^error: self-check: card section 'Baseline evaluation': the scores of "
        "'evaluate.baseline' on split 'test'",
    ):
        audit_card(built, stats)


def more_exact_leakage(stats: BuildStats) -> None:
    """One more exact-duplicate pair between train and test, the total made to agree."""
    stats.split.leakage.pairs[next(iter(stats.split.leakage.pairs))].exact_pairs += 1
    stats.split.leakage.total["exact_pairs"] += 1


def test_the_leakage_is_found_again_in_the_written_rows(built: Path) -> None:
    with pytest.raises(SpeccError, match="^error: self-check: card section 'Splits': the leakage exact pairs of "):
        audit_card(built, tampered(built, more_exact_leakage))


# --- the audit on each kind of build: formats, k-fold, predefined splits, augmentation, annotation, tokens


class Shout(specc.Augmenter):
    """An upper-case copy of each chosen row."""

    name = "shout"

    def augment(self, table: pa.Table) -> pa.Table:
        upper = table.set_column(table.column_names.index("text"), "text", pc.utf8_upper(table["text"]))
        return upper.append_column("_origin_id", table["_id"])


class AuditPlugin:
    """The augmenter and token counter the builds below use."""

    @specc.hookimpl
    def register_augmenters(self, register: specc.Register) -> None:
        register(Shout)

    @specc.hookimpl
    def register_tokenizers(self, register: specc.Register) -> None:
        register(Words)


SPLIT = re.compile(r"\nsplit:\n(?:  .*\n)+")
KFOLD = "\nsplit:\n  method: kfold\n  folds: 3\n  test: 0.2\n  stratify: label\n"
PREDEFINED = "\nsplit:\n  method: predefined\n"
AUGMENT = "\naugment:\n  - {type: shout, fraction: 0.5}\n"
CHAT = '\nformat:\n  type: chat\n  user: "{{ text }}"\n  assistant: "{{ label_name }}"\n'
EVALUATE = "\nevaluate:\n  - {type: tfidf-logreg, text: text, label: label}\n"
TOKENS = (
    "\nformat:\n  type: prompt-completion\n  prompt: 'Which intent? {{ text }}'\n  completion: '{{ label_name }}'\n"
    "  tokens: {type: words, tokenizer: whitespace, max_tokens: 12}\n"
)


def _kfold(text: str) -> str:
    return SPLIT.sub(KFOLD, text)


def _predefined(text: str) -> str:
    for source, split in (("faq", "train"), ("tickets", "validation"), ("chats", "test")):
        text = text.replace(f"\n  {source}:", f"\n  {source}:\n    split: {split}", 1)
    return SPLIT.sub(PREDEFINED, text)


def _augmented(text: str) -> str:
    return SPLIT.sub(lambda m: m[0] + AUGMENT, text)


def _formatted(text: str) -> str:
    return SPLIT.sub(lambda m: m[0] + EVALUATE + CHAT, text)


def _tokens(text: str) -> str:
    return SPLIT.sub(lambda m: m[0] + TOKENS, text)


def _quickstart(folder: Path, edit: Callable[[str], str]) -> Path:
    """A copy of specs/ whose quickstart is edited by `edit`; the spec's path."""
    shutil.copytree(ROOT / "specs", folder, ignore=shutil.ignore_patterns("build", ".specc"))
    spec = folder / "quickstart.yaml"
    spec.write_text(edit(spec.read_text(encoding="utf-8")), encoding="utf-8")
    return spec


def fewer_fold_rows(stats: BuildStats) -> None:
    stats.split.splits[stats.outputs[-1].split].rows -= 1


def another_test_label(stats: BuildStats) -> None:
    counts = stats.split.splits["test"].by_label["label"]
    first, second = list(counts)[:2]
    counts[first] -= 1
    counts[second] += 1


def more_added(stats: BuildStats) -> None:
    step = next(s for s in stats.steps if s.stage == "augment")
    step.added = {split: n + 1 for split, n in (step.added or {}).items()}


def a_better_score(stats: BuildStats) -> None:
    scores = stats.evaluate["evaluate.tfidf-logreg"]["splits"]["test"]  # type: ignore[index]
    scores["f1_macro"] = round(scores["f1_macro"] + 0.01, 4)


def fewer_over_budget(stats: BuildStats) -> None:
    assert stats.tokens is not None and sum(stats.tokens.over_budget.values()) > 0
    split = next(s for s, n in stats.tokens.over_budget.items() if n)
    stats.tokens.over_budget[split] -= 1


def fewer_unlabelled(stats: BuildStats) -> None:
    step = next(s for s in stats.steps if s.stage == "annotate")
    reason = next(iter(step.dropped))
    step.dropped[reason] -= 1


@pytest.mark.parametrize(
    "edit, change, section",
    [
        (_kfold, fewer_fold_rows, "Splits"),
        (_predefined, another_test_label, "Splits': the rows per label"),
        (_augmented, more_added, "Processing"),
        (_augmented, another_test_label, "Splits': the rows per label"),
        (_augmented, more_exact_leakage, "Splits': the leakage exact pairs"),
        (_formatted, a_better_score, "Baseline evaluation"),
        (_tokens, fewer_over_budget, "Tokens"),
    ],
    ids=["kfold", "predefined", "augment-added", "augment-labels", "augment-leakage", "format-evaluate", "tokens"],
)
def test_each_kind_of_build_passes_the_audit_and_a_changed_number_fails_it(
    register_plugin: Callable[[object, str], None],
    tmp_path: Path,
    edit: Callable[[str], str],
    change: Callable[[BuildStats], None],
    section: str,
) -> None:
    register_plugin(AuditPlugin(), "audit-plugin")
    spec = _quickstart(tmp_path / "specs", edit)
    specc.build(spec)  # the build audits its card itself
    out = tmp_path / "specs" / "build" / "support-intents"
    audit_card(out, read_stats(out / "stats.json", "rebuild"))
    with pytest.raises(SpeccError, match=f"^error: self-check: card section '{section}"):
        audit_card(out, tampered(out, change))


def test_a_truncating_budget_no_row_reaches_records_nothing_truncated(
    register_plugin: Callable[[object, str], None], tmp_path: Path
) -> None:
    register_plugin(AuditPlugin(), "audit-plugin")
    roomy = TOKENS.replace("max_tokens: 12}", "max_tokens: 1000, action: truncate}")
    spec = _quickstart(tmp_path / "specs", lambda text: SPLIT.sub(lambda m: m[0] + roomy, text))
    stats = specc.build(spec)
    assert set(stats["tokens"]["truncated"].values()) == {0} and set(stats["tokens"]["over_budget"].values()) == {0}


def test_an_annotated_build_passes_the_audit_and_a_changed_drop_fails_it(tmp_path: Path) -> None:
    folder = tmp_path / "specs"
    shutil.copytree(ROOT / "specs", folder, ignore=shutil.ignore_patterns("build", ".specc"))
    specc.build(folder / "rule-labels.yaml")
    out = folder / "build" / "rule-labelled-intents"
    audit_card(out, read_stats(out / "stats.json", "rebuild"))
    with pytest.raises(SpeccError, match="^error: self-check: card section 'Processing': the rows out of step "):
        audit_card(out, tampered(out, fewer_unlabelled))


def test_a_build_whose_label_counts_are_wrong_fails_naming_the_section(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a format (and no classification configuration kept), only the build has the labels of the rows:
    the audit counts them from the rows before formatting."""
    import specc.output
    import specc.publish

    def split_stats(table: pa.Table, labelled: pa.Table, label_names: dict[str, list[str]]) -> dict[str, Any]:
        counts = real(table, labelled, label_names)
        by_label = counts["by_label"]["label"]
        by_label[next(iter(by_label))] += 1
        return counts

    real = specc.output.split_stats
    monkeypatch.setattr(specc.publish, "split_stats", split_stats)
    spec = _quickstart(tmp_path / "specs", _formatted)
    with pytest.raises(SpeccError, match="^error: self-check: card section 'Splits': the rows per label of split "):
        specc.build(spec)
