"""The dataset card as its readers see it: every section filled with the build's own numbers, user sections, `specc card`."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import specc
from specc.builtins.card_sections import ProcessingSection, SourcesSection
from specc.card import card_statistics
from specc.card.user_sections import arrange
from specc.compiler import compile_spec
from specc.components import CardData, Context, Params
from specc.errors import SpeccError
from specc.output import build_info
from specc.plugins import load_plugins
from specc.selfcheck import audit_card
from specc.spec import load_spec
from specc.spec.card_sections import DEFAULT_ORDER, UserSection
from specc.stats import BuildStats, Source, Split, Step, read_stats
from tests.conftest import ROOT, run_cli, write

PLACEHOLDERS = ("[More Information Needed]", "None", "TODO", "{{", "{%", "nan", "null", "undefined")


# --- reading a card the way a person does --------------------------------------------------------


def sections(card: str) -> dict[str, str]:
    """`## Heading` -> the section's text, in card order (the YAML header and title left out)."""
    body = card.split("\n---\n", 1)[1]
    parts = re.split(r"^## ", body, flags=re.M)
    return {part.split("\n", 1)[0]: part.split("\n", 1)[1] for part in parts[1:]}


def tables(text: str) -> list[list[list[str]]]:
    """Markdown tables in `text`: rows of cells, the header first, separator lines left out."""
    found, current = [], []
    for line in text.split("\n") + [""]:
        if line.startswith("|"):
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
            if not all(re.fullmatch(r"-+:?|:?-+:?", c) for c in cells):
                current.append(cells)
        elif current:
            found.append(current)
            current = []
    return found


def number(cell: str) -> float:
    return float(cell.replace(",", ""))


def table_after(text: str, marker: str) -> list[list[str]]:
    """The first table after the line containing `marker`."""
    return tables(text[text.index(marker) :])[0]


def check_filled(card: str) -> None:
    """No placeholders anywhere, no empty section, no table without rows or with an empty cell."""
    for token in PLACEHOLDERS:
        assert not re.search(rf"(?<![\w-]){re.escape(token)}(?![\w-])", card), f"{token!r} in the card"
    for heading, text in sections(card).items():
        assert text.strip(), f"section {heading} is empty"
        for table in tables(text):
            assert len(table) > 1, f"a table in {heading} has no rows: {table}"
            for row in table[1:]:
                assert all(cell for cell in row), f"an empty cell in {heading}: {row}"


def file_lines(path: Path) -> list[str]:
    """Lines as the text-lines source reads them: split at \\n, a final break ends the last line."""
    lines = path.read_text(encoding="utf-8").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line.removesuffix("\r") for line in lines]


def shown(value: float) -> float:
    return round(float(value), 1)


# --- the TweetEval card, end to end --------------------------------------------------------------

TWEET_SPLITS = (("train", "train"), ("validation", "val"), ("test", "test"))
MIN_CHARS = 20


def tweet_spec(emotion: Path) -> str:
    sources = "".join(
        f"  {name}:\n    type: text-lines\n    text: {emotion}/{prefix}_text.txt\n"
        f"    label: {emotion}/{prefix}_labels.txt\n    label_names: {emotion}/mapping.txt\n"
        f"    split: {prefix}\n    license: unknown\n"
        for name, prefix in TWEET_SPLITS
    )
    return f"""\
specc: 1
name: tweet-emotion
version: 1.2.0
description: English tweets from the TweetEval benchmark, each labelled with one of four emotions.
license: other
license_name: tweeteval
license_link: https://github.com/cardiffnlp/tweeteval
allow_external_paths: true
languages: [en]
task: text-classification
seed: 11
sources:
{sources}clean:
  - {{type: length, column: text, min_chars: {MIN_CHARS}, max_chars: 1000}}
  - {{type: regex, column: text, pattern: '!!!', action: drop}}
split:
  method: predefined
  rename: {{val: validation}}
card:
  pretty_name: TweetEval Emotion, cleaned
  summary: >-
    Tweets of the emotion task of TweetEval (SemEval-2018 Task 1), in the benchmark's own train,
    validation and test splits, without very short tweets and without tweets that shout (three exclamation marks).
  uses: Training and comparing small emotion classifiers for English social-media text.
  out_of_scope: Judging the emotional state of a particular person, or any decision about people.
  limitations: >-
    Four emotions only (anger, joy, optimism, sadness); tweets from 2016-2017 about a few topics;
    labels by crowd workers with known disagreement.
  personal_information: >-
    Tweets are public posts and may name people; user mentions were replaced by @user in the
    benchmark. Nothing further was removed.
  task_ids: [multi-class-classification]
  language_creators: [found]
  multilinguality: [monolingual]
  source_datasets: [extended|tweet_eval]
"""


