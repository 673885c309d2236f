"""The stage table: what derives from it, and a new kind added through it alone."""

from __future__ import annotations

import typing
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

import specc
from specc import hookspecs, stages
from specc.compiler import compile_spec
from specc.errors import SpecError
from specc.plugins import get_registry, reset_plugins
from specc.spec import load_spec, spec_model
from tests.conftest import write


def test_kinds_hooks_and_fields_are_unique() -> None:
    for column in ("kind", "hook", "field"):
        values = [getattr(s, column) for s in stages.STAGES if getattr(s, column) is not None]
        assert len(values) == len(set(values)), column
    assert len({s.name for s in stages.pipeline()}) == len(stages.pipeline())


def test_every_kind_has_a_documented_hookspec() -> None:
    for stage in stages.STAGES:
        spec = getattr(hookspecs, stage.hook)
        assert spec.__name__ == stage.hook
        assert spec.__doc__.startswith(f"Register {stage.base.__name__} classes: ")
        assert ":param register:" in spec.__doc__ and "Called when specc loads" in spec.__doc__
        assert typing.get_type_hints(spec) == {"register": hookspecs.Register, "return": type(None)}


def test_registry_and_spec_model_follow_the_table() -> None:
    registry = get_registry()
    for stage in stages.STAGES:
        registry.names(stage.kind)  # a KeyError if the registry missed a kind
    fields = list(spec_model(registry).model_fields)
    top = [s.field for s in stages.pipeline() if s.parent is None]
    assert [f for f in fields if f in top] == top


def test_row_stages_sit_where_the_executor_runs_them() -> None:
    names = [s.name for s in stages.pipeline()]
    assert all(names.index(s.name) < names.index("format") for s in stages.pipeline() if s.rows)


class Filter(specc.Step):
    """The base of a new kind: row filters, written under `filter:`."""


class OddOnly(Filter):
    """Keeps the rows with an odd label."""

    name = "odd-only"

    def apply(self, table: pa.Table) -> specc.StepResult:
        return self.keep(table, pc.equal(pc.bit_wise_and(table["label"], 1), 1), "even label")


class FilterPlugin:
    """Registers a component of the new kind."""

    @specc.hookimpl
    def register_filters(self, register):  # type: ignore[no-untyped-def]
        register(OddOnly)


SPEC = """\
specc: 1
name: filtered
description: Rows filtered by a kind the stage table gained in a test.
license: mit
sources:
  rows: {type: csv, path: rows.csv, license: mit}
filter:
  - {type: odd-only}
split: {method: random, ratios: {train: 0.7, test: 0.3}}
card: {draft: true}
"""


@pytest.mark.parametrize("after", ["annotator", "splitter", "augmenter"])
def test_a_kind_added_to_the_table_runs(
    after: str,
    register_plugin,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    at = [s.kind for s in stages.STAGES].index(after) + 1
    table = (*stages.STAGES[:at], stages.Stage("filter", Filter, "register_filters", "filter"), *stages.STAGES[at:])
    monkeypatch.setattr(stages, "STAGES", table)
    reset_plugins()
    register_plugin(FilterPlugin(), "filters")
    # texts repeat, so the split leaks; a filter after it changes what the written rows share
    write(tmp_path / "rows.csv", "text,label\n" + "".join(f"row {i % 10},{i}\n" for i in range(100)))
    with pytest.raises(
        SpecError,
        match=r"filtered.yaml:8:12: error: filter\[0\].type: unknown type 'odd-onyl'; "
        r"did you mean 'odd-only'\? installed: odd-only",
    ):
        load_spec(write(tmp_path / "filtered.yaml", SPEC.replace("odd-only", "odd-onyl")))
    spec = load_spec(write(tmp_path / "filtered.yaml", SPEC))

    plan = compile_spec(spec)
    ids = [s.id for s in plan.steps]
    assert ids[ids.index("filter.odd-only") - 1] == ("sources.rows" if after == "annotator" else "split")
    stats = specc.build(tmp_path / "filtered.yaml")
    record = next(s for s in stats["steps"] if s["stage"] == "filter")
    assert record["type"] == "odd-only" and record["rows_out"] == 50
    out = tmp_path / "build" / "filtered"
    labels = [
        label for f in sorted((out / "data").glob("*.parquet")) for label in pq.read_table(f)["label"].to_pylist()
    ]
    assert sorted(labels) == list(range(1, 100, 2))
