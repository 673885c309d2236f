"""Issue #15: whatever bytes a spec file holds, loading it raises nothing but SpeccError."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from specc import load_spec
from specc.errors import SpeccError
from tests.fuzz.spec_strategies import SPEC_FILES


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A spec folder with the data file the generated specs name."""
    path = tmp_path_factory.mktemp("fuzz")
    (path / "rows.jsonl").write_text('{"text": "hello there"}\n')
    return path


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=SPEC_FILES)
def test_loading_any_file_raises_only_specc_errors(folder: Path, data: bytes) -> None:
    spec = folder / "spec.yaml"
    spec.write_bytes(data)
    try:
        load_spec(spec)
    except SpeccError:
        pass
