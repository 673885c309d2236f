"""Must show (issue 18, upload-ready output): every example spec in specs/ and variants of it (a format, k-fold,
predefined splits, annotation, data reached through a symbolic link) are built into folders reached through a
symbolically linked path, and each folder may be uploaded as it is: no absolute path, host or user name of this
machine and no link leading outside it in any file (Parquet read through pyarrow); the card's metadata parses with
huggingface_hub; croissant.json validates with mlcroissant; `specc publish --dry-run` accepts it.

The builds are shared by every test (one module-scoped fixture). `check_card` and `check_croissant` are where
assertions about one built folder's card and Croissant go.
"""

from __future__ import annotations

import getpass
import json
import platform
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import ROOT, SHARED_DATA, run_cli

EXAMPLES = sorted(p.name for p in (ROOT / "specs").glob("*.yaml"))
NEEDS_SHARED = {name for name in EXAMPLES if "shared/data" in (ROOT / "specs" / name).read_text(encoding="utf-8")}


def _quickstart(name: str, replace: dict[str, str]) -> str:
    """specs/quickstart.yaml under another name, with parts of its text replaced."""
    text = (ROOT / "specs" / "quickstart.yaml").read_text(encoding="utf-8")
    text = text.replace("name: support-intents\n", f"name: {name}\n")
    for old, new in replace.items():
        assert old in text, old
        text = text.replace(old, new)
    return text


SPLIT = "split:\n  method: stratified\n  stratify: label\n  ratios: {train: 0.8, validation: 0.1, test: 0.1}\n"
CHAT = """format:
  type: chat
  keep_classification: true
  system: "You sort customer-support messages into {{ label_names.label | join(', ') }}."
  user: "Message: {{ text }}"
  assistant: "{{ label_name }}"

card:"""
# Variants of the examples: spec file name -> its text.
VARIANTS = {
    "variant-format.yaml": _quickstart("support-intents-chat", {"\ncard:": "\n" + CHAT}),
    "variant-kfold.yaml": _quickstart(
        "support-intents-kfold", {SPLIT: "split:\n  method: kfold\n  folds: 3\n  test: 0.2\n  stratify: label\n"}
    ),
    "variant-predefined.yaml": _quickstart(
        "support-intents-predefined",
        {
            "    license: cc-by-4.0\n  tickets:": "    license: cc-by-4.0\n    split: train\n  tickets:",
            "    license: cc-by-4.0\n  chats:": "    license: cc-by-4.0\n    split: validation\n  chats:",
            "    label_names: data/quickstart/mapping.txt\n": "    label_names: data/quickstart/mapping.txt\n"
            "    split: test\n",
            SPLIT: "split:\n  method: predefined\n",
        },
    ),
    # the data read through a symbolic link inside the spec's folder: the card names the link, as the spec does
    "variant-linked.yaml": _quickstart("support-intents-linked", {"data/quickstart/": "linked/quickstart/"}),
    "variant-annotated-chat.yaml": (ROOT / "specs" / "human-round.yaml")
    .read_text(encoding="utf-8")
    .replace("name: human-labelled-intents\n", "name: human-labelled-chat\n")
    .replace("\ncard:", "\n" + CHAT),
    # the annotation files named by absolute paths outside the spec's folder (ABSOLUTE: a copy of them the test makes)
    "variant-absolute.yaml": (ROOT / "specs" / "human-round.yaml")
    .read_text(encoding="utf-8")
    .replace("name: human-labelled-intents\n", "name: human-labelled-absolute\n")
    .replace("seed: 20261128\n", "seed: 20261128\nallow_external_paths: true\n")
    .replace("data/annotate/", "ABSOLUTE/"),
}


@dataclass(frozen=True)
class Built:
    """The builds: each spec file name's output folder, as reached through the linked path."""

    root: Path  # the test's folder: real/ holds the project, link/ points at it, shared/ at the shared data
    folders: dict[str, Path]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """Copy specs/ to real/specs, add the variants, and build each spec through link/ -> real/."""
    root = tmp_path_factory.mktemp("upload-ready")
    specs = root / "real" / "specs"
    shutil.copytree(ROOT / "specs", specs, ignore=shutil.ignore_patterns("build", ".specc"))
    shutil.copytree(specs / "data" / "annotate", root / "elsewhere")
    for name, text in VARIANTS.items():
        (specs / name).write_text(text.replace("ABSOLUTE", str(root / "elsewhere")), encoding="utf-8")
    (specs / "linked").symlink_to("data", target_is_directory=True)
    (root / "link").symlink_to(root / "real", target_is_directory=True)
    names = [*EXAMPLES, *VARIANTS]
    if SHARED_DATA.is_dir():
        (root / "shared").symlink_to(SHARED_DATA.parent, target_is_directory=True)  # ../../shared from specs/
    else:
        names = [name for name in names if name not in NEEDS_SHARED]
    folders = {}
    for name in names:
        spec = root / "link" / "specs" / name
        result = run_cli("build", str(spec))
        assert result.returncode == 0, f"{name}: {result.stderr}"
        output = re.search(r"^output: \{dir: (.+)\}$", spec.read_text(encoding="utf-8"), re.MULTILINE)
        model_name = re.search(r"^name: (.+)$", spec.read_text(encoding="utf-8"), re.MULTILINE)
        assert model_name is not None
        folders[name] = spec.parent / (output.group(1) if output else f"build/{model_name.group(1)}")
    return Built(root, folders)


