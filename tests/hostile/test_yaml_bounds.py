"""Issue #15: YAML that would eat the machine or crash `specc validate` fails fast, at its place."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from specc.errors import SpecError
from specc.spec import load_spec
from specc.spec.yaml_loader import DEFAULT_MAX_BYTES, MAX_BYTES_ENV, load_yaml
from tests.conftest import ROOT, run_cli, write

BUILTINS_ONLY = {"SPECC_LOAD_PLUGINS": ""}
VALID = (
    "specc: 1\nname: hostile\ndescription: d\nlicense: mit\n{extra}"
    "sources:\n  rows: {{type: jsonl, path: rows.jsonl}}\ncard: {{draft: true}}\n"
)
LOADER_SECONDS = 1.0
PEAK_MB = 200

# Runs `specc ARGS` through run_cli in a fresh process whose only child is the CLI, so the
# children's peak RSS is the CLI's alone (RUSAGE_CHILDREN keeps the largest child ever waited for).
MEASURE = """
import json, resource, sys
from tests.conftest import run_cli
result = run_cli(*sys.argv[2:], cwd=sys.argv[1], env={"SPECC_LOAD_PLUGINS": ""})
print(json.dumps({"code": result.returncode, "stdout": result.stdout, "stderr": result.stderr,
                  "peak_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))
"""


def alias_bomb() -> str:
    """A billion laughs shaped like the issue's 969-byte one: ten `lol`, seven levels of ten aliases (10^8 values)."""
    lines = ["d0: &d0 [" + ", ".join(["lol"] * 10) + "]"]
    lines += [f"d{i}: &d{i} [" + ", ".join([f"*d{i - 1}"] * 10) + "]" for i in range(1, 8)]
    return "\n".join(lines) + "\n"


def run_measured(cwd: Path, *args: str) -> dict[str, Any]:
    """`specc ARGS` in `cwd`: exit code, output and the CLI process's peak RSS in MB."""
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, str(cwd), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    return json.loads(done.stdout)


def loader_seconds(spec: Path) -> float:
    """Seconds `load_spec` takes to refuse `spec`."""
    start = time.perf_counter()
    with pytest.raises(SpecError):
        load_spec(spec)
    return time.perf_counter() - start


def valid_spec(folder: Path, extra: str = "", name: str = "spec.yaml") -> Path:
    """A valid spec (with `extra` lines at the top level) and its data."""
    write(folder / "rows.jsonl", '{"text": "hello there"}\n')
    return write(folder / name, VALID.format(extra=extra))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            alias_bomb(),
            "bomb.yaml:5:45: error: alias *d3 repeats 11,111 keys and values and takes the spec past 100,000",
        ),
        ("a: " + "[" * 1000 + "]" * 1000 + "\n", "bomb.yaml:1:68: error: nested more than 64 levels deep"),
    ],
    ids=["alias-bomb", "1000-deep"],
)
def test_bombs_fail_within_a_second_and_200_mb(tmp_path: Path, text: str, expected: str) -> None:
    spec = write(tmp_path / "bomb.yaml", text)
    assert len(text.encode()) < 2100
    assert loader_seconds(spec) < LOADER_SECONDS
    measured = run_measured(tmp_path, "validate", "bomb.yaml")
    assert measured["code"] == 1
    assert measured["stderr"].startswith(expected), measured["stderr"]
    assert "Traceback" not in measured["stderr"]
    assert measured["peak_mb"] < PEAK_MB


