"""The card says everything a reader needs: format templates, license details, citations, every configuration,
predefined splits, leakage examples and the plugins used; read from README.md, stats.json and croissant.json of
real builds."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import specc
from specc.hub_metadata import source_datasets
from tests.conftest import ROOT, run_cli, write
from tests.hub_cache import add_commit
from tests.test_card_content import sections, table_after
from tests.test_plugins import Words

BIBTEX = """@article{doe-2024-intents,
  title = {Support {Intents}},
  author = {Doe, Jane},
  year = {2024},
}"""
OWN = "@misc{support-intents-2026,\n  title = {Support Intents, formatted},\n}"
SYSTEM = "You sort customer messages into intents: {{ label_names.label | join(', ') }}."
USERS = ["Message: {{ text }}\nWhich intent is it?", "{{ text }}\n\nIntent? ``` fenced ```"]
ASSISTANT = "{{ label_name }}"
SPLITS = {"faq": "train", "tickets": "validation", "chats": "test"}


def _formatted(text: str) -> str:
    """The quickstart with the sources' own splits, citations, `license: other` and a chat format kept beside the
    classification rows."""
    for source, split in SPLITS.items():
        extra = f"    split: {split}\n"
        if source == "faq":
            extra += "    homepage: https://example.org/intents\n    citation: |-\n"
            extra += "".join(f"      {line}\n" for line in BIBTEX.splitlines())
        text = re.sub(rf"\n  {source}:.*\n", lambda m, extra=extra: m[0] + extra, text, count=1)
    text = text.replace(
        "license: cc-by-4.0\nlanguages",
        "license: other\nlicense_name: intents-1.0\nlicense_link: LICENSE.md\nlanguages",
        1,
    )
    text = re.sub(r"\nsplit:\n(?:  .*\n)+", "\nsplit:\n  method: predefined\n", text)
    users = "".join(f"    - {json.dumps(u)}\n" for u in USERS)
    text += (
        f"\nformat:\n  type: chat\n  keep_classification: true\n  system: {json.dumps(SYSTEM)}\n"
        f"  user:\n{users}  assistant: {json.dumps(ASSISTANT)}\n"
    )
    text = text.replace(  # one source without a license of its own
        "    label_names: data/quickstart/mapping.txt\n    license: cc-by-4.0\n",
        "    label_names: data/quickstart/mapping.txt\n    license: unknown\n",
        1,
    )
    own = "".join(f"    {line}\n" for line in OWN.splitlines())
    text = re.sub(r"  sections:.*\n    - \{name: citation.*\n", f"  citation: |-\n{own}", text)
    assert "card/citation.md.j2" not in text and OWN.splitlines()[0] in text
    return text


def _copy_specs(folder: Path) -> Path:
    shutil.copytree(ROOT / "specs", folder, ignore=shutil.ignore_patterns("build", ".specc", "*.lock"))
    return folder


@pytest.fixture(scope="module")
def formatted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The output folder of the formatted quickstart."""
    folder = _copy_specs(tmp_path_factory.mktemp("complete") / "specs")
    spec = folder / "quickstart.yaml"
    spec.write_text(_formatted(spec.read_text(encoding="utf-8")), encoding="utf-8")
    write(folder / "LICENSE.md", "# Intents license 1.0\n\nUse it kindly.\n")
    result = run_cli("build", str(spec), "--cache-dir", str(folder.parent / "cache"))
    assert result.returncode == 0, result.stderr
    return folder / "build" / "support-intents"


def _read(out: Path) -> tuple[str, dict[str, Any], dict[str, Any]]:
    card = (out / "README.md").read_text(encoding="utf-8")
    stats = json.loads((out / "stats.json").read_text(encoding="utf-8"))
    croissant = json.loads((out / "croissant.json").read_text(encoding="utf-8"))
    return card, stats, croissant


def _mlcroissant(*args: str) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("mlcroissant")
    command = [str(exe)] if exe.exists() else [shutil.which("mlcroissant") or "mlcroissant"]
    return subprocess.run(command + list(args), capture_output=True, text=True, timeout=300)


