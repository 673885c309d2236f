"""The columns a spec's stages read, checked before a build against those the stages before them leave.

The sources' own columns come from their headers (`Source.header`: a CSV header, a Parquet schema, the first
JSON Lines records); each component then says what it reads (`columns_read`) and what it leaves
(`columns_after`). Where a component cannot say, the checks after it stop: an unknown set of columns reports
nothing rather than a false error.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from specc import stages
from specc.components import Component, Context, Formatter, Source, Where
from specc.errors import Diagnostic, SpeccError
from specc.registry import Registry
from specc.spec.diagnose import did_you_mean
from specc.spec.yaml_loader import Loc, Positions, dotted

INTERNAL = ("_id", "_source", "_split")  # the columns the executor adds to every source's rows


@dataclass(frozen=True)
class _Spec:
    """What the checks need to make components and to say where a problem is."""

    model: Any
    positions: Positions
    shown: Path
    spec_dir: Path
    registry: Registry
    sources: list[Source] = field(default_factory=list)

    def may_hold(self, column: str) -> bool:
        """Whether a source's data past its header may hold `column` (JSON Lines read from the first records)."""
        return any(_quietly(lambda source=source: source.mentions(column), True) for source in self.sources)

    def component(self, kind: str, name: str, entry: Any, step_id: str) -> Component:
        """An instance of the component an entry names, its parameters the entry's."""
        context = Context(
            step_id,
            0,
            self.spec_dir,
            tuple(self.model.languages),
            allow_external_paths=self.model.allow_external_paths,
        )
        return self.registry.get(kind, name).cls(entry, context)

    def files(self, source: Source) -> str:
        """The source's file as the spec's folder shows it, or "the source's files"."""
        files = _quietly(source.files, [])
        if len(files) != 1:
            return "the source's files"
        try:
            return files[0].relative_to(self.spec_dir.resolve()).as_posix()
        except ValueError:
            return str(files[0])

    def problem(self, loc: Loc, message: str, key: bool = False) -> Diagnostic:
        """A diagnostic at the value (or the key) at `loc`."""
        while loc and loc not in self.positions.values and loc not in self.positions.keys:
            loc = loc[:-1]  # a default the entry does not write, or one template written without a list
        line, col = self.positions.key(loc) if key else self.positions.value(loc)
        return Diagnostic(self.shown, line, col, dotted(loc), message)


def column_problems(
    model: Any, positions: Positions, shown: Path, spec_dir: Path, registry: Registry
) -> list[Diagnostic]:
    """Every column a source, step, split, augmenter, evaluator or format template names that is not there."""
    at = _Spec(model, positions, shown, spec_dir, registry)
    problems: list[Diagnostic] = []
    columns = _sources(at, problems)
    after: dict[str, list[str] | None] = {"sources": columns}
    for stage in stages.pipeline()[1:]:
        if stage.parent is not None:  # within another stage's entry (`format.tokens`): reads that stage's rows
            continue
        seen = after[stage.reads] if stage.reads else columns
        for loc, component in _entries(at, stage):
            if seen is None:
                break
            problems += _missing(at, component, loc, seen, "in the rows it reads")
            if stage.reads is None:
                seen = columns = component.columns_after(seen)
        if stage.reads is None:
            after[stage.name] = columns
    return problems


def _sources(at: _Spec, problems: list[Diagnostic]) -> list[str] | None:
    """The columns of the sources' rows together, or None if one source's are unknown."""
    columns: list[str] | None = list(INTERNAL)
    for name, entry in at.model.sources.items():
        loc: Loc = ("sources", name)
        source = at.component("source", entry.type, entry, name)
        assert isinstance(source, Source)  # the registry takes subclasses of the kind's base only
        at.sources.append(source)
        own = _quietly(source.header, None)
        if own is not None:
            problems += _missing(at, source, loc, own, f"in {at.files(source)}")
            rows = source.columns_after(own)
        else:
            rows = list(source.params.columns) if source.params.columns is not None else None
        if rows is not None:
            for column in source.params.labels or {}:
                if column not in rows and not at.may_hold(column):
                    problems.append(
                        at.problem(
                            (*loc, "labels", column), _no_column(column, rows, "among the source's columns"), key=True
                        )
                    )
        if columns is not None and rows is not None:
            extra = ["_parent_id"] if source.params.explode is not None else []
            columns += [c for c in [*extra, *rows] if c not in columns]
        else:
            columns = None
    return columns


def _entries(at: _Spec, stage: stages.Stage) -> Iterator[tuple[Loc, Component]]:
    """Each entry of a stage after the sources with where it is, as a component."""
    value = getattr(at.model, stage.name, None)
    if value is None:
        return
    entries = list(enumerate(value)) if stage.shape == "list" else [(None, value)]
    for i, entry in entries:
        loc: Loc = (stage.name,) if i is None else (stage.name, i)
        yield loc, at.component(stage.kind, getattr(entry, stage.tag), entry, dotted(loc))


def _missing(at: _Spec, component: Component, loc: Loc, columns: list[str], where: str) -> list[Diagnostic]:
    """A diagnostic per column `component` reads that `columns` lacks."""
    seen = list(columns)
    if isinstance(component, Formatter):  # a template also sees `<label>_name` (a label column's class name)
        seen += [f"{c}_name" for c in columns if not c.startswith("_")]
        where += " (a template sees the columns, `<label column>_name` and `label_names`)"
    read: dict[str, Where] = component.columns_read()
    return [
        at.problem((*loc, *inner), _no_column(column, columns, where, seen))
        for column, inner in read.items()
        if column not in seen and not at.may_hold(column)
    ]


def _no_column(column: str, columns: list[str], where: str, candidates: list[str] | None = None) -> str:
    """What is wrong, the closest of `candidates` (default `columns`) and the columns there are."""
    shown = ", ".join(c for c in columns if not c.startswith("_")) or "none"
    hint = did_you_mean(column, candidates or columns)
    return f"no column '{column}' {where}{hint or ';'} the columns are: {shown}"


def _quietly(method: Any, default: Any) -> Any:
    """What `method()` returns, or `default` when it meets a problem with the data or a file: the build reports it."""
    try:
        return method()
    except (SpeccError, OSError):
        return default
