"""replace_text: the old file or the new one, never half of one, and no scratch file left behind."""

from __future__ import annotations

from pathlib import Path

import pytest

from specc.atomic import replace_text


def test_replaces_the_file_and_leaves_nothing_beside_it(tmp_path: Path) -> None:
    path = tmp_path / "spec.lock"
    replace_text(path, "first\n")
    replace_text(path, "second\r\n", newline="")
    assert path.read_bytes() == b"second\r\n"
    assert [p.name for p in tmp_path.iterdir()] == ["spec.lock"]


def test_a_failed_write_keeps_the_old_file(tmp_path: Path) -> None:
    path = tmp_path / "spec.lock"
    replace_text(path, "old\n")
    with pytest.raises(TypeError):
        replace_text(path, b"not text")  # type: ignore[arg-type]
    assert path.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["spec.lock"]
