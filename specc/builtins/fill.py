"""`fill-missing`: a value in place of each null, per column.

In `clean:` (before the split) a column is filled with a constant or a template over the row. In `impute:` (after
the split) it may also take the median or the most frequent value of the training split, so that no statistic of
a validation or test row reaches the data.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    Discriminator,
    Field,
    SerializerFunctionWrapHandler,
    Tag,
    field_validator,
    model_serializer,
    model_validator,
)

from specc.builtins.clean import ColumnStep
from specc.builtins.formats import OneTemplate
from specc.components import Imputer, Params, StepResult, Where

if TYPE_CHECKING:
    import pyarrow as pa
    from jinja2 import Template

Scalar = bool | int | float | str
Statistic = Literal["median", "most-frequent"]


class Fill(Params):
    """How one column's nulls are filled: exactly one of `value`, `statistic` and `template`."""

    value: Scalar | None = Field(None, description="A constant, cast to the column's type.")
    statistic: Statistic | None = Field(
        None,
        description="`impute:` only: the median (numbers; whole numbers take the lower median) or the most "
        "frequent value (ties: the smallest) of the column in the training split.",
    )
    template: OneTemplate | None = Field(
        None, description="A jinja2 template over the row's columns (specc's sandbox), cast to the column's type."
    )

    @model_validator(mode="after")
    def _one_way(self) -> Fill:
        given = [name for name in ("value", "statistic", "template") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of value, statistic and template (given: {', '.join(given) or 'none'})")
        return self

    @model_serializer(mode="wrap")
    def _given_only(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """Only the way given (the card, the fingerprint): {"statistic": "median"}."""
        return {name: value for name, value in handler(self).items() if value is not None}


def _way(value: Any) -> str:
    return "fill" if isinstance(value, (dict, Fill)) else "constant"


# a mapping is a Fill, anything else a constant: errors then speak of the one the spec wrote
ColumnFill = Annotated[Annotated[Scalar, Tag("constant")] | Annotated[Fill, Tag("fill")], Discriminator(_way)]


class FillParams(Params):
    """The columns to fill and how."""

    columns: dict[str, ColumnFill] = Field(
        min_length=1,
        description="Column: the value put in place of its nulls (a constant, cast to the column's type; a label "
        "column with class names holds their ids: give the id), or {value: …}, {template: …} or, under `impute:`, "
        "{statistic: median | most-frequent}. Empty and blank strings are values, not nulls.",
    )


@lru_cache(maxsize=256)
def _compiled(source: str, filename: str) -> Template:
    from specc.sandbox import FORMAT_LIMITS, compiled, sandbox

    return compiled(sandbox(FORMAT_LIMITS), source, filename, filename)


@lru_cache(maxsize=256)
def _variables(source: str) -> list[str]:
    from jinja2 import meta

    from specc.sandbox import FORMAT_LIMITS, sandbox

    env = sandbox(FORMAT_LIMITS)
    return sorted(meta.find_undeclared_variables(env.parse(source)) - set(env.globals))


class _Fills(ColumnStep):
    """What both `fill-missing` steps share: the fills by value and by template, and what they read."""

    params: FillParams

    def templates(self) -> dict[str, str]:
        """The template of each column filled by one."""
        return {
            name: how.template
            for name, how in self.params.columns.items()
            if isinstance(how, Fill) and how.template is not None
        }

    def used_columns(self) -> list[str]:
        """The columns the templates read (a null there stops the build), but not the filled ones."""
        read = {name for source in self.templates().values() for name in _variables(source)}
        return sorted(read - set(self.params.columns))

    def columns_read(self) -> dict[str, Where]:
        """The filled columns, and the columns each template reads."""
        read = super().columns_read()
        for column, source in self.templates().items():
            for name in _variables(source):
                read.setdefault(name, ("columns", column, "template"))
        return read

    def describe(self) -> dict[str, list[str]]:
        """The templates by the column they fill: the card shows them."""
        return {name: [source] for name, source in self.templates().items()}

    def fill(self, table: pa.Table, statistics: dict[str, Any]) -> tuple[pa.Table, dict[str, pa.Array]]:
        """`table` with the nulls of each column filled (statistics: their values by column) and where they were."""
        import pyarrow as pa
        import pyarrow.compute as pc

        masks = {}
        for name, how in self.params.columns.items():
            values = self.column(table, name)
            masks[name] = pc.is_null(values).combine_chunks()
            if not values.null_count:
                continue
            if isinstance(how, Fill) and how.template is not None:
                filled = self._rendered(table.filter(masks[name]), name, how.template, values.type)
                kind = filled.type if pa.types.is_null(values.type) else values.type
                values = pc.replace_with_mask(values.combine_chunks().cast(kind), masks[name], filled)
            else:
                value = statistics[name] if name in statistics else how.value if isinstance(how, Fill) else how
                way = ("statistic",) if name in statistics else ("value",) if isinstance(how, Fill) else ()
                where: Where = ("columns", name, *way)
                if pa.types.is_null(values.type):  # a column of nulls only: it takes the value's own type
                    values = pa.repeat(pa.scalar(value), table.num_rows)
                else:
                    values = pc.fill_null(values, self._cast(name, values.type, value, where))
            table = table.set_column(table.column_names.index(name), name, values)
        return table, masks

    def _cast(self, name: str, kind: pa.DataType, value: Any, where: Where) -> pa.Scalar:
        """`value` cast to `kind`, the type of column `name`, or an error saying what to give."""
        import pyarrow as pa

        try:
            return pa.scalar(value).cast(kind)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
            hint = (
                "; a label column with class names holds their ids: give the class's id (its position in `labels:`)"
                if isinstance(value, str) and pa.types.is_integer(kind)
                else ""
            )
            raise self.fail_at(
                where,
                f"columns: {value!r} cannot fill column '{name}', which holds {kind} ({exc}); give a "
                f"value of type {kind}{hint}",
            ) from None

    def _rendered(self, rows: pa.Table, name: str, source: str, kind: pa.DataType) -> pa.Array:
        """The template rendered for each of `rows`, cast to `kind` (text for a column of nulls only)."""
        import pyarrow as pa

        from specc.sandbox import LIMIT_ERRORS, RENDER_ERRORS, reason, render_error, template_line

        where = ("columns", name, "template")
        filename = f"columns.{name}.template"
        texts = []
        for row in rows.to_pylist():
            try:
                texts.append(_compiled(source, filename).render(**row))
            except RENDER_ERRORS as exc:
                line = template_line(exc, filename)
                at = f" line {line}" if line else ""
                message = f"columns: the template of '{name}'{at}: {reason(exc)} (row _id '{row['_id']}')"
                if isinstance(exc, LIMIT_ERRORS):
                    raise render_error(exc, str(self.fail(message))) from None
                raise self.fail_at(where, message) from None
        if pa.types.is_null(kind) or pa.types.is_string(kind) or pa.types.is_large_string(kind):
            return pa.array(texts, pa.string() if pa.types.is_null(kind) else kind)
        try:
            return pa.array(texts, pa.string()).cast(kind)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise self.fail_at(
                where, f"columns: the template of '{name}' wrote text that is not {kind}, the column's type ({exc})"
            ) from None


class FillMissing(_Fills):
    """Put a value in place of each null of the listed columns, before the split; the rows filled are counted."""

    name = "fill-missing"
    version = 1
    scope = "row"

    class Params(FillParams):
        """The value or template that replaces the nulls of each column (statistics: under `impute:`)."""

        @field_validator("columns")
        @classmethod
        def _no_statistics(cls, columns: dict[str, Scalar | Fill]) -> dict[str, Scalar | Fill]:
            for name, how in columns.items():
                if isinstance(how, Fill) and how.statistic is not None:
                    raise ValueError(
                        f"'{name}': the {how.statistic} is learnt from the training split, which `clean:` runs "
                        f"before; put this fill-missing under `impute:` (after the split), or give a value"
                    )
            return columns

    params: Params

    def apply(self, table: pa.Table) -> StepResult:
        """The table with nulls filled; `info["filled"]` counts the rows filled per column."""
        table, masks = self.fill(table, {})
        return StepResult(table, info={"filled": {name: mask.true_count for name, mask in masks.items()}})


class ImputeMissing(_Fills, Imputer):
    """Put a value in place of each null after the split: a constant, a template, or the median or most frequent
    value of the training split."""

    name = "fill-missing"
    version = 1

    class Params(FillParams):
        """The value, template or training statistic that replaces the nulls of each column."""

    params: Params

    def apply(self, table: pa.Table) -> StepResult:
        """The table with nulls filled; `info` holds the rows filled per column and split and the statistics."""
        from specc.counts import value_counts

        wanted = {n: how.statistic for n, how in self.params.columns.items() if isinstance(how, Fill) and how.statistic}
        info: dict[str, Any] = {}
        statistics = {}
        if wanted:
            train, splits = self.training_rows(table)
            statistics = {name: self._statistic(train, name, kind, splits) for name, kind in wanted.items()}
            info["training"] = {"splits": splits, "rows": train.num_rows, "of": table.num_rows}
            info["statistics"] = {name: {"statistic": kind, "value": statistics[name]} for name, kind in wanted.items()}
        table, masks = self.fill(table, statistics)
        info["filled"] = {name: mask.true_count for name, mask in masks.items()}
        split = table.column("_split")
        info["filled_by_split"] = {
            name: dict(sorted(value_counts(split.filter(mask)).items())) for name, mask in masks.items()
        }
        return StepResult(table, info=info)

    def _statistic(self, train: pa.Table, name: str, kind: Statistic, splits: list[str]) -> Any:
        """The median or most frequent value of column `name` in the training rows, as JSON."""
        import pyarrow as pa
        import pyarrow.compute as pc

        where = ("columns", name, "statistic")
        values = self.column(train, name).drop_null()
        if pa.types.is_floating(values.type):
            values = values.filter(pc.invert(pc.is_nan(values)))
        if len(values) == 0:
            raise self.fail_at(
                where,
                f"columns: column '{name}' has no value in the training split ({', '.join(splits)}) to take "
                f"the {kind} of; give a value instead",
            )
        if kind == "median" and not (pa.types.is_integer(values.type) or pa.types.is_floating(values.type)):
            raise self.fail_at(
                where,
                f"columns: the median needs numbers, but column '{name}' holds {values.type}; use "
                f"most-frequent, a value or a template",
            )
        if kind == "median":
            interpolation = "lower" if pa.types.is_integer(values.type) else "linear"
            return pc.quantile(values, q=0.5, interpolation=interpolation)[0].as_py()
        counts = pc.value_counts(values)
        ranked = pa.table({"value": counts.field("values"), "count": counts.field("counts")})
        try:
            ranked = ranked.sort_by([("count", "descending"), ("value", "ascending")])
        except pa.ArrowNotImplementedError:
            raise self.fail_at(
                where, f"columns: the values of column '{name}' ({values.type}) cannot be ranked; give a value"
            ) from None
        value = ranked.column("value")[0].as_py()
        return value if isinstance(value, (bool, int, float, str)) else str(value)
