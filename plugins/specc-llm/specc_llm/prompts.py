"""Prompt templates from a spec: jinja2 in specc's sandbox (as the formatters render theirs), checked when the spec
loads and rendered per row, each error naming the template, its line and the row."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import AfterValidator

from specc.plugin import Component

if TYPE_CHECKING:
    from jinja2 import Template


def checked(source: str) -> str:
    """`source`, once it parses as a template in the sandbox (else a ValueError for the spec's error)."""
    from jinja2 import TemplateSyntaxError

    from specc.plugin import FORMAT_LIMITS, sandbox

    try:
        sandbox(FORMAT_LIMITS).parse(source)
    except TemplateSyntaxError as exc:
        raise ValueError(f"template syntax error at line {exc.lineno}: {exc.message}") from None
    return source


PromptTemplate = Annotated[str, AfterValidator(checked)]


@lru_cache(maxsize=64)
def _compiled(source: str, name: str) -> Template:
    from specc.plugin import FORMAT_LIMITS, compiled, sandbox

    return compiled(sandbox(FORMAT_LIMITS), source, name, name)


@lru_cache(maxsize=64)
def variables(source: str) -> frozenset[str]:
    """The names a template looks up in what it is given, less the sandbox's own globals."""
    from jinja2 import meta

    from specc.plugin import FORMAT_LIMITS, sandbox

    env = sandbox(FORMAT_LIMITS)
    return frozenset(meta.find_undeclared_variables(env.parse(source))) - set(env.globals)


def render(component: Component, name: str, source: str, values: dict[str, Any], where: str) -> str:
    """`source` rendered over `values` under the sandbox's budgets; an error names the step, template `name`, its line
    and `where` (such as "row _id 'x'"), and lists what the template sees."""
    from specc.plugin import RENDER_ERRORS, reason, template_line

    try:
        return _compiled(source, name).render(**values)
    except RENDER_ERRORS as exc:
        line = template_line(exc, name)
        shown = ", ".join(k for k in values if not k.startswith("_"))
        raise component.fail(
            f"template {name}{f' line {line}' if line else ''}: {reason(exc)} ({where}); a template sees: {shown}"
        ) from None
