"""The `specc` command line; each command calls the public API."""

from __future__ import annotations

import gc
import json
import os
import re
import shutil
import sys
from importlib import resources
from pathlib import Path
from typing import Any

import click

from specc import __version__
from specc.errors import CommandLineError, SpeccError, SpecError
from specc.progress import Progress, Verbosity

EXIT_CODES = """Exit codes: 0 success; 1 an error in a spec, the data or a plugin (printed without a
traceback); 2 a mistake in the command line itself (such as a file it names that does not exist)."""


def _fail(exc: SpeccError) -> None:
    click.echo(str(exc), err=True)
    sys.exit(exc.exit_code)


# --- verbosity: -v/-q on the group and on every command ------------------------------------------------------

VERBOSITY = "specc.verbosity"  # in click's context meta, which nested contexts share
_VERBOSITY_FLAGS = {"-v", "--verbose", "-q", "--quiet"}


def _set_verbosity(ctx: click.Context, param: click.Parameter, value: bool) -> bool:
    if value:
        level = Verbosity.VERBOSE if param.name == "verbose" else Verbosity.QUIET
        if ctx.meta.setdefault(VERBOSITY, level) != level:
            raise click.UsageError("-v and -q contradict each other; give one of them", ctx)
    return value


def _verbosity_options() -> list[click.Option]:
    return [
        click.Option(
            ["-v", "--verbose"],
            is_flag=True,
            expose_value=False,
            callback=_set_verbosity,
            help="Say more: progress lines even off a terminal, and details such as cache hits and timings.",
        ),
        click.Option(
            ["-q", "--quiet"],
            is_flag=True,
            expose_value=False,
            callback=_set_verbosity,
            help="Print only errors and the result.",
        ),
    ]


def verbosity() -> Verbosity:
    """The verbosity the command line asked for (`-v`, `-q`, before or after the command's name)."""
    return click.get_current_context().meta.get(VERBOSITY, Verbosity.NORMAL)


class _VerbosityGroup(click.Group):
    """A group whose commands, specc's and the plugins', all take -v and -q."""

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        """Add `cmd` with -v and -q (unless it has options of those names itself)."""
        if not any(_VERBOSITY_FLAGS & set(p.opts) for p in cmd.params):
            cmd.params.extend(_verbosity_options())
        super().add_command(cmd, name)


# --- errors as JSON objects ----------------------------------------------------------------------------------

# `FILE:LINE:COL: error: MESSAGE`, `FILE:LINE: error: …`, `FILE: error: …` or `error: …`
_LOCATED = re.compile(
    r"(?:(?P<file>[^\n]+?)(?::(?P<line>\d+))?(?::(?P<column>\d+))?: )?(?P<severity>error|warning): (?P<message>.*)",
    re.DOTALL,
)


def error_objects(exc: SpeccError) -> list[dict[str, Any]]:
    """An error as JSON objects: file, line, column (null where unknown), severity and message."""
    if isinstance(exc, SpecError):
        return [
            {
                "file": str(d.file),
                "line": d.line,
                "column": d.column,
                "severity": "error",
                "path": d.path,
                "message": d.message,
            }
            for d in exc.diagnostics
        ]
    text = str(exc)
    found = _LOCATED.fullmatch(text)
    if found is None:
        return [{"file": None, "line": None, "column": None, "severity": "error", "message": text}]
    line, column = found["line"], found["column"]
    return [
        {
            "file": found["file"],
            "line": int(line) if line else None,
            "column": int(column) if column else None,
            "severity": found["severity"],
            "message": found["message"],
        }
    ]


def _echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


# Commands that only read specs and print: the cyclic collector stays paused for them (see `run`).
QUICK_COMMANDS = frozenset({"validate", "plan", "schema", "plugins"})


class _Group(_VerbosityGroup):
    """A group that turns user errors into messages without tracebacks."""

    group_class = _VerbosityGroup

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


@click.group(cls=_Group, epilog=EXIT_CODES, params=_verbosity_options())
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


_JSON = click.option(
    "--json", "as_json", is_flag=True, help="Print one JSON document on stdout (errors as objects) and nothing else."
)
_SPECS_ONLY = click.option(
    "--specs-only",
    is_flag=True,
    help="Skip files without a top-level `specc:` key (for hooks that are given every YAML file).",
)
_SPEC_KEY = re.compile(rb"^specc[ \t]*:", re.MULTILINE)


def _chosen(paths: tuple[str, ...], specs_only: bool) -> list[str]:
    """`paths`, without the files that are not specs when `specs_only` (unreadable ones stay, to be reported)."""

    def is_spec(path: str) -> bool:
        try:
            return _SPEC_KEY.search(Path(path).read_bytes()) is not None
        except OSError:
            return True

    return [path for path in paths if not specs_only or is_spec(path)]


@cli.command()
@click.argument("specs", nargs=-1, required=True, type=click.Path(dir_okay=False))
@_JSON
@_SPECS_ONLY
def validate(specs: tuple[str, ...], as_json: bool, specs_only: bool) -> None:
    """Check specs; print every problem as FILE:LINE:COL: error: PATH: MESSAGE."""
    from specc.spec import load_spec

    results = []
    code = 0
    for path in _chosen(specs, specs_only):
        try:
            load_spec(path)
            errors: list[dict[str, Any]] = []
            if not as_json and verbosity() > Verbosity.QUIET:
                click.echo(f"{path}: ok")
        except SpecError as exc:
            errors = error_objects(exc)
            code = max(code, exc.exit_code)
            if not as_json:
                click.echo(str(exc), err=True)
        results.append({"file": path, "ok": not errors, "errors": errors})
    if as_json:
        _echo_json({"ok": not code, "specs": results})
    sys.exit(code)


