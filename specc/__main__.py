"""`python -m specc` runs the CLI."""

from specc.cli import run

run()
