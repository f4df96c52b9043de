"""state.files: reading HEARTBEAT.md exactly, refusing what it must not read, and
writing it atomically only over the version a change was made from."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from localhb.core.bounded import MAX_HEARTBEAT_BYTES, MAX_MARKDOWN_DEPTH
from localhb.core.errors import HeartbeatFileError
from localhb.state.files import read_heartbeat, read_only, unchanged_since, write_atomic


def test_read_is_exact_and_fingerprinted(tmp_path: Path) -> None:
    """No newline translation; the fingerprint is the bytes', and equal bytes compare same."""
    path = tmp_path / "HEARTBEAT.md"
    path.write_bytes(b"## Pending\r\n- [ ] a\r\n")
    snap = read_heartbeat(path)
    assert snap.text == "## Pending\r\n- [ ] a\r\n"
    assert snap.size == len(snap.text.encode())
    again = read_heartbeat(path)
    assert snap.same_as(again)
    path.write_bytes(b"## Pending\n- [ ] a\n")
    assert not snap.same_as(read_heartbeat(path))


@pytest.mark.parametrize(
    ("setup", "words"),
    [
        ("missing", "file not found (create it, or run `localhb init`)"),
        ("directory", "directory"),
        ("latin1", "line 2: not UTF-8 text (byte 0xe9); save the file as UTF-8"),
        ("deep", f"the limit is {MAX_MARKDOWN_DEPTH}"),
        ("big", "the limit is 1.0 MiB"),
        ("fifo", ""),
    ],
)
def test_unreadable_files_are_refused_naming_the_path(
    tmp_path: Path, setup: str, words: str
) -> None:
    path = tmp_path / "HEARTBEAT.md"
    if setup == "directory":
        path.mkdir()
    elif setup == "latin1":
        path.write_bytes(b"## Pending\ncaf\xe9\n")
    elif setup == "deep":
        path.write_text("".join("  " * n + "- x\n" for n in range(MAX_MARKDOWN_DEPTH + 5)))
    elif setup == "big":
        path.write_bytes(b"x" * (MAX_HEARTBEAT_BYTES + 1))
    elif setup == "fifo":
        os.mkfifo(path)
    with pytest.raises(HeartbeatFileError) as caught:
        read_heartbeat(path)
    assert str(path) in str(caught.value)
    assert words in str(caught.value)


def test_write_keeps_mode_and_symlink(tmp_path: Path) -> None:
    real = tmp_path / "real.md"
    real.write_text("old\n")
    real.chmod(0o640)
    link = tmp_path / "HEARTBEAT.md"
    link.symlink_to(real)
    assert write_atomic(link, "new\n")
    assert link.is_symlink()
    assert real.read_text() == "new\n"
    assert real.stat().st_mode & 0o777 == 0o640


def test_a_precheck_refuses_a_file_changed_since_it_was_read(tmp_path: Path) -> None:
    """The write goes through only over the bytes the change was made from."""
    path = tmp_path / "HEARTBEAT.md"
    path.write_text("v1\n")
    snap = read_heartbeat(path)
    path.write_text("v2 by hand\n")
    assert write_atomic(path, "v1 edited\n", precheck=unchanged_since(snap)) is False
    assert path.read_text() == "v2 by hand\n"
    fresh = read_heartbeat(path)
    assert write_atomic(path, "v2 edited\n", precheck=unchanged_since(fresh)) is True
    assert path.read_text() == "v2 edited\n"


def test_unchanged_since_refuses_a_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "HEARTBEAT.md"
    path.write_text("v1\n")
    check = unchanged_since(read_heartbeat(path))
    assert check(b"v1\n") and not check(None) and not check(b"v1")


def test_read_only_is_the_mode_bits(tmp_path: Path) -> None:
    path = tmp_path / "HEARTBEAT.md"
    path.write_text("x\n")
    assert not read_only(path)
    path.chmod(0o444)
    assert read_only(path)
    assert not read_only(tmp_path / "missing.md")