def test_ten_megabyte_spec_is_refused_by_size_at_once(tmp_path: Path) -> None:
    spec = write(tmp_path / "huge.yaml", "specc: 1\nitems:\n" + "- 1\n" * 2_500_000)
    assert loader_seconds(spec) < LOADER_SECONDS
    result = run_cli("validate", "huge.yaml", cwd=tmp_path, env=BUILTINS_ONLY)
    assert result.returncode == 1
    assert result.stderr == (
        f"huge.yaml:1:1: error: the spec is larger than 4,194,304 bytes; keep data in source "
        f"files, or raise the limit with {MAX_BYTES_ENV}=<bytes>\n"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "specc: 1\nname: a\x00b\n",
            "2:8: error: character U+0000 is not allowed in YAML; delete it, or write it "
            'as "\\x00" inside a double-quoted string',
        ),
        ("specc: 1\nname: a\x1bb\n", "2:8: error: character U+001B is not allowed in YAML"),
        ("a: &a [*a]\n", "1:8: error: alias *a is inside the value &a it repeats, so that value never ends"),
        (
            "specc: 1\nseed: " + "9" * 5000 + "\n",
            "2:7: error: a number 5,000 characters long; numbers in a spec "
            "have at most 100; quote it to keep it as text",
        ),
        (
            VALID.format(extra="allow_external_paths: 'yes'\n"),
            "5:23: error: allow_external_paths: write true or false, without quotes; got 'yes'",
        ),
        (
            VALID.format(extra=f"seed: {'1' * 100}\n"),
            "5:7: error: seed: must be a whole number from 0 to 18446744073709551615 (2**64 - 1); got 1111",
        ),
    ],
    ids=["nul", "escape", "cyclic-alias", "5000-digits", "flag-as-text", "100-digit-seed"],
)
def test_each_mistake_is_located_without_traceback(tmp_path: Path, text: str, expected: str) -> None:
    write(tmp_path / "rows.jsonl", '{"text": "hello there"}\n')
    write(tmp_path / "spec.yaml", text)
    result = run_cli("validate", "spec.yaml", cwd=tmp_path, env=BUILTINS_ONLY)
    assert result.returncode == 1
    assert result.stderr.startswith(f"spec.yaml:{expected}"), result.stderr
    assert "Traceback" not in result.stderr


def test_flags_and_seeds_in_range_still_validate(tmp_path: Path) -> None:
    valid_spec(tmp_path, f"allow_external_paths: false\nseed: {2**64 - 1}\n")
    result = run_cli("validate", "spec.yaml", cwd=tmp_path, env=BUILTINS_ONLY)
    assert result.returncode == 0, result.stderr


def test_the_size_limit_is_raised_by_a_flag_the_environment_or_the_api(tmp_path: Path) -> None:
    spec = valid_spec(tmp_path)
    with spec.open("a") as out:
        out.write("# " + "x" * DEFAULT_MAX_BYTES + "\n")
    refused = run_cli("validate", "spec.yaml", cwd=tmp_path, env=BUILTINS_ONLY)
    assert refused.returncode == 1
    assert "spec.yaml:1:1: error: the spec is larger than 4,194,304 bytes" in refused.stderr
    raised = run_cli("validate", "spec.yaml", cwd=tmp_path, env={**BUILTINS_ONLY, MAX_BYTES_ENV: str(8 * 2**20)})
    assert raised.returncode == 0, raised.stderr
    flagged = run_cli("--max-spec-bytes", str(8 * 2**20), "validate", "spec.yaml", cwd=tmp_path, env=BUILTINS_ONLY)
    assert flagged.returncode == 0, flagged.stderr
    assert load_spec(spec, max_bytes=8 * 2**20).model.name == "hostile"
    with pytest.raises(SpecError, match="larger than 100 bytes"):
        load_spec(spec, max_bytes=100)


def test_a_bad_size_limit_is_an_error_without_traceback(tmp_path: Path) -> None:
    valid_spec(tmp_path)
    result = run_cli("validate", "spec.yaml", cwd=tmp_path, env={**BUILTINS_ONLY, MAX_BYTES_ENV: "4MB"})
    assert result.returncode == 1
    assert result.stderr == (
        f"error: {MAX_BYTES_ENV} must be a positive whole number of bytes, such as 8388608; got '4MB'\n"
    )


