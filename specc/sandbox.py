"""The one jinja2 sandbox for templates: a spec's formats and card sections, and specc's own card templates.

A spec's templates are untrusted: they run in jinja2's `ImmutableSandboxedEnvironment` (no Python
internals, no changing the data, undefined names are errors) and, in `sandbox(limits)`, under a
budget per render (`Limits`; a format renders once per role and row, a card section once):

- time: wall-clock seconds, checked at every loop iteration, call, filter and operator;
- loop iterations: all `{% for %}` loops of the render together (and the length of one `range`);
- characters written: everything the template writes, also into macros and `{% set %}` blocks; and
  no text or list the template makes (by an operator, `~`, a call or a filter) may be longer;
- integer size: no integer the template makes (or writes as a literal) may have more bits.

Operations that would make something past a budget (`'a' * 10**9`, `10 ** 10**8`, `x.center(10**9)`,
`'%1000000000d' % 1`, `s|replace('', s)`) are refused before they run. Past a budget, or out of
memory, a render stops with `TemplateLimitError`; the renderer names the template's file:line.
"""

from __future__ import annotations

import math
import re
import sys
import time
import traceback
from collections.abc import Callable, Collection, Iterable, Iterator, Sized
from contextvars import ContextVar
from dataclasses import dataclass
from functools import wraps
from string import Formatter
from typing import Any

from jinja2 import (
    BaseLoader,
    StrictUndefined,
    Template,
    TemplateError,
    TemplateNotFound,
    TemplateSyntaxError,
    nodes,
    pass_eval_context,
)
from jinja2.compiler import CodeGenerator, Frame
from jinja2.nodes import EvalContext
from jinja2.runtime import LoopContext
from jinja2.sandbox import ImmutableSandboxedEnvironment

from specc.errors import SpeccError


@dataclass(frozen=True)
class Limits:
    """What one render of a template may use."""

    seconds: float
    iterations: int
    chars: int
    int_bits: int = 4096  # about 1,233 decimal digits


# A row's format template (per role); texts of an SFT row stay far below a million characters (~250k tokens).
FORMAT_LIMITS = Limits(seconds=1.0, iterations=100_000, chars=1_000_000)
# A card section; cards loop over statistics (labels, splits, steps), so more iterations and time.
SECTION_LIMITS = Limits(seconds=5.0, iterations=1_000_000, chars=1_000_000)


class TemplateLimitError(SpeccError):
    """A template went past its budget (`Limits`) or ran out of memory."""


# LIMIT_ERRORS: a template went past a budget. RENDER_ERRORS: what a template's own failure while rendering can
# raise (anything else is a bug in specc or a plugin).
LIMIT_ERRORS: tuple[type[BaseException], ...] = (TemplateLimitError, MemoryError)
RENDER_ERRORS: tuple[type[BaseException], ...] = (
    TemplateError,
    ArithmeticError,
    LookupError,
    TypeError,
    ValueError,
    AttributeError,
    RecursionError,
    *LIMIT_ERRORS,
)
# Filters of specc's own, beside jinja2's.
FILTERS: dict[str, Callable[..., Any]] = {"thousands": lambda n: f"{n:,}"}


class OneTemplate(BaseLoader):
    """A spec's template is one text: it includes, imports and extends nothing, so its bytes alone decide it."""

    def __init__(self, hint: str = "a spec's template is one text and uses no other"):
        self.hint = hint

    def get_source(self, environment: Any, template: str) -> Any:
        """Always refuses, with the hint."""
        raise TemplateNotFound(template, f"cannot include, import or extend '{template}': {self.hint}")


@dataclass
class _Budget:
    """What the current render has used of its `Limits`."""

    limits: Limits
    deadline: float
    iterations: int = 0
    written: int = 0

    def check_time(self) -> None:
        if time.monotonic() > self.deadline:
            raise TemplateLimitError(
                f"it ran longer than {self.limits.seconds:g} s, the time budget of one render; make it do less work"
            )

    def iterate(self) -> None:
        self.iterations += 1
        if self.iterations > self.limits.iterations:
            raise TemplateLimitError(
                f"its loops ran past {self.limits.iterations:,} iterations, the budget of one "
                f"render; loop over fewer items"
            )
        self.check_time()

    def write(self, chars: int) -> None:
        self.written += chars
        if self.written > self.limits.chars:
            raise TemplateLimitError(
                f"it wrote more than {self.limits.chars:,} characters, the budget of one render; make it write less"
            )


