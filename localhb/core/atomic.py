"""The one atomic file writer: a crash leaves the old file or the new one, never a mix.

Standard library only (the idle cache uses it on its path). A temp file in the
same directory is written and fsynced, given the old file's permission bits
(or `mode` for a new file), moved over the file, and the directory is fsynced.
When the path is a symlink its target is replaced and the link kept.

A file a person edits (HEARTBEAT.md) is written with a `precheck`: the file
is read again as the last step before the rename, and nothing is replaced
unless `precheck(bytes)` still accepts it. Where Linux offers it
(`renameat2(RENAME_EXCHANGE)`), the new file and the old one swap places, so
what the rename displaced can be checked too: a save that landed between the
check and the rename is put back and reported, never lost. Everywhere, the
file is read back after the rename and must hold the new text.

    write temp, fsync, chmod -> hook("written")
    precheck(file now)       -> False: temp removed, False returned
                             -> hook("checked")
    exchange (or rename)     -> displaced text fails precheck: swapped back, False
    fsync directory          -> hook("renamed")
    read back                -> not the new text: False (it moved under you)

False always means: nothing of yours is lost, read the file again and
re-apply your edits onto it.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable
from typing import Any

__all__ = ["Hook", "Precheck", "write_atomic"]

Precheck = Callable[[bytes | None], bool]
"""`precheck(raw)`: whether the file's bytes now (None: no file) are still the
version the new text was made from."""
Hook = Callable[[str], None]
"""`hook(step)`: called after `written`, `checked` and `renamed` (a test seam)."""

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100
_exchange_fn: list[Any] = []  # [renameat2 or None], looked up once


def write_atomic(
    path: str | os.PathLike[str],
    data: str | bytes,
    *,
    mode: int = 0o644,
    precheck: Precheck | None = None,
    hook: Hook | None = None,
) -> bool:
    """Replace `path` with `data` (text is written as UTF-8) atomically and durably.

    Returns True when `data` is in place; False (only with `precheck`) when
    the file was not the expected version at the rename, or changed right
    after it: nothing of the file's is lost, read it again and retry.
    """
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
        if precheck is None:
            os.replace(tmp, real)
        else:
            _step(hook, "written")
            if not precheck(_read(real)):  # the last step before the rename
                os.unlink(tmp)
                return False
            _step(hook, "checked")
            if not _swap_in(tmp, real, precheck):
                _fsync_dir(directory)
                return False
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(directory)
    if precheck is None:
        return True
    _step(hook, "renamed")
    return _read(real) == raw  # verify: someone may have saved right after us


def _swap_in(tmp: str, real: str, precheck: Precheck) -> bool:
    """Move `tmp` over `real`; False (the old file back in place) when what was
    displaced is not what `precheck` approved."""
    if not os.path.exists(real) or not _exchange(tmp, real):
        os.replace(tmp, real)
        return True
    displaced = _read(tmp)
    if precheck(displaced):
        os.unlink(tmp)
        return True
    # A save landed between the check and the swap: give it its place back.
    if not _exchange(tmp, real):  # pragma: no cover - the first exchange worked
        os.replace(tmp, real)
        return False
    os.unlink(tmp)
    return False


def _exchange(a: str, b: str) -> bool:
    """Swap two paths atomically (Linux renameat2); False where that is not offered."""
    if not _exchange_fn:
        _exchange_fn.append(_renameat2())
    fn = _exchange_fn[0]
    if fn is None:
        return False
    import ctypes

    if fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (22, 38, 95):  # EINVAL, ENOSYS, EOPNOTSUPP: this filesystem cannot swap
        return False
    raise OSError(err, os.strerror(err), b)


def _renameat2() -> Any:
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    return fn


def _read(path: str) -> bytes | None:
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except FileNotFoundError:
        return None


def _step(hook: Hook | None, name: str) -> None:
    if hook is not None:
        hook(name)


def _fsync_dir(directory: str) -> None:
    dir_fd = os.open(directory or ".", os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
