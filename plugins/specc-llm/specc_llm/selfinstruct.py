"""`self-instruct`: instruction/input/output rows a language model writes from seed tasks, as in the self-instruct
paper (Wang et al. 2023, github.com/yizhongw/self-instruct).

Each round sends `requests_per_round` requests, each listing `seed_examples` seed instructions and `pool_examples`
instructions generated before, shuffled, and asking for more. The answers are split into numbered instructions and
filtered as the paper's code does: `min_words` to `max_words` words, none of `blocked_words` (whole words, any case),
no start in `blocked_starts`, with punctuation or with a non-ASCII character, and a ROUGE-L F1 (`rouge_score`, no
stemming) against every instruction of the pool (seeds, kept ones) of at most `rouge_threshold`. Where the paper
capitalizes the whole instruction (lowering the rest), here only its first letter is raised. The last instruction
of an answer cut off at `max_tokens` is dropped. One more request per kept instruction asks for an input and an
output (`instance_prompt`, with `instance_examples` seed tasks as examples); its answer gives a row when it has an
`Output:`. Rounds stop at `rows` rows or after `max_rounds`. Every sample, shuffle and request seed comes from the
step's seed, and every request goes through the step's client, so the same lock gives the same rows.
"""

from __future__ import annotations

import json
import random
import re
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import Field, ValidationInfo, field_validator

from specc.plugin import DataError, InputPath, Source, SourceParams
from specc_llm.component import UsesLanguageModel
from specc_llm.endpoint import LlmParams
from specc_llm.prompts import PromptTemplate, render

if TYPE_CHECKING:
    import pyarrow as pa

    from specc_llm.client import Answer

COLUMNS = ["instruction", "input", "output"]
NO_INPUT = "<noinput>"
INSTRUCTION_PROMPT = """Come up with a series of tasks:
{% for task in tasks %}
{{ loop.index }}. {{ task }}
{% endfor %}
{{ tasks | length + 1 }}."""
INSTANCE_PROMPT = """Come up with an example of the last task. After "Input:" write what the task is given \
(<noinput> when it needs nothing), then after "Output:" the correct answer.
{% for example in examples %}

Task: {{ example.instruction }}
Input: {{ example.input or "<noinput>" }}
Output: {{ example.output }}
{% endfor %}

Task: {{ instruction }}"""
# the paper's words for tasks a language model cannot do (pictures, files, places)
BLOCKED_WORDS = ["image", "images", "graph", "graphs", "picture", "pictures", "file", "files", "map", "maps"]
BLOCKED_WORDS += ["draw", "plot", "go to"]
NUMBERED = re.compile(r"\n\s*\d+\s?\.\s+")
INSTANCE = re.compile(r"(?:Input:(?P<input>.*?))?Output:(?P<output>.*)", re.S)
NEXT_TASK = re.compile(r"\n\s*Task:")


class SelfInstructParams(SourceParams, LlmParams):
    """The seed tasks, how many rows to make, and the prompts and filters of the self-instruct paper."""

    seed_tasks: InputPath = Field(
        description="A JSON Lines file of seed tasks: per line an object with `instruction` (text) and `instances` "
        "(a list of {input, output}), as the self-instruct repository's seed_tasks.jsonl."
    )
    rows: int = Field(ge=1, le=1_000_000, description="The rows to make.")
    min_rows: int | None = Field(
        None,
        ge=0,
        description="The fewest rows the build accepts when `max_rounds` run out first (default: `rows`); the "
        "source's info says how many were made.",
    )
    max_rounds: int = Field(20, ge=1, le=100_000, description="The most rounds of requests for new instructions.")
    requests_per_round: int = Field(4, ge=1, le=1024, description="Requests for new instructions sent per round.")
    seed_examples: int = Field(6, ge=1, le=64, description="Seed instructions shown in each request.")
    pool_examples: int = Field(2, ge=0, le=64, description="Generated instructions shown in each request.")
    instance_examples: int = Field(2, ge=0, le=16, description="Seed tasks shown as examples for inputs and outputs.")
    rouge_threshold: float = Field(
        0.7,
        gt=0,
        le=1,
        description="Keep an instruction when its ROUGE-L F1 with every one in the pool is at most this.",
    )
    min_words: int = Field(4, ge=1, description="Fewest words of a kept instruction.")
    max_words: int = Field(150, ge=1, description="Most words of a kept instruction.")
    blocked_words: list[str] = Field(BLOCKED_WORDS, description="Instructions with one of these words are dropped.")
    blocked_starts: list[str] = Field(
        ["Write a program"], description="Instructions starting with one of these are dropped."
    )
    instruction_prompt: PromptTemplate = Field(
        INSTRUCTION_PROMPT, description="The request for new instructions: a template over `tasks` (instructions)."
    )
    instance_prompt: PromptTemplate = Field(
        INSTANCE_PROMPT,
        description="The request for a task's input and output: a template over `instruction` and `examples` "
        "({instruction, input, output}); the answer gives them after `Input:` and `Output:`.",
    )

    @field_validator("min_rows")
    @classmethod
    def _at_most_rows(cls, value: int | None, info: ValidationInfo) -> int | None:
        rows = info.data.get("rows")  # validated before `min_rows`
        if value is not None and rows is not None and value > rows:
            raise ValueError(f"min_rows ({value}) is more than rows ({rows}); lower it")
        return value

    @field_validator("max_words")
    @classmethod
    def _at_least_min_words(cls, value: int, info: ValidationInfo) -> int:
        least = info.data.get("min_words")  # validated before `max_words`
        if least is not None and value < least:
            raise ValueError(f"max_words ({value}) is less than min_words ({least}); raise it")
        return value