def test_the_format_templates_are_in_the_card_stats_and_croissant(formatted: Path) -> None:
    card, stats, croissant = _read(formatted)
    step = next(s for s in stats["steps"] if s["stage"] == "format")
    assert step["texts"] == {"system": [SYSTEM], "user": USERS, "assistant": [ASSISTANT]}
    assert step["rows_in"] == step["rows_out"] == sum(o["rows"] for o in stats["outputs"])
    processing = sections(card)["Processing"]
    funnel = {row[0]: row for row in table_after(processing, "| Step | Type")[1:]}
    assert funnel["`format`"][1] == "chat" and funnel["`format`"][2].endswith("; templates below")
    assert "{{" not in funnel["`format`"][2]  # the templates are shown whole below, not as JSON in a cell
    assert f"`system`:\n\n```jinja\n{SYSTEM}\n```" in processing
    assert f"`user`, 1 of 2:\n\n```jinja\n{USERS[0]}\n```" in processing
    assert f"`user`, 2 of 2:\n\n````jinja\n{USERS[1]}\n````" in processing  # a fence longer than the text's
    assert f"`assistant`:\n\n```jinja\n{ASSISTANT}\n```" in processing
    protocol = croissant["rai:dataPreprocessingProtocol"]
    assert protocol[-1].startswith("format (chat;")  # after the split, as it ran
    assert all(json.dumps(t, ensure_ascii=False) in protocol[-1] for t in [SYSTEM, *USERS, ASSISTANT])


def test_every_configuration_is_described_and_has_record_sets(formatted: Path) -> None:
    card, stats, croissant = _read(formatted)
    structure = sections(card)["Dataset structure"]
    configurations = {row[0]: row for row in table_after(structure, "| Configuration")[1:]}
    assert list(configurations) == ["`default`", "`classification`"]
    rows = "; ".join(f"{o['split']} {o['rows']:,}" for o in stats["outputs"])
    assert configurations["`classification`"][1:] == [rows, "`data/classification/*.parquet`"]
    default_fields = table_after(structure, "### Configuration `default`")
    classification_fields = table_after(structure, "### Configuration `classification`")
    assert [r[0] for r in default_fields[1:]] == ["`messages`", "`_id`"]
    assert [r[0] for r in classification_fields[1:]] == ["`_id`", "`text`", "`label`"]
    assert classification_fields[3][1:] == [
        "class label (5 classes)",
        "0 billing, 1 shipping, 2 returns, 3 account, 4 technical",
    ]

    sets = {rs["@id"]: rs for rs in croissant["recordSet"]}
    splits = [o["split"] for o in stats["outputs"]]
    assert list(sets) == splits + [f"classification/{s}" for s in splits] + ["label-classes"]
    label = next(f for f in sets["classification/train"]["field"] if f["name"] == "label")
    assert label["references"] == {"field": {"@id": "label-classes/id"}}
    files = {d["@id"]: d for d in croissant["distribution"]}
    kept = {o["split"]: o for o in stats["classification"]["outputs"]}
    for split in splits:
        source = sets[f"classification/{split}"]["field"][0]["source"]["fileObject"]["@id"]
        assert files[source]["contentUrl"] == kept[split]["path"]
        assert files[source]["sha256"] == kept[split]["sha256"]

    jsonld = formatted / "croissant.json"
    result = _mlcroissant("validate", "--jsonld", str(jsonld))
    assert result.returncode == 0 and "error(s)" not in result.stderr, result.stderr[-3000:]
    loaded = _mlcroissant("load", "--jsonld", str(jsonld), "--record_set", "classification/test", "--num_records", "-1")
    assert loaded.returncode == 0, loaded.stderr[-3000:]
    assert sum(1 for line in loaded.stdout.splitlines() if line.startswith("{")) == kept["test"]["rows"]


def test_license_other_names_and_links_its_license(formatted: Path) -> None:
    from huggingface_hub import DatasetCard

    card, _, _ = _read(formatted)
    data = DatasetCard.load(formatted / "README.md").data
    assert data.license == "other" and data.license_name == "intents-1.0" and data.license_link == "LICENSE.md"
    assert (formatted / "LICENSE.md").read_text(encoding="utf-8").startswith("# Intents license 1.0")
    assert "| License | other ([intents-1.0](LICENSE.md)) |" in card
    # the sources have no license of their own: the warning reads as English
    assert "publishing this data set under its own license (intents-1.0)." in card
    assert "under other" not in card and "under unknown" not in card


def test_the_citation_section_cites_the_data_set_and_its_sources(formatted: Path) -> None:
    card, _, croissant = _read(formatted)
    citation = sections(card)["Citation"]
    assert f"Cite this data set as:\n\n```bibtex\n{OWN}\n```" in citation
    assert f"### `faq`\n\nHomepage: <https://example.org/intents>\n\n```bibtex\n{BIBTEX}\n```" in citation
    assert "`chats`, `tickets`: no homepage or citation given" in citation
    assert list(sections(card))[-2:] == ["Citation", "Reproducibility"]
    assert croissant["citeAs"] == OWN


def test_predefined_splits_show_no_seed_and_no_internal_column(formatted: Path) -> None:
    card, stats, croissant = _read(formatted)
    splits = sections(card)["Splits"]
    assert "Predefined splits: each row keeps the split its source gives (the source's `split:`)." in splits
    assert "seed" not in splits and "_split" not in card
    split_text = next(p for p in croissant["rai:dataPreprocessingProtocol"] if p.startswith("split "))
    assert split_text.startswith("split (predefined: each row keeps the split its source gives")
    assert "seed" not in split_text and "_split" not in split_text
    assert {s: stats["split"]["splits"][s]["by_source"] for s in SPLITS.values()} == {
        split: {source: stats["sources"][source]["rows"] - _dropped(stats, source)} for source, split in SPLITS.items()
    }


