"""Reading input files safely: regular files only, never more than a limit.

A FIFO opened for reading blocks until a writer comes (forever, for a cycle
that holds the lock); `/dev/zero` never ends; a 25 MB file costs seconds and
a gigabyte to parse. So every file localhb reads on its own behalf
(config.toml, HEARTBEAT.md, a file the agent's `read_file` asks for) is
opened with `O_NONBLOCK` (the open of a FIFO returns at once), checked with
`fstat` to be a regular file, and read only up to a stated limit.

Only the standard library: the idle fast path reads through here too.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = [
    "MAX_CONFIG_BYTES",
    "MAX_HEARTBEAT_BYTES",
    "MAX_MARKDOWN_DEPTH",
    "NotReadable",
    "deepest_line",
    "open_regular",
    "read_regular",
    "size_text",
]

MAX_CONFIG_BYTES = 1024 * 1024
"""config.toml may be at most 1 MiB (a real one is a few KiB)."""
MAX_HEARTBEAT_BYTES = 1024 * 1024
"""HEARTBEAT.md may be at most 1 MiB (some 20,000 lines: parsing takes under a second,
a few seconds for a megabyte of nothing but nested list items)."""
MAX_MARKDOWN_DEPTH = 16
"""Lists and quotes in HEARTBEAT.md nest at most 16 levels (a task uses 1 or 2)."""

_FLAGS = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)


class NotReadable(ValueError):
    """The path is not a regular file, or is larger than the limit. The message
    says which, without the path (the caller names the place)."""


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def size_text(n: int) -> str:
    """1.5 KiB, 25.0 MiB."""
    if n < 1024:
        return f"{n} bytes"
    if n < 1024 * 1024:
        return f"{n / 1024:.1f} KiB"
    if n < 1024**3:
        return f"{n / 1024 / 1024:.1f} MiB"
    return f"{n / 1024**3:.1f} GiB"


@contextmanager
def open_regular(path: str | os.PathLike[str]) -> Iterator[tuple[int, os.stat_result]]:
    """An fd open for reading on `path` and its fstat, once it is known to be a
    regular file. A FIFO does not block the open; a directory raises
    IsADirectoryError, any other kind of file NotReadable; OSError as usual."""
    fd = os.open(path, _FLAGS)
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), os.fspath(path))
        if not stat.S_ISREG(info.st_mode):
            raise NotReadable(f"is {_kind(info.st_mode)}; only regular files are read")
        os.set_blocking(fd, True)
        yield fd, info
    finally:
        os.close(fd)


def read_regular(path: str | os.PathLike[str], limit: int) -> bytes:
    """All of the regular file `path`, refused (NotReadable) when it is larger
    than `limit` bytes; never reads more than `limit + 1` bytes (a file that
    grows while it is read is caught too)."""
    with open_regular(path) as (fd, info):
        if info.st_size > limit:
            raise NotReadable(f"is {size_text(info.st_size)}; the limit is {size_text(limit)}")
        chunks: list[bytes] = []
        got = 0
        while got <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - got))
            if not chunk:
                break
            chunks.append(chunk)
            got += len(chunk)
        if got > limit:
            raise NotReadable(f"is over {size_text(limit)}, the limit")
        return b"".join(chunks)


def _fence(line: str) -> str | None:
    """The fence characters when `line` opens or closes a code fence."""
    stripped = line.lstrip(" ")
    if len(line) - len(stripped) > 3:
        return None
    for mark in ("```", "~~~"):
        if stripped.startswith(mark):
            return mark
    return None


def _depth(line: str) -> int:
    """How many list or quote levels a line's start implies: each 2 columns of
    indentation (a tab is 4) and each `- `, `* `, `+ `, `1. ` or `>` marker."""
    depth = 0
    i, n = 0, len(line)
    columns = 0
    while i < n:
        ch = line[i]
        if ch == " ":
            columns += 1
            i += 1
        elif ch == "\t":
            columns += 4
            i += 1
        elif ch == ">":  # with its one optional space
            depth += 1
            i += 2 if line[i + 1 : i + 2] == " " else 1
        elif ch in "-*+" and i + 1 < n and line[i + 1] in " \t":
            depth += 1
            i += 2
        elif ch.isdigit():
            j = i
            while j < n and j - i < 9 and line[j].isdigit():
                j += 1
            if j + 1 < n and line[j] in ".)" and line[j + 1] in " \t":
                depth += 1
                i = j + 2
            else:
                break
        else:
            break
    return depth + columns // 2


def deepest_line(text: str, limit: int = MAX_MARKDOWN_DEPTH) -> tuple[int, int] | None:
    """(line number, depth) of the first line nested deeper than `limit`
    (outside code fences), else None. Linear in the text."""
    fence: str | None = None
    for number, line in enumerate(text.splitlines(), 1):
        mark = _fence(line)
        if fence is not None:
            if mark == fence:
                fence = None
            continue
        if mark is not None:
            fence = mark
            continue
        if 2 * len(line) > limit and line[:1] in " \t>-*+0123456789":
            depth = _depth(line)
            if depth > limit:
                return number, depth
    return None
