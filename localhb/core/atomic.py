"""The one atomic file writer: a crash leaves the old file or the new one, never a mix.

Standard library only (the idle cache uses it on its path). A temp file in the
same directory is written and fsynced, given the old file's permission bits
(or `mode` for a new file), moved over the file, and the directory is fsynced.
When the path is a symlink its target is replaced and the link kept.
"""

from __future__ import annotations

import contextlib
import os

__all__ = ["write_atomic"]


def write_atomic(path: str | os.PathLike[str], data: str | bytes, *, mode: int = 0o644) -> None:
    """Replace `path` with `data` (text is written as UTF-8) atomically and durably."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    real = os.path.realpath(path)  # a symlinked file stays a symlink to the new text
    directory, name = os.path.split(real)
    with contextlib.suppress(FileNotFoundError):
        mode = os.stat(real).st_mode & 0o7777
    tmp = os.path.join(directory, f".{name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(raw)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, real)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    dir_fd = os.open(directory or ".", os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
