"""The url source against a real HTTP server on localhost: pins, the download cache, errors."""

from __future__ import annotations

import functools
import gzip
import hashlib
import http.server
import json
import shutil
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from textwrap import indent
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pydantic import ValidationError

from specc.builtins.url import UrlParams, UrlSource
from specc.cache import BUILDS_LOCK, TAG
from specc.compiler import compile_spec
from specc.components import Context, Params
from specc.errors import DataError
from specc.executor import BuildOptions
from specc.plugins import get_registry
from specc.publish import write_outputs
from specc.spec import load_spec
from tests.conftest import run_cli, write

ROWS = [
    {"text": "my parcel never arrived", "label": "shipping"},
    {"text": "I was charged twice this month", "label": "billing"},
    {"text": "how do I send the shoes back", "label": "returns"},
]
NEW_ROWS = ROWS + [{"text": "the invoice shows the wrong address", "label": "billing"}]


def jsonl(rows: list[dict[str, Any]]) -> bytes:
    """Rows as JSON Lines."""
    return "".join(json.dumps(row) + "\n" for row in rows).encode()


def sha(data: bytes) -> str:
    """SHA-256 of bytes, in hex."""
    return hashlib.sha256(data).hexdigest()


class Server:
    """A real HTTP server on 127.0.0.1 serving a folder, counting the requests it answers."""

    def __init__(self, root: Path):
        self.root = root
        self.requests: list[str] = []
        server = self

        class Handler(http.server.SimpleHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests.append(self.path)
                super().do_GET()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(root)))
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.running = True

    def url(self, name: str) -> str:
        """The URL of a served file."""
        return f"http://127.0.0.1:{self.port}/{name}"

    def put(self, name: str, data: bytes) -> str:
        """Serve `data` as `name`; its URL."""
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return self.url(name)

    def stop(self) -> None:
        """Stop serving; the port refuses connections afterwards."""
        if self.running:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.thread.join()
            self.running = False


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    """A running server over tmp_path/served, stopped at the end of the test."""
    served = Server(tmp_path / "served")
    served.root.mkdir()
    yield served
    served.stop()


def spec_file(folder: Path, source: str) -> Path:
    """A spec with one source `remote` whose keys are `source` (YAML lines)."""
    return write(
        folder / "spec.yaml",
        f"""\
specc: 1
name: remote
description: Rows downloaded over HTTP.
license: mit
sources:
  remote:
{indent(source.strip(), "    ")}
card: {{draft: true}}
""",
    )


def built_rows(spec: Path) -> list[dict[str, Any]]:
    """The rows of the built train split, without `_id`."""
    table = pq.read_table(spec.parent / "build" / "remote" / "data" / "train-00000-of-00001.parquet")
    return table.drop_columns(["_id"]).to_pylist()


def cached_files(cache: Path) -> list[Path]:
    """Every file under a cache folder but its CACHEDIR.TAG and the builds' lock."""
    files = cache.rglob("*") if cache.exists() else []
    return sorted(p for p in files if p.is_file() and p.name not in (TAG, BUILDS_LOCK))


def forget_steps(cache: Path) -> None:
    """Empty the step cache but keep the downloads (and the tag), so the next build reads the source again."""
    for child in cache.iterdir():
        if child.name not in ("downloads", TAG, BUILDS_LOCK):
            shutil.rmtree(child)


def run_plan(plan: Any) -> dict[str, Any]:
    """Build a compiled plan with the local executor; the statistics."""
    runner = get_registry().get("executor", "local").cls(Params(), Context("executor.local", 0, plan.spec.dir))
    return runner.run(plan, BuildOptions(write_outputs)).stats.json_data()


def source_pins(spec: Path, cache: Path, locked: dict[str, Any] | None = None) -> dict[str, Any]:
    """The pins the compiler gives source `remote`."""
    plan = compile_spec(load_spec(spec), locked_pins={"sources.remote": locked} if locked else None, cache_dir=cache)
    return plan.stage("sources")[0].pins


# --- builds, pins and the cache --------------------------------------------------------------