@dataclass(frozen=True)
class Task:
    """A seed task: its instruction and its first instance (input and output), if it has one."""

    instruction: str
    input: str | None = None
    output: str | None = None


def one_line(text: str) -> str:
    """`text` with runs of whitespace as one space, stripped (as the paper shows instructions in a prompt)."""
    return " ".join(text.split())


def numbered(text: str) -> list[str]:
    """The instructions of an answer that continues a numbered list (its first item may come without a number), each
    on one line with its first letter raised."""
    items = (one_line(part) for part in NUMBERED.split("\n" + text.strip()))
    return [item[0].upper() + item[1:] for item in items if item]


def instance(text: str) -> tuple[str, str] | None:
    """The input and output of an answer (`Input: … Output: …`), or None without an output."""
    found = INSTANCE.search(text)
    if found is None:
        return None
    given = (found["input"] or "").strip()
    output = NEXT_TASK.split(found["output"])[0].strip()
    return ("" if given == NO_INPUT else given), output


class SelfInstruct(UsesLanguageModel, Source):
    """Rows of new tasks (instruction, input, output) made as in the self-instruct paper from a file of seed tasks."""

    name = "self-instruct"
    Params = SelfInstructParams
    params: SelfInstructParams
    measured: dict[str, Any] | None = None

    def files(self) -> list[Path]:
        """The seed tasks."""
        return [self.context.path(self.params.seed_tasks)]

    def pin(self, locked: Mapping[str, Any] | None) -> dict[str, Any]:
        """The seed file's SHA-256 and the model as the endpoint reports it (or the local folder's file hashes)."""
        model, seeds = self.model.pin(locked), Source.pin(self, locked)
        return {**model, **seeds, "files": [*model.get("files", []), *seeds.get("files", [])]}

    def header(self) -> list[str]:
        """instruction, input, output."""
        return list(COLUMNS)

    def describe(self) -> dict[str, list[str]]:
        """The two prompt templates, for the card."""
        return {
            "instruction_prompt": [self.params.instruction_prompt],
            "instance_prompt": [self.params.instance_prompt],
        }

    def seeds(self) -> list[Task]:
        """The seed tasks, each line checked; errors name the file and line."""
        path = self.files()[0]
        shown = self.shown(path)
        tasks = []
        with path.open("rb") as f:
            for number, raw in enumerate(f, 1):
                if raw.strip():
                    tasks.append(self.task(raw, shown, number))
        if not tasks:
            raise DataError(self.context.step_id, shown, None, "no seed tasks; give one JSON object per line")
        return tasks

    def task(self, raw: bytes, shown: str, line: int) -> Task:
        """One line of the seed file as a Task."""

        def bad(message: str) -> DataError:
            return DataError(self.context.step_id, shown, line, message)

        try:
            record = json.loads(raw.decode("utf-8-sig"))
        except UnicodeDecodeError:
            raise bad("not valid UTF-8 text; re-save the file as UTF-8") from None
        except json.JSONDecodeError as exc:
            raise bad(f"not JSON ({exc.msg} at column {exc.colno}); write one JSON object per line") from None
        if not isinstance(record, dict):
            raise bad("not a JSON object; write one object per line, with `instruction` and `instances`")
        instruction = record.get("instruction")
        if not isinstance(instruction, str) or not instruction.strip():
            raise bad("`instruction` is missing or not a non-empty text; give each task its instruction")
        instances = record.get("instances", [])
        if not isinstance(instances, list) or not all(
            isinstance(i, dict) and isinstance(i.get("input", ""), str) and isinstance(i.get("output"), str)
            for i in instances
        ):
            raise bad("`instances` must be a list of objects with a text `output` (and a text `input`, if any)")
        first = instances[0] if instances else {}
        return Task(one_line(instruction), first.get("input"), first.get("output"))

    def shown(self, path: Path) -> str:
        """`path` relative to the spec's folder when it is inside it."""
        try:
            return path.relative_to(self.context.spec_dir.resolve()).as_posix()
        except ValueError:
            return path.as_posix()

    def read(self) -> Iterator[pa.Table]:
        """The rows made, in the order they were made."""
        import pyarrow as pa

        made = Generation(self, self.seeds()).run()
        yield pa.table({c: pa.array([row[i] for row in made], pa.string()) for i, c in enumerate(COLUMNS)})

    def info(self) -> dict[str, Any]:
        """What generating measured: rows, rounds, instructions kept and dropped by reason, and the client's stats."""
        return self.measured or {}


