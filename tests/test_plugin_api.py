"""The declared plugin API: every name resolves, importing it stays cheap, the import contract covers all of specc."""

from __future__ import annotations

import ast
import json
import pkgutil
import re
import subprocess
import sys
import tomllib
from typing import Any

import pytest

import specc
import specc.plugin
from tests.conftest import ROOT

_IMPORTED = "import json, sys; import {module}; print(json.dumps(sorted(sys.modules)))"


def _imported(module: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", _IMPORTED.format(module=module)], capture_output=True, text=True, check=True, timeout=120
    )
    return set(json.loads(done.stdout))


def test_every_declared_name_resolves_to_its_definition() -> None:
    for name in specc.plugin.__all__:
        value = getattr(specc.plugin, name)
        assert value is not None, name
    assert specc.plugin.Step is specc.Step and specc.plugin.hookimpl is specc.hookimpl


def test_type_checkers_see_the_same_names_from_the_same_modules() -> None:
    tree = ast.parse((ROOT / "specc" / "plugin.py").read_text())
    guarded = next(n for n in tree.body if isinstance(n, ast.If) and ast.unparse(n.test) == "TYPE_CHECKING")
    seen = {a.name: node.module for node in guarded.body if isinstance(node, ast.ImportFrom) for a in node.names}
    assert seen == specc.plugin._EXPORTS


def test_an_undeclared_name_says_what_the_api_is() -> None:
    with pytest.raises(
        AttributeError, match="specc.plugin has no .load_spec.; the plugin API is: Annotations, Annotator, "
    ):
        specc.plugin.load_spec  # noqa: B018


def test_importing_the_api_costs_what_importing_specc_costs() -> None:
    assert _imported("specc.plugin") - _imported("specc") == {"specc.plugin"}


def _contracts(kind: str) -> list[dict[str, Any]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]
    return [c for c in config["contracts"] if c["type"] == kind]


def _modules() -> set[str]:
    return {f"specc.{m.name}" for m in pkgutil.iter_modules(specc.__path__) if not m.name.startswith("_")}


def test_the_import_contract_forbids_every_module_but_the_api() -> None:
    (contract,) = [c for c in _contracts("forbidden") if c["source_modules"][0].startswith("specc_")]
    assert contract["source_modules"] == [
        "specc_example",
        "specc_llm",
        "specc_nlpaug",
        "specc_ray",
        "specc_transformers",
    ]
    assert set(contract["forbidden_modules"]) == _modules() - {"specc.plugin"}


def test_every_core_module_has_a_layer_and_none_imports_the_builtins() -> None:
    (layers,) = _contracts("layers")
    layered = [m for layer in layers["layers"] for m in re.split(r"[\s|:]+", layer) if m]
    assert sorted(layered) == sorted(_modules() - {"specc.builtins"})
    (core,) = [c for c in _contracts("forbidden") if c["forbidden_modules"] == ["specc.builtins"]]
    assert set(core["source_modules"]) == _modules() - {"specc.builtins"}
    (acyclic,) = _contracts("acyclic_siblings")
    assert acyclic["ancestors"] == ["specc"]
