"""`specc publish`: what it uploads, the checks that refuse a folder, and the requests a real upload sends.

The Hub is a small HTTP server in the test (no network here): huggingface_hub talks to it through
HF_ENDPOINT, and the test reads the commit it received.
"""

from __future__ import annotations

import base64
import getpass
import json
import platform
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from specc.selfcheck import published_files
from specc.staging import MARKER
from tests.conftest import ROOT, run_cli, write

REPO = "my-org/support-intents"
COMMIT = "c0ffee" + "0" * 34


@dataclass
class FakeHub:
    """What the fake Hub received: (method, path, JSON or NDJSON body) per request."""

    url: str
    requests: list[tuple[str, str, object]] = field(default_factory=list)

    def paths(self) -> list[tuple[str, str]]:
        """Method and path of each request, in order."""
        return [(method, path) for method, path, _ in self.requests]

    def committed(self) -> dict[str, bytes]:
        """The files of the commit it received, by path in the repository."""
        (body,) = [body for method, path, body in self.requests if "/commit/" in path]
        assert isinstance(body, list)
        files = [line["value"] for line in body if line["key"] == "file"]
        assert all(f["encoding"] == "base64" for f in files)
        return {f["path"]: base64.b64decode(f["content"]) for f in files}


def _handler(hub: FakeHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            """Quiet."""

        def _reply(self, status: int, data: object) -> None:
            payload = json.dumps(data).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if "/commit/" in self.path:
                body: object = [json.loads(line) for line in raw.decode().splitlines() if line.strip()]
            else:
                body = json.loads(raw or b"{}")
            hub.requests.append(("POST", self.path, body))
            if self.path == "/api/validate-yaml":  # huggingface_hub has the Hub check a card's metadata
                return self._reply(200, {"errors": [], "warnings": []})
            if self.path == "/api/repos/create":
                return self._reply(200, {"url": f"{hub.url}/datasets/{REPO}", "name": REPO})
            if "/preupload/" in self.path:
                assert isinstance(body, dict)
                files = [{"path": f["path"], "uploadMode": "regular", "shouldIgnore": False} for f in body["files"]]
                return self._reply(200, {"files": files})
            if "/commit/" in self.path:
                return self._reply(
                    200, {"commitUrl": f"{hub.url}/datasets/{REPO}/commit/{COMMIT}", "commitOid": COMMIT}
                )
            return self._reply(404, {"error": f"not found: {self.path}"})

        def do_GET(self) -> None:
            hub.requests.append(("GET", self.path, None))
            self._reply(404, {"error": f"not found: {self.path}"})

    return Handler


@pytest.fixture
def hub() -> Iterator[FakeHub]:
    """A fake Hub on a free local port, serving in a thread."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(FakeHub("")))
    hub = FakeHub(f"http://127.0.0.1:{server.server_address[1]}")
    server.RequestHandlerClass = _handler(hub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield hub
    server.shutdown()
    server.server_close()


def _env(hub: FakeHub) -> dict[str, str]:
    return {"HF_ENDPOINT": hub.url, "HF_HUB_OFFLINE": "0", "HF_HUB_DISABLE_TELEMETRY": "1", "HF_TOKEN": ""}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """specs/quickstart.yaml built once; tests copy its output before changing it."""
    folder = tmp_path_factory.mktemp("publish")
    shutil.copytree(ROOT / "specs", folder / "specs", ignore=shutil.ignore_patterns("build", ".specc"))
    result = run_cli("build", str(folder / "specs" / "quickstart.yaml"))
    assert result.returncode == 0, result.stderr
    return folder / "specs" / "build" / "support-intents"


@pytest.fixture
def output(built: Path, tmp_path: Path) -> Path:
    """A copy of the built output, with its marker naming the spec as before (same depth)."""
    copy = tmp_path / "specs" / "build" / "support-intents"
    shutil.copytree(built, copy)
    shutil.copy(built.parent.parent / "quickstart.yaml", tmp_path / "specs" / "quickstart.yaml")
    return copy


def test_dry_run_lists_every_file_but_the_marker_and_sends_nothing(output: Path, hub: FakeHub) -> None:
    result = run_cli("publish", str(output), "--repo", REPO, "--dry-run", env=_env(hub))
    assert result.returncode == 0, result.stderr
    expected = [p.relative_to(output).as_posix() for p in published_files(output)]
    listed = [line.split()[0] for line in result.stdout.splitlines()[1:-1]]
    assert listed == expected and "README.md" in listed and "stats.json" in listed
    assert MARKER not in result.stdout and (output / MARKER).is_file()
    assert f"would upload {len(expected)} files" in result.stdout and f"datasets/{REPO}" in result.stdout
    assert hub.requests == []


def test_upload_sends_one_commit_of_the_folder_without_the_marker(output: Path, hub: FakeHub) -> None:
    result = run_cli("publish", str(output), "--repo", REPO, "--token", "hf_test", "-m", "v1.0.0", env=_env(hub))
    assert result.returncode == 0, result.stderr
    assert f"uploaded: {hub.url}/datasets/{REPO}/commit/{COMMIT}" in result.stdout
    assert hub.paths()[0] == ("POST", "/api/repos/create")
    assert hub.requests[0][2] == {"name": "support-intents", "organization": "my-org", "type": "dataset"} | {
        k: v for k, v in hub.requests[0][2].items() if k not in ("name", "organization", "type")
    }
    assert ("POST", f"/api/datasets/{REPO}/commit/main") in hub.paths()
    (validated,) = [body for _, path, body in hub.requests if path == "/api/validate-yaml"]
    assert validated == {"content": (output / "README.md").read_text(), "repoType": "dataset"}
    committed = hub.committed()
    assert committed == {p.relative_to(output).as_posix(): p.read_bytes() for p in published_files(output)}
    assert MARKER not in committed
    (header,) = [b for _, path, body in hub.requests if "/commit/" in path for b in body if b["key"] == "header"]
    assert header["value"]["summary"] == "v1.0.0"


def test_upload_to_a_branch_and_a_refusing_hub(output: Path, hub: FakeHub) -> None:
    result = run_cli("publish", str(output), "--repo", REPO, "--revision", "v1", "--private", env=_env(hub))
    assert result.returncode == 1
    assert f"error: the Hub refused the upload to {REPO}" in result.stderr and "Traceback" not in result.stderr
    assert hub.requests[0][2]["visibility"] == "private"  # type: ignore[index]
    assert ("POST", f"/api/datasets/{REPO}/branch/v1") in hub.paths()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--repo", "no spaces allowed"], "is not a Hub repo id"),
        (["--repo", REPO, "--revision", "a" * 40], "give a branch name"),
        ([], "Missing option '--repo'"),
    ],
)
def test_command_line_mistakes_exit_2(output: Path, args: list[str], message: str) -> None:
    result = run_cli("publish", str(output), *args, "--dry-run")
    assert result.returncode == 2 and message in result.stderr


def _refused(folder: Path, hub: FakeHub) -> str:
    result = run_cli("publish", str(folder), "--repo", REPO, "--dry-run", env=_env(hub))
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert "cannot be published as it is" in result.stderr and hub.requests == []
    return result.stderr


def test_a_folder_specc_did_not_make_is_refused(tmp_path: Path, hub: FakeHub) -> None:
    write(tmp_path / "mine" / "README.md", "---\nlicense: mit\n---\n# mine\n")
    assert f"{tmp_path / 'mine' / MARKER}: missing or unreadable" in _refused(tmp_path / "mine", hub)
    missing = run_cli("publish", str(tmp_path / "absent"), "--repo", REPO, "--dry-run")
    assert missing.returncode == 2 and "no such folder" in missing.stderr  # a command-line mistake


def test_an_incomplete_or_changed_output_is_refused(output: Path, hub: FakeHub) -> None:
    (output / "data" / "test-00000-of-00001.parquet").unlink()
    (output / "croissant.json").unlink()
    with (output / "data" / "train-00000-of-00001.parquet").open("ab") as handle:
        handle.write(b"x")
    stderr = _refused(output, hub)
    assert f"{output}/data/test-00000-of-00001.parquet: missing, though stats.json names it" in stderr
    assert f"{output}/croissant.json: missing" in stderr
    assert f"{output}/data/train-00000-of-00001.parquet: its bytes differ" in stderr


def test_a_card_whose_metadata_does_not_parse_is_refused(output: Path, hub: FakeHub) -> None:
    card = output / "README.md"
    card.write_text(card.read_text().replace("license: cc-by-4.0", "license: [cc-by-4.0\n"), encoding="utf-8")
    assert f"{output}/README.md: the card's metadata does not parse with huggingface_hub" in _refused(output, hub)


def test_machine_paths_names_and_outside_links_are_refused(output: Path, hub: FakeHub) -> None:
    spec_dir = output.parent.parent
    card = output / "README.md"
    card.write_text(
        f"---\n# made on {platform.node()}\n"
        + card.read_text().removeprefix("---\n")
        + f"\nBuilt in {spec_dir}/build on {platform.node()}.\n\n[notes](../../notes.md) [abs](/etc/x) "
        '<img src="../up.png">\n',
        encoding="utf-8",
    )
    (output / "link").symlink_to(spec_dir / "quickstart.yaml")
    stderr = _refused(output, hub)
    line = len(card.read_text().splitlines()) - 2
    assert f"{output}/README.md:{line}: the absolute path '{spec_dir}/build'" in stderr
    assert f"{output}/README.md:2: the host name '{platform.node()}'" in stderr  # in the metadata
    assert f"{output}/README.md:{line}: the host name" not in stderr  # in the body it may be a word of the data
    assert f"{output}/README.md: a link to '../../notes.md', outside the folder" in stderr
    assert f"{output}/README.md: a link to the absolute path '/etc/x'" in stderr
    assert f"{output}/README.md: a link to '../up.png', outside the folder" in stderr
    assert f"{output}/link: a symbolic link to a place outside the folder" in stderr
    assert "fix: clean such paths out of the sources' data" in stderr


LEAKY = """\
specc: 1
name: leaky
description: Rows that name the folder they were made in.
license: mit
seed: 1
sources:
  rows: {type: jsonl, path: rows.jsonl, labels: {label: [a, b]}, license: mit}
card:
  draft: true
  sections:
    - {name: notes, template: notes.md.j2}
"""


def test_a_build_whose_output_would_leak_fails_naming_file_and_leak(tmp_path: Path) -> None:
    """The self-check at the end of a build: a data value holding the spec's absolute folder, and a card
    template linking a file outside the output folder, fail the build; no output is published."""
    rows = [{"text": f"row {i} of {tmp_path}/notes" if i == 3 else f"row {i}", "label": "ab"[i % 2]} for i in range(8)]
    write(tmp_path / "rows.jsonl", "".join(json.dumps(row) + "\n" for row in rows))
    write(tmp_path / "notes.md.j2", "## Notes\n\nSee [the notes](../../notes.md).\n")
    spec = write(tmp_path / "spec.yaml", LEAKY)
    result = run_cli("build", str(spec))
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert "error: the output folder would publish the build machine or point outside itself:" in result.stderr
    assert f"data/train-00000-of-00001.parquet: the absolute path '{tmp_path}/notes' in column 'text'" in result.stderr
    assert "README.md: a link to '../../notes.md', outside the folder" in result.stderr
    assert "fix: clean such paths out of the sources' data (a `regex` step)" in result.stderr
    assert not (tmp_path / "build" / "leaky").exists()

    write(tmp_path / "notes.md.j2", "## Notes\n\nSee [the spec's home](https://example.org/notes).\n")
    # the host's and the user's names as words of the data (the card quotes rows) are no leak
    words = f"runs on {platform.node()}, see https://example.org/{getpass.getuser()}/repo"
    write(tmp_path / "rows.jsonl", "".join(json.dumps(row | {"text": f"{row['text']} {words}"}) + "\n" for row in rows))
    spec.write_text(
        LEAKY.replace("card:", "clean:\n  - {type: regex, column: text, pattern: ' of /', action: drop}\ncard:")
    )
    result = run_cli("build", str(spec))
    assert result.returncode == 0, result.stderr
    assert words in (tmp_path / "build" / "leaky" / "README.md").read_text(encoding="utf-8")  # quoted, not refused