def _folder(built: Built, name: str) -> Path:
    if name not in built.folders:
        pytest.skip(f"{name} reads the shared data, not found at {SHARED_DATA}")
    return built.folders[name]


NAMES = [*EXAMPLES, *VARIANTS]


# --- what nothing in the folder may hold -----------------------------------------------------------


def machine_texts(built: Built) -> list[str]:
    """Absolute paths of this machine the builds could have written: the test's folder (linked and real), the
    repository, the shared data, home and Python's prefix."""
    places = [built.root, built.root.resolve(), ROOT, SHARED_DATA.parent, Path.home(), Path(sys.prefix)]
    return sorted({str(p) for p in places} | {str(p.resolve()) for p in places}, key=len, reverse=True)


def _strings(value: object) -> list[str]:
    """Every string inside a Parquet row value (nested lists and structs included)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def file_texts(folder: Path) -> dict[str, str]:
    """Every file of the folder as text: Parquet files as their strings, pictures as their text chunks."""
    import pyarrow.parquet as pq

    texts = {}
    for path in sorted(folder.rglob("*")):
        if path.is_dir():
            continue
        name = path.relative_to(folder).as_posix()
        if path.suffix == ".parquet":
            texts[name] = "\n".join(s for row in pq.read_table(path).to_pylist() for s in _strings(row))
        elif path.suffix == ".png":  # its text chunks (matplotlib writes Software); the pixels are no text
            from PIL import Image

            with Image.open(path) as image:
                texts[name] = "\n".join(f"{key}: {value}" for key, value in image.info.items())
        else:
            texts[name] = path.read_text(encoding="utf-8")
    return texts


def links(text: str) -> list[str]:
    """The targets of Markdown links and images and of HTML href/src attributes."""
    return re.findall(r"\]\(\s*<?([^)\s>]+)", text) + re.findall(r"""(?:href|src)\s*=\s*["']([^"']+)""", text)


def assert_nothing_of_the_machine(built: Built, folder: Path, climb: str = "../../../") -> None:
    """No absolute path, host or user name of this machine in any file; no link or symbolic link leading out; no
    path climbing `climb` (one level more than a spec in specs/ reaches ../shared with)."""
    host, user = platform.node(), getpass.getuser()
    for name, text in file_texts(folder).items():
        for place in machine_texts(built):
            assert place not in text, f"{name} holds the absolute path {place}"
        assert not re.search(rf"(?<![\w.-]){re.escape(host)}(?![\w-])", text), f"{name} holds the host name {host}"
        assert not re.search(rf"[/\\]{re.escape(user)}(?![\w.-])", text), f"{name} holds a path of user {user}"
        assert climb not in text, f"{name} holds a path that climbs out of the spec's folder's parents"
        if name.endswith(".md"):
            for target in links(text):
                if re.match(r"[a-z][a-z0-9+.-]*:|#", target):
                    assert not target.startswith("file:"), f"{name} links the local file {target}"
                    continue
                linked = (folder / name).parent / target.split("#")[0]
                assert linked.resolve().is_relative_to(folder.resolve()), f"{name} links {target}, outside"
                assert linked.exists(), f"{name} links {target}, which the folder does not hold"
    for path in folder.rglob("*"):
        if path.is_symlink():
            assert path.resolve().is_relative_to(folder.resolve()), f"{path} links outside the folder"


# --- what a card and Croissant must say (one helper each, per built folder) ------------------------


def check_card(folder: Path, spec: Path) -> None:
    """The card of the output `folder` built from `spec`: its metadata parses as the Hub reads it; it shows every
    text a step describes (a format's templates) whole."""
    from huggingface_hub import DatasetCard

    data = DatasetCard.load(folder / "README.md").data.to_dict()
    stats = json.loads((folder / "stats.json").read_text(encoding="utf-8"))
    configs = {config["config_name"] for config in data["configs"]}
    assert configs and data["license"] and data["pretty_name"]
    infos = data["dataset_info"] if isinstance(data["dataset_info"], list) else [data["dataset_info"]]
    assert {info.get("config_name", "default") for info in infos} == configs
    assert {f["path"] for c in data["configs"] for f in c["data_files"] if isinstance(f["path"], str)} <= {
        o["path"] for o in [*stats["outputs"], *(stats.get("classification") or {}).get("outputs", [])]
    }
    card = (folder / "README.md").read_text(encoding="utf-8")
    texts = [text for step in stats["steps"] for texts in (step.get("texts") or {}).values() for text in texts]
    assert all(text in card for text in texts)
    if any(step["stage"] == "format" for step in stats["steps"]):
        assert texts, "a format step describes its templates"


def check_croissant(folder: Path, spec: Path) -> None:
    """croissant.json of the output `folder` built from `spec` validates with mlcroissant and has a record set for
    every split of every configuration the card declares."""
    from huggingface_hub import DatasetCard

    mlcroissant = pytest.importorskip("mlcroissant")
    dataset = mlcroissant.Dataset(jsonld=str(folder / "croissant.json"))  # raises on a validation error
    have = {record_set.id for record_set in dataset.metadata.record_sets}
    configs = DatasetCard.load(folder / "README.md").data.to_dict()["configs"]
    wanted = {
        entry["split"] if config["config_name"] == "default" else f"{config['config_name']}/{entry['split']}"
        for config in configs
        for entry in config["data_files"]
    }
    assert wanted <= have, sorted(wanted - have)


# --- the tests -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_folder_holds_nothing_of_the_machine(built: Built, name: str) -> None:
    assert_nothing_of_the_machine(built, _folder(built, name))


@pytest.mark.parametrize("name", NAMES)
def test_card_metadata_parses_with_huggingface_hub(built: Built, name: str) -> None:
    check_card(_folder(built, name), built.root / "link" / "specs" / name)


@pytest.mark.parametrize("name", NAMES)
def test_croissant_validates_with_mlcroissant(built: Built, name: str) -> None:
    check_croissant(_folder(built, name), built.root / "link" / "specs" / name)


def test_every_folder_passes_publish_dry_run(built: Built) -> None:
    for name, folder in built.folders.items():
        result = run_cli("publish", str(folder), "--repo", "my-org/upload-ready", "--dry-run")
        assert result.returncode == 0, f"{name}: {result.stderr}"
        assert ".specc-output.json" not in result.stdout


def test_paths_are_as_the_spec_wrote_them(built: Built) -> None:
    """Through a link inside the spec's folder, and through a linked folder outside it (the shared data)."""
    linked = json.loads((built.folders["variant-linked.yaml"] / "stats.json").read_text(encoding="utf-8"))
    assert linked["sources"]["faq"]["files"][0]["path"] == "linked/quickstart/faq.jsonl"
    assert "`linked/quickstart/faq.jsonl`" in (built.folders["variant-linked.yaml"] / "README.md").read_text()
    if "tweeteval-emotion.yaml" in built.folders:
        stats = json.loads((built.folders["tweeteval-emotion.yaml"] / "stats.json").read_text(encoding="utf-8"))
        paths = [f["path"] for f in stats["sources"]["train"]["files"]]
        assert "../../shared/data/tweeteval/emotion/train_text.txt" in paths


def test_absolute_paths_the_spec_wrote_are_named_by_their_file(built: Built) -> None:
    """The build machine's folders stay out of the output; the lock's SHA-256 beside each name says which bytes."""
    folder = built.folders["variant-absolute.yaml"]
    stats = json.loads((folder / "stats.json").read_text(encoding="utf-8"))
    (round1,) = [step for step in stats["steps"] if step["id"] == "annotate.round1"]
    assert round1["params"]["guidelines"] == "guidelines.md"
    assert [r["path"] for r in round1["params"]["results"]] == ["round1.csv"]
    assert round1["info"]["guidelines"]["path"] == "guidelines.md"
    assert stats["sources"]["messages"]["files"][0]["path"] == "messages.jsonl"
    assert "[`guidelines.md`](annotation/round1/guidelines.md)" in (folder / "README.md").read_text(encoding="utf-8")


def test_the_guidelines_travel_with_the_card(built: Built) -> None:
    for name in ("human-round.yaml", "variant-annotated-chat.yaml", "variant-absolute.yaml"):
        folder = built.folders[name]
        card = (folder / "README.md").read_text(encoding="utf-8")
        assert "(annotation/round1/guidelines.md)" in card
        assert (folder / "annotation" / "round1" / "guidelines.md").read_bytes() == (
            ROOT / "specs" / "data" / "annotate" / "guidelines.md"
        ).read_bytes()


def test_the_build_record_stays_out_of_the_folder(built: Built) -> None:
    from specc.executor import record_path

    specs = built.root / "real" / "specs"
    for name, folder in built.folders.items():
        assert not (folder / "build-record.json").exists()
        record = json.loads(record_path(specs, folder).read_text(encoding="utf-8"))
        assert record["host"] == platform.node() and Path(record["spec"]).name == name
