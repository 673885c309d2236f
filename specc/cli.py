"""The `specc` command line; each command calls the public API."""

from __future__ import annotations

import json
import shutil
import sys
import time
from importlib import resources
from pathlib import Path
from typing import Any, Callable

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


class _Group(click.Group):
    """A group that turns user errors into messages without tracebacks."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SpeccError as exc:
            _fail(exc)


@click.group(cls=_Group, epilog=EXIT_CODES)
@click.version_option(__version__, prog_name="specc")
def cli() -> None:
    """specc: compile a dataset spec into a reproducible, carded SFT data set."""


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


@cli.command()
@click.argument("spec", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
def plan(spec: str, as_json: bool) -> None:
    """Show the build plan: steps in stage order with seeds and fingerprints."""
    from specc.compiler import compile_spec
    from specc.plan_view import plan_json, plan_text
    from specc.spec import load_spec

    compiled = compile_spec(load_spec(spec))
    click.echo(json.dumps(plan_json(compiled), indent=2) if as_json else plan_text(compiled))


@cli.command()
@click.argument("spec", type=click.Path(dir_okay=False))
@click.option("--num-proc", default=1, show_default=True, type=click.IntRange(min=1),
              help="Worker processes for row-wise steps (the output is the same for any number).")
@click.option("--executor", default="local", show_default=True, help="Executor to run the plan on.")
def build(spec: str, num_proc: int, executor: str) -> None:
    """Build the data set, its stats.json and its card."""
    from specc.build import build as run_build
    from specc.spec import load_spec

    stats = run_build(spec, num_proc=num_proc, executor=executor, progress=_progress())
    rows = ", ".join(f"{out['split']} {out['rows']:,}" for out in stats["outputs"])
    click.echo(f"built {load_spec(spec).output_dir} ({rows})")


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def plugins(as_json: bool) -> None:
    """List loaded plugins, their versions and the types each provides."""
    from specc.plugins import load_plugins

    infos = sorted(load_plugins().infos.values(), key=lambda i: (i.distribution != "specc", i.name))
    if as_json:
        click.echo(json.dumps([{"name": i.name, "distribution": i.distribution, "version": i.version,
                                "provides": {k: sorted(v) for k, v in sorted(i.provides.items())}}
                               for i in infos], indent=2))
        return
    for info in infos:
        click.echo(f"{info.name}  ({info.distribution} {info.version})")
        for kind, names in sorted(info.provides.items()):
            click.echo(f"    {kind}: {', '.join(sorted(names))}")


@cli.command()
def schema() -> None:
    """Print the JSON Schema of specs for the installed plugins."""
    from specc.spec import spec_model

    click.echo(json.dumps(spec_schema(spec_model()), indent=2, sort_keys=True))


def spec_schema(model: Any) -> dict[str, Any]:
    """JSON Schema of a spec model, with the dialect and a title."""
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": "specc spec",
            **model.model_json_schema()}


@cli.command()
@click.argument("directory", type=click.Path(file_okay=False))
def init(directory: str) -> None:
    """Create DIRECTORY with a working spec and sample data."""
    target = Path(directory)
    if target.exists() and any(target.iterdir()):
        raise SpeccError(f"error: {target} exists and is not empty; choose a new folder")
    template = resources.files("specc") / "init_template"
    with resources.as_file(template) as source:
        shutil.copytree(source, target, dirs_exist_ok=True)
    click.echo(f"created {target}/spec.yaml; next: specc build {target}/spec.yaml")


def main() -> None:
    """Entry point of the `specc` console script."""
    from specc.plugins import load_plugins

    try:
        load_plugins().manager.hook.register_commands(cli=cli)
    except SpeccError as exc:
        _fail(exc)
    cli()
