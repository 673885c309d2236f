"""The spec's pydantic model, built at run time from the installed components."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any, Literal, Union

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    Field,
    StringConstraints,
    ValidationError,
    WithJsonSchema,
    create_model,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticKnownError

from specc import hub_metadata as hub
from specc import licenses, stages
from specc.components import Params, Resources
from specc.paths import OutputPath
from specc.registry import Registry
from specc.spec.card_sections import UserSections

STEP_ID = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
SPEC_NAME = r"^[a-z0-9][a-z0-9._-]*$"


def _name(pattern: str, allowed: str, lower: bool = False) -> Callable[[str], str]:
    """A check that a name matches `pattern`; a mismatch says what a valid name looks like and suggests one."""

    def check(value: str) -> str:
        if re.fullmatch(pattern, value):
            return value
        suggestion = re.sub(r"[^A-Za-z0-9._-]+", "-", value.lower() if lower else value).strip("-._")
        such = f", such as '{suggestion}'" if re.fullmatch(pattern, suggestion) else ""
        raise ValueError(f"'{value}' is not a valid name; use {allowed}, starting with a letter or a digit{such}")

    return check


StepId = Annotated[
    str,
    AfterValidator(_name(STEP_ID, "letters, digits, '_', '.' and '-'")),
    Field(json_schema_extra={"pattern": STEP_ID}),
]


# the card's prose the build cannot know: field -> what to write there
PROSE: dict[str, str] = {
    "summary": "what the data set is, where its rows come from and how they were made",
    "uses": "what the data set is for",
    "out_of_scope": "what it must not be used for",
    "limitations": "what it cannot do (gaps, biases, label noise, its size)",
    "personal_information": "whether rows hold personal or sensitive data, and what was done about it",
}

LicenseId = Annotated[
    str,
    AfterValidator(hub.check_license),
    Field(
        description=f"A license id from the Hub's list ({hub.LICENSES_URL}), or `other`.",
        json_schema_extra={"enum": sorted(hub.LICENSES)},
    ),
]
Language = Annotated[str, AfterValidator(hub.check_language)]
SpecName = Annotated[
    str,
    AfterValidator(_name(SPEC_NAME, "lowercase letters, digits, '.', '_' and '-'", lower=True)),
    Field(json_schema_extra={"pattern": SPEC_NAME}),
]
Task = Annotated[
    str,
    AfterValidator(hub.check_task_category),
    Field(json_schema_extra={"enum": sorted(hub.TASK_CATEGORIES | set(hub.SPECC_TASKS))}),
]
TaskId = Annotated[str, AfterValidator(hub.check_task_id), Field(json_schema_extra={"enum": sorted(hub.TASK_IDS)})]
SourceDataset = Annotated[str, AfterValidator(hub.check_source_dataset)]
MAX_SEED = 2**64 - 1


def _check_seed(seed: int) -> int:
    if not 0 <= seed <= MAX_SEED:
        raise ValueError(f"must be a whole number from 0 to {MAX_SEED} (2**64 - 1); got {seed}")
    return seed


def _check_flag(value: Any) -> Any:
    if not isinstance(value, bool):
        raise ValueError(f"write true or false, without quotes; got {value!r}")
    return value


Seed = Annotated[int, AfterValidator(_check_seed)]
Flag = Annotated[bool, BeforeValidator(_check_flag)]  # a real boolean: pydantic would read 'yes' as true


def located_errors(title: str, problems: list[tuple[tuple[str | int, ...], Any, str]]) -> ValidationError:
    """Several errors at once, each at its own place (pydantic prefixes the model's own loc)."""
    return ValidationError.from_exception_data(
        title,
        [
            InitErrorDetails(type="value_error", loc=loc, input=value, ctx={"error": ValueError(message)})
            for loc, value, message in problems
        ],
    )


class CardModel(Params):
    """Prose for the dataset card that the build cannot know, and the Hub metadata it cannot infer."""

    draft: bool = Field(False, description="A draft card: prose may be missing, and the card says it is a draft.")
    pretty_name: str | None = None
    summary: str | None = Field(None, description=PROSE["summary"].capitalize() + ".")
    uses: str | None = Field(None, description=PROSE["uses"].capitalize() + ".")
    out_of_scope: str | None = Field(None, description=PROSE["out_of_scope"].capitalize() + ".")
    limitations: str | None = Field(None, description=PROSE["limitations"].capitalize() + ".")
    personal_information: str | None = Field(None, description=PROSE["personal_information"].capitalize() + ".")
    task_ids: list[TaskId] = Field([], description="The Hub's task ids (subtasks of `task`).")
    annotations_creators: list[hub.AnnotationsCreator] = Field([], description="Who made the labels.")
    language_creators: list[hub.LanguageCreator] = Field([], description="Who wrote the text.")
    multilinguality: list[hub.Multilinguality] = Field([])
    source_datasets: list[SourceDataset] = Field(
        [],
        description="`original`, `extended`, or `extended|<data set id>` (a bare `extended` names each Hub source).",
    )
    citation: str | None = Field(None, description="How to cite this data set (a BibTeX entry); the card shows it.")
    sections: UserSections = []

    def missing_prose(self) -> list[str]:
        """The prose fields that are unset or blank, in card order."""
        return [name for name in PROSE if not (getattr(self, name) or "").strip()]

    @model_validator(mode="after")
    def _prose_is_written(self) -> CardModel:
        if not self.draft and self.missing_prose():
            raise located_errors(
                "CardModel",
                [
                    (
                        (name,),
                        getattr(self, name),
                        f"{'empty' if getattr(self, name) is not None else 'missing'}; "
                        f"write {PROSE[name]}, or set `card: {{draft: true}}` while the card is a draft",
                    )
                    for name in self.missing_prose()
                ],
            )
        return self


class LicenseOverride(Params):
    """Publish under `license` although it drops terms of some sources' licenses, and say why."""

    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)] = Field(
        ..., description="Why this data set may be published under its license; the card shows it."
    )
    sources: list[str] | None = Field(
        None, description="The conflicting sources the override covers; default: every one."
    )


