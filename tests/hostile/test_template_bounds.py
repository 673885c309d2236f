"""Templates without bounds (issue #15): formats and card sections render under a budget per render."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from specc.sandbox import FORMAT_LIMITS, TemplateLimitError, compiled, sandbox
from tests.conftest import ROOT, write
from tests.test_format import FORMATS, make

SECONDS = 60  # per CLI run: a build of the test spec takes a few seconds
PEAK_RSS = 512 << 20  # per CLI run: a build of the test spec peaks near 250 MB

# payload -> what the error says (a regular expression); each payload is refused before it takes time or memory
PAYLOADS = {
    "nested-loops": (
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
        r"its loops ran past [\d,]+ iterations, the budget of one render; loop over fewer items",
    ),
    "huge-power": (
        "{{ 10 ** 100000000 }}",
        (
            r"`\*\*` would make an integer of about 332,192,810 bits, past the budget of 4,096 bits; "
            r"use smaller numbers"
        ),
    ),
    "huge-repeat": (
        "{{ 'a' * 10**9 }}",
        (
            r"`\*` would make a text or list of 1,000,000,000 characters or items, past the budget of "
            r"1,000,000; make the template write less"
        ),
    ),
}
REPEAT = r"`\*` would make a text or list of [\d,]+ characters or items, past the budget of 1,000,000"


# Runs specc and reports its exit code and peak RSS: a child's ru_maxrss starts from its parent's size at fork, so the
# command is started by this small process rather than by pytest, whose size would hide the command's own peak.
_LAUNCH = """
import os, subprocess, sys
process = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(process.pid, 0)
open(sys.argv[1], "w").write(f"{os.waitstatus_to_exitcode(status)} {usage.ru_maxrss * 1024}")
"""


def run_measured(*args: str, cwd: Path) -> tuple[int, str, float, int]:
    """`specc ARGS...` through the real entry point: exit code, stderr, seconds and peak RSS in bytes."""
    out, err, report = cwd / "stdout.txt", cwd / "stderr.txt", cwd / "measured.txt"
    started = time.monotonic()
    with out.open("w") as stdout, err.open("w") as stderr:
        launcher = subprocess.Popen(
            [sys.executable, "-c", _LAUNCH, str(report), sys.executable, "-m", "specc", *args],
            cwd=cwd,
            stdout=stdout,
            stderr=stderr,
            start_new_session=True,
        )
    killer = threading.Timer(3 * SECONDS, os.killpg, (launcher.pid, 9))  # a runaway template must not hang the suite
    killer.start()
    try:
        launcher.wait()
    finally:
        killer.cancel()
    code, peak = map(int, report.read_text().split())
    return code, err.read_text(), time.monotonic() - started, peak


def check_refused(folder: Path, expected: str) -> None:
    """`specc build` fails with exactly `expected` (a regular expression), fast, small, and writes no output."""
    code, stderr, seconds, peak = run_measured("build", "spec.yaml", cwd=folder)
    print(f"{folder.name}: {seconds:.1f} s, peak RSS {peak >> 20} MB")
    assert code == 1, stderr
    assert "Traceback" not in stderr
    assert re.fullmatch(expected, stderr), stderr
    assert seconds < SECONDS and peak < PEAK_RSS, (seconds, peak)
    assert not (folder / "build" / "fmt").exists()


def format_spec(folder: Path, payload: str) -> None:
    """The formatter test's spec with a prompt whose second line is `payload`."""
    prompt = json.dumps("Review: {{ text }}\n" + payload)
    make(folder, FORMATS["prompt-completion"].replace('"Review: {{ text }}\\nSentiment:"', prompt))


def section_spec(folder: Path, payload: str) -> None:
    """The formatter test's spec with a card section whose third line is `payload`."""
    make(folder, FORMATS["prompt-completion"])
    spec = folder / "spec.yaml"
    spec.write_text(
        spec.read_text().replace(
            "card: {draft: true}", "card: {draft: true, sections: [{name: bounds, template: card/bounds.md.j2}]}"
        )
    )
    write(folder / "card" / "bounds.md.j2", f"## Bounds\n\n{payload}\n")


