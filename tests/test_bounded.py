"""Reading input files: regular files only, never more than the limit, nesting bounded."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from localhb.core.bounded import (
    MAX_MARKDOWN_DEPTH,
    NotReadable,
    deepest_line,
    open_regular,
    read_regular,
    size_text,
)


def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    """Opening a FIFO with no writer returns at once and is refused as a FIFO."""
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(NotReadable, match=r"is a FIFO \(named pipe\); only regular files"):
        read_regular(fifo, 100)


def test_devices_and_directories_are_refused(tmp_path: Path) -> None:
    """/dev/zero (endless) is not a regular file; a directory raises IsADirectoryError."""
    with pytest.raises(NotReadable, match="character device"):
        read_regular("/dev/zero", 100)
    with pytest.raises(IsADirectoryError):
        read_regular(tmp_path, 100)
    with pytest.raises(FileNotFoundError):
        read_regular(tmp_path / "missing", 100)


def test_the_limit_is_checked_before_reading(tmp_path: Path) -> None:
    """A file over the limit is refused naming both sizes; one at the limit is read whole."""
    path = tmp_path / "f"
    path.write_bytes(b"x" * 2048)
    with pytest.raises(NotReadable, match=r"is 2.0 KiB; the limit is 1.0 KiB"):
        read_regular(path, 1024)
    assert read_regular(path, 2048) == b"x" * 2048
    with open_regular(path) as (fd, info):
        assert info.st_size == 2048 and os.read(fd, 3) == b"xxx"


def test_size_text() -> None:
    """Sizes read as bytes, KiB, MiB and GiB."""
    assert [size_text(n) for n in (5, 1536, 25 * 1024 * 1024, 1 << 30)] == [
        "5 bytes",
        "1.5 KiB",
        "25.0 MiB",
        "1.0 GiB",
    ]


@pytest.mark.parametrize(
    ("line", "depth"),
    [
        ("  " * 20 + "- x", 21),
        ("- " * 20 + "x", 20),
        ("> " * 20 + "x", 20),
        (">" * 20 + "x", 20),
        ("1. " * 20 + "x", 20),
        ("\t" * 9 + "- x", 19),
    ],
)
def test_deepest_line_finds_deep_nesting(line: str, depth: int) -> None:
    """Indentation and list or quote markers count as nesting levels."""
    text = "## Pending\n### A\n- Description: x\n" + line + "\n"
    assert deepest_line(text) == (4, depth)


def test_deepest_line_ignores_code_fences_and_shallow_text() -> None:
    """Deep indentation inside a code fence, and ordinary tasks, are not nesting."""
    fenced = "```\n" + " " * 200 + "code\n```\n"
    tilde = "~~~python\n" + "- " * 100 + "\n~~~\n"
    normal = "### A\n- Recurring: daily at 09:00\n  - nested once\n    - twice\n"
    assert deepest_line(fenced + tilde + normal) is None
    assert deepest_line("  " * MAX_MARKDOWN_DEPTH + "x") is None
    assert deepest_line("  " * MAX_MARKDOWN_DEPTH + "- x") == (1, MAX_MARKDOWN_DEPTH + 1)
