"""A publication-ready card: Hub metadata checked at validate time, licenses propagated, no empty prose."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from specc import hub_metadata as hub
from specc.card import render_template
from specc.errors import SpecError
from specc.licenses import broken_terms, conflicts, license_report
from specc.spec import load_spec, spec_model
from specc.testing import modules_imported, top_level
from tests.conftest import ROOT, run_cli, write

BAD = Path(__file__).parent / "bad_specs"
BUILTINS_ONLY = {"SPECC_LOAD_PLUGINS": ""}
PROSE = (
    "card:\n  summary: Rows made up for a test.\n  uses: Testing specc.\n  out_of_scope: Everything else.\n"
    "  limitations: Four rows.\n  personal_information: None; the rows are invented.\n"
)


def make_spec(
    folder: Path,
    top: str = "license: mit\n",
    sources: str = "  rows: {type: jsonl, path: rows.jsonl}\n",
    card: str = PROSE,
) -> Path:
    """A small valid spec over rows.jsonl; `top`, `sources` and `card` replace its parts (YAML lines)."""
    write(folder / "rows.jsonl", "".join(f'{{"text": "row number {i}", "label": {i % 2}}}\n' for i in range(4)))
    return write(folder / "spec.yaml", f"specc: 1\nname: cards\ndescription: A test.\n{top}sources:\n{sources}{card}")


def problems(path: Path) -> list[str]:
    """The diagnostics of a spec that fails to load, as `LINE:COL: PATH: MESSAGE`."""
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    return [f"{d.line}:{d.column}: {d.path}: {d.message}" for d in caught.value.diagnostics]


# --- the golden file: three kinds of mistake, all at once, each at its place ---------------------


def test_bad_license_bad_task_and_missing_limitations_are_reported_together() -> None:
    result = run_cli("validate", "card_metadata.yaml", cwd=BAD, env=BUILTINS_ONLY)
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 3, result.stderr
    assert lines[0].startswith(
        "card_metadata.yaml:4:10: error: license: unknown license 'apache2'; did you mean 'apache-2.0'?"
    )
    assert hub.LICENSES_URL in lines[0]
    assert lines[1].startswith(
        "card_metadata.yaml:6:7: error: task: unknown task category 'text-clasification'; "
        "did you mean 'text-classification'?"
    )
    assert lines[2].startswith("card_metadata.yaml:10:3: error: card.limitations: missing;")
    assert "`card: {draft: true}`" in lines[2]


# --- the Hub's allowed values -----------------------------------------------------------------------


def test_lists_hold_the_values_the_hub_documents() -> None:
    for license_id in (
        "apache-2.0",
        "mit",
        "cc-by-4.0",
        "cc-by-sa-4.0",
        "cc-by-nc-4.0",
        "cc0-1.0",
        "odc-by",
        "llama3.1",
        "gemma",
        "unknown",
        "other",
    ):
        assert hub.check_license(license_id) == license_id
    for task in (
        "text-classification",
        "token-classification",
        "table-question-answering",
        "question-answering",
        "zero-shot-classification",
        "translation",
        "summarization",
        "feature-extraction",
        "text-generation",
        "fill-mask",
        "sentence-similarity",
        "text2text-generation",
        "other",
    ):
        assert task in hub.TASK_CATEGORIES
    assert {"intent-classification", "named-entity-recognition", "extractive-qa", "language-modeling"} <= hub.TASK_IDS
    assert set(hub.ANNOTATIONS_CREATORS) == {
        "crowdsourced",
        "expert-generated",
        "found",
        "machine-generated",
        "no-annotation",
        "other",
    }
    assert set(hub.LANGUAGE_CREATORS) == set(hub.ANNOTATIONS_CREATORS) - {"no-annotation"}
    assert set(hub.MULTILINGUALITY) == {"monolingual", "multilingual", "translation", "other"}
    assert len(hub.LANGUAGES) > 8000 and {"en", "fr", "zh", "eng", "fre", "fra", "yue", "tok"} <= hub.LANGUAGES


def test_the_lists_match_what_the_datasets_package_ships() -> None:
    import datasets.utils.resources as resources

    folder = Path(resources.__file__).parent
    creators = json.loads((folder / "creators.json").read_text())
    assert set(creators["annotations"]) == set(hub.ANNOTATIONS_CREATORS)
    assert set(creators["language"]) == set(hub.LANGUAGE_CREATORS)
    assert set(json.loads((folder / "multilingualities.json").read_text())) == set(hub.MULTILINGUALITY)
    assert json.loads((folder / "size_categories.json").read_text()) == list(hub.SIZE_CATEGORIES)
    languages = set(json.loads((folder / "languages.json").read_text()))
    assert languages - {"code"} <= hub.LANGUAGES


def test_size_categories() -> None:
    for rows in (0, 999, 1_000, 54_321, 9_999_999, 99_999_999):
        assert hub.size_category(rows) in hub.SIZE_CATEGORIES
    assert [hub.size_category(n) for n in (999, 1_000, 10**8, 10**9, 10**12 - 1, 10**12)] == [
        "n<1K",
        "1K<n<10K",
        "100M<n<1B",
        "1B<n<10B",
        "100B<n<1T",
        "n>1T",
    ]


@pytest.mark.parametrize(
    "value, hint",
    [
        ("MIT", "did you mean 'mit'?"),
        ("Apache-2.0", "did you mean 'apache-2.0'?"),
        ("cc by nc 4.0", "did you mean 'cc-by-nc-4.0'?"),
        ("proprietary", "or `other` for a license"),
    ],
)
def test_license_ids_are_exact(value: str, hint: str) -> None:
    with pytest.raises(ValueError, match="unknown license") as caught:
        hub.check_license(value)
    assert hint in str(caught.value)


@pytest.mark.parametrize(
    "value",
    [
        "en",
        "de",
        "eng",
        "fre",
        "yue",
        "code",
        "multilingual",
        "en-US",
        "pt-BR",
        "zh-Hant",
        "sr-Latn-RS",
        "es-419",
        "en-GB-oxendict",
    ],
)
def test_languages_the_hub_accepts(value: str) -> None:
    assert hub.check_language(value) == value


@pytest.mark.parametrize(
    "value, hint",
    [
        ("EN", "did you mean 'en'?"),
        ("english", "did you mean 'en'?"),
        ("French", "did you mean 'fr'?"),
        ("en_US", "did you mean 'en-US'?"),
        ("en-us", "did you mean 'en-US'?"),
        ("xx", "use an ISO 639-1 code"),
        ("en-USA", "'en' is known, but the subtags after it are not valid BCP-47"),
    ],
)
def test_languages_the_hub_rejects(value: str, hint: str) -> None:
    with pytest.raises(ValueError, match=f"unknown language '{value}'") as caught:
        hub.check_language(value)
    assert hint in str(caught.value)


def test_unregistered_subtags_are_rejected_with_langcodes() -> None:
    pytest.importorskip("langcodes")
    assert not hub.is_language("en-JJ") and hub.is_language("en-GB")


def test_hub_values_golden_file_reports_each_value_at_its_place() -> None:
    result = run_cli("validate", "hub_values.yaml", cwd=BAD, env=BUILTINS_ONLY)
    assert result.returncode == 1
    assert result.stderr == (BAD / "hub_values.expected").read_text()
    assert "hub_values.yaml:12:26: error: card.annotations_creators[0]: Input should be 'crowdsourced'" in result.stderr
    assert "zh-Hant" not in result.stderr


def test_good_metadata_validates(tmp_path: Path) -> None:
    card = PROSE + (
        "  task_ids: [intent-classification, multi-class-classification]\n"
        "  annotations_creators: [expert-generated]\n  language_creators: [found, machine-generated]\n"
        "  multilinguality: [multilingual]\n  source_datasets: ['extended|glue']\n"
    )
    spec = load_spec(
        make_spec(
            tmp_path, top="license: cc-by-4.0\nlanguages: [en, de-CH, yue]\ntask: text-classification\n", card=card
        )
    )
    assert spec.model.card.task_ids == ["intent-classification", "multi-class-classification"]
    assert spec.model.card.source_datasets == ["extended|glue"]


def test_the_schema_offers_the_hub_values() -> None:
    schema = json.dumps(spec_model().model_json_schema())
    for needle in (
        '"license_override"',
        '"draft"',
        '"text-classification"',
        '"intent-classification"',
        '"no-annotation"',
        '"monolingual"',
    ):
        assert needle in schema


def test_validating_plain_language_codes_does_not_import_langcodes() -> None:
    imported = modules_imported("validate", str(ROOT / "specs/quickstart.yaml"))
    assert top_level(imported, {"langcodes", "datasets"}) == []


# --- no empty sections ------------------------------------------------------------------------------


def test_every_missing_prose_field_is_reported_at_card(tmp_path: Path) -> None:
    found = problems(make_spec(tmp_path, card="card:\n  pretty_name: Cards\n  uses: '  '\n"))
    assert [p.split(";")[0] for p in found] == [
        "8:3: card.summary: missing",
        "8:3: card.out_of_scope: missing",
        "8:3: card.limitations: missing",
        "8:3: card.personal_information: missing",
        "9:9: card.uses: empty",
    ]


def test_missing_card_is_reported_at_the_top_of_the_file(tmp_path: Path) -> None:
    path = make_spec(tmp_path, card="")
    path.write_text("# a comment first\n" + path.read_text())
    found = problems(path)
    assert len(found) == 5 and all(p.startswith("2:1: card.") for p in found), found


def test_missing_prose_is_reported_with_other_errors(tmp_path: Path) -> None:
    found = problems(make_spec(tmp_path, top="license: mit\nseed: many\n", card="card: {uses: Testing.}\n"))
    assert found[0].startswith("5:7: seed: Input should be a valid integer")
    assert [p.split(";")[0] for p in found[1:]] == [
        "8:7: card.summary: missing",
        "8:7: card.out_of_scope: missing",
        "8:7: card.limitations: missing",
        "8:7: card.personal_information: missing",
    ]


def test_a_draft_card_may_lack_prose(tmp_path: Path) -> None:
    spec = load_spec(make_spec(tmp_path, card="card: {draft: true, uses: Testing.}\n"))
    assert spec.model.card.draft
    assert spec.model.card.missing_prose() == ["summary", "out_of_scope", "limitations", "personal_information"]


# --- license propagation ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "output, source, broken",
    [
        ("mit", "cc-by-nc-4.0", ("non-commercial",)),
        ("mit", "cc-by-sa-4.0", ("share-alike",)),
        ("mit", "cc-by-nd-4.0", ("no-derivatives",)),
        ("apache-2.0", "gpl-3.0", ("share-alike",)),
        ("mit", "llama3.1", ("use restrictions",)),
        ("cc-by-4.0", "cc-by-nc-sa-4.0", ("non-commercial", "share-alike")),
        ("cc-by-nc-4.0", "cc-by-nc-sa-4.0", ("share-alike",)),
        ("cc-by-sa-3.0", "cc-by-sa-4.0", ("share-alike",)),
        ("cc-by-sa-4.0", "cc-by-sa-3.0", ()),
        ("cc-by-nc-sa-4.0", "cc-by-nc-4.0", ()),
        ("agpl-3.0", "gpl-3.0", ()),
        ("cc-by-sa-4.0", "cc-by-sa-4.0", ()),
        ("mit", "cc-by-4.0", ()),
        ("mit", "cc0-1.0", ()),
        ("cc-by-nc-4.0", "apache-2.0", ()),
        ("mit", "unknown", ()),
        ("mit", "other", ()),
        ("other", "cc-by-nc-4.0", ()),
        ("unknown", "cc-by-nc-4.0", ()),
    ],
)
def test_broken_terms(output: str, source: str, broken: tuple[str, ...]) -> None:
    assert broken_terms(output, source) == broken


def test_conflicts_name_the_sources_in_order() -> None:
    found = conflicts("mit", {"wiki": "cc-by-sa-4.0", "mine": "mit", "forum": "cc-by-nc-4.0"})
    assert [(c.source, c.license) for c in found] == [("forum", "cc-by-nc-4.0"), ("wiki", "cc-by-sa-4.0")]


def test_conflict_golden_file() -> None:
    result = run_cli("validate", "license_conflict.yaml", cwd=BAD, env=BUILTINS_ONLY)
    assert result.returncode == 1
    first = result.stderr.splitlines()[0]
    assert first.startswith(
        "license_conflict.yaml:4:10: error: license: 'mit' drops the terms of sources "
        "'forum' (cc-by-nc-4.0: non-commercial), 'quotes' (cc-by-nd-4.0: no-derivatives), "
        "'wiki' (cc-by-sa-4.0: share-alike);"
    )
    assert "license_override" in first
    assert "'mine'" not in result.stderr and "'scraped'" not in result.stderr


SOURCES = (
    "  forum: {type: jsonl, path: rows.jsonl, license: cc-by-nc-4.0}\n"
    "  wiki: {type: jsonl, path: rows.jsonl, license: cc-by-sa-4.0}\n"
    "  scraped: {type: jsonl, path: rows.jsonl}\n"
)


def test_an_override_with_a_reason_allows_the_license(tmp_path: Path) -> None:
    top = "license: mit\nlicense_override:\n  reason: The rights holders granted us MIT terms in writing.\n"
    spec = load_spec(make_spec(tmp_path, top=top, sources=SOURCES))
    report = license_report(spec.model)
    assert report["override"] == {
        "reason": "The rights holders granted us MIT terms in writing.",
        "sources": ["forum", "wiki"],
    }
    assert [c["source"] for c in report["conflicts"]] == ["forum", "wiki"]
    assert report["unknown"] == ["scraped"] and report["other"] == []


def test_an_override_needs_a_reason(tmp_path: Path) -> None:
    found = problems(make_spec(tmp_path, top="license: mit\nlicense_override: {reason: ' '}\n", sources=SOURCES))
    assert found[0].startswith("5:28: license_override.reason: String should have at least 1 character")


def test_an_override_without_a_conflict_is_an_error(tmp_path: Path) -> None:
    found = problems(make_spec(tmp_path, top="license: mit\nlicense_override: {reason: Because.}\n"))
    assert found == [
        "5:19: license_override: no source's license conflicts with 'mit'; remove license_override, "
        "or its reason would be shown for nothing"
    ]


def test_an_override_may_name_the_sources_it_covers(tmp_path: Path) -> None:
    top = "license: mit\nlicense_override:\n  reason: Because.\n  sources: [forum, scraped, nope]\n"
    found = problems(make_spec(tmp_path, top=top, sources=SOURCES))
    assert found[0].startswith("4:10: license: 'mit' drops the terms of source 'wiki' (cc-by-sa-4.0: share-alike);")
    assert found[0].endswith("license_override.sources does not name them")
    assert found[1].startswith("7:20: license_override.sources[1]: source 'scraped' (unknown) does not conflict")
    assert found[2].startswith("7:29: license_override.sources[2]: no source 'nope'; sources: forum, wiki, scraped")


def test_source_licenses_must_be_hub_ids(tmp_path: Path) -> None:
    found = problems(make_spec(tmp_path, sources="  rows: {type: jsonl, path: rows.jsonl, license: CC-BY-4.0}\n"))
    assert found == [
        f"6:50: sources.rows.license: unknown license 'CC-BY-4.0'; did you mean 'cc-by-4.0'? use an id "
        f"from the Hub's list ({hub.LICENSES_URL}), or `other` for a license that is not on it"
    ]


# --- the card ---------------------------------------------------------------------------------------

SUMMARY = dict(
    title="Cards", description="A test.", summary=None, version="1", license="mit", languages=[], task=None, total=4
)


def test_the_summary_shows_the_override_reason_and_the_unknown_sources(tmp_path: Path) -> None:
    top = "license: mit\nlicense_override:\n  reason: The rights holders granted us MIT terms in writing.\n"
    spec = load_spec(make_spec(tmp_path, top=top, sources=SOURCES))
    text = render_template("summary.md.j2", **SUMMARY, licensing=license_report(spec.model))
    assert (
        "> **License override.** Source `forum` is under cc-by-nc-4.0 (non-commercial); Source `wiki` is under "
        "cc-by-sa-4.0 (share-alike). These terms are not kept by this data set's license, mit. The spec "
        "publishes it under mit for this reason: The rights holders granted us MIT terms in writing."
    ) in text
    assert "> **Warning: unknown source licenses.** The spec does not state the license of `scraped`." in text


def test_the_summary_of_a_draft_says_so_at_the_top(tmp_path: Path) -> None:
    spec = load_spec(make_spec(tmp_path, card="card: {draft: true, uses: Testing.}\n"))
    text = render_template(
        "summary.md.j2", **SUMMARY, draft=spec.model.card.draft, missing_prose=spec.model.card.missing_prose()
    )
    assert text.startswith(
        "# Cards\n\n> **Draft card.** This card is a draft and not ready to publish: the spec does "
        "not yet give `summary`, `out_of_scope`, `limitations`, `personal_information`.\n"
    )


def test_the_summary_is_unchanged_without_the_new_variables() -> None:
    text = render_template("summary.md.j2", **SUMMARY)
    assert "Draft" not in text and ">" not in text and text.endswith("| Rows | 4 |\n")


def test_the_built_card_shows_the_override_and_the_draft(tmp_path: Path) -> None:
    top = (
        "license: mit\nlicense_override:\n  reason: The rights holders granted us MIT terms in writing.\n"
        "split: {method: random, ratios: {train: 0.5, test: 0.5}}\n"
    )
    path = make_spec(tmp_path, top=top, sources=SOURCES, card="card: {draft: true}\n")
    result = run_cli("build", str(path), env=BUILTINS_ONLY)
    assert result.returncode == 0, result.stderr
    card = (tmp_path / "build" / "cards" / "README.md").read_text()
    assert "\n# cards\n\n> **Draft card.**" in card
    assert "for this reason: The rights holders granted us MIT terms in writing." in card
    assert "The spec does not state the license of `scraped`." in card