@pytest.mark.parametrize("name", [*PAYLOADS, "row-repeat"])
def test_format_payloads_stop_at_their_line_and_row(name: str, tmp_path: Path) -> None:
    payload, reason = PAYLOADS.get(name, ("{{ text * 100000 }}", REPEAT))
    folder = tmp_path / name
    format_spec(folder, payload)
    check_refused(
        folder,
        r"error: step 'format' \(prompt-completion\): template prompt\[0\] line 2: "
        rf"{reason}.*\(row _id 'rows:\d+'\)\n",
    )


@pytest.mark.parametrize("name", [*PAYLOADS, "spec-repeat"])
def test_card_section_payloads_stop_at_their_line(name: str, tmp_path: Path) -> None:
    payload, reason = PAYLOADS.get(name, ("{{ spec.description * 100000 }}", REPEAT))
    folder = tmp_path / name
    section_spec(folder, payload)
    check_refused(folder, rf"card/bounds\.md\.j2:3: error: card section 'bounds': {reason}.*\n")


def test_a_huge_literal_is_a_validation_error_at_its_line(tmp_path: Path) -> None:
    format_spec(tmp_path, "{{ 0x" + "F" * 2000 + " }}")
    code, stderr, _, _ = run_measured("validate", "spec.yaml", cwd=tmp_path)
    assert code == 1 and "Traceback" not in stderr
    assert (
        "format.prompt[0]: template syntax error at line 2: a number literal has 8,000 bits, past the budget "
        "of 4,096 bits" in stderr
    )