def expected_tweets(emotion: Path) -> dict[str, dict[str, Any]]:
    """What the build must report, computed from the source files with plain Python."""
    names = [line.split("\t")[1].strip() for line in (emotion / "mapping.txt").read_text().splitlines() if line]
    result = {}
    for name, prefix in TWEET_SPLITS:
        texts = file_lines(emotion / f"{prefix}_text.txt")
        labels = [int(x) for x in file_lines(emotion / f"{prefix}_labels.txt")]
        short = [i for i, t in enumerate(texts) if len(t) < MIN_CHARS]
        long = [i for i, t in enumerate(texts) if len(t) > 1000]
        after_length = [i for i in range(len(texts)) if i not in set(short) | set(long)]
        links = [i for i in after_length if "!!!" in texts[i]]
        kept = [i for i in after_length if "!!!" not in texts[i]]
        lengths = np.array([len(texts[i]) for i in kept])
        result[name] = {
            "read": len(texts),
            "short": len(short),
            "long": len(long),
            "links": len(links),
            "kept": kept,
            "after_length": len(after_length),
            "texts": texts,
            "labels": labels,
            "by_label": {label: sum(1 for i in kept if labels[i] == k) for k, label in enumerate(names)},
            "lengths": [
                len(kept),
                int(lengths.min()),
                shown(np.median(lengths)),
                shown(np.percentile(lengths, 95)),
                int(lengths.max()),
                shown(lengths.mean()),
            ],
        }
    return result


