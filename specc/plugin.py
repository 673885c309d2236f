"""The plugin API: everything a specc plugin may import, declared in one place.

First-party plugins import only this module and `specc`'s top level (an import-linter contract in
CI holds them to it). Names are imported on first use, so `import specc.plugin` costs no more than
`import specc`: a plugin that needs the executor seam does not slow `specc validate` down.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# name -> the module that defines it
_EXPORTS: dict[str, str] = {
    # component bases and their parameters
    **dict.fromkeys(
        [
            "Annotator",
            "Augmenter",
            "AugmenterParams",
            "CardData",
            "CardSection",
            "Component",
            "Context",
            "Evaluator",
            "EvaluatorParams",
            "Executor",
            "Formatter",
            "Imputer",
            "Params",
            "Source",
            "SourceParams",
            "Splitter",
            "SplitterParams",
            "Step",
            "StepResult",
            "TokenBudget",
            "TokenCounter",
        ],
        "specc.components",
    ),
    # hooks
    **dict.fromkeys(["Register", "hookimpl"], "specc.hookspecs"),
    # errors
    **dict.fromkeys(["DataError", "PluginError", "SpecError", "SpeccError"], "specc.errors"),
    # parameter helpers: paths, names
    **dict.fromkeys(["InputPath", "NOT_FINGERPRINTED", "OutputPath", "resolve_path"], "specc.paths"),
    "did_you_mean": "specc.spec.diagnose",
    # Hub pins of models and data sets
    **dict.fromkeys(["HubRepo", "check_repo_id", "check_revision"], "specc.hub_repo"),
    "quiet_transformers": "specc.quiet",
    # templates from a spec: specc's jinja2 sandbox, its budgets and the errors of a render
    **dict.fromkeys(
        ["FORMAT_LIMITS", "RENDER_ERRORS", "compiled", "reason", "sandbox", "template_line"], "specc.sandbox"
    ),
    # chat layouts of formatted rows, for token counters
    **dict.fromkeys(["CHAT_LAYOUTS", "KNOWN_ROLES"], "specc.layouts"),
    **dict.fromkeys(["chats", "last_assistant", "layout_of", "plain_pairs", "with_completions"], "specc.tokens"),
    # labels and evaluation
    **dict.fromkeys(["LabelNames", "write_column"], "specc.annotation.labels"),
    "LabelledRows": "specc.evaluation",
    # annotation tables and specc's agreement metrics, for labelers that measure themselves against others
    "Annotations": "specc.annotation.table",
    "agreement_report": "specc.annotation.agreement",
    # what a build measured, as card sections read it (`CardData.stats`)
    "BuildStats": "specc.stats",
    # card sections' table cells
    **dict.fromkeys(["added_text", "cell_text", "params_text"], "specc.card.cells"),
    "get_registry": "specc.plugins",
    "add_executor_option": "specc.cli",
    # the executor seam: a plan, the options and result of a build, the worker pool and what it runs
    "Plan": "specc.compiler",
    **dict.fromkeys(
        ["BuildOptions", "BuildResult", "Groups", "Publish", "Staged", "Task", "WorkerPool"], "specc.executor"
    ),
    "run_local": "specc.executor.local",
    **dict.fromkeys(["BATCH_ROWS", "read_all"], "specc.executor.stagefiles"),
    **dict.fromkeys(["account", "checked_apply", "merge_info", "new_step_stats", "run_step"], "specc.executor.tables"),
    "row_hashes": "specc.rowhash",
    # tests of a plugin: what a specc command imports
    **dict.fromkeys(["modules_imported", "top_level"], "specc.testing"),
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    """Import a declared name from its module on first use."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"specc.plugin has no '{name}'; the plugin API is: {', '.join(__all__)}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:  # the same names, for type checkers (tests/test_plugin_api.py keeps both lists equal)
    from specc.annotation.agreement import agreement_report  # noqa: F401
    from specc.annotation.labels import LabelNames, write_column  # noqa: F401
    from specc.annotation.table import Annotations  # noqa: F401
    from specc.card.cells import added_text, cell_text, params_text  # noqa: F401
    from specc.cli import add_executor_option  # noqa: F401
    from specc.compiler import Plan  # noqa: F401
    from specc.components import (  # noqa: F401
        Annotator,
        Augmenter,
        AugmenterParams,
        CardData,
        CardSection,
        Component,
        Context,
        Evaluator,
        EvaluatorParams,
        Executor,
        Formatter,
        Imputer,
        Params,
        Source,
        SourceParams,
        Splitter,
        SplitterParams,
        Step,
        StepResult,
        TokenBudget,
        TokenCounter,
    )
    from specc.errors import DataError, PluginError, SpeccError, SpecError  # noqa: F401
    from specc.evaluation import LabelledRows  # noqa: F401
    from specc.executor import BuildOptions, BuildResult, Groups, Publish, Staged, Task, WorkerPool  # noqa: F401
    from specc.executor.local import run_local  # noqa: F401
    from specc.executor.stagefiles import BATCH_ROWS, read_all  # noqa: F401
    from specc.executor.tables import account, checked_apply, merge_info, new_step_stats, run_step  # noqa: F401
    from specc.hookspecs import Register, hookimpl  # noqa: F401
    from specc.hub_repo import HubRepo, check_repo_id, check_revision  # noqa: F401
    from specc.layouts import CHAT_LAYOUTS, KNOWN_ROLES  # noqa: F401
    from specc.paths import NOT_FINGERPRINTED, InputPath, OutputPath, resolve_path  # noqa: F401
    from specc.plugins import get_registry  # noqa: F401
    from specc.quiet import quiet_transformers  # noqa: F401
    from specc.rowhash import row_hashes  # noqa: F401
    from specc.sandbox import FORMAT_LIMITS, RENDER_ERRORS, compiled, reason, sandbox, template_line  # noqa: F401
    from specc.spec.diagnose import did_you_mean  # noqa: F401
    from specc.stats import BuildStats  # noqa: F401
    from specc.testing import modules_imported, top_level  # noqa: F401
    from specc.tokens import chats, last_assistant, layout_of, plain_pairs, with_completions  # noqa: F401
