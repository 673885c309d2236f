"""The committed JSON Schema is fresh and accepts the example specs."""

from __future__ import annotations

import json

import yaml

from tests.conftest import ROOT, run_cli

# The committed schema covers the built-ins and these first-party plugins (entry-point names).
FIRST_PARTY_PLUGINS = "llm,nlpaug,ray,transformers"
SCHEMA = ROOT / "schemas" / "specc.schema.json"


def test_committed_schema_is_fresh() -> None:
    result = run_cli("schema", env={"SPECC_LOAD_PLUGINS": FIRST_PARTY_PLUGINS})
    assert result.returncode == 0, result.stderr
    assert result.stdout == SCHEMA.read_text(), (
        "schemas/specc.schema.json is stale; regenerate it with "
        f"`SPECC_LOAD_PLUGINS={FIRST_PARTY_PLUGINS} specc schema > schemas/specc.schema.json`"
    )


def test_schema_accepts_examples_and_rejects_mistakes() -> None:
    import jsonschema

    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    for spec in sorted([*(ROOT / "specs").glob("*.yaml"), *(ROOT / "plugins").glob("*/examples/*/spec.yaml")]):
        errors = list(validator.iter_errors(yaml.safe_load(spec.read_text())))
        assert errors == [], f"{spec.name}: {errors[0].message}"
    bad = yaml.safe_load((ROOT / "tests" / "bad_specs" / "three_mistakes.yaml").read_text())
    assert list(validator.iter_errors(bad))


def test_schema_covers_installed_plugins() -> None:
    result = run_cli("schema")
    assert result.returncode == 0
    assert '"min-words"' in result.stdout