def _dropped(stats: dict[str, Any], source: str) -> int:
    return sum(sum(s["by_source"].get(source, {}).get("dropped", {}).values()) for s in stats["steps"])


def test_the_card_lists_only_the_plugins_the_spec_uses(formatted: Path) -> None:
    from specc.plugins import load_plugins

    card, stats, _ = _read(formatted)
    installed = {info.name for info in load_plugins().infos.values()}
    assert {"nlpaug", "transformers"} <= installed  # installed, with card sections, yet not used by this spec
    assert [p["name"] for p in stats["build"]["plugins"]] == ["specc.builtins"]
    plugins = table_after(sections(card)["Reproducibility"], "| Plugin")
    assert [row[0] for row in plugins[1:]] == ["specc.builtins"]


LEAKY = """\
specc: 1
name: leaky
description: Two sources that share texts.
license: cc-by-4.0
card: {draft: true}
sources:
  old:
    type: jsonl
    path: old.jsonl
    split: train
    license: cc-by-4.0
  new:
    type: jsonl
    path: new.jsonl
    split: test
    license: cc-by-4.0
split:
  method: predefined
"""


def test_leakage_examples_are_in_the_card_with_their_split_pairs(tmp_path: Path) -> None:
    shared = [f"shared question {i}" for i in range(4)]
    write(tmp_path / "old.jsonl", "".join(json.dumps({"text": t}) + "\n" for t in [*shared, "only old"]))
    write(tmp_path / "new.jsonl", "".join(json.dumps({"text": t}) + "\n" for t in ["only new", *shared]))
    write(tmp_path / "leaky.yaml", LEAKY)
    result = run_cli("build", "leaky.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    card, stats, _ = _read(tmp_path / "build" / "leaky")
    pair = stats["split"]["leakage"]["pairs"]["train/test"]
    assert pair["exact_pairs"] == 4 and len(pair["examples"]) == 4
    splits = sections(card)["Splits"]
    assert "Examples, the first 3 of each kind per pair of splits" in splits
    listed = re.findall(r"^- exact: (.*)$", splits[splits.index("`train/test`:") :], flags=re.M)
    assert listed == [f'"shared question {i}": train `old:{i}`; test `new:{i + 1}`' for i in range(3)]


def test_license_other_without_its_name_and_link_is_an_error(tmp_path: Path) -> None:
    folder = _copy_specs(tmp_path / "specs")
    spec = folder / "quickstart.yaml"
    text = spec.read_text(encoding="utf-8").replace("license: cc-by-4.0\nlanguages", "license: other\nlanguages", 1)
    spec.write_text(text, encoding="utf-8")
    line = text.splitlines().index("license: other") + 1
    result = run_cli("validate", str(spec))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"quickstart.yaml:{line}:10: error: license: `license: other` needs `license_name` and `license_link`" in (
        result.stderr
    )


@pytest.mark.parametrize(
    "lines, where, message",
    [
        (
            "license: other\nlicense_name: My License\nlicense_link: https://example.org/l\n",
            "license_name",
            "such as my-license",
        ),
        ("license: other\nlicense_name: mine-1.0\nlicense_link: /etc/passwd\n", "license_link", "neither a URL"),
        ("license: other\nlicense_name: mine-1.0\nlicense_link: NOTICE.md\n", "license_link", "no file 'NOTICE.md'"),
        ("license: other\nlicense_name: mine-1.0\nlicense_link: README.md\n", "license_link", "a file specc writes"),
        ("license: cc-by-4.0\nlicense_name: mine-1.0\n", "license_name", "only for `license: other`"),
    ],
    ids=["name", "absolute", "missing-file", "reserved", "not-other"],
)
def test_bad_license_details_are_reported_where_they_are(tmp_path: Path, lines: str, where: str, message: str) -> None:
    folder = _copy_specs(tmp_path / "specs")
    spec = folder / "quickstart.yaml"
    text = spec.read_text(encoding="utf-8").replace("license: cc-by-4.0\nlanguages", lines + "languages", 1)
    spec.write_text(text, encoding="utf-8")
    line = next(i for i, t in enumerate(text.splitlines(), 1) if t.startswith(f"{where}:"))
    result = run_cli("validate", str(spec))
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    found = re.search(rf"quickstart\.yaml:{line}:\d+: error: {where}: (.*)", result.stderr)
    assert found and message in found[1], result.stderr


def test_a_source_homepage_must_be_a_url(tmp_path: Path) -> None:
    folder = _copy_specs(tmp_path / "specs")
    spec = folder / "quickstart.yaml"
    text = re.sub(
        r"\n  faq:.*\n", lambda m: m[0] + "    homepage: example.org\n", spec.read_text(encoding="utf-8"), count=1
    )
    spec.write_text(text, encoding="utf-8")
    result = run_cli("validate", str(spec))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "sources.faq.homepage: 'example.org' is not a URL" in result.stderr


REPO = "acme/intents"
COMMIT = "c" * 40


def test_a_hub_source_is_named_as_extended_from_it(tmp_path: Path) -> None:
    cache = tmp_path / "hf-cache"
    rows = "".join(json.dumps({"text": f"row {i}", "label": i % 2}) + "\n" for i in range(6)).encode()
    add_commit(cache, REPO, COMMIT, {"data/train.jsonl": rows}, lfs=set(), ref="main")
    env = {"HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(cache), "HF_HOME": str(tmp_path / "hf-home")}
    write(
        tmp_path / "spec.yaml",
        "specc: 1\nname: hubby\ndescription: d\nlicense: mit\ncard: {draft: true, source_datasets: [extended]}\n"
        f"sources:\n  hub:\n    type: hf\n    path: {REPO}\n    license: mit\n",
    )
    result = run_cli("build", "spec.yaml", cwd=tmp_path, env={**env, "SPECC_CACHE_DIR": str(tmp_path / "c")})
    assert result.returncode == 0, result.stderr
    from huggingface_hub import DatasetCard

    out = tmp_path / "build" / "hubby"
    assert DatasetCard.load(out / "README.md").data.source_datasets == [f"extended|{REPO}"]
    citation = sections((out / "README.md").read_text(encoding="utf-8"))["Citation"]
    assert f"### `hub`\n\nHomepage: <https://huggingface.co/datasets/{REPO}>" in citation


@pytest.mark.parametrize(
    "declared, repos, expected",
    [
        (["extended"], ["a/b", "c/d", "a/b"], ["extended|a/b", "extended|c/d"]),
        ([], ["a/b"], ["extended|a/b"]),
        (["original", "extended"], ["a/b"], ["original", "extended|a/b"]),
        (["extended|glue"], ["a/b"], ["extended|glue"]),
        (["extended"], [], ["extended"]),
    ],
)
def test_source_datasets_name_the_hub_data_sets(declared: list[str], repos: list[str], expected: list[str]) -> None:
    assert source_datasets(declared, repos) == expected


class BudgetPlugin:
    """A whitespace token counter."""

    @specc.hookimpl
    def register_tokenizers(self, register: specc.Register) -> None:
        register(Words)


BUDGET = (
    "\nformat:\n  type: prompt-completion\n  prompt: 'Which intent? {{ text }}'\n  completion: '{{ label_name }}'\n"
    "  tokens: {type: words, tokenizer: whitespace, max_tokens: 12}\n"
)


def test_the_token_budget_is_in_the_processing_section_and_croissant(
    register_plugin: Callable[[object, str], None], tmp_path: Path
) -> None:
    register_plugin(BudgetPlugin(), "budget-plugin")
    folder = _copy_specs(tmp_path / "specs")
    spec = folder / "quickstart.yaml"
    text = spec.read_text(encoding="utf-8")
    spec.write_text(re.sub(r"\nsplit:\n(?:  .*\n)+", lambda m: m[0] + BUDGET, text), encoding="utf-8")
    specc.build(spec)
    card, stats, croissant = _read(folder / "build" / "support-intents")
    step = next(s for s in stats["steps"] if s["stage"] == "tokens")
    assert step["params"]["max_tokens"] == 12 and step["params"]["tokenizer"] == "whitespace"
    dropped = sum(step["dropped"].values())
    assert dropped > 0
    processing = sections(card)["Processing"]
    assert (
        f"Token budget (step `{step['id']}`): at most 12 tokens per row, prompt and completion together, counted "
        "with the tokenizer `whitespace`; rows over it were dropped."
    ) in processing
    assert "```jinja\nWhich intent? {{ text }}\n```" in processing
    budget = next(p for p in croissant["rai:dataPreprocessingProtocol"] if p.startswith(step["id"]))
    assert "max_tokens=12" in budget and f"dropped {dropped:,}" in budget


def test_specc_card_renders_again_and_copies_the_license_file(formatted: Path) -> None:
    card = (formatted / "README.md").read_bytes()
    (formatted / "LICENSE.md").unlink()
    result = run_cli("card", str(formatted.parent.parent / "quickstart.yaml"))
    assert result.returncode == 0, result.stderr
    assert (formatted / "README.md").read_bytes() == card
    assert (formatted / "LICENSE.md").read_text(encoding="utf-8").startswith("# Intents license 1.0")