def test_tweeteval_card_is_complete_and_true(shared_data: Path, tmp_path: Path) -> None:
    emotion = shared_data / "tweeteval" / "emotion"
    spec = write(tmp_path / "emotion.yaml", tweet_spec(emotion))
    result = run_cli("build", "emotion.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = tmp_path / "build" / "tweet-emotion"
    card = (out / "README.md").read_text(encoding="utf-8")
    stats = json.loads((out / "stats.json").read_text(encoding="utf-8"))
    want = expected_tweets(emotion)
    check_filled(card)
    parts = sections(card)
    assert list(parts) == [
        "Uses",
        "Dataset structure",
        "Splits",
        "Text lengths",
        "Plots",
        "Source data",
        "Processing",
        "Personal and sensitive information",
        "Bias, risks and limitations",
        "Citation",
        "Reproducibility",
    ]
    assert "\n# TweetEval Emotion, cleaned\n" in card
    assert "Tweets of the emotion task of TweetEval" in card
    assert "### Direct use\n\nTraining and comparing small emotion classifiers" in parts["Uses"]
    assert "### Out-of-scope use\n\nJudging the emotional state" in parts["Uses"]
    assert parts["Personal and sensitive information"].strip().startswith("Tweets are public posts")
    assert parts["Bias, risks and limitations"].strip().startswith("Four emotions only")

    # source data: every file with its real size and SHA-256, rows read as counted from the files
    source_rows = {row[0].strip("`"): row for row in table_after(parts["Source data"], "| Source | Type")[1:]}
    assert sorted(source_rows) == ["test", "train", "validation"]
    for name, prefix in TWEET_SPLITS:
        row = source_rows[name]
        assert row[1:5] == ["text-lines", "3 local files", "unknown", prefix]
        assert number(row[5]) == want[name]["read"] == stats["sources"][name]["rows"]
    files = table_after(parts["Source data"], "| Source | File")[1:]
    assert len(files) == 9
    for _source, path, size, digest in files:
        real = emotion / path.strip("`")  # named by an absolute path in the spec: shown by file name, no machine path
        assert real.is_file() and "/" not in path
        assert number(size) == real.stat().st_size
        assert digest.strip("`") == hashlib.sha256(real.read_bytes()).hexdigest()

    # processing: every step, overall and per source, as computed from the files
    funnel = table_after(parts["Processing"], "| Step | Type")
    assert funnel[0] == ["Step", "Type", "Parameters", "Rows in", "Rows out", "Dropped"]
    steps = {row[0].strip("`"): row for row in funnel[1:]}
    assert list(steps) == ["clean.length", "clean.regex"]
    read = sum(w["read"] for w in want.values())
    after_length = sum(w["after_length"] for w in want.values())
    kept = sum(len(w["kept"]) for w in want.values())
    short = sum(w["short"] for w in want.values())
    links = sum(w["links"] for w in want.values())
    assert f"{read:,} rows were read from the sources" in parts["Processing"]
    assert steps["clean.length"][2] == f'column="text", max_chars=1000, min_chars={MIN_CHARS}'
    assert [number(c) for c in steps["clean.length"][3:5]] == [read, after_length]
    assert steps["clean.length"][5] == f"{short:,} too-short"
    assert [number(c) for c in steps["clean.regex"][3:5]] == [after_length, kept]
    assert steps["clean.regex"][5] == f"{links:,} match"
    for record in stats["steps"]:
        row = steps[record["id"]]
        assert [number(row[3]), number(row[4])] == [record["rows_in"], record["rows_out"]]
    per_source = table_after(parts["Processing"], "Per source")
    assert per_source[0] == ["Step", "`test`", "`train`", "`validation`"]
    assert per_source[1] == ["read"] + [f"{want[n]['read']:,}" for n in ("test", "train", "validation")]
    for row in per_source[2:]:
        for name, cell in zip(("test", "train", "validation"), row[1:]):
            w = want[name]
            if row[0] == "`clean.length`":
                assert cell == f"{w['read']:,} → {w['after_length']:,} ({w['short']:,} too-short)"
            else:
                assert cell == f"{w['after_length']:,} → {len(w['kept']):,} ({w['links']:,} match)"

    # splits: rows per split, per source and per label, as counted from the files
    assert (  # the sources' own splits: no seed, no internal column
        "Predefined splits: each row keeps the split its source gives (the source's `split:`); renamed val → "
        "validation. Nothing is drawn at random."
    ) in parts["Splits"]
    assert "seed" not in parts["Splits"] and "_split" not in card
    assert f"Rows per split ({kept:,} in all)" in parts["Splits"]
    per_split = table_after(parts["Splits"], "| Split | Rows")
    assert per_split[0] == ["Split", "Rows", "`test`", "`train`", "`validation`"]
    for row in per_split[1:]:
        name = row[0]
        n = len(want[name]["kept"])
        assert number(row[1]) == n == stats["split"]["splits"][name]["rows"]
        assert [number(c) for c in row[2:]] == [n if other == name else 0 for other in ("test", "train", "validation")]
    labels = table_after(parts["Splits"], "Rows per `label`")
    assert labels[0] == ["label", "train", "validation", "test"]
    for row in labels[1:]:
        assert [number(c) for c in row[1:]] == [want[s]["by_label"][row[0]] for s in ("train", "validation", "test")]
    leakage = table_after(parts["Splits"], "### Leakage")
    for row in leakage[1:]:
        assert number(row[1]) == stats["split"]["leakage"]["pairs"][row[0]]["exact_pairs"]

    # structure: the fields, and the first row of each split as the source files have it
    fields = table_after(parts["Dataset structure"], "| Field")
    assert [row[:2] for row in fields[1:]] == [
        ["`_id`", "string"],
        ["`text`", "string"],
        ["`label`", "class label (4 classes)"],
    ]
    assert fields[3][2] == "0 anger, 1 joy, 2 optimism, 3 sadness"
    blocks = re.findall(r"`(\w+)` \(`data/\1-00000-of-00001\.parquet`\):\n\n```json\n(.*?)\n```", card, re.S)
    assert [split for split, _ in blocks] == ["train", "validation", "test"]
    for split, block in blocks:
        first = want[split]["kept"][0]
        text = want[split]["texts"][first]
        assert json.loads(block) == {
            "_id": f"{split}:{first}",
            "text": text if len(text) <= 200 else text[:200] + "…",
            "label": want[split]["labels"][first],
        }

    # text lengths: characters per row of each split, from the files
    lengths = table_after(parts["Text lengths"], "| Split | Rows")
    assert lengths[0] == ["Split", "Rows", "Min", "Median", "95th percentile", "Max", "Mean"]
    for row in lengths[1:]:
        assert [number(c) for c in row[1:]] == want[row[0]]["lengths"]
        assert [number(c) for c in row[1:]] == [
            stats["lengths"]["text"][row[0]][k] for k in ("rows", "min", "median", "p95", "max", "mean")
        ]

    # reproducibility: versions, the spec's digest, the lock, the exact command, each file's digest
    text = parts["Reproducibility"]
    assert (
        f"Built by specc {specc.__version__} from `emotion.yaml` (SHA-256 "
        f"`{hashlib.sha256(spec.read_bytes()).hexdigest()}`)" in text
    )
    assert "The lock `emotion.lock` beside the spec" in text and (tmp_path / "emotion.lock").is_file()
    assert "```\nspecc build --frozen emotion.yaml\n```" in text
    plugins = table_after(text, "| Plugin")
    assert ["specc.builtins", "specc", specc.__version__] in plugins
    outputs = table_after(text, "| File")
    assert len(outputs) == 4
    for path, rows, digest in outputs[1:]:
        assert digest.strip("`") == hashlib.sha256((out / path.strip("`")).read_bytes()).hexdigest()
        assert number(rows) == len(want[path.strip("`").split("/")[1].split("-")[0]]["kept"])
    before = {p: (out / p).read_bytes() for p in ("data/train-00000-of-00001.parquet", "README.md", "stats.json")}
    rebuilt = run_cli("build", "--frozen", "emotion.yaml", cwd=tmp_path)  # the card's command, as written
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert {p: (out / p).read_bytes() for p in before} == before


# --- no stale numbers: a parameter change reaches every count -------------------------------------


@pytest.fixture
def quickstart(tmp_path: Path) -> Path:
    """A copy of specs/ to build in."""
    shutil.copytree(ROOT / "specs", tmp_path / "specs", ignore=shutil.ignore_patterns("build", ".specc"))
    return tmp_path / "specs" / "quickstart.yaml"


def counts_from_parquet(out: Path) -> dict[str, Any]:
    import pyarrow.parquet as pq

    found = {}
    for path in sorted((out / "data").glob("*.parquet")):
        table = pq.read_table(path)
        split = path.name.split("-")[0]
        sources = [i.split(":")[0] for i in table.column("_id").to_pylist()]
        lengths = np.array([len(t) for t in table.column("text").to_pylist()])
        found[split] = {
            "rows": table.num_rows,
            "by_source": {s: sources.count(s) for s in set(sources)},
            "labels": table.column("label").to_pylist(),
            "lengths": [
                table.num_rows,
                int(lengths.min()),
                shown(np.median(lengths)),
                shown(np.percentile(lengths, 95)),
                int(lengths.max()),
                shown(lengths.mean()),
            ],
        }
    return found


def card_numbers(out: Path) -> dict[str, Any]:
    """Every number of the processing, splits and lengths sections, checked against stats.json and the data."""
    card = (out / "README.md").read_text(encoding="utf-8")
    stats = json.loads((out / "stats.json").read_text(encoding="utf-8"))
    data = counts_from_parquet(out)
    parts = sections(card)
    funnel = {
        row[0].strip("`"): [number(row[3]), number(row[4])] for row in table_after(parts["Processing"], "| Step |")[1:]
    }
    assert funnel == {s["id"]: [s["rows_in"], s["rows_out"]] for s in stats["steps"]}
    names = sorted(stats["sources"])
    per_source = {row[0].strip("`"): row[1:] for row in table_after(parts["Processing"], "Per source")[2:]}
    for step in stats["steps"]:
        for name, cell in zip(names, per_source[step["id"]]):
            numbers = [number(n) for n in re.findall(r"\d[\d,]*", cell)]
            counts = step["by_source"][name]
            assert numbers == [counts["rows_in"], counts["rows_out"], *sorted(counts["dropped"].values())]
    splits = {row[0]: [number(c) for c in row[1:]] for row in table_after(parts["Splits"], "| Split | Rows")[1:]}
    assert splits == {s: [d["rows"]] + [d["by_source"].get(n, 0) for n in names] for s, d in data.items()}
    label_names = stats["label_names"]["label"]
    labels = {row[0]: [number(c) for c in row[1:]] for row in table_after(parts["Splits"], "Rows per `label`")[1:]}
    order = [o["split"] for o in stats["outputs"]]
    assert labels == {name: [data[s]["labels"].count(k) for s in order] for k, name in enumerate(label_names)}
    lengths = {row[0]: [number(c) for c in row[1:]] for row in table_after(parts["Text lengths"], "| Split |")[1:]}
    assert lengths == {s: d["lengths"] for s, d in data.items()}
    total = sum(d["rows"] for d in data.values())
    assert f"| Rows | {total:,} |" in card and f"Rows per split ({total:,} in all)" in card
    assert f"{total:,} rows in 3 splits" in card
    return {
        "funnel": funnel,
        "per_source": per_source,
        "splits": splits,
        "labels": labels,
        "lengths": lengths,
        "total": total,
    }


def test_changing_a_parameter_changes_every_count_it_reaches(quickstart: Path) -> None:
    out = quickstart.parent / "build" / "support-intents"
    assert run_cli("build", str(quickstart)).returncode == 0
    before = card_numbers(out)
    text = quickstart.read_text()
    quickstart.write_text(text.replace("min_chars: 8,", "min_chars: 40,"))
    result = run_cli("build", str(quickstart))
    assert result.returncode == 0, result.stderr
    after = card_numbers(out)
    card = (out / "README.md").read_text(encoding="utf-8")
    assert 'column="text", max_chars=300, min_chars=40' in card and "min_chars=8" not in card
    # the steps before the changed one count the same; it and every later step count fewer rows
    assert after["funnel"]["clean.normalize"] == before["funnel"]["clean.normalize"]
    assert after["funnel"]["clean.drop-missing"] == before["funnel"]["clean.drop-missing"]
    for step in ("clean.length", "clean.regex", "clean.dedup"):
        assert after["funnel"][step][1] < before["funnel"][step][1]
        assert all(a != b for a, b in zip(after["per_source"][step], before["per_source"][step]))
    assert after["total"] < before["total"]
    for split in after["splits"]:
        assert after["splits"][split][0] < before["splits"][split][0]
    assert after["labels"] != before["labels"]
    for split in after["lengths"]:
        assert after["lengths"][split][1] >= 40 > before["lengths"][split][1]
    citation = sections(card)["Citation"]  # the spec's own section reads stats.json too
    assert f"(version 1.0.0, {after['total']:,} rows)" in citation and f"{before['total']:,} rows" not in citation


# --- user sections --------------------------------------------------------------------------------

CITATION = """\
## Citation

Cite {{ spec.card.pretty_name }} ({{ stats.outputs | map(attribute="rows") | sum }} rows) as:

```bibtex
@misc{support-intents-{{ spec.version }},
  title = {Support Intents},
}
```
"""
USES = """\
## Uses

Only for trying out specc.

{{ sections.uses | replace("## Uses", "### As the spec says") }}
"""
GLOSSARY = "## Glossary\n\n- intent: what the customer wants.\n"


def with_sections(spec: Path, entries: str) -> None:
    """Give the spec these `card.sections` instead of its own (the list ends the quickstart)."""
    spec.write_text(spec.read_text().split("  sections:", 1)[0] + "  sections:\n" + entries)


def test_user_sections_add_replace_and_place(quickstart: Path) -> None:
    folder = quickstart.parent
    write(folder / "card" / "citation.md.j2", CITATION)
    write(folder / "card" / "uses.md.j2", USES)
    write(folder / "card" / "glossary.md.j2", GLOSSARY)
    with_sections(
        quickstart,
        "    - {name: citation, template: card/citation.md.j2, after: limitations}\n"
        "    - {name: uses, template: card/uses.md.j2}\n"
        "    - {name: glossary, template: card/glossary.md.j2, before: structure}\n",
    )
    result = run_cli("build", str(quickstart))
    assert result.returncode == 0, result.stderr
    out = folder / "build" / "support-intents"
    card = (out / "README.md").read_text(encoding="utf-8")
    parts = sections(card)
    assert list(parts)[:3] == ["Uses", "Glossary", "Dataset structure"]
    assert list(parts)[-3:] == ["Bias, risks and limitations", "Citation", "Reproducibility"]
    assert "Cite Support Intents (quickstart) (152 rows) as:" in parts["Citation"]
    assert "@misc{support-intents-1.0.0," in parts["Citation"]
    assert card.count("## Uses") == 1
    assert parts["Uses"].startswith("\nOnly for trying out specc.\n\n### As the spec says\n\n### Direct use\n\nTrying")
    check_filled(card.replace("None. The messages", "The messages"))  # the quickstart's own prose starts so

    # the templates are pinned: an edit changes the plan, and `specc card` shows it without a rebuild
    assert run_cli("plan", str(quickstart), "--check").returncode == 0
    data = {p: p.stat().st_mtime_ns for p in (out / "data").iterdir()}
    write(folder / "card" / "citation.md.j2", CITATION.replace("Cite", "Please cite"))
    plan = run_cli("plan", str(quickstart), "--check")
    assert plan.returncode == 2
    assert "~ output" in plan.stdout and "card/citation.md.j2" in plan.stdout
    shown_card = run_cli("card", str(quickstart))
    assert shown_card.returncode == 0, shown_card.stderr
    assert "Please cite Support Intents (quickstart) (152 rows) as:" in (out / "README.md").read_text(encoding="utf-8")
    assert {p: p.stat().st_mtime_ns for p in (out / "data").iterdir()} == data


def test_template_errors_name_the_template_and_line(quickstart: Path) -> None:
    folder = quickstart.parent
    out = folder / "build" / "support-intents"
    template = write(folder / "card" / "citation.md.j2", "## Citation\n\nok\n")
    with_sections(quickstart, "    - {name: citation, template: card/citation.md.j2, after: limitations}\n")
    assert run_cli("build", str(quickstart)).returncode == 0
    card = (out / "README.md").read_bytes()

    template.write_text("## Citation\n\nCite {{ spec.name }}\n{{ foo }}\n")
    result = run_cli("build", str(quickstart))
    assert result.returncode == 1
    assert result.stderr == "card/citation.md.j2:4: error: card section 'citation': 'foo' is undefined\n"
    assert (out / "README.md").read_bytes() == card  # a failed build leaves the output as it was

    template.write_text("## Citation\n\n{{ ''.__class__.__mro__ }}\n")
    for command in ("build", "card"):
        result = run_cli(command, str(quickstart))
        assert result.returncode == 1 and "Traceback" not in result.stderr
        assert result.stderr == (
            "card/citation.md.j2:3: error: card section 'citation': access to attribute "
            "'__class__' of 'str' object is unsafe.\n"
        )
        assert (out / "README.md").read_bytes() == card

    template.write_text("## Citation\n\n{{ stats.outputs.append(1) }}{% include 'other.j2' %}\n")
    result = run_cli("card", str(quickstart))
    assert result.stderr == (
        "card/citation.md.j2:3: error: card section 'citation': access to attribute 'append' "
        "of 'list' object is unsafe.\n"
    )


def at(spec: Path, line_text: str, value: str) -> str:
    """`FILE:LINE:COL` of `value` on the spec's last line that contains `line_text`."""
    lines = spec.read_text().splitlines()
    number = max(i for i, line in enumerate(lines) if line_text in line)
    return f"{spec}:{number + 1}:{lines[number].index(value) + 1}"


def test_user_sections_are_checked_at_validate_time(quickstart: Path) -> None:
    folder = quickstart.parent
    write(folder / "card" / "ok.md.j2", "## Ok\n")
    write(folder / "card" / "broken.md.j2", "## Broken\n\n{{ spec.name }\n")
    with_sections(
        quickstart,
        "    - {name: a, template: card/ok.md.j2, after: limitation}\n"
        "    - {name: b, template: card/broken.md.j2}\n"
        "    - {name: c, template: card/ok.md.j2, after: d}\n"
        "    - {name: d, template: card/ok.md.j2, before: c}\n"
        "    - {name: a, template: 'card/*.j2'}\n",
    )
    result = run_cli("validate", str(quickstart))
    assert result.returncode == 1
    quoted = "'card/*"
    sections = ", ".join(sorted(["a", "b", "c", "d", *load_plugins().registry.names("card_section")]))
    assert result.stderr.splitlines() == [
        f"{at(quickstart, 'after: limitation', 'limitation')}: error: card.sections[0].after: no card section 'limitation'; "
        f"sections: {sections}",
        f"{at(quickstart, 'name: b', 'card/broken')}: error: card.sections[1].template: template syntax error at "
        "card/broken.md.j2:3: unexpected '}'",
        f"{at(quickstart, 'name: c', 'd}')}: error: card.sections[2].after: sections are placed relative to each "
        "other in a circle: c -> d -> c",
        f"{at(quickstart, 'name: d', 'c}')}: error: card.sections[3].before: sections are placed relative to each "
        "other in a circle: d -> c -> d",
        f"{at(quickstart, 'card/*', 'a,')}: error: card.sections[4].name: section 'a' is given twice; names must "
        "be unique",
        f"{at(quickstart, 'card/*', quoted)}: error: card.sections[4].template: a template is one file, not a "
        "pattern; name the file",
    ]
    with_sections(
        quickstart,
        "    - {name: a, template: card/ok.md.j2, order: 5, after: uses}\n"
        "    - {name: b, template: card/missing.md.j2}\n"
        "    - {name: c, template: ../outside.md.j2}\n",
    )
    result = run_cli("validate", str(quickstart))
    assert result.stderr.splitlines() == [
        f"{at(quickstart, 'order: 5', '{')}: error: card.sections[0]: give one of `after`, `before` and `order`, not "
        "`after` and `order`",
        f"{at(quickstart, 'missing', 'card/')}: error: card.sections[1].template: file 'card/missing.md.j2' not "
        "found; paths are relative to the spec's folder",
        f"{at(quickstart, 'outside', '../')}: error: card.sections[2].template: path '../outside.md.j2' is outside "
        "the spec's folder; move the data beside the spec, or set `allow_external_paths: true` at the top of the spec",
    ]


def _section(name: str, **position: Any) -> UserSection:
    return UserSection.model_construct(
        name=name, template=f"{name}.md.j2", **{"after": None, "before": None, "order": None, **position}
    )


def test_arrange_orders_sections() -> None:
    installed = {
        "summary": 100,
        "uses": 200,
        "structure": 300,
        "limitations": 850,
        "reproducibility": 900,
        "colophon": 950,
    }
    own = [
        _section("citation", after="limitations"),
        _section("thanks", after="citation"),
        _section("glossary", before="structure"),
        _section("uses"),
        _section("appendix"),
        _section("late", order=990),
        _section("notes", after="limitations"),
        _section("first", order=100),
    ]
    names = [name for name, _ in arrange(installed, own)]
    assert names == [
        "summary",
        "first",
        "uses",
        "glossary",
        "structure",
        "limitations",
        "citation",
        "thanks",
        "notes",
        "appendix",
        "reproducibility",
        "colophon",
        "late",
    ]
    assert DEFAULT_ORDER == 880
    assert dict(arrange(installed, own))["uses"] is own[3]
    assert dict(arrange(installed, own))["summary"] is None


# --- `specc card` ---------------------------------------------------------------------------------


def test_specc_card_rerenders_after_a_prose_edit_without_rebuilding(quickstart: Path) -> None:
    out = quickstart.parent / "build" / "support-intents"
    missing = run_cli("card", str(quickstart))
    assert missing.returncode == 1
    assert missing.stderr == (
        f"{quickstart}: error: no build to render a card for: {out / 'stats.json'} does not "
        f"exist; run `specc build {quickstart}` first\n"
    )
    assert run_cli("build", str(quickstart)).returncode == 0
    data = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in sorted((out / "data").iterdir())}
    lock = quickstart.with_suffix(".lock").read_bytes()
    stats_before = json.loads((out / "stats.json").read_text())
    quickstart.write_text(
        quickstart.read_text().replace("  uses: Trying out specc,", "  uses: Learning how specc cards read,")
    )
    result = run_cli("card", str(quickstart))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"rendered {out / 'README.md'} and {out / 'croissant.json'}")
    card = (out / "README.md").read_text(encoding="utf-8")
    assert "### Direct use\n\nLearning how specc cards read," in card and "Trying out specc," not in card
    assert "Learning how specc cards read," in (out / "croissant.json").read_text(encoding="utf-8")
    assert {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in sorted((out / "data").iterdir())} == data
    digest = hashlib.sha256(quickstart.read_bytes()).hexdigest()
    stats = json.loads((out / "stats.json").read_text())
    assert stats["build"]["spec_sha256"] == digest != stats_before["build"]["spec_sha256"]
    assert stats["build"] == build_info(compile_spec(load_spec(quickstart)))  # the build's one definition
    assert [k for k in stats["build"]] == [k for k in stats_before["build"]]
    assert f"(SHA-256 `{digest}`)" in card
    assert {k: v for k, v in stats.items() if k != "build"} == {k: v for k, v in stats_before.items() if k != "build"}
    assert quickstart.with_suffix(".lock").read_bytes() == lock  # prose is not in the lock ...
    assert run_cli("plan", str(quickstart), "--check").returncode == 0  # ... so the plan did not change

    quickstart.write_text(quickstart.read_text().replace("min_chars: 8,", "min_chars: 12,"))
    stale = run_cli("card", str(quickstart))
    assert stale.returncode == 1
    assert stale.stderr.startswith(
        f"{quickstart}: error: the spec or its sources changed since the last build, so "
        "its card would not describe its data:\n  ~ clean.length: params.min_chars 8 -> 12\n"
    )
    assert stale.stderr.endswith(f"run `specc build {quickstart}`\n")
    assert (out / "README.md").read_text(encoding="utf-8") == card


