"""Each hook documents its argument, when it is called, what it registers and an example; the committed hooks
reference is generated from those docstrings and follows the stage table."""

from __future__ import annotations

import inspect

import pytest

import specc
from specc import hookspecs, stages
from tests.conftest import ROOT

REFERENCE = ROOT / "docs" / "reference" / "hooks.md"


def test_committed_reference_is_fresh() -> None:
    assert REFERENCE.read_text(encoding="utf-8") == hookspecs.reference(), (
        f"docs/reference/hooks.md is stale; regenerate it with `{hookspecs.REGENERATE}`"
    )


@pytest.mark.parametrize("stage", stages.STAGES, ids=lambda stage: stage.hook)
def test_a_stage_hook_documents_what_pytest_documents(stage: stages.Stage) -> None:
    doc = getattr(hookspecs, stage.hook).__doc__
    base = stage.base.__name__
    for part in (
        f"Register {base} classes: {stage.used_for()}.",
        f":param register: call it with each {base} subclass",
        "When it is called\n-----------------\n\nCalled when specc loads its plugins",
        f"What to register\n----------------\n\nA subclass of `specc.{base}`.\n\n`{base}`: {inspect.getdoc(stage.base)}",
        "Must override:\n- ",
        "Helpers to call:\n- ",
        "- `fail(message: str) -> SpeccError`: An error that names this step",
        f"    @specc.hookimpl\n    def {stage.hook}(register):\n        register(My{base})",
    ):
        assert part in doc, part
    overridden = [name for name, function in vars(stage.base).items() if inspect.isfunction(function)]
    for name in overridden:  # the base's own methods, each with its docstring's first line
        first = (inspect.getdoc(getattr(stage.base, name)) or "").splitlines()[0]
        assert f"- `{name}(" in doc and first in doc, name


def test_the_commands_hook_documents_what_pytest_documents() -> None:
    doc = inspect.getdoc(hookspecs.register_commands) or ""
    for part in (":param cli: ", "When it is called", "What to register", "def register_commands(cli):"):
        assert part in doc, part
    assert "register_commands(cli)" in hookspecs.reference()


class Filter(specc.Step):
    """Row filters, written under `filter:`: they keep rows and never change them."""


def test_a_kind_added_to_the_table_is_in_the_reference(monkeypatch: pytest.MonkeyPatch) -> None:
    at = [s.kind for s in stages.STAGES].index("annotator") + 1
    added = stages.Stage("filter", Filter, "register_filters", "filter")
    monkeypatch.setattr(stages, "STAGES", (*stages.STAGES[:at], added, *stages.STAGES[at:]))
    reference = hookspecs.reference()
    assert (
        "| [`register_filters`](#register_filters) | `Filter` | the `type:` of entries under `filter:` |" in reference
    )
    section = reference.split("\n## register_filters\n\n")[1].split("\n## ")[0]
    assert section.startswith(
        "`register_filters(register)`\n\nRegister Filter classes: the `type:` of entries under `filter:`. "
        "In a build it runs after `annotate:`, before `split:`.\n\n**`register`**: call it with each Filter subclass"
    )
    assert "`Filter`: Row filters, written under `filter:`: they keep rows and never change them." in section
    assert "Must override:\n- `apply(table: pa.Table) -> StepResult`: Transform or filter `table`." in section
    assert "- `scope`: `'row'` by default" in section
    assert (
        "    from tests.test_hooks_reference import Filter\n\n\n    class MyFilter(Filter):" in section
        and "        def apply(self, table):\n            ...\n" in section
        and "    def register_filters(register):\n        register(MyFilter)\n" in section
    )
    assert hookspecs.register_filters.__doc__.startswith("Register Filter classes: ")
    assert "register_filters" in dir(hookspecs)
