"""The spec's own card sections (`card.sections:`): their model, checks and sandbox, read at validate time."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, Field, ValidationError, ValidationInfo, model_validator
from pydantic_core import InitErrorDetails

from specc.components import Params
from specc.paths import GLOB_CHARS, InputPath

SECTION_NAME = r"^[a-z0-9][a-z0-9_-]*$"
DEFAULT_ORDER = 880  # new sections without a position: after the limitations, before reproducibility


class UserSection(Params):
    """A card section rendered from a jinja2 template beside the spec."""

    name: Annotated[
        str,
        Field(
            pattern=SECTION_NAME,
            description=(
                "The section's name; the name of an installed section (e.g. `uses`, `splits`) replaces that section."
            ),
        ),
    ]
    template: InputPath = Field(
        description=(
            "A jinja2 template file, relative to the spec's folder. It renders in a sandbox with `spec`, `stats` "
            "(stats.json) and `sections` (the Markdown of each installed section by name); an undefined name is "
            "an error."
        )
    )
    after: str | None = Field(None, description="Put the section right after this section (installed or own).")
    before: str | None = Field(None, description="Put the section right before this section (installed or own).")
    order: int | None = Field(
        None,
        description=(
            "Position among the sections' `order` numbers (summary 100 ... reproducibility 900); default: the "
            f"replaced section's, or {DEFAULT_ORDER} for a new one."
        ),
    )

    @model_validator(mode="after")
    def _one_position(self) -> UserSection:
        given = [key for key in ("after", "before", "order") if getattr(self, key) is not None]
        if len(given) > 1:
            raise ValueError(f"give one of `after`, `before` and `order`, not {' and '.join(f'`{g}`' for g in given)}")
        return self


def installed_sections() -> set[str]:
    """The names of the installed card sections (built-in and from plugins; their classes are not imported)."""
    from specc.plugins import get_registry

    return set(get_registry().names("card_section"))


def _error(problems: list[tuple[tuple[str | int, ...], Any, str]]) -> ValidationError:
    return ValidationError.from_exception_data(
        "UserSections",
        [
            InitErrorDetails(type="value_error", loc=loc, input=value, ctx={"error": ValueError(message)})
            for loc, value, message in problems
        ],
    )


def _syntax_problem(path: Path, shown: str) -> str | None:
    from jinja2 import TemplateSyntaxError

    try:
        source = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        return f"template '{shown}' is not UTF-8 text ({exc.reason} at byte {exc.start})"
    try:
        user_environment().parse(source, filename=str(path))
    except TemplateSyntaxError as exc:
        return f"template syntax error at {shown}:{exc.lineno}: {exc.message}"
    return None


def check_sections(sections: list[UserSection], info: ValidationInfo) -> list[UserSection]:
    """Names are unique, positions name existing sections without cycles, templates are single files that parse."""
    problems: list[tuple[tuple[str | int, ...], Any, str]] = []
    installed = installed_sections()
    own = {s.name for s in sections}
    known = sorted(set(installed) | own)
    seen: set[str] = set()
    for i, section in enumerate(sections):
        if section.name in seen:
            problems.append(
                ((i, "name"), section.name, f"section '{section.name}' is given twice; names must be unique")
            )
        seen.add(section.name)
        for key in ("after", "before"):
            target = getattr(section, key)
            if target is None:
                continue
            if target == section.name:
                problems.append(((i, key), target, f"a section cannot be placed {key} itself"))
            elif target not in installed and target not in own:
                problems.append(((i, key), target, f"no card section '{target}'; sections: {', '.join(known)}"))
    anchors = {s.name: (s.after or s.before) for s in sections}
    for i, section in enumerate(sections):
        chain, name = [section.name], anchors[section.name]
        while name in anchors and name not in chain:
            chain.append(name)
            name = anchors[name]
        if name == section.name and len(chain) > 1:
            problems.append(
                (
                    (i, "after" if section.after else "before"),
                    anchors[section.name],
                    f"sections are placed relative to each other in a circle: {' -> '.join(chain + [name])}",
                )
            )
    spec_dir = (info.context or {}).get("spec_dir")
    for i, section in enumerate(sections):
        if GLOB_CHARS & set(section.template):
            problems.append(((i, "template"), section.template, "a template is one file, not a pattern; name the file"))
        elif spec_dir is not None:
            path = (Path(spec_dir) / section.template).resolve()
            problem = _syntax_problem(path, section.template) if path.is_file() else None
            if problem:
                problems.append(((i, "template"), section.template, problem))
    if problems:
        raise _error(problems)
    return sections


UserSections = Annotated[
    list[UserSection],
    AfterValidator(check_sections),
    Field(description="The spec's own card sections: jinja2 templates that add sections or replace installed ones."),
]


def template_files(spec_dir: Path, sections: list[UserSection]) -> list[Path]:
    """The template files of a spec's sections, in spec order (their bytes are part of the output's pins)."""
    return [(Path(spec_dir) / s.template).resolve() for s in sections]


def user_environment() -> Any:
    """A fresh sandbox for a spec's card sections, with their budget (`SECTION_LIMITS`)."""
    from specc.sandbox import SECTION_LIMITS, OneTemplate, sandbox

    return sandbox(
        SECTION_LIMITS,
        OneTemplate("a section is one template; use `sections.NAME` for an installed section's Markdown"),
    )