_BUDGET: ContextVar[_Budget | None] = ContextVar("specc_template_budget", default=None)
_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[#0 +-]*(\*|\d+)?(?:\.(\*|\d+))?")


def _number(digits: str) -> int:
    return int(digits) if len(digits) < 19 else 10**18


def _format_width(template: Any, values: Iterable[Any], percent: bool) -> int:
    """The largest width or precision a format string asks for; `*` and nested fields may take any of `values`."""
    if not isinstance(template, str):
        return 0
    from_args = max((v for v in values if isinstance(v, int)), default=0)
    widths = [0]
    if percent:
        for match in _PERCENT_SPEC.finditer(template):
            widths += [from_args if part == "*" else _number(part) for part in match.groups() if part]
    else:
        for _, _, spec, _ in Formatter().parse(template):
            spec = spec or ""
            widths += [_number(d) for d in re.findall(r"\d+", spec)] + ([from_args] if "{" in spec else [])
    return max(widths)


def _arg(args: tuple[Any, ...], kwargs: dict[str, Any], index: int, name: str, default: Any = None) -> Any:
    return args[index] if len(args) > index else kwargs.get(name, default)


def _whole(value: Any) -> int:
    return value if isinstance(value, int) else 0


def _indented(text: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> int:
    width = _arg(args, kwargs, 0, "width", 4)
    return len(str(text)) + (_whole(width) or len(str(width))) * (str(text).count("\n") + 1)


def _replaced(text: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> int:
    if not isinstance(text, str):
        return 0
    old, new = str(_arg(args, kwargs, 0, "old")), str(_arg(args, kwargs, 1, "new"))
    limit = _arg(args, kwargs, 2, "count")
    hits = text.count(old) if old else len(text) + 1
    return len(text) + min(hits, limit if isinstance(limit, int) and limit >= 0 else hits) * (len(new) - len(old))


def _translated(text: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> int:
    table = _arg(args, kwargs, 0, "table")
    values = table.values() if isinstance(table, dict) else table if isinstance(table, (list, tuple)) else ()
    return len(text) * max((len(v) for v in values if isinstance(v, str)), default=1)


def _joined(items: Any, separator: Any) -> int:
    if not (isinstance(items, Collection) and isinstance(separator, str)):
        return 0
    return len(separator) * max(len(items) - 1, 0) + sum(len(x) for x in items if isinstance(x, str))


Growth = Callable[[Any, tuple[Any, ...], dict[str, Any]], int]
# The length the result of a growing str method (`.name`), filter (`|name`) or `%` would have, computed before it
# runs from (the str or the filtered value, the arguments, the keyword arguments).
_GROWTH: dict[str, Growth] = {
    **dict.fromkeys(
        (".center", ".ljust", ".rjust", ".zfill", "|center"), lambda s, a, k: _whole(_arg(a, k, 0, "width", 80))
    ),
    "|batch": lambda s, a, k: _whole(_arg(a, k, 0, "linecount")),
    "|slice": lambda s, a, k: _whole(_arg(a, k, 0, "slices")),
    "|indent": _indented,
    ".expandtabs": lambda s, a, k: len(s) + s.count("\t") * _whole(_arg(a, k, 0, "tabsize", 8)),
    ".replace": _replaced,
    "|replace": _replaced,
    ".translate": _translated,
    ".join": lambda s, a, k: _joined(_arg(a, k, 0, "iterable", ()), s),
    "|join": lambda s, a, k: _joined(s, str(_arg(a, k, 0, "d", ""))),
    ".format": lambda s, a, k: _format_width(s, (*a, *k.values()), percent=False),
    ".format_map": lambda s, a, k: _format_width(s, a[0].values() if a and isinstance(a[0], dict) else (), False),
    "|format": lambda s, a, k: _format_width(s, (*a, *k.values()), percent=True),
    "%": lambda s, a, k: _format_width(s, (*a, *k.values()), percent=True),
}


class _BoundedCode(CodeGenerator):
    """Compiles templates so that every loop counts its iterations and every text written and `~` is measured."""

    def visit_For(self, node: nodes.For, frame: Frame) -> None:
        counted = nodes.Call(
            nodes.EnvironmentAttribute("loop_items"), [node.iter], [], None, None, lineno=node.iter.lineno
        )
        super().visit_For(
            nodes.For(node.target, counted, node.body, node.else_, node.test, node.recursive, lineno=node.lineno), frame
        )

    def visit_Output(self, node: nodes.Output, frame: Frame) -> None:
        # The template's own text is not finalized (`written` sees the rest), so it is counted here.
        data = sum(len(child.data) for child in node.nodes if isinstance(child, nodes.TemplateData))
        if data:
            self.writeline(f"environment.charge({data})", node)
        super().visit_Output(node, frame)

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.sized(")
        super().visit_Concat(node, frame)
        self.write(", '`~`')")


def _charge(chars: int) -> None:
    """Count characters written by the current render."""
    budget = _BUDGET.get()
    if budget is not None:
        budget.write(chars)


@pass_eval_context
def _written(eval_ctx: EvalContext, value: Any) -> str:
    # Taking the evaluation context keeps jinja2 from finalizing constants at compile time, outside any budget.
    text = str(value)
    _charge(len(text))
    return text


class _BoundedTemplate(Template):
    """A template whose `render` runs under its environment's `Limits`."""

    environment: BoundedSandbox

    def render(self, *args: Any, **kwargs: Any) -> str:
        """The rendered text, or `TemplateLimitError` past a budget."""
        limits = self.environment.limits
        token = _BUDGET.set(_Budget(limits, time.monotonic() + limits.seconds))
        try:
            return super().render(*args, **kwargs)
        finally:
            _BUDGET.reset(token)


class BoundedSandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox with the budgets of `Limits` (see the module's description)."""

    intercepted_binops = frozenset({"+", "-", "*", "**", "%"})
    code_generator_class = _BoundedCode
    template_class = _BoundedTemplate

    def __init__(self, limits: Limits, **options: Any):
        super().__init__(**options)
        self.limits = limits
        self.finalize = _written
        self.globals["range"] = self.range
        del self.globals["lipsum"]  # unbounded work, and random text would break byte-identical rebuilds
        self.filters = {name: self._bounded_filter(name, f) for name, f in {**self.filters, **FILTERS}.items()}

    def parse(self, source: str, name: str | None = None, filename: str | None = None) -> nodes.Template:
        """The syntax tree; integer literals past the budget are syntax errors."""
        try:
            tree = super().parse(source, name, filename)
        except ValueError:  # the lexer read a literal past Python's limit of digits for an integer
            limit = sys.get_int_max_str_digits()
            digits = re.search(rf"\d{{{limit + 1},}}", source) if limit else None
            if digits is None:
                raise
            raise TemplateSyntaxError(
                f"a number literal has {len(digits.group()):,} digits, past the budget of "
                f"{self.limits.int_bits:,} bits",
                source.count("\n", 0, digits.start()) + 1,
                name,
                filename,
            ) from None
        for const in tree.find_all(nodes.Const):
            if isinstance(const.value, int) and const.value.bit_length() > self.limits.int_bits:
                raise TemplateSyntaxError(
                    f"a number literal has {const.value.bit_length():,} bits, past the budget "
                    f"of {self.limits.int_bits:,} bits",
                    const.lineno,
                    name,
                    filename,
                )
        return tree

    # --- budget checks, called from compiled templates ---------------------------------------------

    def charge(self, chars: int) -> None:
        """Count characters written by the current render."""
        _charge(chars)

    def tick(self) -> None:
        """Stop the current render if it ran past its time."""
        budget = _BUDGET.get()
        if budget is not None:
            budget.check_time()

    def loop_items(self, items: Iterable[Any]) -> Iterator[Any]:
        """The items of a `{% for %}` loop, each counted as an iteration of the current render."""
        budget = _BUDGET.get()
        for item in items:
            if budget is not None:
                budget.iterate()
            yield item

    def range(self, *args: int) -> range:
        """Python's `range`, no longer than the loop budget."""
        numbers = range(*args)
        if numbers[self.limits.iterations :]:  # not `len`, which overflows for huge ranges
            raise TemplateLimitError(
                f"range({', '.join(map(str, args))}) has more items than the budget of "
                f"{self.limits.iterations:,} loop iterations; loop over fewer items"
            )
        return numbers

    def refuse_past(self, size: int, what: str) -> None:
        """Refuse to make a text or list of `size` characters or items past the budget."""
        if size > self.limits.chars:
            raise TemplateLimitError(
                f"{what} would make a text or list of {size:,} characters or items, past the "
                f"budget of {self.limits.chars:,}; make the template write less"
            )

    def sized(self, value: Any, what: str) -> Any:
        """`value`, unless it is a text, list or integer past the budget."""
        if isinstance(value, (str, bytes, list, tuple, dict, set, frozenset)):
            self.refuse_past(len(value), what)
        elif isinstance(value, int) and value.bit_length() > self.limits.int_bits:
            raise TemplateLimitError(
                f"{what} made an integer of {value.bit_length():,} bits, past the budget of "
                f"{self.limits.int_bits:,} bits; use smaller numbers"
            )
        return value

    # --- the sandbox's hooks -----------------------------------------------------------------------

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        """`left operator right`, refused when its result would be past a budget."""
        self.tick()
        what = f"`{operator}`"
        if isinstance(left, int) and isinstance(right, int):
            if operator == "**":
                bits = int(right * math.log2(abs(left))) + 1 if right > 0 and abs(left) > 1 else 1
            elif operator == "*":
                bits = left.bit_length() + right.bit_length()
            else:
                bits = max(left.bit_length(), right.bit_length()) + 1
            if bits > self.limits.int_bits:
                raise TemplateLimitError(
                    f"{what} would make an integer of about {bits:,} bits, past the budget of "
                    f"{self.limits.int_bits:,} bits; use smaller numbers"
                )
        elif operator == "*" and isinstance(left, int) != isinstance(right, int):
            sequence, times = (right, left) if isinstance(left, int) else (left, right)
            if isinstance(sequence, Sized):
                self.refuse_past(len(sequence) * times, what)
        elif operator == "+" and isinstance(left, Sized) and isinstance(right, Sized):
            self.refuse_past(len(left) + len(right), what)
        elif operator == "%":
            self.refuse_past(
                _GROWTH["%"](
                    left, right if isinstance(right, tuple) else (right,), right if isinstance(right, dict) else {}
                ),
                what,
            )
        return super().call_binop(context, operator, left, right)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        """Call `__obj`, refused when a growing str method would make a text past the budget."""
        __self.tick()
        method = getattr(__obj, "__wrapped__", __obj)  # `str.format` comes wrapped by the sandbox
        subject = getattr(method, "__self__", None)
        grow = _GROWTH.get(f".{getattr(method, '__name__', '')}") if isinstance(subject, str) else None
        if grow is not None:
            __self.refuse_past(grow(subject, args, kwargs), f"`.{method.__name__}()`")
        elif isinstance(__obj, LoopContext) and args:  # `loop(children)` of a recursive loop iterates again
            args = (__self.loop_items(args[0]), *args[1:])
        return __self.sized(super().call(__context, __obj, *args, **kwargs), "a call")

    def _bounded_filter(self, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        """`function` as filter `name` under the budget; it keeps jinja2's `pass_*` marks."""
        first = 1 if hasattr(function, "jinja_pass_arg") else 0  # the context or environment comes first
        grow = _GROWTH.get(f"|{name}")

        @wraps(function)
        def bounded(*args: Any, **kwargs: Any) -> Any:
            self.tick()
            if grow is not None:
                self.refuse_past(grow(args[first], args[first + 1 :], kwargs), f"`|{name}`")
            return self.sized(function(*args, **kwargs), f"`|{name}`")

        return bounded


def sandbox(limits: Limits | None = None, loader: BaseLoader | None = None) -> ImmutableSandboxedEnvironment:
    """A fresh sandbox: budgets from `limits` (None: none, for specc's own templates), text out as written."""
    options: dict[str, Any] = {
        "loader": loader or OneTemplate(),
        "undefined": StrictUndefined,
        "autoescape": False,
        "keep_trailing_newline": True,
        "trim_blocks": True,
        "lstrip_blocks": True,
    }
    if limits is not None:
        return BoundedSandbox(limits, **options)
    env = ImmutableSandboxedEnvironment(**options)
    env.filters.update(FILTERS)
    return env


def compiled(env: ImmutableSandboxedEnvironment, source: str, name: str, filename: str) -> Template:
    """`source` compiled in `env`; tracebacks (and `template_line`) name `filename`."""
    code = env.compile(env.parse(source, name, filename), name=name, filename=filename)
    return env.template_class.from_code(env, code, env.make_globals(None), None)


def template_line(exc: BaseException, filename: str) -> int | None:
    """The template line an exception was raised at (jinja2 rewrites tracebacks to template lines)."""
    line = getattr(exc, "lineno", None) if getattr(exc, "filename", None) in (filename, None) else None
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename == filename:
            line = frame.lineno
    return line


def reason(exc: BaseException) -> str:
    """What went wrong in a template, for people."""
    if isinstance(exc, MemoryError):
        return "it ran out of memory; make the template write less"
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return message if isinstance(exc, (TemplateError, TemplateLimitError)) else f"{type(exc).__name__}: {message}"


def render_error(exc: BaseException, message: str) -> SpeccError:
    """The error to raise for `exc` once `message` says where: `TemplateLimitError` past a budget or out of memory."""
    return (TemplateLimitError if isinstance(exc, LIMIT_ERRORS) else SpeccError)(message)
