"""Test helpers for specc and its plugins: which modules a specc command imports."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

_RUN = """\
import json, sys
from specc.cli import main
sys.argv = ['specc', *json.loads(sys.argv[1])]
try:
    main()
except SystemExit as exc:
    if exc.code:
        raise
print(json.dumps(sorted(sys.modules)))
"""


def modules_imported(*args: str, cwd: str | Path | None = None) -> set[str]:
    """The modules `specc ARGS...` has imported when it ends, run in a fresh interpreter (AssertionError unless it
    exits 0)."""
    done = subprocess.run(
        [sys.executable, "-c", _RUN, json.dumps(list(args))], cwd=cwd, capture_output=True, text=True, timeout=300
    )
    if done.returncode != 0:
        raise AssertionError(f"specc {' '.join(args)} exited with {done.returncode}:\n{done.stderr}")
    return set(json.loads(done.stdout.splitlines()[-1]))


def top_level(modules: set[str], names: set[str] | tuple[str, ...]) -> list[str]:
    """The modules of `modules` in the packages `names`, sorted."""
    return sorted(m for m in modules if m.split(".")[0] in names)