# --- sections from records the quickstart does not make ------------------------------------------


def _render(section: type, **parts: Any) -> str:
    """A section rendered from statistics holding only `parts` (no validation of the rest)."""
    stats = BuildStats.model_construct(**parts)
    return section(Params(), Context("card", 0, Path("."))).render(CardData(spec=None, stats=stats))


def test_sources_show_hub_commits_and_urls() -> None:
    commit = "0123456789abcdef0123456789abcdef01234567"
    sources = {
        "hub": {
            "type": "hf",
            "license": "mit",
            "split": None,
            "rows": 10,
            "pins": {
                "repo": "org/data",
                "requested": "main",
                "revision": commit,
                "config": "default",
                "split": "train",
                "data_files": None,
            },
            "files": [{"path": "data/train.jsonl", "sha256": "a" * 64, "size": 120}],
        },
        "web": {
            "type": "url",
            "license": "cc0-1.0",
            "split": "test",
            "rows": 5,
            "pins": {"url": "https://example.org/x.csv", "sha256": "b" * 64, "size": 50, "format": None},
            "files": [{"path": "https://example.org/x.csv", "sha256": "b" * 64, "size": 50}],
        },
    }
    text = _render(
        SourcesSection,
        split=Split.model_construct(method="random"),
        sources={name: Source.model_validate(source) for name, source in sources.items()},
    )
    assert (
        f"| `hub` | hf | Hugging Face Hub [`org/data`](https://huggingface.co/datasets/org/data) at commit "
        f"`{commit}` (`main` when locked), config `default`, split `train` | mit | assigned by the split step | 10 |"
    ) in text
    assert f"| `web` | url | <https://example.org/x.csv>, SHA-256 `{'b' * 64}` | cc0-1.0 | test | 5 |" in text
    assert f"| `hub` | `data/train.jsonl` | 120 | `{'a' * 64}` |" in text


