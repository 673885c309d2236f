"""The documentation's examples run, its reference pages follow the code, the README stays short.

Every fenced block of the docs, the README and the plugins' READMEs is an example (parsed by sybil):

- ```python blocks run in one namespace per page, in order;
- ```bash blocks run in bash (`set -euo pipefail`) and must succeed; ```console blocks run each `$ command`
  and compare what it prints (stdout and stderr) with the lines below it (a line `...` matches any lines, `...` in a line any text);
- a block with a title (```yaml title="spec.yaml"```) is a file: it is written there, and Python is compiled;
- `<!-- skip: next ... -->` before a block skips it, with a reason (a plugin or a model that is absent);
  `<!-- invisible-code-block: python ... -->` runs checks a reader does not need to see.

Each page runs in a fresh copy of the repository's specs/ and schemas/ (its current folder), so builds
write there. Commands that install or set up (`pip install`, `python -m venv`, `bash .ci/run`) are
checked, not run: every distribution they name is one this repository defines, and every path exists.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shlex
import shutil
import subprocess
import sys
import unittest
from pathlib import Path
from typing import Any

import pytest
from pydantic import Field
from sybil import Document, Example, Region
from sybil.parsers.markdown import PythonCodeBlockParser, SkipParser
from sybil.parsers.markdown.lexers import RawFencedCodeBlockLexer

import specc
from specc import stages
from specc.plugins import get_registry
from specc.registry import Registered

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted(
    [
        ROOT / "README.md",
        ROOT / "plugins" / "README.md",
        *ROOT.glob("plugins/*/README.md"),
        *(p for p in ROOT.glob("docs/**/*.md") if p.name != "hooks.md"),  # hooks.md: generated, no examples
    ]
)
DISTRIBUTIONS = {
    "specc-sft": ROOT,
    **{p.name: p for p in ROOT.glob("plugins/*") if (p / "pyproject.toml").is_file()},
}
THIRD_PARTY = {"ray[data]", "trl", "transformers", "datasets", "mkdocs-material"}
SETUP = re.compile(r"^(?:python[\d.]*|\S*/python) -m venv\b")
PIP = re.compile(r"^(?:\S*/)?pip install\s+(?P<args>.*)$")
VENV_BIN = re.compile(r"^\.venv/bin/")


def check_install(args: str) -> None:
    """Fail unless every requirement of `pip install ARGS` is a distribution or folder this repository has."""
    words = shlex.split(args)
    for i, word in enumerate(words):
        if word.startswith("-"):
            assert word in {"-e", "-U", "--upgrade"}, f"pip option {word} in an example"
            continue
        if i and words[i - 1] == "-e" or word.startswith((".", "plugins/")):
            folder = ROOT / word.split("[")[0]
            assert (folder / "pyproject.toml").is_file(), f"`pip install {args}`: no distribution at {word}"
            continue
        name = re.split(r"[\[=<>]", word)[0]
        assert name in DISTRIBUTIONS or word in THIRD_PARTY, (
            f"`pip install {args}`: {word} is neither a distribution of this repository ({', '.join(DISTRIBUTIONS)}) "
            f"nor a known third-party package"
        )


def _command(segment: str) -> str:
    """A command of an example as the test runs it: set-up commands checked and replaced by `:`."""
    segment = segment.strip()
    pip = PIP.match(segment)
    if pip:
        check_install(pip.group("args").split("#")[0])
        return ":"
    if SETUP.match(segment):
        return ":"
    if segment.startswith("bash .ci/run"):
        assert (ROOT / ".ci" / "run").is_file()
        return ":"
    return VENV_BIN.sub("", segment)


def shell_script(source: str) -> str:
    """The example's script with its set-up commands checked and left out."""
    lines = []
    for line in source.splitlines():
        code = line.split(" #")[0] if not line.lstrip().startswith("#") else ""
        lines.append(" && ".join(_command(part) for part in code.split(" && ")) if code.strip() else line)
    return "\n".join(lines)


def run_shell(script: str) -> subprocess.CompletedProcess[str]:
    """Run a script in bash in the current folder, with this interpreter's scripts (`specc`) first on PATH."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}", "COLUMNS": "100"}
    return subprocess.run(
        ["bash", "-c", "set -euo pipefail\n" + script],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )


def _line_matches(expected: str, actual: str) -> bool:
    return re.fullmatch(".*".join(re.escape(part) for part in expected.split("...")), actual) is not None


def _matches(expected: list[str], actual: list[str]) -> bool:
    """Whether printed lines match a page's: a line `...` stands for any lines, `...` in a line for any text."""
    if not expected:
        return not actual
    if expected[0] == "...":
        return any(_matches(expected[1:], actual[i:]) for i in range(len(actual) + 1))
    return bool(actual) and _line_matches(expected[0], actual[0]) and _matches(expected[1:], actual[1:])


def evaluate_bash(example: Example) -> str | None:
    result = run_shell(shell_script(example.parsed))
    if result.returncode:
        return f"exit code {result.returncode}\n--- stdout\n{result.stdout}--- stderr\n{result.stderr}"
    return None