class SpecBase(Params):
    """Checks across fields of the whole spec: the sources' licenses against the output's."""

    @model_validator(mode="after")
    def _licenses_propagate(self) -> SpecBase:
        spec: Any = self
        problems: list[tuple[tuple[str | int, ...], Any, str]] = []
        for name, entry in spec.sources.items():
            try:
                hub.check_license(entry.license)
            except ValueError as exc:
                problems.append((("sources", name, "license"), entry.license, str(exc)))
        known = {n: e.license for n, e in spec.sources.items() if e.license in hub.LICENSES}
        found = licenses.conflicts(spec.license, known)
        override = spec.license_override
        if override is None:
            if found:
                problems.append((("license",), spec.license, licenses.conflict_message(spec.license, found)))
            if problems:
                raise located_errors("Spec", problems)
            return self
        if problems:  # an override is checked against the sources once their licenses are known
            raise located_errors("Spec", problems)
        if not found:
            raise located_errors(
                "Spec",
                [
                    (
                        ("license_override",),
                        None,
                        (
                            f"no source's license conflicts with '{spec.license}'; remove license_override, or its "
                            f"reason would be shown for nothing"
                        ),
                    )
                ],
            )
        conflicting = {c.source for c in found}
        for i, name in enumerate(override.sources or []):
            if name not in spec.sources:
                problems.append(
                    (
                        ("license_override", "sources", i),
                        name,
                        f"no source '{name}'; sources: {', '.join(spec.sources)}",
                    )
                )
            elif name not in conflicting:
                problems.append(
                    (
                        ("license_override", "sources", i),
                        name,
                        f"source '{name}' ({spec.sources[name].license}) does not conflict with "
                        f"'{spec.license}'; remove it",
                    )
                )
        uncovered = [c for c in found if override.sources is not None and c.source not in override.sources]
        if uncovered:
            problems.append(
                (
                    ("license",),
                    spec.license,
                    licenses.conflict_message(spec.license, uncovered)
                    + "; license_override.sources does not name them",
                )
            )
        if problems:
            raise located_errors("Spec", problems)
        return self


