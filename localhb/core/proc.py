"""Whether a process is alive, and a text that tells a reused pid apart. Stdlib only."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

__all__ = ["process_running", "process_start"]


def _proc_stat(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (Linux), else None."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    return raw[raw.rfind(")") + 2 :].split()


def _ps(pid: int, column: str) -> str | None:
    """One `ps` column for `pid` (BSD and macOS, where there is no /proc)."""
    try:
        out = subprocess.run(
            ["ps", "-o", f"{column}=", "-p", str(pid)],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return out or None


def process_start(pid: int) -> str | None:
    """A text that is the same for the life of process `pid` and differs for a later
    process given the same id (its start time); None when it cannot be read."""
    if sys.platform.startswith("linux"):
        fields = _proc_stat(pid)
        return f"linux:{fields[19]}" if fields and len(fields) > 19 else None
    started = _ps(pid, "lstart")
    return f"ps:{started}" if started else None


def process_running(pid: int) -> bool:
    """Whether `pid` exists and is not a zombie (a zombie has exited already)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, under another user
    if sys.platform.startswith("linux"):
        fields = _proc_stat(pid)
        return not (fields and fields[0] in ("Z", "X"))
    state = _ps(pid, "stat")
    return not (state and state.startswith("Z"))
