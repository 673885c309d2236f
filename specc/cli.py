"""The `specc` command line; each command calls the public API."""

from __future__ import annotations

import gc
import json
import os
import shutil
import sys
import time
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import click

from specc import __version__
from specc.errors import SpeccError

EXIT_CODES = """Exit codes: 0 success; 1 an error in a spec, the data or a plugin (printed without a
traceback); 2 a mistake in the command line itself."""


def _progress() -> Callable[[str], None] | None:
    """Progress lines on stderr when it is a terminal; nothing otherwise."""
    if not sys.stderr.isatty():
        return None
    start = time.monotonic()
    return lambda message: click.echo(f"[{time.monotonic() - start:7.1f}s] {message}", err=True)


def _fail(exc: SpeccError) -> None:
    click.echo(str(exc), err=True)
    sys.exit(1)


# Commands that only read specs and print: the cyclic collector stays paused for them (see `run`).
QUICK_COMMANDS = frozenset({"validate", "plan", "schema", "plugins"})


class _Group(click.Group):
    """A group that turns user errors into messages without tracebacks."""

    def resolve_command(self, ctx: click.Context, args: list[str]) -> tuple[str | None, Any, list[str]]:
        """The subcommand to run; any but QUICK_COMMANDS turns the cyclic collector back on first."""
        name, command, rest = super().resolve_command(ctx, args)
        if name not in QUICK_COMMANDS and not gc.isenabled():
            gc.freeze()  # what start-up made stays; the collections that follow skip it
            gc.enable()
        return name, command, rest

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SpeccError as exc:
            _fail(exc)
        except MemoryError:  # what no step bounded itself: the message names the way out, not a traceback
            _fail(
                SpeccError(
                    "error: specc ran out of memory; build with a smaller --num-proc, or drop or shorten "
                    "very long rows first (a `length` step in `clean:`)"
                )
            )


@click.group(cls=_Group, epilog=EXIT_CODES)
@click.version_option(__version__, prog_name="specc")
@click.option(
    "--max-spec-bytes",
    type=click.IntRange(min=1),
    metavar="BYTES",
    help="Largest spec file read (default 4 MiB, or $SPECC_MAX_SPEC_BYTES).",
)
def cli(max_spec_bytes: int | None) -> None:
    """specc: compile a dataset spec into a reproducible, carded SFT data set."""
    if max_spec_bytes is not None:
        from specc.spec.yaml_loader import MAX_BYTES_ENV

        os.environ[MAX_BYTES_ENV] = str(max_spec_bytes)  # every spec this command loads, wherever it loads it


@cli.command()
@click.argument("specs", nargs=-1, required=True, type=click.Path(dir_okay=False))
def validate(specs: tuple[str, ...]) -> None:
    """Check specs; print every problem as FILE:LINE:COL: error: PATH: MESSAGE."""
    from specc.errors import SpecError
    from specc.spec import load_spec

    failed = False
    for path in specs:
        try:
            load_spec(path)
            click.echo(f"{path}: ok")
        except SpecError as exc:
            click.echo(str(exc), err=True)
            failed = True
    sys.exit(1 if failed else 0)


_CACHE_DIR = click.option(
    "--cache-dir",
    type=click.Path(file_okay=False),
    help="Step cache folder (default .specc/cache beside the spec, or $SPECC_CACHE_DIR).",
)


