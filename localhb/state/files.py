"""Reading and atomically writing HEARTBEAT.md, with a fingerprint to spot hand edits."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from localhb.core import atomic
from localhb.core.bounded import (
    MAX_HEARTBEAT_BYTES,
    MAX_MARKDOWN_DEPTH,
    NotReadable,
    deepest_line,
    read_regular,
)
from localhb.core.errors import HeartbeatFileError


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The file's text as read, and what identifies that version of it."""

    path: Path
    text: str
    sha256: str
    size: int
    mtime_ns: int

    def same_as(self, other: Snapshot) -> bool:
        return self.sha256 == other.sha256


def read_heartbeat(path: Path) -> Snapshot:
    """Read the file exactly (no newline translation); errors name the path.

    Only a regular file is read (a FIFO never blocks the cycle), of at most
    MAX_HEARTBEAT_BYTES, with lists and quotes nested at most MAX_MARKDOWN_DEPTH
    levels; anything else is refused before parsing."""
    try:
        raw = read_regular(path, MAX_HEARTBEAT_BYTES)
        st = path.stat()
    except NotReadable as exc:
        raise HeartbeatFileError(str(exc), path=path) from None
    except FileNotFoundError:
        raise HeartbeatFileError(
            "file not found (create it, or run `localhb init`)", path=path
        ) from None
    except IsADirectoryError:
        raise HeartbeatFileError("is a directory, not a file", path=path) from None
    except OSError as exc:
        raise HeartbeatFileError(f"cannot read: {exc.strerror}", path=path) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise HeartbeatFileError(
            f"line {line}: not UTF-8 text (byte 0x{raw[exc.start]:02x}); save the file as UTF-8",
            path=path,
        ) from None
    deep = deepest_line(text)
    if deep is not None:
        line, depth = deep
        raise HeartbeatFileError(
            f"line {line}: lists or quotes nested {depth} levels deep; "
            f"the limit is {MAX_MARKDOWN_DEPTH}",
            path=path,
        )
    return Snapshot(path, text, hashlib.sha256(raw).hexdigest(), st.st_size, st.st_mtime_ns)


def write_atomic(
    path: Path,
    text: str,
    *,
    precheck: atomic.Precheck | None = None,
    hook: atomic.Hook | None = None,
) -> bool:
    """Replace `path` with `text` atomically (`localhb.core.atomic.write_atomic`):
    fsynced, the old file's mode kept, a symlink kept pointing at the new text.

    With `precheck`, False when the file was not (or is no longer) the version
    the text was made from: read it again and re-apply."""
    return atomic.write_atomic(path, text, precheck=precheck, hook=hook)


def unchanged_since(snap: Snapshot) -> atomic.Precheck:
    """A `precheck` accepting only the bytes `snap` was read from."""

    def check(raw: bytes | None) -> bool:
        return raw is not None and hashlib.sha256(raw).hexdigest() == snap.sha256

    return check


def read_only(path: Path) -> bool:
    """Whether the file has no write permission bit at all (`chmod 444`): hands off.

    Decided by the mode bits, not by access(2), so it holds for root too."""
    try:
        return os.stat(path).st_mode & 0o222 == 0
    except OSError:
        return False