class Generation:
    """One run of the self-instruct loop over the seed tasks."""

    def __init__(self, source: SelfInstruct, seeds: list[Task]):
        from rouge_score import rouge_scorer

        self.source = source
        self.params = source.params
        self.model = source.model
        self.seeds = seeds
        self.seed_instructions = [task.instruction for task in seeds]
        self.pool = list(self.seed_instructions)  # what new instructions are compared with
        self.made: list[str] = []
        self.random = random.Random(source.context.seed)
        self.counts: Counter[str] = Counter()
        self.scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)
        self.blocked = [re.compile(rf"\b{re.escape(w)}\b", re.I) for w in self.params.blocked_words]

    def run(self) -> list[tuple[str, str, str]]:
        """Rounds until `rows` rows or `max_rounds`; fails below `min_rows`."""
        params = self.params
        rows: list[tuple[str, str, str]] = []
        rounds = 0
        while len(rows) < params.rows and rounds < params.max_rounds:
            rounds += 1
            kept = self.instructions()
            rows += self.instances(kept[: max(params.rows - len(rows), 0)])
        rows = rows[: params.rows]
        self.source.measured = {
            "target": params.rows,
            "rows": len(rows),
            "rounds": rounds,
            "reached": len(rows) >= params.rows,
            **{k: self.counts[k] for k in sorted(self.counts)},
            "llm": self.model.stats(),
        }
        least = params.rows if params.min_rows is None else params.min_rows
        if len(rows) < least:
            raise self.source.fail(
                f"{len(rows)} rows after {rounds} rounds (`max_rounds`), fewer than the {least} wanted "
                f"({self.counts['instructions_kept']} instructions kept of {self.counts['instructions_proposed']} "
                f"proposed, {self.counts['similar']} too similar to the pool); raise `max_rounds` or "
                "`requests_per_round`, or accept fewer with `min_rows`"
            )
        return rows

    def seed(self) -> int:
        """The next request's seed."""
        return self.random.getrandbits(63)

    def ask(self, prompts: list[str]) -> list[Answer]:
        """The answers to user messages, each with the next seed."""
        return self.model.ask([self.model.body([{"role": "user", "content": p}], seed=self.seed()) for p in prompts])

    def instructions(self) -> list[str]:
        """One round of requests for new instructions; those that pass the filters, in order."""
        params = self.params
        prompts = []
        for number in range(params.requests_per_round):
            tasks = self.random.sample(self.seed_instructions, min(params.seed_examples, len(self.seeds)))
            tasks += self.random.sample(self.made, min(params.pool_examples, len(self.made)))
            self.random.shuffle(tasks)
            where = f"round request {number + 1}"
            prompts.append(
                render(self.source, "instruction_prompt", params.instruction_prompt, {"tasks": tasks}, where)
            )
        kept = []
        for answer in self.ask(prompts):
            if answer.text is None:
                self.counts["failed"] += 1
                continue
            found = numbered(answer.text)
            if answer.tokens_out >= params.sampling.max_tokens and found:
                found.pop()
                self.counts["cut_off"] += 1
            for candidate in found:
                reason = self.rejected(candidate)
                self.counts["instructions_proposed"] += 1
                if reason:
                    self.counts[reason] += 1
                    continue
                self.counts["instructions_kept"] += 1
                self.pool.append(candidate)
                self.made.append(candidate)
                kept.append(candidate)
        return kept

    def rejected(self, text: str) -> str | None:
        """Why the paper's filters drop instruction `text`, or None when it passes them."""
        words = len(text.split())
        if words < self.params.min_words:
            return "too_short"
        if words > self.params.max_words:
            return "too_long"
        if any(p.search(text) for p in self.blocked) or text.startswith(tuple(self.params.blocked_starts)):
            return "blocked"
        if not text[0].isascii() or not text[0].isalnum():
            return "bad_start"
        if max(self.scorer.score(seen, text)["rougeL"].fmeasure for seen in self.pool) > self.params.rouge_threshold:
            return "similar"
        return None

    def instances(self, instructions: list[str]) -> list[tuple[str, str, str]]:
        """A row (instruction, input, output) per instruction whose answer has an output."""
        params = self.params
        with_instances = [t for t in self.seeds if t.output is not None]
        prompts = []
        for instruction in instructions:
            examples = self.random.sample(with_instances, min(params.instance_examples, len(with_instances)))
            values = {"instruction": instruction, "examples": [vars(e) for e in examples]}
            prompts.append(
                render(self.source, "instance_prompt", params.instance_prompt, values, "an instance request")
            )
        rows = []
        for instruction, answer in zip(instructions, self.ask(prompts) if prompts else []):
            found = instance(answer.text) if answer.text is not None else None
            if found is None or not found[1]:
                self.counts["failed" if answer.text is None else "instances_unparsed"] += 1
                continue
            rows.append((instruction, *found))
        return rows
