"""License propagation: does the output's license keep the terms of every source's license?

Each source states its license (`license:`, default `unknown`); the spec states the output's.
A source whose license is non-commercial, share-alike (copyleft), no-derivatives or carries use
restrictions that must be passed on conflicts with an output license that drops those terms.
A conflict is a validation error at the output's `license:` unless the spec sets
`license_override: {reason: ...}`, whose reason the card then shows. Sources whose license is
`unknown` (or `other`, a license specc cannot read) are no error: the card warns about them.

The classification below is specc's reading of each license's main terms, to catch the common
mistakes (an NC corpus republished as MIT); it is not legal advice, and the override exists for
the cases it gets wrong (a separate agreement with the rights holder, a license exception).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationInfo

NON_COMMERCIAL = "non-commercial"
SHARE_ALIKE = "share-alike"
NO_DERIVATIVES = "no-derivatives"
USE_RESTRICTIONS = "use restrictions"

# licenses that forbid commercial use (or allow research use only)
_NC = {
    "cc-by-nc-2.0",
    "cc-by-nc-3.0",
    "cc-by-nc-4.0",
    "cc-by-nc-nd-3.0",
    "cc-by-nc-nd-4.0",
    "cc-by-nc-sa-2.0",
    "cc-by-nc-sa-3.0",
    "cc-by-nc-sa-4.0",
    "deepfloyd-if-license",
    "fair-noncommercial-research-license",
    "apple-amlr",
    "h-research",
    "intel-research",
}
# copyleft: derived data must be shared under the same license (or one the license names)
_SA = {
    "cc-by-sa-3.0",
    "cc-by-sa-4.0",
    "cc-by-nc-sa-2.0",
    "cc-by-nc-sa-3.0",
    "cc-by-nc-sa-4.0",
    "gpl",
    "gpl-2.0",
    "gpl-3.0",
    "agpl-3.0",
    "lgpl",
    "lgpl-2.1",
    "lgpl-3.0",
    "lgpl-lr",
    "gfdl",
    "odbl",
    "cdla-sharing-1.0",
    "epl-1.0",
    "epl-2.0",
    "eupl-1.1",
    "eupl-1.2",
    "mpl-2.0",
    "ms-pl",
    "osl-3.0",
    "ofl-1.1",
}
_ND = {"cc-by-nd-4.0", "cc-by-nc-nd-3.0", "cc-by-nc-nd-4.0"}
# licenses whose use restrictions or terms must be passed on to anything derived
_RESTRICTED = {
    "openrail",
    "bigscience-openrail-m",
    "creativeml-openrail-m",
    "bigscience-bloom-rail-1.0",
    "bigcode-openrail-m",
    "openrail++",
    "deepfloyd-if-license",
    "llama2",
    "llama3",
    "llama3.1",
    "llama3.2",
    "llama3.3",
    "llama4",
    "gemma",
    "grok2-community",
    "c-uda",
    "apple-ascl",
    "apple-amlr",
    "fair-noncommercial-research-license",
    "h-research",
    "intel-research",
}
# share-alike licenses that allow a later version or a named stronger license for derived work
_SA_UPGRADES = {
    "cc-by-sa-3.0": {"cc-by-sa-4.0"},
    "cc-by-nc-sa-2.0": {"cc-by-nc-sa-3.0", "cc-by-nc-sa-4.0"},
    "cc-by-nc-sa-3.0": {"cc-by-nc-sa-4.0"},
    "gpl": {"gpl-2.0", "gpl-3.0"},
    "gpl-3.0": {"agpl-3.0"},
    "lgpl": {"lgpl-2.1", "lgpl-3.0", "gpl", "gpl-2.0", "gpl-3.0"},
    "lgpl-2.1": {"lgpl-3.0", "gpl-2.0", "gpl-3.0"},
    "lgpl-3.0": {"gpl-3.0"},
    "eupl-1.1": {"eupl-1.2"},
}
# output licenses specc cannot compare with anything: the author states the terms elsewhere
UNCHECKED_OUTPUTS = frozenset({"other", "unknown"})
# source licenses specc cannot read: the card warns instead
UNREAD_SOURCES = frozenset({"other", "unknown"})


def terms(license_id: str) -> tuple[str, ...]:
    """The terms of a license that derived data must keep, in a fixed order."""
    return tuple(
        name
        for name, group in (
            (NON_COMMERCIAL, _NC),
            (SHARE_ALIKE, _SA),
            (NO_DERIVATIVES, _ND),
            (USE_RESTRICTIONS, _RESTRICTED),
        )
        if license_id in group
    )


@dataclass(frozen=True)
class Conflict:
    """A source whose license's terms the output license does not keep."""

    source: str
    license: str
    broken: tuple[str, ...]

    def describe(self) -> str:
        """`'forum' (cc-by-nc-4.0: non-commercial)`."""
        return f"'{self.source}' ({self.license}: {', '.join(self.broken)})"


