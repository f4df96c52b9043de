"""Small parts of the daemon's loop: the wake-up pipe, file signatures, durations."""

from __future__ import annotations

import contextlib
import os
import selectors
from datetime import timedelta
from pathlib import Path

__all__ = ["Wakeup", "signature", "span"]


class Wakeup:
    """An Event-like alarm that a signal handler may set: a non-blocking self-pipe.

    (`threading.Event.set` takes a lock and can deadlock inside a handler that
    interrupted the same thread in `Event.wait`; a pipe write cannot.)
    """

    def __init__(self) -> None:
        self._read, self._write = os.pipe()
        os.set_blocking(self._read, False)
        os.set_blocking(self._write, False)
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._read, selectors.EVENT_READ)
        self._closed = False

    @property
    def fileno(self) -> int:
        """The write end, for `signal.set_wakeup_fd`."""
        return self._write

    def set(self) -> None:
        if self._closed:
            return
        with contextlib.suppress(OSError):  # full (already set) or closed
            os.write(self._write, b"!")

    def wait(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds for `set()` or a signal; True when woken."""
        woken = bool(self._selector.select(max(0.0, timeout)))
        if woken:
            try:
                while os.read(self._read, 4096):
                    pass
            except BlockingIOError:
                pass
        return woken

    def close(self) -> None:
        self._closed = True
        self._selector.close()
        os.close(self._read)
        os.close(self._write)


def signature(path: Path) -> tuple[int, int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def span(delta: timedelta) -> str:
    """A short human duration: 45s, 12m, 2h30m, 3d4h."""
    s = int(abs(delta.total_seconds()))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m" + (f"{s % 60}s" if s % 60 else "")
    if s < 86400:
        return f"{s // 3600}h" + (f"{s % 3600 // 60}m" if s % 3600 // 60 else "")
    return f"{s // 86400}d" + (f"{s % 86400 // 3600}h" if s % 86400 // 3600 else "")
