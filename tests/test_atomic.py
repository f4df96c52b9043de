"""The one atomic writer: old or new content, mode and symlinks kept, no temp left."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from localhb.core.atomic import write_atomic


def test_replaces_content_and_keeps_mode(tmp_path: Path) -> None:
    """An existing file keeps its permission bits; text is UTF-8."""
    path = tmp_path / "d" / "f.txt"
    path.parent.mkdir()
    path.write_text("old")
    path.chmod(0o640)
    write_atomic(path, "nëw")
    assert path.read_bytes() == "nëw".encode() and path.stat().st_mode & 0o777 == 0o640
    assert os.listdir(path.parent) == ["f.txt"]


def test_new_file_gets_the_given_mode(tmp_path: Path) -> None:
    """A new file is created with `mode` (bytes are written as they are)."""
    path = tmp_path / "cache"
    write_atomic(path, b"\x00\x01", mode=0o600)
    assert path.read_bytes() == b"\x00\x01" and path.stat().st_mode & 0o777 == 0o600


def test_a_symlink_stays_a_symlink(tmp_path: Path) -> None:
    """Writing through a symlink replaces its target and keeps the link."""
    target = tmp_path / "vault" / "real.md"
    target.parent.mkdir()
    target.write_text("a")
    link = tmp_path / "link.md"
    link.symlink_to(target)
    write_atomic(link, "b")
    assert link.is_symlink() and target.read_text() == "b"


def test_a_failed_write_leaves_the_old_file_and_no_temp(tmp_path: Path) -> None:
    """When the write cannot finish, the old file is intact and no temp file remains."""
    path = tmp_path / "d" / "f.txt"
    path.parent.mkdir()
    path.write_text("old")
    with pytest.raises(TypeError):
        write_atomic(path, 42)  # type: ignore[arg-type]
    assert path.read_text() == "old" and os.listdir(path.parent) == ["f.txt"]