def broken_terms(output: str, source: str) -> tuple[str, ...]:
    """The terms of `source` (a license id) that an output under `output` would break."""
    if output == source or output in UNCHECKED_OUTPUTS or source in UNREAD_SOURCES:
        return ()
    kept = set(terms(output))
    broken = []
    for term in terms(source):
        if term == NON_COMMERCIAL and NON_COMMERCIAL in kept:
            continue
        if term == SHARE_ALIKE and output in _SA_UPGRADES.get(source, ()):
            continue
        broken.append(term)
    return tuple(broken)


def conflicts(output: str, sources: Mapping[str, str]) -> list[Conflict]:
    """Every source (name -> license id) whose terms `output` breaks, by source name."""
    found = []
    for name, source in sorted(sources.items()):
        broken = broken_terms(output, source)
        if broken:
            found.append(Conflict(name, source, broken))
    return found


def conflict_message(output: str, found: list[Conflict]) -> str:
    """The validation error at the output's `license:`."""
    names = ", ".join(c.describe() for c in found)
    return (
        f"'{output}' drops the terms of source{'s' if len(found) > 1 else ''} {names}; "
        f"use a license that keeps them, or set `license_override: {{reason: ...}}` with the reason "
        f"this data set may be published under '{output}' (the card shows it)"
    )


def license_report(spec: Any) -> dict[str, Any]:
    """The output license and what the card and stats say about the sources' licenses.

    `spec` is a validated spec model. Returns JSON-ready data:
    `{"license", "sources": {name: license}, "conflicts": [{"source", "license", "terms"}],
    "override": {"reason", "sources"} | None, "unknown": [names], "other": [names]}`.
    """
    sources = {name: entry.license for name, entry in sorted(spec.sources.items())}
    found = conflicts(spec.license, sources)
    override = getattr(spec, "license_override", None)
    return {
        "license": spec.license,
        "sources": sources,
        "conflicts": [{"source": c.source, "license": c.license, "terms": list(c.broken)} for c in found],
        "override": (
            {"reason": override.reason, "sources": [c.source for c in found]} if override is not None else None
        ),
        "unknown": [name for name, lic in sources.items() if lic == "unknown"],
        "other": [name for name, lic in sources.items() if lic == "other"],
    }


# the files and folders specc writes at the top of an output folder, which a copied license file may not replace
WRITTEN_FILES = frozenset(
    {
        "README.md",
        "stats.json",
        "croissant.json",
        "dataset_info.json",
        ".specc-output.json",
        "data",
        "plots",
        "annotation",
    }
)


def is_url(value: str) -> bool:
    """Whether `value` is an http(s) address."""
    return value.startswith(("https://", "http://")) and len(value.split("//", 1)[1]) > 0


def check_license_link(value: str, info: ValidationInfo) -> str:
    """A URL, or a relative path to a file beside the spec that the build copies into the output folder."""
    from pathlib import Path, PurePosixPath

    if is_url(value):
        return value
    path = PurePosixPath(value)
    if not value or path.is_absolute() or ".." in path.parts or "\\" in value or ":" in value:
        raise ValueError(
            f"'{value}' is neither a URL (https://…) nor a file beside the spec; give a URL, or a relative "
            f"path such as LICENSE.md (the build copies it into the output folder)"
        )
    if path.name in WRITTEN_FILES:
        raise ValueError(f"'{path.name}' is a file specc writes in the output folder; name the license file otherwise")
    spec_dir = (info.context or {}).get("spec_dir")
    if spec_dir is not None and not (Path(spec_dir) / value).is_file():
        raise ValueError(f"no file '{value}' beside the spec; write the license there, or give its URL")
    return value


def license_link_file(link: str | None) -> str | None:
    """The spec's `license_link` file as the output folder holds it (its name), or None for a URL or none."""
    from pathlib import PurePosixPath

    return PurePosixPath(link).name if link and not is_url(link) else None


def license_phrase(license_id: str, name: str | None = None) -> str:
    """The data set's license in a sentence: `under cc-by-4.0`, `under its own license (name)`, `without a known license`."""
    if license_id == "unknown":
        return "without a known license"
    if license_id == "other":
        return f"under its own license ({name})" if name else "under its own license"
    return f"under {license_id}"
