"""The daemon's files in `$LOCALHB_HOME`: its lock, pid file and state file.

    daemon.lock   held (flock) by the running daemon for its whole life: the truth
                  about "is a daemon running"; the kernel frees it however the
                  process ends, so a crash never leaves a daemon that seems alive
    daemon.pid    its process id, one line (for people, systemd and `kill`)
    daemon.json   its state, rewritten atomically: pid, started_at, the process's
                  start time (to tell a reused pid apart), next wake, last outcome

A daemon counts as running when the lock is held *and* the pid file names a
live process whose start time matches the one recorded. A pid file without
that is stale: `start` replaces it, `status` says "not running".

Also here: starting the daemon in the background (`spawn_detached`, then
`wait_started` until it holds the lock). `localhb.daemon.status` gathers
what `daemon status` shows.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from localhb.core.atomic import write_atomic
from localhb.core.proc import process_running, process_start

if TYPE_CHECKING:
    pass

__all__ = [
    "LOCK_FILE",
    "PID_FILE",
    "STATE_FILE",
    "DaemonLock",
    "DaemonState",
    "Running",
    "Spawned",
    "file_size",
    "find_daemon",
    "lock_held",
    "process_running",
    "process_start",
    "python_argv",
    "read_pid",
    "read_state",
    "remove_pid",
    "spawn_detached",
    "tail_line",
    "wait_started",
    "write_pid",
    "write_state",
]

LOCK_FILE = "daemon.lock"
PID_FILE = "daemon.pid"
STATE_FILE = "daemon.json"
STATE_VERSION = 1


# --- the lock -----------------------------------------------------------------------


class DaemonLock:
    """An exclusive flock on `<home>/daemon.lock`, held while the daemon lives."""

    def __init__(self, fd: int, path: Path) -> None:
        self._fd: int | None = fd
        self.path = path

    @classmethod
    def acquire(cls, home: Path, *, wait: float = 0.0, poll: float = 0.02) -> DaemonLock | None:
        """Take the lock, trying for up to `wait` seconds; None when another holds it."""
        home.mkdir(parents=True, exist_ok=True)
        path = home / LOCK_FILE
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        pause = threading.Event()
        tries = max(1, int(wait / poll) + 1)
        for i in range(tries):
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if i + 1 < tries:
                    pause.wait(poll)
                continue
            return cls(fd, path)
        os.close(fd)
        return None

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def lock_held(home: Path) -> bool:
    """Whether some process holds `<home>/daemon.lock` (probed without creating it)."""
    try:
        fd = os.open(home / LOCK_FILE, os.O_RDWR)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


# --- the pid and state files --------------------------------------------------------


def write_pid(home: Path, pid: int) -> None:
    write_atomic(home / PID_FILE, f"{pid}\n")


def read_pid(home: Path) -> int | None:
    try:
        text = (home / PID_FILE).read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def remove_pid(home: Path, pid: int) -> None:
    """Remove the pid file if it still names `pid`."""
    if read_pid(home) == pid:
        with contextlib.suppress(OSError):
            (home / PID_FILE).unlink()


def _iso(dt: datetime | None) -> str | None:
    return None if dt is None else dt.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _when(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return dt.astimezone(UTC) if dt.tzinfo else None


@dataclass(frozen=True, slots=True)
class DaemonState:
    """What the daemon says about itself in `daemon.json`."""

    pid: int
    started_at: datetime
    process_start: str | None = None
    next_wake: datetime | None = None
    next_wake_reason: str = ""
    last_cycle_at: datetime | None = None
    last_outcome: str | None = None
    last_message: str = ""
    cycles: int = 0
    crashes_in_a_row: int = 0
    stopped_at: datetime | None = None
    config: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "pid": self.pid,
            "started_at": _iso(self.started_at),
            "process_start": self.process_start,
            "next_wake": _iso(self.next_wake),
            "next_wake_reason": self.next_wake_reason,
            "last_cycle_at": _iso(self.last_cycle_at),
            "last_outcome": self.last_outcome,
            "last_message": self.last_message,
            "cycles": self.cycles,
            "crashes_in_a_row": self.crashes_in_a_row,
            "stopped_at": _iso(self.stopped_at),
            "config": self.config,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DaemonState | None:
        """The state from its JSON form; None when it is not one."""
        pid, started = data.get("pid"), _when(data.get("started_at"))
        if not isinstance(pid, int) or isinstance(pid, bool) or started is None:
            return None

        def text(key: str) -> str:
            v = data.get(key)
            return v if isinstance(v, str) else ""

        def count(key: str) -> int:
            v = data.get(key)
            return v if isinstance(v, int) and not isinstance(v, bool) else 0

        return cls(
            pid=pid,
            started_at=started,
            process_start=text("process_start") or None,
            next_wake=_when(data.get("next_wake")),
            next_wake_reason=text("next_wake_reason"),
            last_cycle_at=_when(data.get("last_cycle_at")),
            last_outcome=text("last_outcome") or None,
            last_message=text("last_message"),
            cycles=count("cycles"),
            crashes_in_a_row=count("crashes_in_a_row"),
            stopped_at=_when(data.get("stopped_at")),
            config=text("config") or None,
        )

    def stopped(self, at: datetime) -> DaemonState:
        return replace(self, stopped_at=at, next_wake=None, next_wake_reason="")


def write_state(home: Path, state: DaemonState) -> None:
    write_atomic(home / STATE_FILE, json.dumps(state.to_dict(), indent=2) + "\n")


def read_state(home: Path) -> DaemonState | None:
    try:
        data = json.loads((home / STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return DaemonState.from_dict(data) if isinstance(data, dict) else None


@dataclass(frozen=True, slots=True)
class Running:
    """A live daemon: its pid and, when readable, its state file."""

    pid: int
    state: DaemonState | None


def find_daemon(home: Path) -> Running | None:
    """The daemon running for `home`, or None (no lock holder, or a stale pid file)."""
    if not lock_held(home):
        return None
    pid = read_pid(home)
    if pid is None or not process_running(pid):
        return None
    state = read_state(home)
    if state is not None and state.pid == pid and state.process_start:
        now = process_start(pid)
        if now is not None and now != state.process_start:
            return None  # the pid was reused by another program
    return Running(pid, state if state is not None and state.pid == pid else None)


# --- starting in the background ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class Spawned:
    """What became of a daemon started in the background."""

    pid: int
    started: bool
    exit_code: int | None = None


def spawn_detached(
    argv: Sequence[str], *, stderr: Path, env: Mapping[str, str] | None = None
) -> int:
    """Start `argv` (argv[0] a full path) in a new session, stdin/stdout on /dev/null and
    stderr appended to `stderr`; returns its pid. Nothing is left to reap or close."""
    stderr.parent.mkdir(parents=True, exist_ok=True)
    actions: list[tuple[Any, ...]] = [
        (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
        (os.POSIX_SPAWN_OPEN, 2, str(stderr), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644),
    ]
    # The daemon must not hold on to the caller's descriptors (a pipe it waits on, say).
    for fd in range(3, _fd_limit()):
        try:
            if os.get_inheritable(fd):
                actions.append((os.POSIX_SPAWN_CLOSE, fd))
        except OSError:
            continue  # not open
    environ = dict(os.environ if env is None else env)
    return os.posix_spawn(argv[0], list(argv), environ, file_actions=actions, setsid=True)


def _fd_limit() -> int:
    import resource

    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return min(soft if soft > 0 else 1024, 4096)


def wait_started(
    home: Path,
    pid: int,
    *,
    timeout: float,
    monotonic: Callable[[], float] = time.monotonic,
    poll: float = 0.05,
) -> Spawned:
    """Wait until process `pid` has written the pid file and holds the lock, or has died."""
    pause = threading.Event()
    deadline = monotonic() + timeout
    while True:
        try:
            done, status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            done, status = pid, 0
        if done == pid:
            return Spawned(pid, False, os.waitstatus_to_exitcode(status))
        if read_pid(home) == pid and lock_held(home):
            return Spawned(pid, True)
        if monotonic() >= deadline:
            return Spawned(pid, False)
        pause.wait(poll)


def tail_line(path: Path, offset: int = 0) -> str:
    """The last non-empty line written to `path` after byte `offset`, or ''."""
    try:
        with path.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(offset, fh.tell() - 4096))
            lines = fh.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return ""
    return next((ln.strip() for ln in reversed(lines) if ln.strip()), "")


def file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def python_argv(*args: str) -> list[str]:
    """`python -m localhb <args>` with this interpreter."""
    return [sys.executable, "-m", "localhb", *args]