def merge_bomb() -> str:
    """Ten keys, then seven levels each merging the level below ten times."""
    lines = ["d0: &d0 {" + ", ".join(f"k{i}: 1" for i in range(10)) + "}"]
    lines += [f"d{i}: &d{i} {{<<: [" + ", ".join([f"*d{i - 1}"] * 10) + "]}" for i in range(1, 8)]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (merge_bomb(), "5:30: error: alias *d3 repeats 21,333 keys and values"),
        (
            "a:" + "".join("\n" + "  " * i + f"k{i}:" for i in range(1, 100)) + " 1\n",
            "65:129: error: nested more than 64 levels deep; flatten this value",
        ),
        (
            "a: &a " + "[" * 40 + "1" + "]" * 40 + "\nb: " + "[" * 30 + "*a" + "]" * 30 + "\n",
            "2:34: error: alias *a nests the spec more than 64 levels deep",
        ),
        ("a: {<<: *a}\n", "1:9: error: YAML syntax: found undefined alias 'a'"),
        ("a: &a {b: {<<: *a}}\n", "1:16: error: alias *a is inside the value &a it repeats"),
        ("a: !!int abc\n", "1:4: error: YAML syntax: tag '!!int' does not fit 'abc'; remove the tag"),
        ("a: !!float ''\n", "1:4: error: YAML syntax: tag '!!float' does not fit ''; remove the tag"),
        ("a: !!timestamp x\n", "1:4: error: YAML syntax: tag '!!timestamp' does not fit 'x'"),
        ("a: !!bool maybe\n", "1:4: error: YAML syntax: tag '!!bool' does not fit 'maybe'"),
        ("a: !!binary aGk=\n", "1:4: error: YAML syntax: tag '!!binary' is not allowed; specs are plain YAML"),
        ("a: !!python/name:os.system\n", "1:4: error: YAML syntax: tag '!!python/name:os.system' is not allowed"),
        ("a: !custom x\n", "1:4: error: YAML syntax: tag '!custom' is not allowed; specs are plain YAML"),
        (
            "a:\n  b: 2024-02-30\n",
            "2:6: error: cannot read '2024-02-30': day is out of range for month; fix it, "
            "or quote it to keep it as text",
        ),
        ("a: 0x_\n", "1:4: error: cannot read '0x_'"),
        ("a: 2001-12-14t21:59:43.10+99:00\n", "1:4: error: cannot read '2001-12-14t21:59:43.10+99:00'"),
        ("? [a, b]\n: 1\n", "1:3: error: YAML syntax: a key must be text, not a list or a mapping"),
        ("a: 1\n" + "9" * 200 + ": x\n", "2:1: error: a number 200 characters long"),
        (
            "a: 1\r\nb: 2\rc: \ufffe\n",
            "3:4: error: character U+FFFE is not allowed in YAML; delete it, or write it "
            'as "\\ufffe" inside a double-quoted string',
        ),
    ],
    ids=[
        "merge-bomb",
        "block-depth",
        "alias-depth",
        "undefined-alias",
        "cyclic-merge",
        "int-tag",
        "float-tag",
        "timestamp-tag",
        "bool-tag",
        "binary-tag",
        "python-tag",
        "local-tag",
        "bad-date",
        "empty-hex",
        "bad-timezone",
        "list-key",
        "long-number-key",
        "crlf-lines",
    ],
)
def test_yaml_layer_errors_are_located(tmp_path: Path, text: str, expected: str) -> None:
    spec = tmp_path / "s.yaml"
    spec.write_bytes(text.encode())
    with pytest.raises(SpecError) as caught:
        load_yaml(spec)
    assert str(caught.value).startswith(f"{spec}:{expected}"), str(caught.value)


def test_bad_utf8_is_located(tmp_path: Path) -> None:
    spec = tmp_path / "s.yaml"
    spec.write_bytes(b"a: 1\nname: caf\xe9\n")
    with pytest.raises(SpecError, match=re.escape(f"{spec}:2:10: error: the spec is not UTF-8 text")):
        load_yaml(spec)


def test_aliases_merges_and_plain_scalars_still_load(tmp_path: Path) -> None:
    spec = write(
        tmp_path / "s.yaml",
        "base: &b {x: 1, y: [a, b]}\ncopy: *b\nmerged: {<<: *b, z: 2}\n"
        "text: !!str 12\nnumber: !!int '12'\nsign: =\nwhen: 2024-02-29\n",
    )
    data, positions = load_yaml(spec)
    assert data["copy"] == data["base"] == {"x": 1, "y": ["a", "b"]}
    assert data["merged"] == {"x": 1, "y": ["a", "b"], "z": 2}
    assert (data["text"], data["number"], data["sign"], str(data["when"])) == ("12", 12, "=", "2024-02-29")
    assert positions.value(("copy", "y", 1)) == (1, 24)  # an alias's values sit where the anchor wrote them


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ('"rows\\0.jsonl"', "6:29: error: sources.rows.path: a path cannot hold a NUL character (\\0); remove it"),
        ("x" * 300, "6:29: error: sources.rows.path: cannot use path 'xxx"),
    ],
    ids=["nul", "name-too-long"],
)
def test_unusable_paths_are_located(tmp_path: Path, path: str, expected: str) -> None:
    spec = write(tmp_path / "s.yaml", VALID.format(extra="").replace("path: rows.jsonl", f"path: {path}"))
    with pytest.raises(SpecError) as caught:
        load_spec(spec)
    assert str(caught.value).startswith(f"{spec}:{expected}"), str(caught.value)
