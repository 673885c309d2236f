"""Built-in components, registered through the same hooks as third-party plugins, by name: a module here is
imported only when a spec uses one of its types."""

from __future__ import annotations

from collections.abc import Callable

from specc import stages
from specc.hookspecs import Register, hookimpl

# kind: {type name: "module:Class"}
BUILTINS: dict[str, dict[str, str]] = {
    "source": {
        "csv": "specc.builtins.sources:CsvSource",
        "hf": "specc.builtins.hub:HubSource",
        "json": "specc.builtins.sources:JsonSource",
        "jsonl": "specc.builtins.sources:JsonlSource",
        "parquet": "specc.builtins.sources:ParquetSource",
        "text-lines": "specc.builtins.sources:TextLinesSource",
        "tsv": "specc.builtins.sources:TsvSource",
        "url": "specc.builtins.url:UrlSource",
    },
    "step": {
        "decontaminate": "specc.builtins.decontaminate:Decontaminate",
        "dedup": "specc.builtins.clean:Dedup",
        "drop-missing": "specc.builtins.clean:DropMissing",
        "fill-missing": "specc.builtins.fill:FillMissing",
        "length": "specc.builtins.clean:Length",
        "near-dedup": "specc.builtins.near_dedup:NearDedup",
        "normalize": "specc.builtins.clean:Normalize",
        "regex": "specc.builtins.clean:Regex",
    },
    "annotator": {
        "human": "specc.builtins.annotation.human:HumanRound",
        "rules": "specc.builtins.annotation.rules:RuleLabeler",
    },
    "splitter": {
        "hash": "specc.builtins.splits:HashSplit",
        "kfold": "specc.builtins.splits:KFoldSplit",
        "predefined": "specc.builtins.splits:PredefinedSplit",
        "random": "specc.builtins.splits:RandomSplit",
        "stratified": "specc.builtins.splits:StratifiedSplit",
    },
    "imputer": {
        "fill-missing": "specc.builtins.fill:ImputeMissing",
    },
    "formatter": {
        "alpaca": "specc.builtins.formats:Alpaca",
        "chat": "specc.builtins.formats:Chat",
        "prompt-completion": "specc.builtins.formats:PromptCompletion",
        "sharegpt": "specc.builtins.formats:ShareGPT",
    },
    "evaluator": {
        "tfidf-logreg": "specc.builtins.evaluators:TfidfLogReg",
        "tfidf-ridge": "specc.builtins.evaluators:TfidfRidge",
    },
    "card_section": {
        "annotation": "specc.builtins.annotation.card_section:AnnotationSection",
        "citation": "specc.builtins.card_sections:CitationSection",
        "evaluation": "specc.builtins.evaluation_section:EvaluationSection",
        "label_sets": "specc.builtins.multilabel_sections:LabelSetsSection",
        "lengths": "specc.builtins.card_sections:LengthsSection",
        "limitations": "specc.builtins.card_sections:LimitationsSection",
        "multilabel_evaluation": "specc.builtins.multilabel_sections:MultiLabelEvaluationSection",
        "personal_information": "specc.builtins.card_sections:PersonalInformationSection",
        "plots": "specc.builtins.card_sections:PlotsSection",
        "processing": "specc.builtins.card_sections:ProcessingSection",
        "reproducibility": "specc.builtins.card_sections:ReproducibilitySection",
        "sources": "specc.builtins.card_sections:SourcesSection",
        "splits": "specc.builtins.card_sections:SplitsSection",
        "structure": "specc.builtins.card_sections:StructureSection",
        "summary": "specc.builtins.card_sections:SummarySection",
        "target": "specc.builtins.target_section:TargetSection",
        "tokens": "specc.builtins.card_sections:TokensSection",
        "uses": "specc.builtins.card_sections:UsesSection",
    },
    "executor": {
        "local": "specc.builtins.executors:LocalExecutor",
    },
}


def _hook(kind: str) -> Callable[[Register], None]:
    """The hook implementation that registers the built-ins of `kind` (pluggy finds it by its module name)."""

    def register_kind(register: Register) -> None:
        for name, target in BUILTINS[kind].items():
            register(target, name=name)

    register_kind.__doc__ = f"Register the built-in {kind.replace('_', ' ')} types."
    return hookimpl(register_kind)


# register_sources, register_steps …: one hook implementation per kind with built-ins
globals().update({stages.kinds()[kind].hook: _hook(kind) for kind in BUILTINS})