# --- the card's license details and citation (license_name / license_link for `other`) ---------------------

LICENSE_NAME = r"^[a-z0-9-.]+$"  # the Hub's rule for `license_name` (an id like my-license-1.0)


def _check_license_name(value: str) -> str:
    if not re.fullmatch(LICENSE_NAME, value):
        raise ValueError(
            f"'{value}' is not a license id the Hub takes; use lower-case letters, digits, `-` and `.`, "
            f"such as {re.sub(r'[^a-z0-9.-]+', '-', value.lower()).strip('-') or 'my-license-1.0'}"
        )
    return value


LicenseName = Annotated[
    str,
    AfterValidator(_check_license_name),
    Field(
        json_schema_extra={"pattern": LICENSE_NAME},
        description="For `license: other`: an id for the license, lower-case letters, digits, `-` and `.` "
        "(such as my-license-1.0), as the Hub wants it.",
    ),
]
LicenseLink = Annotated[
    str,
    AfterValidator(licenses.check_license_link),
    Field(
        description="For `license: other`: where the license is, a URL or a file beside the spec "
        "(such as LICENSE.md) that the build copies into the output folder.",
    ),
]


class LicenseDetails(Params):
    """`license_name` and `license_link`: required with `license: other`, refused with any other license."""

    @model_validator(mode="after")
    def _other_has_details(self) -> LicenseDetails:
        spec: Any = self
        details = {"license_name": spec.license_name, "license_link": spec.license_link}
        if spec.license == "other":
            missing = [name for name, value in details.items() if value is None]
            if missing:
                raise located_errors(
                    "Spec",
                    [
                        (
                            ("license",),
                            spec.license,
                            f"`license: other` needs {' and '.join(f'`{m}`' for m in missing)}: an id for the "
                            f"license (such as my-license-1.0) and where to read it (a URL, or a file beside the "
                            f"spec such as LICENSE.md); the card's metadata gives both",
                        )
                    ],
                )
            return self
        extra = [name for name, value in details.items() if value is not None]
        if extra:
            raise located_errors(
                "Spec",
                [
                    ((name,), details[name], f"only for `license: other`; '{spec.license}' is on the Hub's list")
                    for name in extra
                ],
            )
        return self


class OutputModel(Params):
    """Where the built data set goes."""

    dir: OutputPath | None = Field(None, description="Default: build/<name> beside the spec.")


# Operational parameters: how a step runs, never what it outputs. The compiler keeps them out of
# the component's params and the fingerprints and hands them to executors as PlanStep.operational.
OPERATIONAL: dict[str, Any] = {
    "resources": (
        Resources | None,
        Field(
            None,
            description="What each worker running this step reserves "
            "on a cluster (`--executor ray`); changes no output.",
        ),
    ),
}


def used_types(data: dict[str, Any], registry: Registry) -> frozenset[tuple[str, str]] | None:
    """The installed (kind, name) pairs a spec's stages name, or None when one names something else."""
    used = set()
    for stage in stages.pipeline():
        if stage.parent is not None:  # not a union of installed types (`format.tokens` checks its own)
            continue
        value = data.get(stage.name)
        if value is None:
            continue
        if stage.shape == "map":
            entries = list(value.values()) if isinstance(value, dict) else None
        else:
            entries = [value] if isinstance(value, dict) else value if isinstance(value, list) else None
        if entries is None:
            return None
        for entry in entries:
            name = entry.get(stage.tag) if isinstance(entry, dict) else None
            if not isinstance(name, str) or name not in registry.names(stage.kind):
                return None
            used.add((stage.kind, name))
    return frozenset(used)


