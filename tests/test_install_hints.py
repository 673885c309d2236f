"""Every install hint, in code and in the docs, names a distribution this repository defines or a known one.

`specc` on the package index is an unrelated project: the core is `specc-sft`, and no hint may name `specc`.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from specc import known_plugins
from tests.conftest import ROOT, run_cli

# Third-party distributions the hints may name (the tests' own fake plugins are not scanned).
KNOWN = {"pip", "scikit-learn", "datasketch", "atheris", "torch", "transformers", "trl", "llamafactory", "label-studio"}
TAKEN = "specc"  # on the package index, another project's

HINT = re.compile(r"\bpip[x3]? install\b([^\n`#;&|()]*)")
TOKEN = re.compile(r"""'[^'\n]*'|"[^"\n]*"|[^\s'"]+""")
OPTIONS_WITH_VALUE = {"-r", "--requirement", "-c", "--constraint", "-i", "--index-url", "--extra-index-url", "-f"}
OPTIONS_WITH_VALUE |= {"--find-links", "--python", "-t", "--target", "--prefix", "--root"}
TEXT_SUFFIXES = {".md", ".rst", ".txt", ".py", ".yaml", ".yml", ".toml", ".sh", ".cfg", ".j2"}


def _projects() -> dict[Path, dict]:
    """Each distribution this repository defines: its folder and its [project] table."""
    found = [ROOT, *(p.parent for p in (ROOT / "plugins").glob("*/pyproject.toml"))]
    return {folder: tomllib.loads((folder / "pyproject.toml").read_text())["project"] for folder in found}


def _scanned() -> Iterator[Path]:
    """The code and the docs: the packages, plugins, benchmarks, CI script, READMEs, changelog, docs/ and specs."""
    yield from (ROOT / "specc").rglob("*.py")
    yield from (ROOT / "plugins").glob("*/specc_*/**/*.py")
    yield from (ROOT / "plugins").rglob("README.md")
    yield from (ROOT / "benchmarks").rglob("*")
    yield from (ROOT / "specs").glob("*.yaml")
    yield from (ROOT / "docs").rglob("*")
    yield from (ROOT / name for name in ("README.md", "CHANGELOG.md", ".ci/run"))


def _hints(text: str) -> Iterator[tuple[int, str]]:
    """(line number, argument) of each `pip install` argument in `text`."""
    for number, line in enumerate(text.splitlines(), 1):
        for hint in HINT.finditer(line):
            for token in TOKEN.findall(hint.group(1)):
                yield number, token.strip("'\"")


def _placeholder(token: str) -> bool:
    """An f-string field, a shell variable, a URL, or a NAME or ... the reader fills in."""
    return bool(re.search(r"[{}$<>*]|\.\.\.|[A-Z]{2,}", token)) or "://" in token


def _problems(where: str, text: str, projects: dict[Path, dict]) -> Iterator[str]:
    defined = {canonicalize_name(p["name"]): set(p.get("optional-dependencies", {})) for p in projects.values()}
    skip = False
    for number, token in _hints(text):
        at = f"{where}:{number}: pip install {token}"
        if skip or _placeholder(token) or token in ("-e", "--editable"):
            skip = False
            continue
        if token.startswith("-"):
            skip = token in OPTIONS_WITH_VALUE
            continue
        path, _, extras = token.partition("[")
        if path.startswith(".") or "/" in path:
            folder = (ROOT / path).resolve()
            if folder not in projects:
                yield f"{at}: no distribution of this repository is at {path}"
            elif missing := set(re.findall(r"[\w-]+", extras)) - set(projects[folder].get("optional-dependencies", {})):
                yield f"{at}: {projects[folder]['name']} has no extra {sorted(missing)}"
            continue
        try:
            requirement = Requirement(token)
        except InvalidRequirement:
            yield f"{at}: not a distribution name"
            continue
        name = canonicalize_name(requirement.name)
        if name == TAKEN:
            yield f"{at}: `{TAKEN}` on the package index is another project; the core is specc-sft"
        elif name in defined:
            if missing := requirement.extras - defined[name]:
                yield f"{at}: {name} has no extra {sorted(missing)}"
        elif name not in KNOWN:
            yield f"{at}: {name} is neither defined here nor a known third-party distribution"


def test_install_hints_name_known_distributions() -> None:
    projects = _projects()
    problems = []
    for path in sorted(set(_scanned())):
        if path.is_file() and (path.suffix in TEXT_SUFFIXES or path.name == "run"):
            problems += _problems(str(path.relative_to(ROOT)), path.read_text(encoding="utf-8"), projects)
    assert problems == []


def test_no_dependency_list_names_the_taken_name() -> None:
    """Plugins here and plugin examples in the docs depend on specc-sft."""
    lists = [p.get("dependencies", []) for p in _projects().values()]
    for path in [*(ROOT / "plugins").rglob("README.md"), *(ROOT / "docs").rglob("*.md"), ROOT / "README.md"]:
        if path.is_file():
            lists += [
                re.findall(r'"([^"]+)"', found) for found in re.findall(r"dependencies = \[(.*?)\]", path.read_text())
            ]
    assert [r for listed in lists for r in listed if canonicalize_name(Requirement(r).name) == TAKEN] == []


def test_the_check_catches_the_taken_name_and_unknown_extras() -> None:
    projects = _projects()
    text = "run `pip install specc`\npip install -q 'specc-sft[nope]'\nraise Fail('pip install \"specc==0.1\"')\n"
    text += "pip install specc-sft specc-nlpaug[models] -e plugins/specc-ray '{dist}=={version}' scikit-learn\n"
    assert [p.split(": ", 2)[2] for p in _problems("x", text, projects)] == [
        "`specc` on the package index is another project; the core is specc-sft",
        "specc-sft has no extra ['nope']",
        "`specc` on the package index is another project; the core is specc-sft",
    ]


def test_the_table_of_first_party_types_is_what_the_plugins_register() -> None:
    """specc.known_plugins names, for each distribution under plugins/, exactly the types its entry points register."""
    defined = {p["name"]: set(p.get("entry-points", {}).get("specc", {})) for p in _projects().values()}
    loaded = json.loads(run_cli("plugins", "--json").stdout)
    registered = {i["distribution"]: {k: tuple(v) for k, v in i["provides"].items()} for i in loaded}
    plugins = {name for name, entry_points in defined.items() if entry_points}
    assert plugins <= set(registered), "install every plugin under plugins/ (pip install -e plugins/NAME)"
    assert {i["name"] for i in loaded if i["distribution"] in plugins} == set().union(*(defined[d] for d in plugins))
    assert known_plugins.FIRST_PARTY == {name: registered[name] for name in sorted(plugins)}


def test_a_spec_naming_a_missing_plugins_type_names_the_distribution(tmp_path: Path) -> None:
    (tmp_path / "rows.jsonl").write_text('{"text": "a"}\n')
    spec = "specc: 1\nname: s\ndescription: d\nlicense: mit\nsources: {rows: {type: jsonl, path: rows.jsonl}}\n"
    (tmp_path / "spec.yaml").write_text(spec + "clean: [{type: min-words, min_words: 2}]\ncard: {draft: true}\n")
    only_nlpaug = run_cli("validate", "spec.yaml", cwd=tmp_path, env={"SPECC_LOAD_PLUGINS": "nlpaug"})
    assert only_nlpaug.stderr == (
        "spec.yaml:6:16: error: clean[0].type: 'min-words' is provided by the plugin specc-example; "
        "install it with pip install specc-example\n"
    )
    assert run_cli("validate", "spec.yaml", cwd=tmp_path).returncode == 0  # the plugin installed: no hint