def evaluate_console(example: Example) -> str | None:
    blocks = re.split(r"^\$ ", example.parsed, flags=re.MULTILINE)[1:]
    for block in blocks:
        command, _, expected = block.partition("\n")
        result = run_shell(shell_script(command))
        actual = [line.rstrip() for line in (result.stdout + result.stderr).splitlines()]
        wanted = [line.rstrip() for line in expected.rstrip("\n").splitlines()]
        if not _matches(wanted, actual):
            return f"$ {command}\n--- expected\n{expected}--- got\n" + "\n".join(actual)
    return None


def evaluate_file(example: Example) -> None:
    path = Path(example.region.lexemes["title"])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(example.parsed)
    if path.suffix == ".py":
        compile(example.parsed, str(path), "exec")


class BlockParser:
    """Shell blocks (bash, console) and titled blocks (files) of a Markdown page."""

    lexer = RawFencedCodeBlockLexer(
        info_pattern=re.compile(r'(?P<language>[\w-]+)(?:[ \t]+title="(?P<title>[^"]+)")?[ \t]*$\n', re.MULTILINE)
    )

    def __call__(self, document: Document) -> Any:
        for region in self.lexer(document):
            language, title = region.lexemes["language"], region.lexemes["title"]
            if title:
                region.evaluator = evaluate_file
            elif language in {"bash", "console"}:
                region.evaluator = evaluate_bash if language == "bash" else evaluate_console
            else:
                continue
            region.parsed = region.lexemes["source"]
            yield Region(region.start, region.end, region.parsed, region.evaluator, region.lexemes)


PARSERS = (PythonCodeBlockParser(), SkipParser(), BlockParser())


def installed(module: str) -> bool:
    """Whether a module can be imported (a plugin's, an optional library's)."""
    return importlib.util.find_spec(module) is not None


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh copy of the example specs and the schema, as the current folder."""
    for name in ("specs", "schemas"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("build", ".specc"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_examples_run(page: Path, project: Path) -> None:
    document = Document.parse(str(page), *PARSERS)
    document.namespace.update(installed=installed, ROOT=ROOT)
    for example in document.examples():
        try:
            example.evaluate()
        except unittest.SkipTest:  # this example only: its `skip:` says why
            continue
        except Exception as exc:
            raise AssertionError(f"{page.relative_to(ROOT)}:{example.line}: the example fails:\n{exc}") from exc


def test_install_hints_name_this_repositorys_distributions() -> None:
    check_install("specc-sft 'specc-sft[evaluate]' specc-nlpaug -e plugins/specc-ray")
    for bad in ("specc", "specc[evaluate]", "-e plugins/nothing"):
        with pytest.raises(AssertionError):
            check_install(bad)


def test_console_output_matches_with_ellipsis() -> None:
    assert _matches(["a", "...", "d"], ["a", "b", "c", "d"])
    assert _matches(["a", "..."], ["a"])
    assert not _matches(["a", "d"], ["a", "b", "d"])
    assert _matches(["built .../x (train 2)"], ["built /tmp/a/x (train 2)"])


def _reference() -> Any:
    spec = importlib.util.spec_from_file_location("docs_reference", ROOT / "tools" / "docs_reference.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_reference_pages_follow_the_code() -> None:
    reference = _reference()

    def section(description: str) -> str:
        class Words(specc.Step):
            """Drops rows with too few words."""

            name = "docs-words"

            class Params(specc.Params):
                min_words: int = Field(2, ge=1, description=description)

        entry = Registered("step", "docs-words", Words, "docs", "docs-dist", "1")
        return reference.component_section(stages.kinds()["step"], entry)

    first, second = section("Fewest words kept."), section("The fewest words a row may have.")
    assert "| `min_words` | int | `2` | Fewest words kept. (>= 1) |" in first
    assert "The fewest words a row may have." in second and "Fewest words kept." not in second


def test_reference_pages_list_every_installed_type() -> None:
    reference = _reference()
    pages = reference.pages()
    registry = get_registry()
    for kind, page in reference.PAGES.items():
        text = pages[f"reference/components/{page}.md"]
        for name in registry.names(kind):
            assert f"## `{name}`" in text, f"{name} ({kind}) is missing from reference/components/{page}.md"
    assert "`stats-version`" in pages["reference/stats.md"]


def test_readme_is_short_and_undated() -> None:
    text = (ROOT / "README.md").read_text()
    assert len(text.splitlines()) <= 200
    assert not re.search(r"\b20\d\d-\d\d-\d\d\b", text), "dated figures belong in docs/performance.md"
    for spec in sorted((ROOT / "specs").glob("*.yaml")):
        assert f"specs/{spec.name}" in text, f"the README's table of examples misses specs/{spec.name}"


@pytest.mark.parametrize(
    ("kind", "guide"),
    [
        ("source", "sources"),
        ("step", "clean"),
        ("annotator", "annotate"),
        ("splitter", "split"),
        ("imputer", "clean"),
        ("formatter", "format"),
    ],
)
def test_how_to_overviews_name_every_built_in_type(kind: str, guide: str) -> None:
    text = (ROOT / "docs" / "how-to" / f"{guide}.md").read_text()
    for entry in get_registry().entries(kind):
        if entry.distribution == "specc":
            assert f"`{entry.name}`" in text, (
                f"docs/how-to/{guide}.md does not mention the built-in {kind} {entry.name}"
            )
