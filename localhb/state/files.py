"""Reading and atomically writing HEARTBEAT.md, with a fingerprint to spot hand edits."""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

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
    """Replace `path` with `text` so that a crash leaves the old file or the new, never a mix.

    A temp file in the same directory is written and fsynced, given the old
    file's permission bits, moved over the file, and the directory is fsynced.
    When `path` is a symlink, its target is replaced and the link kept.
    """
    data = text.encode("utf-8")
    path = Path(os.path.realpath(path))  # a symlinked file stays a symlink to the new text
    directory = path.parent
    try:
        mode = path.stat().st_mode & 0o7777
    except FileNotFoundError:
        mode = 0o644
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
