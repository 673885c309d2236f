"""Built-in formatters: chat `messages`, `prompt`/`completion`, Alpaca and ShareGPT layouts.

Text comes from jinja2 templates that run in specc's sandbox (`specc.sandbox`) under `FORMAT_LIMITS`
per role and row, and BATCH_CHARS per batch: a template sees the row's columns, `<column>_name` (the
class name; a list of them for a multi-label column) for every label column with names, and `label_names`
(column -> class names). Each role
may list several templates; a row takes one per role, chosen from its random state
(`Context.row_seeds`): role r of the formatter uses bits 16·r to 16·r+15 of the row's 64-bit state,
modulo the number of templates.

Chat and ShareGPT can instead pass through a column that already holds a conversation (a list of
{role, content} or {from, value}); its roles are checked (see `Conversation`).
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, BeforeValidator, Field, model_validator

from specc.components import Formatter, FormatterParams, Where
from specc.layouts import CHAT_LAYOUTS, KNOWN_ROLES, ROLES, SHAREGPT_ROLES

if TYPE_CHECKING:
    import pyarrow as pa
    from jinja2 import Template

BITS_PER_ROLE = 16
# Characters the templates may write for one batch beyond INPUT_FACTOR per byte of its input: far more than
# any real prompt adds, yet a stop before a batch of rows (65,536 at a time) runs the process out of memory.
BATCH_CHARS = 1_000_000_000
INPUT_FACTOR = 4


def _syntax(source: str) -> str:
    from jinja2 import TemplateSyntaxError

    from specc.sandbox import FORMAT_LIMITS, sandbox

    try:
        sandbox(FORMAT_LIMITS).parse(source)
    except TemplateSyntaxError as exc:
        raise ValueError(f"template syntax error at line {exc.lineno}: {exc.message}") from None
    return source


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


OneTemplate = Annotated[str, AfterValidator(_syntax)]
Templates = Annotated[
    list[OneTemplate],
    BeforeValidator(_as_list, json_schema_input_type=str | list[str]),
    Field(min_length=1, description="A jinja2 template, or a list of them (each row takes one, chosen by its seed)."),
]


@lru_cache(maxsize=256)
def _compiled(source: str, filename: str) -> Template:
    """A template compiled in the sandbox; `filename` is what tracebacks name (for the error's line)."""
    from specc.sandbox import FORMAT_LIMITS, compiled, sandbox

    return compiled(sandbox(FORMAT_LIMITS), source, filename, filename)


@lru_cache(maxsize=256)
def _variables(source: str) -> frozenset[str]:
    """The names a template looks up in what it is given (its columns, `<label>_name`, `label_names`, …)."""
    from jinja2 import meta

    from specc.sandbox import FORMAT_LIMITS, sandbox

    return frozenset(meta.find_undeclared_variables(sandbox(FORMAT_LIMITS).parse(source)))


class _Templated(Formatter):
    """A formatter whose fields are rendered from templates, one set of templates per role."""

    params: _Strip
    roles: ClassVar[tuple[str, ...]] = ()

    def templates(self) -> dict[str, list[str]]:
        """The templates given for each role, in role order (roles left out have none)."""
        return {role: list(getattr(self.params, role)) for role in self.roles if getattr(self.params, role)}

    def describe(self) -> dict[str, list[str]]:
        """The templates of each role, as the card and Croissant show them (roles whose templates are all empty
        left out)."""
        return {role: sources for role, sources in self.templates().items() if any(sources)}

    def used_columns(self) -> list[str]:
        """The names the templates look up, with the label column of each `<label>_name`; those that are not
        columns are left to rendering."""
        used = []
        for source in (source for sources in self.templates().values() for source in sources):
            for name in sorted(_variables(source)):
                label = name.removesuffix("_name")
                used += [name, label] if label != name and label in self.label_names else [name]
        return used

    def columns_read(self) -> dict[str, Where]:
        """The names the templates look up (a column, or `<label column>_name`), each at its first template, and
        `keep_columns`."""
        from specc.sandbox import FORMAT_LIMITS, sandbox

        given = {"label_names", *sandbox(FORMAT_LIMITS).globals}  # what every template sees besides the row
        read: dict[str, Where] = {}
        for role, sources in self.templates().items():
            for i, source in enumerate(sources):
                for name in sorted(_variables(source) - given):
                    read.setdefault(name, (role, i))
        return {**read, **super().columns_read()}

    def columns_after(self, columns: list[str]) -> list[str] | None:
        """The roles' columns (or the formatter's own column) and `keep_columns`."""
        return [*self.output_columns(), *self.params.keep_columns]

    def output_columns(self) -> list[str]:
        """The columns the formatted rows hold besides `keep_columns`."""
        return list(self.roles)

    def variables(self, table: pa.Table) -> list[dict[str, Any]]:
        """What each row's templates see: its columns, `<label>_name` and `label_names`."""
        rows = table.to_pylist()
        named = {c: names for c, names in self.label_names.items() if c in table.column_names}
        for row in rows:
            for column, names in named.items():
                value = row[column]
                if isinstance(value, list):  # multi-label: the names of the row's labels
                    row[f"{column}_name"] = [names[v] for v in value if isinstance(v, int) and 0 <= v < len(names)]
                    continue
                row[f"{column}_name"] = names[value] if isinstance(value, int) and 0 <= value < len(names) else None
            row["label_names"] = self.label_names
        return rows

    def render(self, table: pa.Table) -> dict[str, list[str]]:
        """Every role's text per row, each row rendering one of the role's templates under the budgets."""
        from specc.sandbox import LIMIT_ERRORS, RENDER_ERRORS, TemplateLimitError, reason, render_error, template_line

        templates = self.templates()
        seeds = [int(s) for s in self.context.row_seeds(table.column("_id"))]
        rows = self.variables(table)
        ids = table.column("_id").to_pylist()
        out: dict[str, list[str]] = {role: [] for role in templates}
        budget, written = BATCH_CHARS + INPUT_FACTOR * table.nbytes, 0
        for position, role in enumerate(self.roles):
            if role not in templates:
                continue
            sources = templates[role]
            shift = BITS_PER_ROLE * position
            for row, seed, row_id in zip(rows, seeds, ids):
                index = ((seed >> shift) & 0xFFFF) % len(sources)
                name = f"{role}[{index}]"
                try:
                    text = _compiled(sources[index], name).render(**row)
                except RENDER_ERRORS as exc:
                    line = template_line(exc, name)
                    shown = ", ".join(k for k in row if not k.startswith("_"))
                    hint = "" if isinstance(exc, LIMIT_ERRORS) else f"; a template sees: {shown}"
                    message = f"template {name}{f' line {line}' if line else ''}: {reason(exc)} (row _id '{row_id}')"
                    raise render_error(exc, str(self.fail(message + hint))) from None
                written += len(text)
                if written > budget:
                    raise TemplateLimitError(
                        str(
                            self.fail(
                                f"the templates wrote more than {budget:,} characters for a batch of {table.num_rows:,} rows "
                                f"(at template {name}, row _id '{row_id}'), past the budget of {INPUT_FACTOR} per byte of "
                                f"input plus {BATCH_CHARS:,}; make the templates write less"
                            )
                        )
                    )
                out[role].append(text.strip() if self.params.strip else text)
        return out


class _Strip(FormatterParams):
    strip: bool = Field(True, description="Strip leading and trailing whitespace from each rendered text.")


class ChatParams(_Strip):
    """Templates per role, or a column holding whole conversations to pass through."""

    system: Templates | None = None
    user: Templates | None = None
    assistant: Templates | None = None
    messages: str | None = Field(
        None,
        description=(
            "A column that already holds conversations (lists of {role, content} or {from, value}) to pass "
            "through, roles checked; a `system` template is put first where a conversation has no system turn."
        ),
    )
    roles: dict[str, Literal["system", "user", "assistant"]] = Field(
        {}, description=("More role names of the `messages` column and what they are (human and gpt are known).")
    )

    @model_validator(mode="after")
    def _templates_or_column(self) -> ChatParams:
        if self.messages is not None and (self.user or self.assistant):
            raise ValueError(
                "give either `messages` (a column of conversations) or `user` and `assistant` templates, not both"
            )
        if self.messages is None and not (self.user and self.assistant):
            missing = " and ".join(f"`{r}`" for r in ("user", "assistant") if not getattr(self, r))
            raise ValueError(
                f"{missing} missing: give `user` and `assistant` templates, or `messages` (a column of conversations)"
            )
        return self


class Chat(_Templated):
    """A `messages` column of {role, content}: [system], user, assistant from templates, or passed through."""

    name = "chat"
    Params: ClassVar[type[FormatterParams]] = ChatParams
    params: ChatParams
    roles = ROLES
    output_column: ClassVar[str] = "messages"
    keys: ClassVar[tuple[str, str]] = CHAT_LAYOUTS["messages"]
    role_names: ClassVar[dict[str, str]] = {role: role for role in ROLES}  # how this layout writes each role

    def used_columns(self) -> list[str]:
        """The templates' columns, and the `messages` column passed through."""
        return super().used_columns() + ([self.params.messages] if self.params.messages else [])

    def columns_read(self) -> dict[str, Where]:
        """The templates' columns, and the `messages` column passed through."""
        return {**super().columns_read(), **self.columns_named("messages")}

    def output_columns(self) -> list[str]:
        """The conversation column."""
        return [self.output_column]

    def format(self, table: pa.Table) -> pa.Table:
        """One conversation per row."""
        import pyarrow as pa

        role_key, content_key = self.keys
        if self.params.messages is not None:
            conversations = self.passed_through(table, self.params.messages)
        else:
            texts = self.render(table)
            conversations = [[(role, texts[role][i]) for role in ROLES if role in texts] for i in range(table.num_rows)]
        turn = pa.struct([(role_key, pa.string()), (content_key, pa.string())])
        values = [[{role_key: self.role_names[r], content_key: c} for r, c in turns] for turns in conversations]
        return pa.table({self.output_column: pa.array(values, pa.list_(turn)), "_id": table.column("_id")})

    def passed_through(self, table: pa.Table, name: str) -> list[list[tuple[str, str]]]:
        """The conversations of column `name` (`messages`) with roles normalized and checked, a system turn added
        if given."""
        column = self.column_of(table, name)
        system = self.render(table).get("system") if self.params.system else None
        known = {**KNOWN_ROLES, **self.params.roles}
        result = []
        for i, (turns, row_id) in enumerate(zip(column.to_pylist(), table.column("_id").to_pylist())):
            conversation = Conversation(row_id, name, known, self.fail).check(turns)
            if system is not None and conversation[0][0] != "system":
                conversation.insert(0, ("system", system[i]))
            result.append(conversation)
        return result

    def column_of(self, table: pa.Table, name: str) -> pa.ChunkedArray:
        """The conversation column, checked to be a list of structs with role and content fields."""
        import pyarrow as pa

        column = self.column(table, name)
        kind = column.type
        if not (pa.types.is_list(kind) or pa.types.is_large_list(kind)) or not pa.types.is_struct(kind.value_type):
            raise self.fail(
                f"column '{name}' holds {kind}, not conversations; `messages:` names a column of "
                f"lists of {{role, content}} (or {{from, value}})"
            )
        fields = {kind.value_type.field(i).name for i in range(kind.value_type.num_fields)}
        if not ({"role", "content"} <= fields or {"from", "value"} <= fields):
            raise self.fail(
                f"the turns of column '{name}' have fields {sorted(fields)}; they need role and "
                f"content (or from and value)"
            )
        return column

    def llama_factory(self) -> dict[str, Any]:
        """LLaMA-Factory's sharegpt layout, tagged with this layout's keys and role names."""
        role_key, content_key = self.keys
        return {
            "formatting": "sharegpt",
            "columns": {"messages": self.output_column},
            "tags": {
                "role_tag": role_key,
                "content_tag": content_key,
                **{f"{role}_tag": self.role_names[role] for role in ("user", "assistant", "system")},
            },
        }


class Conversation:
    """Checks one passed-through conversation: known roles, a system turn only first, then user and assistant
    alternating from user, ending with assistant."""

    def __init__(self, row_id: str, column: str, known: dict[str, str], fail: Any):
        self.row_id, self.column, self.known, self.fail = row_id, column, known, fail

    def error(self, message: str) -> Exception:
        """An error naming the row and the column."""
        return self.fail(f"row _id '{self.row_id}', column '{self.column}': {message}")

    def check(self, turns: list[dict[str, Any]] | None) -> list[tuple[str, str]]:
        """(role, content) per turn, roles normalized to system/user/assistant."""
        if not turns:
            raise self.error("the conversation is empty; drop such rows in `clean:` (drop-missing)")
        result = []
        for i, turn in enumerate(turns):
            raw = turn.get("role", turn.get("from"))
            content = turn.get("content", turn.get("value"))
            role = self.known.get(raw) if isinstance(raw, str) else None
            if role is None:
                raise self.error(
                    f"turn {i} has role {raw!r}, which is not one of {', '.join(sorted(self.known))}; "
                    f"map it with `roles: {{{raw}: user|assistant|system}}`"
                )
            if not isinstance(content, str):
                raise self.error(f"turn {i} ({raw}) has no text content")
            result.append((role, content))
        body = result[1:] if result[0][0] == "system" else result
        for i, (role, _) in enumerate(body):
            want = "user" if i % 2 == 0 else "assistant"
            if role != want:
                at = i + (len(result) - len(body))
                raise self.error(
                    f"turn {at} has role {turns[at].get('role', turns[at].get('from'))!r} where "
                    f"{want!r} was due; after an optional first system turn, user and assistant "
                    f"alternate from user"
                )
        if not body or body[-1][0] != "assistant":
            raise self.error("the conversation does not end with an assistant turn; there is nothing to learn")
        return result


class ShareGPT(Chat):
    """A `conversations` column of {from, value} with from = system, human or gpt."""

    name = "sharegpt"
    output_column = "conversations"
    keys = CHAT_LAYOUTS["conversations"]
    role_names = SHAREGPT_ROLES


class PromptCompletionParams(_Strip):
    """Templates for the prompt and the completion."""

    prompt: Templates
    completion: Templates


class PromptCompletion(_Templated):
    """`prompt` and `completion` text columns (TRL's standard prompt-completion layout)."""

    name = "prompt-completion"
    Params: ClassVar[type[FormatterParams]] = PromptCompletionParams
    params: PromptCompletionParams
    roles = ("prompt", "completion")

    def format(self, table: pa.Table) -> pa.Table:
        """Two text columns."""
        import pyarrow as pa

        texts = self.render(table)
        return pa.table(
            {
                "prompt": pa.array(texts["prompt"], pa.string()),
                "completion": pa.array(texts["completion"], pa.string()),
                "_id": table.column("_id"),
            }
        )

    def llama_factory(self) -> dict[str, Any]:
        """Alpaca with the prompt as instruction and the completion as response."""
        return {"formatting": "alpaca", "columns": {"prompt": "prompt", "response": "completion"}}


class AlpacaParams(_Strip):
    """Templates for the instruction, the input (may render empty) and the output."""

    instruction: Templates
    input: Templates = Field([""], description="Template(s) of the input; empty by default.")
    output: Templates


class Alpaca(_Templated):
    """`instruction`, `input` and `output` text columns."""

    name = "alpaca"
    Params: ClassVar[type[FormatterParams]] = AlpacaParams
    params: AlpacaParams
    roles = ("instruction", "input", "output")

    def format(self, table: pa.Table) -> pa.Table:
        """Three text columns."""
        import pyarrow as pa

        texts = self.render(table)
        columns = {role: pa.array(texts[role], pa.string()) for role in self.roles}
        return pa.table({**columns, "_id": table.column("_id")})

    def llama_factory(self) -> dict[str, Any]:
        """LLaMA-Factory's default layout."""
        return {"formatting": "alpaca", "columns": {"prompt": "instruction", "query": "input", "response": "output"}}
