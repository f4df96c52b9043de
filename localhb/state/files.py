"""Reading and atomically writing HEARTBEAT.md, with a fingerprint to spot hand edits."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from localhb.core import atomic
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
    """Read the file exactly (no newline translation); errors name the path."""
    try:
        raw = path.read_bytes()
        st = path.stat()
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
    return Snapshot(path, text, hashlib.sha256(raw).hexdigest(), st.st_size, st.st_mtime_ns)


def write_atomic(path: Path, text: str) -> None:
    """Replace `path` with `text` atomically (`localhb.core.atomic.write_atomic`):
    fsynced, the old file's mode kept, a symlink kept pointing at the new text."""
    atomic.write_atomic(path, text)