def test_processing_shows_augmented_rows() -> None:
    steps = [
        {
            "id": "clean.min-words",
            "stage": "clean",
            "type": "min-words",
            "params": {"min_words": 4},
            "rows_in": 6,
            "rows_out": 5,
            "dropped": {"too-few-words": 1},
            "by_source": {"nums": {"rows_in": 6, "rows_out": 5, "dropped": {"too-few-words": 1}}},
        },
        {
            "id": "augment.shout",
            "stage": "augment",
            "type": "shout",
            "params": {"splits": ["train"]},
            "rows_in": 5,
            "rows_out": 9,
            "dropped": {},
            "added": {"train": 3, "validation": 1},
            "by_source": {},
        },
    ]
    text = _render(
        ProcessingSection,
        sources={"nums": Source.model_construct(rows=6)},
        steps=[Step.model_validate(step) for step in steps],
    )
    assert "| Step | Type | Parameters | Rows in | Rows out | Dropped | Added |" in text
    assert "| `clean.min-words` | min-words | min_words=4 | 6 | 5 | 1 too-few-words | 0 |" in text
    assert '| `augment.shout` | shout | splits=["train"] | 5 | 9 | 0 | 4 (train 3, validation 1) |' in text
    assert (
        "| `clean.min-words` | 6 → 5 (1 too-few-words) |" in text
        and "| `augment.shout` |" not in text.split("Per source")[1]
    )
    assert "Rows added by augmentation are not in this table" in text