def test_url_source_builds_and_rebuilds_from_the_cache_with_the_server_stopped(server: Server, tmp_path: Path) -> None:
    data = jsonl(ROWS)
    url = server.put("data/faq.jsonl", data)
    spec = spec_file(tmp_path / "project", f"type: url\nurl: {url}\nlicense: cc-by-4.0")
    cache = spec.parent / ".specc" / "cache"  # the default cache folder
    result = run_cli("build", str(spec), env={"SPECC_CACHE_DIR": ""})
    assert result.returncode == 0, result.stderr
    assert built_rows(spec) == ROWS
    croissant = json.loads((spec.parent / "build" / "remote" / "croissant.json").read_text())
    assert f"url {url}." in croissant["rai:dataCollection"]
    blob = cache / "downloads" / "sha256" / sha(data)
    assert blob.read_bytes() == data
    assert [p for p in (cache / "downloads").rglob("*") if p.is_file()] == [blob]  # no leftover temp files

    pins = source_pins(spec, cache)
    assert pins == {
        "url": url,
        "sha256": sha(data),
        "size": len(data),
        "format": "jsonl",
        "files": [{"path": url, "sha256": sha(data), "size": len(data)}],
    }
    json.dumps(pins)
    asked = len(server.requests)
    assert source_pins(spec, cache, pins) == pins  # a lock that applies is kept without downloading
    assert len(server.requests) == asked

    server.stop()
    shutil.rmtree(spec.parent / "build")
    forget_steps(cache)
    plan = compile_spec(load_spec(spec), locked_pins={"sources.remote": pins}, cache_dir=cache)
    stats = run_plan(plan)
    assert stats["sources"]["remote"]["rows"] == len(ROWS)
    assert built_rows(spec) == ROWS


def test_spec_sha256_that_does_not_match_fails_and_leaves_nothing(server: Server, tmp_path: Path) -> None:
    data = jsonl(ROWS)
    url = server.put("faq.jsonl", data)
    wrong = sha(b"other bytes")
    spec = spec_file(tmp_path / "project", f"type: url\nurl: {url}\nsha256: '{wrong}'")
    cache = tmp_path / "cache"
    result = run_cli("build", str(spec), "--cache-dir", str(cache))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.strip() == (
        f"error: source 'remote': {url} has SHA-256 {sha(data)}, but the spec pins {wrong}; "
        f"if the file changed on purpose, set `sha256: {sha(data)}` in the spec"
    )
    assert cached_files(cache) == []
    assert not (spec.parent / "build").exists()

    spec_file(spec.parent, f"type: url\nurl: {url}\nsha256: '{sha(data).upper()}'")
    result = run_cli("build", str(spec), "--cache-dir", str(cache))
    assert result.returncode == 0, result.stderr
    assert built_rows(spec) == ROWS
    server.stop()
    forget_steps(cache)
    # the spec's own pin finds the cached bytes: no server, no lock needed
    assert source_pins(spec, cache)["sha256"] == sha(data)
    run_plan(compile_spec(load_spec(spec), cache_dir=cache))
    assert built_rows(spec) == ROWS


def test_changed_file_with_old_pin_fails_when_not_cached_and_uses_cached_bytes(server: Server, tmp_path: Path) -> None:
    old = jsonl(ROWS)
    url = server.put("faq.jsonl", old)
    spec = spec_file(tmp_path / "project", f"type: url\nurl: {url}")
    cache = tmp_path / "cache"
    pins = source_pins(spec, cache)
    assert pins["sha256"] == sha(old)
    new = jsonl(NEW_ROWS)
    server.put("faq.jsonl", new)

    fresh = tmp_path / "fresh-cache"
    asked = len(server.requests)
    plan = compile_spec(load_spec(spec), locked_pins={"sources.remote": pins}, cache_dir=fresh)
    assert len(server.requests) == asked  # compiling against the lock downloads nothing
    with pytest.raises(DataError) as failure:
        run_plan(plan)
    assert str(failure.value) == (
        f"error: source 'remote': {url} has SHA-256 {sha(new)}, but the lock pins {sha(old)}; "
        f"if the file changed on purpose, run `specc lock --upgrade-source remote`"
    )
    assert [p for p in cached_files(fresh) if "downloads" in p.parts] == []

    plan = compile_spec(load_spec(spec), locked_pins={"sources.remote": pins}, cache_dir=cache)
    asked = len(server.requests)
    run_plan(plan)
    assert built_rows(spec) == ROWS  # the pinned bytes, not the server's new file
    assert len(server.requests) == asked

    # resolving anew (what `lock --upgrade-source` does) takes the new file
    assert source_pins(spec, cache)["sha256"] == sha(new)


