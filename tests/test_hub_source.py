"""The `hf` source, offline against a real Hugging Face Hub cache built in a temporary folder."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from specc.testing import modules_imported, top_level
from tests.conftest import ROOT, run_cli, write
from tests.hub_cache import add_commit

REPO = "org/name"
OLD = "1" * 40  # the first commit: data/train.jsonl and data/test.jsonl, no README
NEW = "2" * 40  # the second, where refs/main points: other rows, a README with `configs:` and ClassLabel features
README = """\
---
configs:
- config_name: default
  default: true
  data_files:
  - split: train
    path: data/train.jsonl
  - split: test
    path: data/test.jsonl
- config_name: small
  data_files:
  - split: train
    path: data/test.jsonl
dataset_info:
- config_name: default
  features:
  - name: text
    dtype: string
  - name: label
    dtype:
      class_label:
        names:
          '0': neg
          '1': pos
---
# A tiny data set
"""


def jsonl(tag: str, n: int) -> bytes:
    return "".join(json.dumps({"text": f"{tag} {i}", "label": i % 2}) + "\n" for i in range(n)).encode()


@dataclass
class Hub:
    """The cache, the environment that points huggingface_hub at it, and the bytes of each commit."""

    cache: Path
    env: dict[str, str]
    files: dict[str, dict[str, bytes]]

    def pin(self, commit: str, name: str) -> dict[str, object]:
        data = self.files[commit][name]
        return {"path": name, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}


@pytest.fixture
def hub(tmp_path: Path) -> Hub:
    cache = tmp_path / "hf-cache"
    files = {
        OLD: {"data/train.jsonl": jsonl("old train", 3), "data/test.jsonl": jsonl("old test", 2)},
        NEW: {
            "data/train.jsonl": jsonl("new train", 4),
            "data/test.jsonl": jsonl("new test", 2),
            "README.md": README.encode(),
        },
    }
    add_commit(cache, REPO, OLD, files[OLD], lfs={"data/train.jsonl"})
    add_commit(cache, REPO, NEW, files[NEW], lfs={"data/train.jsonl"}, ref="main")
    env = {
        "HF_HUB_OFFLINE": "1",
        "HF_HUB_CACHE": str(cache),
        "HF_HOME": str(tmp_path / "hf-home"),
        "HF_DATASETS_OFFLINE": "1",
        "SPECC_CACHE_DIR": str(tmp_path / "specc-cache"),
    }
    return Hub(cache, env, files)


def spec(folder: Path, source: str, name: str = "hubby") -> Path:
    """A spec with one `hf` source named `hub` (`source` holds its extra YAML lines)."""
    return write(
        folder / "spec.yaml",
        f"specc: 1\nname: {name}\ndescription: d\nlicense: mit\nseed: 7\n"
        "card: {draft: true}\n"
        f"sources:\n  hub:\n    type: hf\n    path: {REPO}\n    license: mit\n"
        + textwrap.indent(textwrap.dedent(source), "    "),
    )


def built_rows(folder: Path, name: str = "hubby") -> dict[str, list[dict[str, object]]]:
    """The rows of each output split, without `_id`."""
    rows: dict[str, list[dict[str, object]]] = {}
    for path in sorted((folder / "build" / name / "data").glob("*.parquet")):
        table = pq.read_table(path).drop_columns(["_id"])
        rows.setdefault(path.name.split("-")[0], []).extend(table.to_pylist())
    return rows


def texts(rows: list[dict[str, object]]) -> list[object]:
    return [row["text"] for row in rows]


def fails(result: subprocess.CompletedProcess) -> str:
    """The stderr of a run that must fail cleanly: exit code 1, no traceback."""
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    return result.stderr


def test_the_cache_is_one_huggingface_hub_accepts(hub: Hub) -> None:
    from huggingface_hub import snapshot_download

    main = snapshot_download(REPO, repo_type="dataset", revision="main", cache_dir=hub.cache, local_files_only=True)
    old = snapshot_download(REPO, repo_type="dataset", revision=OLD, cache_dir=hub.cache, local_files_only=True)
    assert Path(main).name == NEW and Path(old).name == OLD
    assert (Path(old) / "data" / "train.jsonl").read_bytes() == hub.files[OLD]["data/train.jsonl"]


def test_main_builds_the_newer_commit_and_pins_it(hub: Hub, tmp_path: Path) -> None:
    spec(tmp_path, "revision: main\n")
    plan = run_cli("plan", "spec.yaml", cwd=tmp_path, env=hub.env)
    assert plan.returncode == 0, plan.stderr
    assert "+ sources.hub" in plan.stdout and " hf" in plan.stdout
    result = run_cli("build", "spec.yaml", cwd=tmp_path, env=hub.env)
    assert result.returncode == 0, result.stderr
    assert texts(built_rows(tmp_path)["train"]) == [f"new train {i}" for i in range(4)]
    pins = json.loads((tmp_path / "spec.lock").read_text())["steps"]["sources.hub"]["pins"]
    assert pins == {
        "repo": REPO,
        "requested": "main",
        "revision": NEW,
        "config": None,
        "split": "train",
        "data_files": None,
        "files": [hub.pin(NEW, "README.md"), hub.pin(NEW, "data/train.jsonl")],
    }
    # the card lists the pinned files
    assert hub.pin(NEW, "data/train.jsonl")["sha256"] in (tmp_path / "build" / "hubby" / "README.md").read_text()
    croissant = json.loads((tmp_path / "build" / "hubby" / "croissant.json").read_text())
    assert f"repo {REPO}; revision {NEW}." in croissant["rai:dataCollection"]


def test_a_commit_sha_reads_that_commit(hub: Hub, tmp_path: Path) -> None:
    spec(tmp_path, f"revision: '{OLD}'\nhub_split: test\nsplit: test\n")
    result = run_cli("build", "spec.yaml", cwd=tmp_path, env=hub.env)
    assert result.returncode == 0, result.stderr
    assert texts(built_rows(tmp_path)["test"]) == ["old test 0", "old test 1"]
    pins = json.loads((tmp_path / "spec.lock").read_text())["steps"]["sources.hub"]["pins"]
    assert pins["revision"] == OLD and pins["files"] == [hub.pin(OLD, "data/test.jsonl")]  # no README at OLD


PIN_SCRIPT = """
import json, sys
from specc.builtins.hub import HubSource
from specc.compiler import compile_spec, own_params
from specc.components import Context
from specc.errors import SpeccError
from specc.executor import BuildOptions
from specc.executor.local import run_local
from specc.publish import write_outputs
from specc.spec import load_spec