def test_card_statistics_lengths_and_examples() -> None:
    import pyarrow as pa

    long = "x" * 250
    table = pa.table(
        {
            "_id": ["s:0", "s:1", "s:2", "s:3"],
            "_source": ["s"] * 4,
            "_split": ["test", "train", "train", "train"],
            "_origin_id": [None, None, None, "s:1"],
            "text": [long, "ab", None, "abcd"],
            "messages": [[{"role": "user", "content": "hi"}], [], [{"role": "a", "content": "xyz"}], None],
            "label": [1, 0, 1, 0],
        }
    )
    found = card_statistics(table, ["train", "test"])
    assert found["examples"] == {
        "train": {"_id": "s:1", "text": "ab", "messages": [], "label": 0},
        "test": {"_id": "s:0", "text": "x" * 200 + "…", "messages": [{"role": "user", "content": "hi"}], "label": 1},
    }
    assert found["lengths"]["text"] == {
        "train": {"rows": 3, "min": 0, "median": 2.0, "p95": 3.8, "max": 4, "mean": 2.0},
        "test": {"rows": 1, "min": 250, "median": 250.0, "p95": 250.0, "max": 250, "mean": 250.0},
    }
    assert found["lengths"]["messages"]["train"]["max"] == 4 and found["lengths"]["messages"]["test"]["min"] == 6
    assert sorted(found["lengths"]) == ["messages", "text"]


