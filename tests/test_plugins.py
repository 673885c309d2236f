"""Plugins: entry points, restriction, conflicts, and every hook used through a real build."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest

import specc
from specc import hookspecs
from specc.errors import PluginError
from tests.conftest import ROOT, run_cli, write


class Numbers(specc.Source):
    """A source that makes rows instead of reading files."""

    name = "numbers"

    class Params(specc.SourceParams):
        count: int = 10

    def read(self):  # type: ignore[no-untyped-def]
        yield pa.table(
            {
                "text": [f"number {i} of {self.params.count}" for i in range(self.params.count)],
                "label": [i % 2 for i in range(self.params.count)],
            }
        )


class Parity(specc.Annotator):
    """Writes `parity` from `label`."""

    name = "parity"

    def apply(self, table: pa.Table) -> specc.StepResult:
        parity = pc.if_else(pc.equal(table["label"], 0), "even", "odd")
        return specc.StepResult(table.append_column("parity", parity))


class EvenOdd(specc.Splitter):
    """Even labels to train, odd to test."""

    name = "even-odd"

    def assign(self, table: pa.Table) -> pa.Array:
        return pc.if_else(pc.equal(table["label"], 0), "train", "test").combine_chunks()


class Shout(specc.Augmenter):
    """An upper-case copy of each row."""

    name = "shout"

    def augment(self, table: pa.Table) -> pa.Table:
        out = table.set_column(table.column_names.index("text"), "text", pc.utf8_upper(table["text"]))
        return out.append_column("_origin_id", table["_id"])


class Prompt(specc.Formatter):
    """prompt / completion columns."""

    name = "prompt"

    def format(self, table: pa.Table) -> pa.Table:
        prompt = pc.binary_join_element_wise("Classify: ", table["text"], "")
        return pa.table({"prompt": prompt, "completion": table["parity"], "_id": table["_id"]})


class Colophon(specc.CardSection):
    """A closing line."""

    name = "colophon"
    order = 950

    def render(self, card: specc.CardData) -> str:
        return f"## Colophon\n\n{len(card.stats.outputs)} splits, made with a test plugin.\n"


class Counting(specc.Executor):
    """The local executor, counting its runs."""

    name = "counting"
    runs = 0

    def run(self, plan: Any, options: Any) -> dict[str, Any]:
        from specc.executor.local import run_local

        Counting.runs += 1
        return run_local(plan, options)


class TestPlugin:
    """Implements every component hook."""

    @specc.hookimpl
    def register_sources(self, register):  # type: ignore[no-untyped-def]
        register(Numbers)

    @specc.hookimpl
    def register_annotators(self, register):  # type: ignore[no-untyped-def]
        register(Parity)

    @specc.hookimpl
    def register_splitters(self, register):  # type: ignore[no-untyped-def]
        register(EvenOdd)

    @specc.hookimpl
    def register_augmenters(self, register):  # type: ignore[no-untyped-def]
        register(Shout)

    @specc.hookimpl
    def register_formatters(self, register):  # type: ignore[no-untyped-def]
        register(Prompt)

    @specc.hookimpl
    def register_card_sections(self, register):  # type: ignore[no-untyped-def]
        register(Colophon)

    @specc.hookimpl
    def register_executors(self, register):  # type: ignore[no-untyped-def]
        register(Counting)


SPEC = """\
specc: 1
name: hooks
description: Every hook at once.
license: mit
seed: 7
sources:
  nums: {type: numbers, count: 6}
clean:
  - {type: min-words, min_words: 4}
annotate:
  - {type: parity}
split: {method: even-odd}
augment:
  - {type: shout, splits: [train]}