_CACHE_DIR = click.option(
    "--cache-dir",
    type=click.Path(file_okay=False),
    help="Step cache folder (default .specc/cache beside the spec, or $SPECC_CACHE_DIR).",
)


@cli.command()
@click.argument("specs", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the plan and its diff as JSON (one spec only).")
@click.option("--check", is_flag=True, help="Exit 0 when nothing changed against the locks, 2 when something did.")
@click.option("--steps", is_flag=True, help="Also list every step with its parameters, seed and fingerprint.")
@_CACHE_DIR
@_SPECS_ONLY
def plan(
    specs: tuple[str, ...], as_json: bool, check: bool, steps: bool, cache_dir: str | None, specs_only: bool
) -> None:
    """Compare each spec's plan with its lock: + new, ~ changed (with the cause), - removed, = unchanged."""
    from specc.builder import plan_changes
    from specc.plan_diff import diff_json, diff_text
    from specc.plan_view import plan_json, plan_text

    chosen = _chosen(specs, specs_only)
    if as_json and len(chosen) > 1:
        raise click.UsageError("--json takes one spec; run `specc plan --json` once per spec")
    changed = False
    for spec in chosen:
        compiled, changes, lock, exists = plan_changes(spec, cache_dir=cache_dir)
        changed = changed or any(c.status != "unchanged" for c in changes)
        if as_json:
            click.echo(json.dumps({"plan": plan_json(compiled), "diff": diff_json(compiled, changes)}, indent=2))
        else:
            shown = lock.name if lock.parent == Path(spec).resolve().parent else str(lock)
            click.echo(diff_text(compiled, changes, shown, exists))
            if steps:
                click.echo(plan_text(compiled))
    if check:
        sys.exit(2 if changed else 0)


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
@_JSON
def build(
    spec: str,
    num_proc: int,
    executor: str,
    frozen: bool,
    verify: bool,
    replace_foreign: bool,
    wait: bool,
    cache_dir: str | None,
    as_json: bool,
) -> None:
    """Build the data set, its stats.json and its card, through the step cache; update the lock."""
    from specc.builder import build as run_build
    from specc.builder import verify as run_verify

    options = click.get_current_context().meta.get(EXECUTOR_OPTIONS, {})
    progress = Progress.on(sys.stderr, verbosity(), as_json)
    notices: list[str] = []

    def notify(message: str) -> None:
        notices.append(message)
        if verbosity() > Verbosity.QUIET:
            click.echo(message, err=True)

    try:
        if verify:
            checked = run_verify(
                spec, num_proc=num_proc, executor=executor, progress=progress, executor_options=options
            )
            result: dict[str, Any] = {"verified": len(checked)}
        else:
            stats = run_build(
                spec,
                num_proc=num_proc,
                executor=executor,
                progress=progress,
                frozen=frozen,
                cache_dir=cache_dir,
                executor_options=options,
                replace_foreign=replace_foreign,
                wait=wait,
                notify=notify,
            )
            result = _build_result(spec, stats)
    except SpeccError as exc:
        if not as_json:
            raise
        _echo_json({"ok": False, "errors": error_objects(exc), "notices": notices})
        sys.exit(exc.exit_code)
    progress.detail(f"step cache: {progress.cache['hits']} hits, {progress.cache['misses']} misses")
    if as_json:
        _echo_json({"ok": True, **result, "cache": progress.cache, "notices": notices, "errors": []})
    elif verify:
        click.echo(f"verified: {result['verified']} digests in the lock match a rebuild from scratch")
    else:
        rows = ", ".join(f"{split} {count:,}" for split, count in result["rows"].items())
        click.echo(f"built {result['output_dir']} ({rows})")


def _build_result(spec: str, stats: dict[str, Any]) -> dict[str, Any]:
    """What `build --json` reports of a build: its folder, files, rows per split and configurations."""
    from specc.spec import load_spec
    from specc.stats import build_stats

    built = build_stats(stats)
    configurations: dict[str, dict[str, list[str]]] = {}
    for view in built.views():
        paths = {output.split: output.path for output in view.outputs}
        for name, splits in view.configurations.items():
            configurations[name] = {split: [paths[part] for part in parts] for split, parts in splits.items()}
    return {
        "output_dir": str(load_spec(spec).output_dir),
        "rows": {output.split: output.rows for output in built.outputs},
        "outputs": [output.model_dump() for output in built.all_outputs()],
        "configurations": configurations,
    }


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
    type=click.Choice(["nominal", "ordinal", "interval", "ratio"]),
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
    "--label-delimiter",
    help="Multi-label items: each annotation is a set of labels separated by this (e.g. '|'); reports "
    "Krippendorff's alpha with the MASI distance and a binary alpha per label.",
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
    label_delimiter: str | None,
    confidence: float,
) -> None:
    """Agreement between the annotators of FILE: percent agreement, Cohen's and Fleiss' kappa, Krippendorff's alpha."""
    from specc.annotation.agreement import agreement_report, report_text
    from specc.annotation.readers import count_kinds, read_annotations

    if not Path(file).exists():
        raise CommandLineError(f"{file}: error: no such file; check the path")
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
    if label_delimiter is not None:
        from specc.annotation.sets import as_sets, set_agreement_report, set_report_text

        sets = set_agreement_report(
            as_sets(table, label_delimiter), seed=seed, resamples=resamples, confidence=confidence
        )
        sets["problems"] = count_kinds(problems)
        click.echo(json.dumps(sets, indent=2, ensure_ascii=False) if as_json else set_report_text(sets, file))
        return
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