# --- a format keeps the counts per label -----------------------------------------------------------

CHAT = """
format:
  type: chat
  user: "{{ text }}"
  assistant: "{{ label_name }}"
"""


@pytest.mark.parametrize("keep", [False, True])
def test_a_format_keeps_the_rows_per_label_in_stats_card_and_plot(quickstart: Path, keep: bool) -> None:
    out = quickstart.parent / "build" / "support-intents"
    assert run_cli("build", str(quickstart)).returncode == 0
    plain = card_numbers(out)["labels"]
    plain_plots = sorted(p.name for p in (out / "plots").iterdir())
    text = quickstart.read_text().replace(
        "\ncard:", CHAT + ("  keep_classification: true\n" if keep else "") + "\ncard:", 1
    )
    quickstart.write_text(text)
    result = run_cli("build", str(quickstart))
    assert result.returncode == 0, result.stderr
    stats = json.loads((out / "stats.json").read_text(encoding="utf-8"))
    assert all(stats["split"]["splits"][s]["by_label"]["label"] for s in ("train", "validation", "test"))
    card = (out / "README.md").read_text(encoding="utf-8")
    labels = {
        row[0]: [number(c) for c in row[1:]] for row in table_after(sections(card)["Splits"], "Rows per `label`")[1:]
    }
    assert labels == plain
    assert "plots/labels-label.png" in card
    assert "labels-label.png" in plain_plots and (out / "plots" / "labels-label.png").is_file()
    if keep:  # the audit counts the labels again from the classification configuration
        tampered = read_stats(out / "stats.json", "rebuild")
        tampered.split.splits["test"].by_label["label"]["billing"] += 1
        with pytest.raises(SpeccError, match="^error: self-check: card section 'Splits': the rows per label"):
            audit_card(out, tampered)