format: {type: prompt}
card: {draft: true}
"""


def test_every_component_hook_in_one_build(register_plugin, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import datasets

    register_plugin(TestPlugin(), "test-plugin")
    spec = write(tmp_path / "hooks.yaml", SPEC)
    stats = specc.build(spec, executor="counting")
    assert Counting.runs == 1
    out = tmp_path / "build" / "hooks"
    loaded = datasets.load_dataset(str(out))
    train = loaded["train"].to_list()
    assert [r["prompt"] for r in train] == [
        "Classify: number 0 of 6",
        "Classify: number 2 of 6",
        "Classify: number 4 of 6",
        "Classify: NUMBER 0 OF 6",
        "Classify: NUMBER 2 OF 6",
        "Classify: NUMBER 4 OF 6",
    ]
    assert {r["completion"] for r in loaded["test"]} == {"odd"}
    assert train[3]["_id"] == "nums:0~augment.shout.1" and train[3]["_origin_id"] == "nums:0"
    assert train[3]["_augmenter"] == "shout"
    assert next(s for s in stats["steps"] if s["stage"] == "augment")["added"] == {"train": 3}
    assert stats["steps"][-1]["stage"] == "format"  # the format step, after augmentation
    assert "## Colophon\n\n2 splits, made with a test plugin." in (out / "README.md").read_text()


def test_duplicate_type_names_both_plugins(register_plugin) -> None:  # type: ignore[no-untyped-def]
    class Clash(specc.Step):
        name = "normalize"

    class ClashPlugin:
        @specc.hookimpl
        def register_steps(self, register):  # type: ignore[no-untyped-def]
            register(Clash)

    with pytest.raises(PluginError) as info:
        register_plugin(ClashPlugin(), "clash")
    message = str(info.value)
    assert "step type 'normalize' is registered twice" in message
    assert "specc.builtins" in message and "'clash'" in message


def test_registering_a_non_component_is_an_error(register_plugin) -> None:  # type: ignore[no-untyped-def]
    class Wrong:
        @specc.hookimpl
        def register_sources(self, register):  # type: ignore[no-untyped-def]
            register(dict)

    with pytest.raises(PluginError, match="not a subclass of specc.Source"):
        register_plugin(Wrong(), "wrong")


def test_plugins_json_lists_types_and_versions() -> None:
    result = run_cli("plugins", "--json")
    assert result.returncode == 0, result.stderr
    plugins = {p["name"]: p for p in json.loads(result.stdout)}
    assert plugins["specc.builtins"]["provides"]["step"] == [
        "decontaminate",
        "dedup",
        "drop-missing",
        "fill-missing",
        "length",
        "near-dedup",
        "normalize",
        "regex",
    ]
    assert plugins["example"]["distribution"] == "specc-example"
    assert plugins["example"]["provides"] == {"step": ["min-words"]}
    text = run_cli("plugins").stdout
    assert "example  (specc-example 0.1.0)\n    step: min-words" in text


@pytest.mark.parametrize(
    ("allowed", "loaded"), [("", False), ("example", True), ("specc-example", True), ("other", False)]
)
def test_load_env_restricts_entry_points(allowed: str, loaded: bool) -> None:
    result = run_cli("plugins", "--json", env={"SPECC_LOAD_PLUGINS": allowed})
    names = {p["name"] for p in json.loads(result.stdout)}
    assert ("example" in names) is loaded
    assert "specc.builtins" in names


def test_plugin_command_through_entry_point(tmp_path: Path) -> None:
    write(tmp_path / "t.txt", "one two\nthree\n")
    result = run_cli("words", str(tmp_path / "t.txt"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "2 lines, 3 words"


def test_every_hook_is_documented_and_tested() -> None:
    hooks = [name for name in dir(hookspecs) if name.startswith("register_")]
    guide = (ROOT / "docs" / "plugins" / "index.md").read_text()
    tests = (
        Path(__file__).read_text() + (ROOT / "plugins" / "specc-example" / "specc_example" / "__init__.py").read_text()
    )
    for hook in hooks:
        assert f"`{hook}(" in guide, f"{hook} is not in docs/plugins/index.md"
        assert f"def {hook}(" in tests, f"{hook} has no test plugin"


class Words(specc.TokenCounter):
    """Whitespace-separated words as tokens (the `tokenizer` parameter names nothing here)."""

    name = "words"

    def count(self, table: pa.Table) -> dict[str, Any]:
        import numpy as np

        return {
            part: np.asarray(pc.list_value_length(pc.utf8_split_whitespace(table[part])).to_numpy(), np.int64)
            for part in ("prompt", "completion")
        }


class TokenPlugin:
    """Implements the token counter hook."""

    @specc.hookimpl
    def register_tokenizers(self, register):  # type: ignore[no-untyped-def]
        register(Words)


def test_a_token_counter_holds_formatted_rows_to_a_budget(register_plugin, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    register_plugin(TokenPlugin(), "token-plugin")
    texts = ["one", "one two", "one two three", "one two three four", "one two three four five"]
    write(tmp_path / "rows.jsonl", "".join(json.dumps({"text": t}) + "\n" for t in texts))
    spec = write(
        tmp_path / "spec.yaml",
        "specc: 1\nname: budget\ndescription: d\nlicense: mit\ncard: {draft: true}\n"
        "sources:\n  rows: {type: jsonl, path: rows.jsonl, license: mit}\n"
        "format:\n  type: prompt-completion\n  prompt: 'Say {{ text }}'\n  completion: 'ok'\n"
        "  tokens: {type: words, tokenizer: whitespace, max_tokens: 5}\n",
    )
    stats = specc.build(spec)
    assert stats["tokens"]["over_budget"] == {"train": 2}  # "Say" + 4 or 5 words + "ok"
    assert stats["tokens"]["splits"]["train"]["prompt"] == {
        "rows": 3,
        "min": 2,
        "median": 3.0,
        "p95": 3.9,
        "max": 4,
        "mean": 3.0,
    }
    assert stats["tokens"]["splits"]["train"]["completion"]["max"] == 1
    assert stats["steps"][-1]["id"] == "tokens" and stats["steps"][-1]["dropped"] == {"over token budget": 2}
    lock = json.loads(spec.with_suffix(".lock").read_text())
    assert lock["steps"]["tokens"]["params"] == {
        "action": "drop",
        "max_tokens": 5,
        "tokenizer": "whitespace",
        "revision": None,
    }


class Constant(specc.Evaluator):
    """A baseline that always predicts the first class (tests/test_evaluate.py builds with it)."""

    name = "constant"

    def predict(self, train, names, splits):  # type: ignore[no-untyped-def]
        return {split: [0] * len(rows.texts) for split, rows in splits.items()}


class EvaluatorPlugin:
    """Implements the evaluator hook."""

    @specc.hookimpl
    def register_evaluators(self, register):  # type: ignore[no-untyped-def]
        register(Constant)


LAZY_MODULE = '''
import pyarrow.compute as pc

import specc


class Upper(specc.Step):
    """Upper-cases `text`."""

    name = "upper"

    def apply(self, table):
        return specc.StepResult(table.set_column(table.column_names.index("text"), "text",
                                                 pc.utf8_upper(table["text"])))
'''


def lazy_plugin(target: str, name: str | None = "upper") -> object:
    """A plugin that registers one clean step by its "module:Class" string."""

    class Lazy:
        @specc.hookimpl
        def register_steps(self, register):  # type: ignore[no-untyped-def]
            register(target, name=name)

    return Lazy()


def test_a_type_registered_by_name_is_imported_when_a_spec_uses_it(  # type: ignore[no-untyped-def]
    register_plugin, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    import pyarrow.parquet as pq

    write(tmp_path / "modules" / "lazy_upper_step.py", LAZY_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path / "modules"))
    monkeypatch.delitem(sys.modules, "lazy_upper_step", raising=False)
    register_plugin(lazy_plugin("lazy_upper_step:Upper"), "lazy")
    assert "lazy_upper_step" not in sys.modules
    other = write(
        tmp_path / "other.yaml",
        "specc: 1\nname: other\ndescription: d\nlicense: mit\n"
        "sources:\n  rows: {type: jsonl, path: rows.jsonl}\nclean:\n  - {type: normalize}\n"
        "card: {draft: true}\n",
    )
    write(tmp_path / "rows.jsonl", '{"text": "quiet words"}\n')
    specc.load_spec(other)
    assert "lazy_upper_step" not in sys.modules
    spec = write(tmp_path / "lazy.yaml", other.read_text().replace("other", "lazy").replace("normalize", "upper"))
    specc.build(spec)
    assert "lazy_upper_step" in sys.modules
    assert pq.read_table(tmp_path / "build" / "lazy" / "data" / "train-00000-of-00001.parquet")["text"].to_pylist() == [
        "QUIET WORDS"
    ]


@pytest.mark.parametrize(
    ("target", "name", "message"),
    [
        (
            "no_such_module_here:Upper",
            "upper",
            "step type 'upper' could not be loaded from 'no_such_module_here:Upper': "
            "No module named 'no_such_module_here'",
        ),
        ("specc.builtins.clean:NoSuchClass", "upper", "could not be loaded from 'specc.builtins.clean:NoSuchClass'"),
        (
            "specc.builtins.clean:Dedup",
            "upper",
            "registered Dedup as step type 'upper', but its `name` is 'dedup'; make them the same",
        ),
        ("specc.builtins.sources:CsvSource", "upper", "as a step, but it is not a subclass of specc.Step"),
    ],
)
def test_a_broken_registration_by_name_fails_on_use_naming_the_plugin(  # type: ignore[no-untyped-def]
    register_plugin, tmp_path: Path, target: str, name: str, message: str
) -> None:
    register_plugin(lazy_plugin(target, name), "lazy")
    spec = write(
        tmp_path / "s.yaml",
        "specc: 1\nname: s\ndescription: d\nlicense: mit\n"
        "sources:\n  rows: {type: jsonl, path: rows.jsonl}\nclean:\n  - {type: upper}\ncard: {draft: true}\n",
    )
    write(tmp_path / "rows.jsonl", '{"text": "a"}\n')
    with pytest.raises(PluginError, match="plugin 'lazy'") as info:
        specc.load_spec(spec)
    assert message in str(info.value)
    with pytest.raises(PluginError, match="plugin 'lazy'"):
        specc.plugins.get_registry().load_all()


@pytest.mark.parametrize("target", ["lazy_upper_step.Upper", "lazy_upper_step:", "1bad:Upper"])
def test_a_malformed_registration_by_name_fails_at_once(  # type: ignore[no-untyped-def]
    register_plugin, target: str
) -> None:
    with pytest.raises(PluginError, match="register a class, or a 'module:Class' string with `name=` its type name"):
        register_plugin(lazy_plugin(target), "lazy")


def test_a_registration_by_name_needs_the_name(register_plugin) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(PluginError, match="with `name=` its type name"):
        register_plugin(lazy_plugin("lazy_upper_step:Upper", None), "lazy")


def test_specc_plugins_imports_every_type_so_a_broken_one_shows(tmp_path: Path) -> None:
    """A distribution whose registration names a missing class fails `specc plugins` with a clean message, and
    not the specs that do not use its type."""
    write(
        tmp_path / "site" / "broken_plugin.py",
        "import specc\n\n\n@specc.hookimpl\ndef register_steps(register):\n"
        "    register('broken_plugin:Missing', name='missing')\n",
    )
    write(
        tmp_path / "site" / "broken_plugin-0.1.dist-info" / "METADATA",
        "Metadata-Version: 2.1\nName: broken-plugin\nVersion: 0.1\n",
    )
    write(tmp_path / "site" / "broken_plugin-0.1.dist-info" / "entry_points.txt", "[specc]\nbroken = broken_plugin\n")
    env = {"PYTHONPATH": str(tmp_path / "site")}
    result = run_cli("plugins", env=env)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "error: plugin 'broken' (broken-plugin 0.1): step type 'missing' could not be "
        "loaded from 'broken_plugin:Missing': module 'broken_plugin' has no attribute "
        "'Missing'"
    )
    assert "Traceback" not in result.stderr
    assert run_cli("validate", str(ROOT / "specs" / "quickstart.yaml"), env=env).returncode == 0


class TrainMax(specc.Imputer):
    """Writes `train_max` on every row: the largest `number` of the training rows."""

    name = "train-max"

    def apply(self, table: pa.Table) -> specc.StepResult:
        train, _ = self.training_rows(table)
        largest = pa.repeat(pc.max(train["number"]), table.num_rows)
        return specc.StepResult(table.append_column("train_max", largest))


class ImputerPlugin:
    """Implements the imputer hook."""

    @specc.hookimpl
    def register_imputers(self, register):  # type: ignore[no-untyped-def]
        register(TrainMax)


def test_an_imputer_runs_after_the_split_and_learns_from_train_only(register_plugin, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import pyarrow.parquet as pq

    register_plugin(ImputerPlugin(), "imputer-plugin")
    for split, numbers in {"train": [1, 2, 3], "test": [100]}.items():
        write(tmp_path / f"{split}.jsonl", "".join(json.dumps({"text": f"n{n}", "number": n}) + "\n" for n in numbers))
    spec = write(
        tmp_path / "spec.yaml",
        "specc: 1\nname: imputed\ndescription: d\nlicense: mit\ncard: {draft: true}\nsources:\n"
        "  a: {type: jsonl, path: train.jsonl, split: train}\n  b: {type: jsonl, path: test.jsonl, split: test}\n"
        "impute:\n  - {type: train-max}\n",
    )
    stats = specc.build(spec)
    assert [s["id"] for s in stats["steps"]] == ["impute.train-max"]
    tables = [pq.read_table(p) for p in sorted((tmp_path / "build" / "imputed" / "data").glob("*.parquet"))]
    assert {n for t in tables for n in t["train_max"].to_pylist()} == {3}