results = []
for path, locked in json.loads(sys.argv[1]):
    spec = load_spec(path)
    source = HubSource(own_params(HubSource.Params, spec.model.sources["hub"]), Context("hub", 0, spec.dir))
    out = {"pin_locked": source.pin(locked), "pin_fresh": source.pin(None)}
    plan = compile_spec(spec, locked_pins={"sources.hub": locked})
    out["plan_pins"] = plan.stage("sources")[0].pins
    try:
        run_local(plan, BuildOptions(write_outputs))
    except SpeccError as exc:
        out["error"] = str(exc)
    results.append(out)
print(json.dumps(results))
"""


def run_pinned(hub: Hub, *cases: tuple[Path, dict[str, object]]) -> list[dict[str, object]]:
    """For each (spec, locked pins): pin(locked), pin(None), and a build through compile_spec and run_local."""
    result = subprocess.run(
        [sys.executable, "-c", PIN_SCRIPT, json.dumps([[str(p), pins] for p, pins in cases])],
        cwd=ROOT,
        env={**os.environ, **hub.env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_locked_pins_keep_the_older_commit_while_main_moved(hub: Hub, tmp_path: Path) -> None:
    locked = {
        "repo": REPO,
        "requested": "main",
        "revision": OLD,
        "config": None,
        "split": "train",
        "data_files": None,
        "files": [hub.pin(OLD, "data/train.jsonl")],
    }
    tampered = {**locked, "files": [{**hub.pin(OLD, "data/train.jsonl"), "sha256": "0" * 64}]}
    same, other_split, bad = run_pinned(
        hub,
        (spec(tmp_path / "same", "revision: main\n"), locked),
        (spec(tmp_path / "other", "revision: main\nhub_split: test\n"), locked),
        (spec(tmp_path / "bad", "revision: main\n"), tampered),
    )
    # the lock's pins still apply: returned unchanged, and the build reads the older commit
    assert same["pin_locked"] == locked and same["plan_pins"] == locked
    assert same["pin_fresh"]["revision"] == NEW  # resolved anew, main is the newer commit
    assert "error" not in same, same.get("error")
    assert texts(built_rows(tmp_path / "same")["train"]) == [f"old train {i}" for i in range(3)]

    # another split of the same request keeps the locked commit and lists that split's files
    assert other_split["pin_locked"]["revision"] == OLD
    assert other_split["pin_locked"]["files"] == [hub.pin(OLD, "data/test.jsonl")]
    assert texts(built_rows(tmp_path / "other")["train"]) == ["old test 0", "old test 1"]

    # a file whose bytes differ from the lock's is refused, by name
    assert bad["pin_locked"] == tampered
    assert bad["error"].startswith("error: source 'hub': file 'data/train.jsonl' of data set 'org/name'"), bad
    assert "000000000000" in bad["error"] and "--force-download" in bad["error"]


def test_offline_and_not_cached_names_the_data_set_and_revision(hub: Hub, tmp_path: Path) -> None:
    write(
        tmp_path / "spec.yaml",
        "specc: 1\nname: x\ndescription: d\nlicense: mit\n"
        "sources:\n  hub: {type: hf, path: org/absent, revision: v1.0}\ncard: {draft: true}\n",
    )
    stderr = fails(run_cli("build", "spec.yaml", cwd=tmp_path, env=hub.env))
    assert stderr.startswith(
        "error: source 'hub': data set 'org/absent' at revision 'v1.0' is not in the Hugging Face cache"
    ), stderr
    assert "offline" in stderr and "hf download --repo-type dataset org/absent --revision v1.0" in stderr
    # a commit of a cached data set that is not in the cache
    spec(tmp_path, f"revision: '{'3' * 40}'\n")
    stderr = fails(run_cli("plan", "spec.yaml", cwd=tmp_path, env=hub.env))
    assert f"data set '{REPO}' at revision '{'3' * 40}' is not in the Hugging Face cache" in stderr


def test_unknown_config_or_split_lists_the_available_ones(hub: Hub, tmp_path: Path) -> None:
    spec(tmp_path, "config: tiny\n")
    stderr = fails(run_cli("build", "spec.yaml", cwd=tmp_path, env=hub.env))
    assert stderr.startswith(
        f"error: source 'hub': data set '{REPO}' at revision 'main' (commit {NEW}) "
        "has no config 'tiny'; its configs are: default, small; set `config:`"
    ), stderr
    spec(tmp_path, "hub_split: validation\n")
    stderr = fails(run_cli("build", "spec.yaml", cwd=tmp_path, env=hub.env))
    assert "has no split 'validation'; its splits are: train, test; set `hub_split:`" in stderr, stderr


def test_columns_and_class_labels(hub: Hub, tmp_path: Path) -> None:
    import datasets

    spec(tmp_path, "hub_split: test\nsplit: test\ncolumns: {question: text, intent: label}\n")
    result = run_cli("build", "spec.yaml", cwd=tmp_path, env=hub.env)
    assert result.returncode == 0, result.stderr
    loaded = datasets.load_dataset(str(tmp_path / "build" / "hubby"), split="test")
    assert loaded.column_names == ["_id", "question", "intent"]
    assert loaded.features["intent"].names == ["neg", "pos"]
    assert loaded["question"] == ["new test 0", "new test 1"] and loaded["intent"] == [0, 1]


def test_configs_and_data_files_choose_the_files(hub: Hub, tmp_path: Path) -> None:
    # the README's config `small` maps its train split to data/test.jsonl
    spec(tmp_path, "config: small\n")
    assert run_cli("build", "spec.yaml", cwd=tmp_path, env=hub.env).returncode == 0
    assert texts(built_rows(tmp_path)["train"]) == ["new test 0", "new test 1"]
    # `data_files` at a commit without a README
    spec(tmp_path, f"revision: '{OLD}'\ndata_files: data/test.jsonl\n")
    result = run_cli("build", "spec.yaml", cwd=tmp_path, env=hub.env)
    assert result.returncode == 0, result.stderr
    assert texts(built_rows(tmp_path)["train"]) == ["old test 0", "old test 1"]


def test_a_loading_script_is_refused(hub: Hub, tmp_path: Path) -> None:
    add_commit(
        hub.cache,
        "org/scripted",
        "4" * 40,
        {"scripted.py": b"raise SystemExit('ran remote code')\n", "data/train.jsonl": jsonl("x", 2)},
        set(),
        ref="main",
    )
    write(
        tmp_path / "spec.yaml",
        "specc: 1\nname: x\ndescription: d\nlicense: mit\n"
        "sources:\n  hub: {type: hf, path: org/scripted}\ncard: {draft: true}\n",
    )
    stderr = fails(run_cli("build", "spec.yaml", cwd=tmp_path, env=hub.env))
    assert "holds a loading script (scripted.py), and specc never runs code from the Hub" in stderr


def test_params_are_checked_and_validate_stays_light(tmp_path: Path) -> None:
    write(
        tmp_path / "bad.yaml",
        "specc: 1\nname: x\ndescription: d\nlicense: mit\n"
        "sources:\n  hub: {type: hf, path: 'not a repo', data_files: ../x.jsonl, splitt: train}\n"
        "card: {draft: true}\n",
    )
    stderr = run_cli("validate", "bad.yaml", cwd=tmp_path).stderr
    assert "sources.hub.path: 'not a repo' is not a Hub repo id" in stderr
    assert "sources.hub.data_files: '../x.jsonl' is not a path within the repo" in stderr
    assert "splitt" in stderr
    good = write(
        tmp_path / "good.yaml",
        "specc: 1\nname: x\ndescription: d\nlicense: mit\n"
        "sources:\n  hub: {type: hf, path: dair-ai/emotion, hub_split: test}\ncard: {draft: true}\n",
    )
    assert top_level(modules_imported("validate", str(good)), {"datasets", "huggingface_hub"}) == []