def entry_model(stage: stages.Stage, name: str, params: type[Params]) -> type[BaseModel]:
    """The model of one spec entry: the component's params plus its tag, an optional id and operational params."""
    fields: dict[str, Any] = {stage.tag: (Literal[name], ...)}
    if stage.shape == "list":
        fields["id"] = (StepId | None, None)
    if stage.operational:
        fields.update(OPERATIONAL)
    for nested in stages.pipeline():  # `format.tokens`: a plan step of its own, written inside this entry
        if nested.parent == stage.name and nested.entry is not None:
            fields[nested.name] = (nested.entry | None, Field(None, description=nested.description))
    model_name = "".join(p.capitalize() for p in f"{stage.kind}-{name}".replace("_", "-").split("-"))
    return create_model(model_name, __base__=params, **fields)


def _none_installed(stage: stages.Stage) -> Any:
    """An entry of a stage with no component installed: it fails as an unknown (or missing) tag would."""

    def refuse(value: Any) -> Any:
        if not isinstance(value, dict):
            raise PydanticKnownError("dict_type")
        if stage.tag not in value:
            raise PydanticKnownError("union_tag_not_found", {"discriminator": repr(stage.tag)})
        context = {"discriminator": repr(stage.tag), "tag": str(value[stage.tag]), "expected_tags": ""}
        raise PydanticKnownError("union_tag_invalid", context)

    return Annotated[Any, BeforeValidator(refuse), WithJsonSchema({"not": {}})]


def _union(registry: Registry, stage: stages.Stage, only: frozenset[tuple[str, str]] | None) -> Any:
    models = [
        entry_model(stage, e.name, e.cls.Params)
        for e in registry.entries(stage.kind)
        if only is None or (stage.kind, e.name) in only
    ]
    if not models:
        return _none_installed(stage)
    return Annotated[Union[tuple(models)], Field(discriminator=stage.tag)]  # noqa: UP007 (a union of a runtime tuple)


def _stage_field(union: Any, shape: stages.Shape) -> Any:
    """The spec field of a stage: its entries' union as a mapping of names, a list, or one optional entry."""
    if shape == "map":
        return (Annotated[dict[StepId, union], Field(min_length=1)], ...)
    if shape == "list":
        return (list[union], [])
    return (union | None, None)


def build_spec_model(registry: Registry, only: frozenset[tuple[str, str]] | None = None) -> type[BaseModel]:
    """The whole spec as one model: a discriminated union per stage over what is installed.

    `only` limits the unions to these (kind, name) pairs: a spec that names installed types
    only is validated without building the models of every other installed component.
    """
    fields = {
        stage.name: _stage_field(_union(registry, stage, only), stage.shape)
        for stage in stages.pipeline()
        if stage.parent is None
    }
    return create_model(
        "Spec",
        __base__=(SpecBase, LicenseDetails),
        specc=(Literal[1], Field(..., description="The spec language version.")),
        name=(SpecName, ...),
        version=(str, "0.1.0"),
        description=(str, ...),
        license=(LicenseId, ...),
        license_override=(LicenseOverride | None, None),
        license_name=(LicenseName | None, None),
        license_link=(LicenseLink | None, None),
        languages=(
            list[Language],
            Field([], description="ISO 639-1 codes (ISO 639-3 when there is none), or BCP-47 tags such as en-US."),
        ),
        task=(
            Task | None,
            Field(
                None,
                description="The Hub's task category, or one of specc's: `text-regression` (a numeric target), "
                "`multi-label-classification` (list-valued labels).",
            ),
        ),
        seed=(Seed, 0),
        allow_external_paths=(Flag, False),
        **fields,
        card=(
            CardModel,
            Field(
                default_factory=dict,
                validate_default=True,  # an absent card is checked too
                description="The card's prose and the Hub metadata the build cannot infer.",
            ),
        ),
        output=(OutputModel, OutputModel()),
    )