def test_a_batch_whose_text_passes_its_budget_stops(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from specc.builder import build
    from specc.builtins import formats

    monkeypatch.setattr(formats, "BATCH_CHARS", 500)
    monkeypatch.setattr(formats, "INPUT_FACTOR", 0)
    format_spec(tmp_path, "")
    with pytest.raises(
        TemplateLimitError,
        match=r"^error: step 'format' \(prompt-completion\): the templates wrote "
        r"more than 500 characters for a batch of 40 rows \(at template "
        r"prompt\[0\], row _id 'rows:\d+'\), past the budget of 0 per byte "
        r"of input plus 500; make the templates write less$",
    ):
        build(tmp_path / "spec.yaml")


@pytest.mark.parametrize("error", [MemoryError(), "pyarrow.ArrowCapacityError"])
def test_running_out_of_memory_while_formatting_is_a_clear_error(
    error: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pyarrow as pa

    from specc.builder import build
    from specc.builtins.formats import PromptCompletion
    from specc.errors import SpeccError

    if isinstance(error, str):
        error = pa.ArrowCapacityError("array cannot contain more than 2147483646 bytes, have 2147483650")

    def fail(*args: Any) -> None:
        raise error

    monkeypatch.setattr(PromptCompletion, "format", fail)
    format_spec(tmp_path, "")
    with pytest.raises(
        SpeccError,
        match=r"^error: step 'format' \(prompt-completion\): formatting a batch of 40 rows "
        r"ran out of memory \((MemoryError|ArrowCapacityError: array cannot .*)\); "
        r"make the templates write less, or drop very long rows first",
    ):
        build(tmp_path / "spec.yaml")


def test_running_out_of_memory_in_a_template_names_its_line_and_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from specc import sandbox
    from specc.builder import build

    def boom(value: Any) -> str:
        raise MemoryError

    monkeypatch.setitem(sandbox.FILTERS, "boom", boom)
    format_spec(tmp_path, "{{ text|boom }}")
    with pytest.raises(
        TemplateLimitError,
        match=r"^error: step 'format' \(prompt-completion\): template prompt\[0\] "
        r"line 2: it ran out of memory; make the template write less "
        r"\(row _id 'rows:\d+'\)$",
    ):
        build(tmp_path / "spec.yaml")


# --- the environment's limits, directly ---------------------------------------------------------


def render(source: str, **variables: Any) -> str:
    return compiled(sandbox(FORMAT_LIMITS), source, "t", "t").render(**variables)


@pytest.mark.parametrize(
    ("source", "length"),
    [
        ("{% for i in range(1000) %}{% for j in range(99) %}{% endfor %}{% endfor %}", 0),  # 100,000 iterations
        ("{{ 'a' * 1000000 }}", 1_000_000),
        (
            "{% set ns = namespace(s='ab') %}{% for i in range(18) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s }}",
            2**19,
        ),
        ("{{ 2 ** 4095 }}", 1233),
        ("{{ '{:>999994}'.format(1) }}{{ '%5d' % 3 }}", 999_999),
        ("{{ text|center(1000) }}{{ ([text] * 1000)|join('-') }}", 1000 + 1000 * 4 + 999),
    ],
)
def test_templates_right_under_the_budgets_render(source: str, length: int) -> None:
    assert len(render(source, text="abcd")) == length


@pytest.mark.parametrize(
    "source",
    [
        "{% for i in range(1000) %}{% for j in range(100) %}{% endfor %}{% endfor %}",
        "{{ 'a' * 1000000 }}b",
        "{% set ns = namespace(s='ab') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
        "{% set x %}{% for i in range(100000) %}0123456789abcdefghij{% endfor %}{% endset %}",
        "{% macro m(s) %}{{ s }}{{ s }}{% endmacro %}{{ " + "m(" * 20 + "text" + ")" * 20 + " }}",
        "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(40) }}",  # time
        (
            "{% for x in [2] recursive %}{% if x == 2 %}{{ loop(range(3, 90003)) }}{{ loop(range(3, 90003)) }}{% endif %}"
            "{% endfor %}"
        ),
        "{{ 2 ** 4096 }}",
        "{{ ('9' * 4000)|int }}",
        "{{ range(10 ** 12)|list }}",
        "{{ 'a'|center(10 ** 9) }}",
        "{{ 'a'.ljust(10 ** 9) }}",
        "{{ 'a\tb'.expandtabs(10 ** 9) }}",
        "{{ text|indent(10 ** 9) }}",
        "{{ [1]|batch(10 ** 9, 0)|list }}",
        "{{ [1]|slice(10 ** 9)|list }}",
        "{{ '%1000000000d' % 1 }}",
        "{{ '%*d' % (10 ** 9, 1) }}",
        "{{ '%1000000000s'|format(1) }}",
        "{{ '{:>1000000000}'.format(1) }}",
        "{{ '{:{}}'.format(1, 10 ** 9) }}",
        "{{ '{a:{b}}'.format_map({'a': 1, 'b': 10 ** 9}) }}",
        "{{ (text * 200000)|replace('', text) }}",
        "{{ (text * 200000).replace('', text) }}",
        "{{ (text * 200000)|list|join(text) }}",
        "{{ text.join(text * 200000) }}",
        "{{ (text * 200000).translate({97: text * 100}) }}",
        "{{ [text] * 10 ** 9 }}",
        "{{ (text * 200000) + (text * 200000) }}",
    ],
)
def test_templates_past_a_budget_stop_at_once(source: str) -> None:
    started = time.monotonic()
    with pytest.raises(TemplateLimitError):
        render(source, text="abcd")
    assert time.monotonic() - started < 3 * FORMAT_LIMITS.seconds


def test_sandbox_escapes_stay_blocked_and_lipsum_is_gone() -> None:
    from jinja2.exceptions import SecurityError, UndefinedError

    for source in ("{{ ''.__class__.__mro__ }}", "{{ [].append(1) }}", "{{ lipsum(10 ** 6) }}"):
        with pytest.raises((SecurityError, UndefinedError)):
            render(source)


def example_templates() -> list[str]:
    """Every format template of the example specs."""
    found = []
    for spec in sorted((ROOT / "specs").glob("*.yaml")):
        fmt = (yaml.safe_load(spec.read_text()) or {}).get("format") or {}
        for value in fmt.values():
            found += [t for t in (value if isinstance(value, list) else [value]) if isinstance(t, str) and "{" in t]
    return found


def test_example_templates_render_the_same_text_as_plain_jinja2() -> None:
    from jinja2 import StrictUndefined
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    plain = ImmutableSandboxedEnvironment(
        undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True
    )
    templates = example_templates()
    assert len(templates) >= 5
    row = {
        "text": "I love it",
        "label": 1,
        "label_name": "joy",
        "label_names": {"label": ["anger", "joy"]},
        "instruction": "Add 2 and 3.",
        "input": "",
        "output": "5",
    }
    for source in templates:
        for variables in (row, {**row, "input": "2, 3"}):
            assert render(source, **variables) == plain.from_string(source).render(**variables)
