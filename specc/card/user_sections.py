"""Card sections a spec adds or replaces with its own jinja2 templates, rendered in specc's sandbox.

```yaml
card:
  sections:
    - {name: citation, template: card/citation.md.j2, after: limitations}   # a new section
    - {name: uses, template: card/uses.md.j2}                                # replaces a built-in one
```

A section whose name is that of an installed section (built-in or from a plugin) replaces it and
keeps its place unless it says otherwise; a new section goes where `after:`, `before:` or `order:`
puts it, or just before the reproducibility section (order 880). Templates see `spec` (the spec as
plain data), `stats` (stats.json) and `sections` (the Markdown of every installed section by name,
so a template can wrap the section it replaces: `{{ sections.uses }}`). Each section renders under
`specc.sandbox.SECTION_LIMITS`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from specc.errors import SpeccError
from specc.spec.card_sections import DEFAULT_ORDER, UserSection, user_environment

# --- order -------------------------------------------------------------------------------------


def arrange(installed: dict[str, int], sections: list[UserSection]) -> list[tuple[str, UserSection | None]]:
    """Every section in card order: (name, the spec's section or None for an installed one).

    Installed sections sort by (order, name); a spec's section by its `order`, the replaced section's
    or DEFAULT_ORDER, after installed sections of equal order and in spec order among its own. `after:`
    and `before:` place a section next to its anchor (several anchored to one keep spec order).
    """
    own = {s.name: (i, s) for i, s in enumerate(sections)}
    keys: dict[str, tuple[Any, ...]] = {}

    def path(name: str, depth: int = 0) -> tuple[Any, ...]:
        if name in keys:
            return keys[name]
        if depth > len(own) + 1:  # a circle; validation reports it, ordering must still end
            raise SpeccError(f"error: card sections are placed relative to each other in a circle at '{name}'")
        if name in own:
            i, section = own[name]
            if section.after is not None:
                key = path(section.after, depth + 1) + ((1, i),)
            elif section.before is not None:
                key = path(section.before, depth + 1) + ((-1, i),)
            elif section.order is not None or name not in installed:
                key = ((DEFAULT_ORDER if section.order is None else section.order, 1, f"{i:06d}"),)
            else:
                key = ((installed[name], 0, name),)
        else:
            key = ((installed[name], 0, name),)
        keys[name] = key
        return key

    names = sorted(set(installed) | set(own), key=lambda n: path(n) + ((0, 0),))
    return [(name, own[name][1] if name in own else None) for name in names]


# --- rendering ---------------------------------------------------------------------------------


def render_user_section(section: UserSection, spec_dir: Path, variables: dict[str, Any]) -> str:
    """Render one of the spec's sections under its budget; errors name the template file and line."""
    from specc.sandbox import RENDER_ERRORS, compiled, reason, render_error, template_line

    path = (Path(spec_dir) / section.template).resolve()
    shown = section.template
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SpeccError(f"{shown}: error: card section '{section.name}': cannot read the template ({exc})") from None
    try:
        return compiled(user_environment(), source, shown, str(path)).render(**variables)
    except RENDER_ERRORS as exc:
        line = template_line(exc, str(path))
        where = f"{shown}:{line}" if line else shown
        raise render_error(exc, f"{where}: error: card section '{section.name}': {reason(exc)}") from None