@cli.command()
@click.argument("spec", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the plan and its diff as JSON.")
@click.option("--check", is_flag=True, help="Exit 0 when nothing changed against the lock, 2 when something did.")
@click.option("--steps", is_flag=True, help="Also list every step with its parameters, seed and fingerprint.")
@_CACHE_DIR
def plan(spec: str, as_json: bool, check: bool, steps: bool, cache_dir: str | None) -> None:
    """Compare the plan with the lock: + new, ~ changed (with the cause), - removed, = unchanged."""
    from specc.builder import plan_changes
    from specc.plan_diff import diff_json, diff_text
    from specc.plan_view import plan_json, plan_text

    compiled, changes, lock, exists = plan_changes(spec, cache_dir=cache_dir)
    if as_json:
        click.echo(json.dumps({"plan": plan_json(compiled), "diff": diff_json(compiled, changes)}, indent=2))
    else:
        shown = lock.name if lock.parent == Path(spec).resolve().parent else str(lock)
        click.echo(diff_text(compiled, changes, shown, exists))
        if steps:
            click.echo(plan_text(compiled))
    if check:
        sys.exit(0 if all(c.status == "unchanged" for c in changes) else 2)


@cli.command()
@click.argument("spec", type=click.Path(dir_okay=False))
@click.option("--upgrade", is_flag=True, help="Resolve every source's pins anew.")
@click.option(
    "--upgrade-source",
    "upgrade_sources",
    multiple=True,
    metavar="NAME",
    help="Resolve this source's pins anew (repeatable).",
)
@_CACHE_DIR
def lock(spec: str, upgrade: bool, upgrade_sources: tuple[str, ...], cache_dir: str | None) -> None:
    """Write SPEC's lock: source pins, plugin versions, seeds and fingerprints."""
    from specc.builder import lock as write

    path, changed = write(spec, upgrade=upgrade, upgrade_sources=upgrade_sources, cache_dir=cache_dir)
    click.echo(f"{'wrote' if changed else 'unchanged'} {path}")


EXECUTOR_OPTIONS = "specc.executor_options"


def add_executor_option(group: click.Group, *decls: str, key: str, help: str) -> None:
    """Give `specc build` an option for a plugin's executor; its value reaches that executor's Params as `key`."""
    build_command = group.commands["build"]
    if any(set(decls) & set(p.opts) for p in build_command.params):
        return

    def store(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        if value is not None:
            ctx.meta.setdefault(EXECUTOR_OPTIONS, {})[key] = value
        return value

    build_command.params.append(click.Option(decls, help=help, expose_value=False, callback=store))


@cli.command()
@click.argument("spec", type=click.Path(dir_okay=False))
@click.option(
    "--num-proc",
    default=1,
    show_default=True,
    type=click.IntRange(min=1),
    help="Worker processes for row-wise steps (the output is the same for any number).",
)
@click.option("--executor", default="local", show_default=True, help="Executor to run the plan on.")
@click.option("--frozen", is_flag=True, help="Refuse to build when the lock is missing or stale; never write it.")
@click.option(
    "--verify", is_flag=True, help="Rebuild in a scratch cache and folder and compare every digest with the lock."
)
@click.option(
    "--replace-foreign",
    is_flag=True,
    help="Move an output folder that specc did not make aside to NAME.replaced-N (never deleted).",
)
@click.option("--wait", is_flag=True, help="Wait for another build of the same output instead of failing at once.")
@_CACHE_DIR
def build(
    spec: str,
    num_proc: int,
    executor: str,
    frozen: bool,
    verify: bool,
    replace_foreign: bool,
    wait: bool,
    cache_dir: str | None,
) -> None:
    """Build the data set, its stats.json and its card, through the step cache; update the lock."""
    from specc.builder import build as run_build
    from specc.builder import verify as run_verify
    from specc.spec import load_spec

    options = click.get_current_context().meta.get(EXECUTOR_OPTIONS, {})
    if verify:
        checked = run_verify(spec, num_proc=num_proc, executor=executor, progress=_progress(), executor_options=options)
        click.echo(f"verified: {len(checked)} digests in the lock match a rebuild from scratch")
        return
    stats = run_build(
        spec,
        num_proc=num_proc,
        executor=executor,
        progress=_progress(),
        frozen=frozen,
        cache_dir=cache_dir,
        executor_options=options,
        replace_foreign=replace_foreign,
        wait=wait,
        notify=lambda message: click.echo(message, err=True),
    )
    rows = ", ".join(f"{out['split']} {out['rows']:,}" for out in stats["outputs"])
    click.echo(f"built {load_spec(spec).output_dir} ({rows})")


@cli.command()
@click.argument("spec", type=click.Path(dir_okay=False))
@_CACHE_DIR
def card(spec: str, cache_dir: str | None) -> None:
    """Render the card (README.md) and croissant.json of the last build again, without rebuilding."""
    from specc.rerender import rerender

    folder = rerender(spec, cache_dir=cache_dir)
    click.echo(f"rendered {folder / 'README.md'} and {folder / 'croissant.json'} from {folder / 'stats.json'}")


@cli.group()
def cache() -> None:
    """Inspect and clean the step cache."""


@cache.command("info")
@click.argument("spec", type=click.Path(dir_okay=False))
@_CACHE_DIR
def cache_info(spec: str, cache_dir: str | None) -> None:
    """Show where SPEC's cache is and how much it holds."""
    from specc.cache import StepCache
    from specc.compiler import default_cache_dir
    from specc.spec import load_spec

    info = StepCache(default_cache_dir(load_spec(spec).dir, cache_dir)).info()
    click.echo(f"cache {info['path']}")
    for part in ("steps", "downloads", "scratch"):
        click.echo(f"  {part:<10} {info[part]['entries']:>6} entries {info[part]['bytes'] / 2**20:>10.1f} MB")
    if info["scratch"]["entries"]:
        click.echo(
            f"  ({info['scratch']['running']} of the scratch folders belong to builds still running; "
            f"`specc cache gc` removes the others)"
        )


@cache.command("gc")
@click.argument("specs", nargs=-1, required=True, type=click.Path(dir_okay=False))
@_CACHE_DIR
def cache_gc(specs: tuple[str, ...], cache_dir: str | None) -> None:
    """Remove cache entries that the locks of SPECS (sharing one cache) do not reach."""
    from specc.cache import StepCache
    from specc.compiler import default_cache_dir
    from specc.lock import lock_path, read_lock
    from specc.spec import load_spec

    roots, fingerprints, downloads = set(), set(), set()
    for path in specs:
        loaded = load_spec(path)
        roots.add(default_cache_dir(loaded.dir, cache_dir))
        lock = read_lock(lock_path(loaded))
        if lock is None:
            raise SpeccError(f"error: {path} has no lock, so gc cannot tell what it uses; run `specc lock {path}`")
        for entry in lock["steps"].values():
            fingerprints.add(entry["fingerprint"])
            if entry.get("pins", {}).get("sha256"):
                downloads.add(entry["pins"]["sha256"])
    if len(roots) != 1:
        raise SpeccError(
            f"error: the specs use different caches ({', '.join(map(str, sorted(roots)))}); collect one cache at a time"
        )
    removed = StepCache(roots.pop()).gc(fingerprints, downloads)
    click.echo(
        f"removed {removed['steps']} step entries and {removed['downloads']} downloads and "
        f"{removed['scratch']} scratch folders of stopped builds ({removed['bytes'] / 2**20:.1f} MB)"
    )


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def plugins(as_json: bool) -> None:
    """List loaded plugins, their versions and the types each provides (each type's class is imported)."""
    from specc.plugins import load_plugins

    loaded = load_plugins()
    loaded.registry.load_all()
    infos = sorted(loaded.infos.values(), key=lambda i: (i.distribution != "specc", i.name))
    if as_json:
        click.echo(
            json.dumps(
                [
                    {
                        "name": i.name,
                        "distribution": i.distribution,
                        "version": i.version,
                        "provides": {k: sorted(v) for k, v in sorted(i.provides.items())},
                    }
                    for i in infos
                ],
                indent=2,
            )
        )
        return
    for info in infos:
        click.echo(f"{info.name}  ({info.distribution} {info.version})")
        for kind, names in sorted(info.provides.items()):
            click.echo(f"    {kind}: {', '.join(sorted(names))}")


def installed_schema() -> str:
    """The JSON Schema of specs for the installed plugins, as `specc schema` prints it."""
    from specc.spec import spec_model

    return json.dumps(spec_schema(spec_model()), indent=2, sort_keys=True) + "\n"


@cli.command()
def schema() -> None:
    """Print the JSON Schema of specs for the installed plugins."""
    click.echo(installed_schema(), nl=False)


def spec_schema(model: Any) -> dict[str, Any]:
    """JSON Schema of a spec model, with the dialect and a title."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "specc spec",
        **model.model_json_schema(),
    }


SCHEMA_FILE = "specc.schema.json"


@cli.command()
@click.argument("directory", type=click.Path(file_okay=False))
def init(directory: str) -> None:
    """Create DIRECTORY with a working spec, sample data, the specs' JSON Schema and a .gitignore."""
    target = Path(directory)
    if target.exists() and any(target.iterdir()):
        raise SpeccError(f"error: {target} exists and is not empty; choose a new folder")
    template = resources.files("specc") / "init_template"
    with resources.as_file(template) as source:
        shutil.copytree(source, target, dirs_exist_ok=True)
    # beside the spec, which names it in its yaml-language-server modeline: the types of the installed plugins
    (target / SCHEMA_FILE).write_text(installed_schema(), encoding="utf-8")
    click.echo(f"created {target}/spec.yaml; next: specc build {target}/spec.yaml")


_SHOWN_PROBLEMS = 20


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option(
    "--format",
    "file_format",
    required=True,
    type=click.Choice(["wide-csv", "long-csv", "label-studio"]),
    help="wide-csv: a column per annotator; long-csv: item, annotator, label; label-studio: its JSON export.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--item", help="Item column (CSV) or data key (Label Studio); default _id, id or item.")
@click.option(
    "--annotator",
    help="Wide CSV: annotator columns, comma-separated or a pattern such as 'label_*' "
    "(default every column but the item and --exclude columns); long CSV: the "
    "annotator column (default annotator).",
)
@click.option(
    "--exclude", default="text", show_default=True, help="Wide CSV: comma-separated columns that are not annotators."
)
@click.option("--label", help="Long CSV: the label column (default label).")
@click.option("--from-name", help="Label Studio: the labeling control to read when there are several.")
@click.option(
    "--level",
    default="nominal",
    show_default=True,
    type=click.Choice(["nominal", "ordinal", "interval"]),
    help="Also report Krippendorff's alpha at this level of measurement.",
)
@click.option("--order", help="Ordinal labels lowest first, comma-separated (default numeric order).")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the bootstrap.")
@click.option(
    "--resamples",
    default=1000,
    show_default=True,
    type=click.IntRange(min=1),
    help="Bootstrap resamples for the confidence intervals.",
)
@click.option(
    "--confidence",
    default=0.95,
    show_default=True,
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    help="Confidence level of the intervals.",
)
def agreement(
    file: str,
    file_format: str,
    as_json: bool,
    item: str | None,
    annotator: str | None,
    exclude: str,
    label: str | None,
    from_name: str | None,
    level: str,
    order: str | None,
    seed: int,
    resamples: int,
    confidence: float,
) -> None:
    """Agreement between the annotators of FILE: percent agreement, Cohen's and Fleiss' kappa, Krippendorff's alpha."""
    from specc.annotation.agreement import agreement_report, report_text
    from specc.annotation.readers import count_kinds, read_annotations

    annotators = annotator.split(",") if annotator and "," in annotator else annotator
    table, problems = read_annotations(
        file, file_format, item=item, annotator=annotators, label=label, from_name=from_name, exclude=exclude.split(",")
    )
    for problem in problems[:_SHOWN_PROBLEMS]:
        click.echo(problem.message(file), err=True)
    if len(problems) > _SHOWN_PROBLEMS:
        click.echo(f"{file}: … and {len(problems) - _SHOWN_PROBLEMS} more problems", err=True)
    if not table.items:
        raise SpeccError(f"{file}: error: no annotations to measure; check --format and the column names")
    report = agreement_report(
        table,
        seed=seed,
        level=level,
        order=order.split(",") if order else None,
        resamples=resamples,
        confidence=confidence,
    )
    report["problems"] = count_kinds(problems)
    click.echo(json.dumps(report, indent=2, ensure_ascii=False) if as_json else report_text(report, file))


# --- specc publish ---------------------------------------------------------------------------------


def _repo_id(ctx: click.Context, param: click.Parameter, value: str) -> str:
    from specc.hub_repo import check_repo_id

    try:
        return check_repo_id(value, "my-org/support-intents")
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _branch(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    from specc.hub_repo import COMMIT, check_revision

    if value is None:
        return None
    try:
        branch = check_revision(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    if COMMIT.fullmatch(branch):
        raise click.BadParameter("an upload makes a commit on a branch; give a branch name, such as main")
    return branch


@cli.command()
@click.argument("build_dir", type=click.Path(file_okay=False))
@click.option("--repo", required=True, callback=_repo_id, metavar="ORG/NAME", help="The Hub data set repository.")
@click.option("--dry-run", is_flag=True, help="Check the folder and list what would be uploaded; upload nothing.")
@click.option("--revision", callback=_branch, metavar="BRANCH", help="The branch to commit to (default main).")
@click.option("--private", is_flag=True, default=None, help="Make the repository private if it is created now.")
@click.option("--token", envvar="HF_TOKEN", help="A Hub token with write access (default $HF_TOKEN, or your login).")
@click.option("--message", "-m", help="The commit message (default: Upload NAME with specc).")
def publish(
    build_dir: str,
    repo: str,
    dry_run: bool,
    revision: str | None,
    private: bool | None,
    token: str | None,
    message: str | None,
) -> None:
    """Upload the output folder BUILD_DIR of `specc build` to a Hugging Face Hub data set repository.

    Every file but specc's ownership marker goes, in one commit, once the folder passes the checks: made by
    specc and complete, a card whose metadata the Hub reads, and nothing of this machine (absolute paths,
    host or user name) nor a link leading outside the folder.
    """
    from specc.hub_upload import checked_upload, upload

    files = checked_upload(build_dir)
    where = f"datasets/{repo}" + (f" (branch {revision})" if revision else "")
    verb = "would upload" if dry_run else "uploading"
    click.echo(f"{verb} {len(files.files)} files ({files.size:,} bytes) from {build_dir} to {where}:")
    width = max(map(len, files.files))
    for name, size in files.files.items():
        click.echo(f"  {name.ljust(width)}  {size:>12,} bytes")
    if dry_run:
        click.echo("checked: made by specc, complete, card metadata, no paths of this machine, no outside links")
        return
    commit = upload(files, repo, revision=revision, private=private, token=token or None, message=message)
    click.echo(f"uploaded: {commit.commit_url}")


def main() -> None:
    """Entry point of the `specc` console script."""
    from specc.plugins import load_plugins

    try:
        load_plugins().manager.hook.register_commands(cli=cli)
    except SpeccError as exc:
        _fail(exc)
    cli()


def run() -> None:
    """The console script and `python -m specc`: `main()`, then leave without the interpreter's teardown.

    pyarrow's native thread pools can abort that teardown ("terminate called without an active
    exception", apache/arrow#34314) after a command's work is done and its files are closed.
    """
    gc.disable()  # start-up (plugins, spec models) makes many objects and no garbage; builds turn it back on
    try:
        main()
        code: object = 0
    except SystemExit as exc:
        code = exc.code
    if code is not None and not isinstance(code, int):
        print(code, file=sys.stderr)
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code or 0)
