"""`specc card`: write the card, Croissant and stats.json of the last build again, from its stats.json."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from specc.card import copy_license_file, render_card
from specc.errors import SpeccError
from specc.stats import BuildStats


def _build_is_current(
    spec: Any, stats: BuildStats, changes: list[Any], lock: dict[str, Any] | None, lock_file: Path
) -> None:
    """The output folder holds the build the lock records, and the spec still describes its data."""
    rebuild = f"run `specc build {spec.shown}`"
    if lock is None:
        raise SpeccError(
            f"{lock_file}: error: no lock, so specc cannot tell whether {spec.output_dir} was built from "
            f"this spec; {rebuild}"
        )
    built = {o.path: o.sha256 for o in stats.all_outputs()}
    locked = {path: entry.get("sha256") for path, entry in (lock.get("outputs") or {}).get("files", {}).items()}
    if built != locked:
        raise SpeccError(
            f"{lock_file}: error: the lock does not record the build in {spec.output_dir} (its output "
            f"digests differ or are missing); {rebuild}"
        )
    changed = [c for c in changes if c.status != "unchanged" and c.step != "output"]
    if changed:
        lines = [c.summary() for c in changed]
        raise SpeccError(
            f"{spec.shown}: error: the spec or its sources changed since the last build, so its card "
            f"would not describe its data:\n" + "\n".join(lines) + f"\n{rebuild}"
        )


def _damaged(spec: Any, file: Path, what: str) -> SpeccError:
    return SpeccError(
        f"{file}: error: the output in {spec.output_dir} is damaged: {what}; "
        f"run `specc build {spec.shown}` to build it again"
    )


def _data_files_intact(spec: Any, stats: BuildStats) -> None:
    """Every data file of the build has the bytes it was built with (the lock agrees with stats.json on them)."""
    from specc.selfcheck import damaged_outputs

    for name, present in damaged_outputs(spec.output_dir, stats):
        what = (
            "its bytes differ from those the build wrote (truncated or changed)" if present else "the file is missing"
        )
        raise _damaged(spec, spec.output_dir / name, what)


def rerender(spec_path: str | Path, cache_dir: str | Path | None = None) -> Path:
    """Write README.md, croissant.json and stats.json of the last build again from its stats.json.

    Nothing is rebuilt: the data files stay as they are. The spec's prose and templates may have
    changed since the build; its data-affecting parts may not (the lock then says what changed).
    Returns the output folder.
    """
    from specc.builder import plan_changes
    from specc.card.croissant import CROISSANT_FILE, croissant_metadata
    from specc.licenses import license_link_file, license_report
    from specc.lock import read_lock
    from specc.output import build_info, json_text
    from specc.plugins import get_registry
    from specc.selfcheck import check_output
    from specc.staging import output_lock, owner
    from specc.stats import STATS_FILE, Build, LicenseReport, read_stats

    plan, changes, lock_file, _ = plan_changes(spec_path, cache_dir=cache_dir)
    spec = plan.spec
    folder = spec.output_dir
    made_by = owner(folder)
    if made_by is not None and made_by != spec.path:
        raise SpeccError(
            f"{folder}: error: the output there was built from another spec ({made_by}); render its card with that spec"
        )
    with output_lock(folder):  # no build publishes into the folder while its card is written
        stats_file = folder / STATS_FILE
        if not stats_file.is_file():
            raise SpeccError(
                f"{spec.shown}: error: no build to render a card for: {stats_file} does not exist; "
                f"run `specc build {spec.shown}` first"
            )
        built = read_stats(stats_file, f"run `specc build {spec.shown}`")
        _build_is_current(spec, built, changes, read_lock(lock_file), lock_file)
        _data_files_intact(spec, built)
        built.build = Build.model_validate(build_info(plan, built.build.specc_version))
        built.license = LicenseReport.model_validate(license_report(spec.model))
        files = {
            STATS_FILE: json_text(built.json_data()),
            "README.md": render_card(spec.model, built, get_registry(), spec.dir),
            CROISSANT_FILE: json_text(croissant_metadata(spec.model, built, folder)),
        }
        license_file = license_link_file(spec.model.license_link)
        kept = [*files, *([license_file] if license_file else [])]
        previous = {name: (folder / name).read_bytes() if (folder / name).exists() else None for name in kept}
        try:
            for name, text in files.items():
                (folder / name).write_text(text, encoding="utf-8")
            copy_license_file(spec.model, spec.dir, folder)
            check_output(folder, built, places=(spec.dir, plan.cache_dir))
        except BaseException:
            for name, old in previous.items():
                if old is None:
                    (folder / name).unlink(missing_ok=True)
                else:
                    (folder / name).write_bytes(old)
            raise
    return folder