def test_corrupt_cache_entry_is_downloaded_again(server: Server, tmp_path: Path) -> None:
    data = jsonl(ROWS)
    spec = spec_file(tmp_path / "project", f"type: url\nurl: {server.put('faq.jsonl', data)}")
    cache = tmp_path / "cache"
    pins = source_pins(spec, cache)
    blob = cache / "downloads" / "sha256" / sha(data)
    blob.write_bytes(b'{"text": "tampered", "label": "billing"}\n')
    run_plan(compile_spec(load_spec(spec), locked_pins={"sources.remote": pins}, cache_dir=cache))
    assert built_rows(spec) == ROWS
    assert blob.read_bytes() == data


# --- errors ----------------------------------------------------------------------------------


def test_http_404_names_url_and_status(server: Server, tmp_path: Path) -> None:
    url = server.url("missing.jsonl")
    spec = spec_file(tmp_path / "project", f"type: url\nurl: {url}")
    cache = tmp_path / "cache"
    result = run_cli("build", str(spec), "--cache-dir", str(cache))
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"error: source 'remote': downloading {url} failed: HTTP 404 File not found; check the URL"
    )
    assert cached_files(cache) == []


def test_unreachable_server_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/faq.jsonl"
    spec = spec_file(tmp_path / "project", f"type: url\nurl: {url}")
    result = run_cli("build", str(spec), "--cache-dir", str(tmp_path / "cache"))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith(f"error: source 'remote': cannot reach {url} (")
    assert "check the URL and the network" in result.stderr


def test_validate_rejects_bad_scheme_format_and_options(tmp_path: Path) -> None:
    spec = write(
        tmp_path / "spec.yaml",
        """\
specc: 1
name: remote
description: Rows downloaded over HTTP.
license: mit
sources:
  ftp:
    type: url
    url: ftp://example.org/faq.jsonl
  noext:
    type: url
    url: https://example.org/export?id=3
  gz:
    type: url
    url: https://example.org/faq.jsonl.gz
  opts:
    type: url
    url: https://example.org/tickets.csv
    read_options: {delimeter: ";"}
  digest:
    type: url
    url: https://example.org/faq.jsonl
    sha256: 1234
card: {draft: true}
""",
    )
    result = run_cli("validate", str(spec))
    assert result.returncode == 1
    out = result.stdout + result.stderr
    shown = str(spec)
    assert (
        f"{shown}:8:10: error: sources.ftp.url: only http:// and https:// URLs can be downloaded; "
        f"'ftp://example.org/faq.jsonl' has scheme 'ftp'"
    ) in out
    assert (
        f"{shown}:10:5: error: sources.noext.format: cannot tell the format of https://example.org/export?id=3 "
        f"from its name; add `format:` with one of jsonl, json, csv, tsv, parquet"
    ) in out
    assert f"{shown}:13:5: error: sources.gz.format: https://example.org/faq.jsonl.gz is compressed (.gz)" in out
    assert (
        f"{shown}:18:19: error: sources.opts.read_options: unknown option 'delimeter' for format csv; "
        f"did you mean 'delimiter'? its options are: delimiter, encoding"
    ) in out
    assert f"{shown}:22:13: error: sources.digest.sha256: expected the file's SHA-256 as 64 hexadecimal digits" in out


@pytest.mark.parametrize(
    ("url", "fmt"),
    [
        ("https://example.org/a/faq.jsonl", "jsonl"),
        ("https://example.org/faq.NDJSON?download=1", "jsonl"),
        ("https://example.org/faq.json#top", "json"),
        ("https://example.org/tickets.csv", "csv"),
        ("https://example.org/tickets.tsv", "tsv"),
        ("https://example.org/train%2Dpart.parquet", "parquet"),
    ],
)
def test_format_is_inferred_from_the_path(url: str, fmt: str) -> None:
    assert UrlParams.model_validate({"url": url}).format == fmt


def test_params_errors() -> None:
    with pytest.raises(ValidationError, match="only http:// and https://"):
        UrlParams.model_validate({"url": "file:///etc/passwd", "format": "jsonl"})
    with pytest.raises(ValidationError, match="names no host"):
        UrlParams.model_validate({"url": "https:///faq.jsonl"})
    with pytest.raises(ValidationError, match="cannot set|unknown option 'path'"):
        UrlParams.model_validate({"url": "https://example.org/a.csv", "read_options": {"path": "x"}})
    with pytest.raises(ValidationError, match="invalid option for format csv: encoding: unknown encoding"):
        UrlParams.model_validate({"url": "https://example.org/a.csv", "read_options": {"encoding": "nope"}})
    with pytest.raises(ValidationError, match="extra"):
        UrlParams.model_validate({"url": "https://example.org/a.csv", "delimiter": ";"})
    assert UrlParams.model_validate({"url": "https://x.org/a.json", "read_options": {"field": "data"}}).read_options


# --- formats ---------------------------------------------------------------------------------


def test_parquet_inferred_and_explicit_format_without_extension(server: Server, tmp_path: Path) -> None:
    buffer = pa.BufferOutputStream()
    pq.write_table(pa.Table.from_pylist(ROWS), buffer)
    parquet_url = server.put("rows.parquet", buffer.getvalue().to_pybytes())
    spec = spec_file(tmp_path / "parquet", f"type: url\nurl: {parquet_url}")
    result = run_cli("build", str(spec), "--cache-dir", str(tmp_path / "cache"))
    assert result.returncode == 0, result.stderr
    assert built_rows(spec) == ROWS

    export_url = server.put("export", jsonl(ROWS)) + "?id=3"
    spec = spec_file(tmp_path / "export", f"type: url\nurl: '{export_url}'\nformat: jsonl")
    run_plan(compile_spec(load_spec(spec), cache_dir=tmp_path / "cache"))
    assert built_rows(spec) == ROWS


def test_csv_with_read_options_and_columns(server: Server, tmp_path: Path) -> None:
    text = "ticket;category\n" + "".join(f'"{r["text"]}";{r["label"]}\n' for r in ROWS)
    url = server.put("tickets.csv", text.encode("latin-1"))
    spec = spec_file(
        tmp_path / "project",
        f"""
type: url
url: {url}
read_options: {{delimiter: ";", encoding: latin-1}}
columns: {{text: ticket, label: category}}
labels: {{label: [billing, shipping, returns]}}
""",
    )
    result = run_cli("build", str(spec), "--cache-dir", str(tmp_path / "cache"))
    assert result.returncode == 0, result.stderr
    names = ["billing", "shipping", "returns"]
    assert built_rows(spec) == [{"text": r["text"], "label": names.index(r["label"])} for r in ROWS]


def test_bad_row_error_names_the_url_and_line(server: Server, tmp_path: Path) -> None:
    url = server.put("faq.jsonl", jsonl(ROWS) + b'{"text": "broken", "label": \n')
    spec = spec_file(tmp_path / "project", f"type: url\nurl: {url}")
    result = run_cli("build", str(spec), "--cache-dir", str(tmp_path / "cache"))
    assert result.returncode == 1
    assert result.stderr.startswith(f"{url}:4: error: source 'remote': invalid JSON")


def test_gzip_body_is_refused(server: Server, tmp_path: Path) -> None:
    url = server.put("faq.jsonl", gzip.compress(jsonl(ROWS)))
    params = UrlParams.model_validate({"url": url})
    source = UrlSource(params, Context("remote", 0, tmp_path, (), tmp_path / "cache"))
    with pytest.raises(DataError, match="is gzip-compressed"):
        list(source.read())


def test_lock_keeps_the_url_pin_until_upgraded_and_plan_names_the_change(server: Server, tmp_path: Path) -> None:
    old, new = jsonl(ROWS), jsonl(ROWS[:1])
    url = server.put("data/faq.jsonl", old)
    spec = spec_file(tmp_path / "project", f"type: url\nurl: {url}")
    assert run_cli("lock", str(spec)).returncode == 0
    pinned = json.loads(spec.with_suffix(".lock").read_text())["steps"]["sources.remote"]["pins"]
    assert pinned["sha256"] == sha(old)
    server.put("data/faq.jsonl", new)
    assert run_cli("plan", "--check", str(spec)).returncode == 0  # the pin stays put
    assert run_cli("build", "--frozen", str(spec)).returncode == 0
    assert built_rows(spec) == ROWS
    assert run_cli("lock", str(spec), "--upgrade-source", "remote").stdout.startswith("wrote")
    locked = json.loads(spec.with_suffix(".lock").read_text())
    assert locked["steps"]["sources.remote"]["pins"]["sha256"] == sha(new)
    assert "outputs" not in locked  # the old outputs no longer belong to this lock
    assert run_cli("build", str(spec)).returncode == 0
    assert built_rows(spec) == ROWS[:1]
