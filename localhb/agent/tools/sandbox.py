"""The OS sandbox shell commands run in: bubblewrap on Linux, or none.

`[tools.shell] sandbox`:

- `"bubblewrap"`: every command runs under `bwrap`; where it is missing or
  cannot start (no user namespaces), commands are refused, never run bare.
- `"auto"` (default): bubblewrap where it works, else commands run without an
  OS sandbox (the shell policy alone), and `describe` says so.
- `"none"`: no OS sandbox.

Under bubblewrap a command gets its own PID namespace with a fresh /proc, so
localhb's process (and its environment block) is not visible; the filesystem
is read-only except the workspace, `[tools] allowed_directories` and a
private /tmp; localhb's home (config, ledger, logs) and the API key file are
hidden; `network = false` removes the network; bubblewrap always sets
no-new-privileges, so setuid programs gain nothing. macOS (`sandbox-exec`)
is the next target; elsewhere only the shell policy applies.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

MODES = ("auto", "bubblewrap", "none")


@dataclass(frozen=True, slots=True)
class Sandbox:
    """What protects commands: `kind` is "bubblewrap" or "none"; `problem` when refused."""

    kind: str
    binary: str | None = None
    problem: str | None = None  # set: commands may not run at all (mode "bubblewrap")
    note: str = ""

    @property
    def active(self) -> bool:
        return self.kind == "bubblewrap" and self.problem is None


@functools.cache
def _probe(binary: str) -> str | None:
    """Why `binary` cannot make a sandbox here, or None when it can (tried once per process)."""
    try:
        done = subprocess.run(
            [binary, "--unshare-pid", "--ro-bind", "/", "/", "--proc", "/proc", "--", "true"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{binary} does not start: {exc}"
    if done.returncode != 0:
        err = done.stderr.decode("utf-8", errors="replace").strip().splitlines()
        return f"{binary} cannot create a sandbox here: {err[-1] if err else done.returncode}"
    return None


def choose(mode: str, *, which: str | None = None) -> Sandbox:
    """The sandbox `mode` gives on this machine. `which` overrides the bwrap lookup (tests)."""
    if mode == "none":
        return Sandbox("none", note='no OS sandbox ([tools.shell] sandbox = "none")')
    binary = which if which is not None else shutil.which("bwrap")
    problem = None
    if not binary:
        problem = "bubblewrap (bwrap) is not installed (Debian/Ubuntu: apt-get install bubblewrap)"
    else:
        problem = _probe(binary)
    if problem is None:
        return Sandbox("bubblewrap", binary)
    if mode == "bubblewrap":
        return Sandbox("bubblewrap", binary, problem=problem)
    return Sandbox("none", note=f"no OS sandbox: {problem}")


def describe(box: Sandbox, *, network: bool) -> str:
    """One line: what protection shell commands have."""
    if box.problem is not None:
        return f'commands are refused: [tools.shell] sandbox = "bubblewrap" but {box.problem}'
    if box.active:
        net = "network on" if network else "network off"
        return (
            "bubblewrap: own PID namespace, read-only filesystem except the workspace and "
            f"allowed directories, localhb's home hidden, no new privileges, {net}"
        )
    return f"{box.note}; commands are limited by the [tools.shell] policy only"


def wrap(
    box: Sandbox,
    command: str,
    *,
    workspace: Path,
    writable: Sequence[Path] = (),
    hidden: Sequence[Path] = (),
    network: bool = True,
) -> list[str]:
    """The argv that runs `command` with `/bin/sh -c` inside the sandbox (or bare)."""
    if not box.active:
        return ["/bin/sh", "-c", command]
    assert box.binary is not None
    argv = [
        box.binary,
        "--die-with-parent",
        "--unshare-pid",
        "--unshare-ipc",
        "--unshare-uts",
        "--unshare-cgroup-try",
        "--ro-bind",
        "/",
        "/",
        "--dev",
        "/dev",
        "--proc",
        "/proc",
        "--tmpfs",
        "/tmp",
    ]
    if not network:
        argv.append("--unshare-net")
    roots = [workspace.resolve(), *(p.resolve() for p in writable)]
    before: list[str] = []  # hidden trees that hold a root: hide, then bind the root back
    after: list[str] = []  # hidden things inside (or beside) the roots: on top of them
    for path in hidden:
        real = path.resolve()
        if real.is_dir():
            holds_root = any(r == real or r.is_relative_to(real) for r in roots)
            (before if holds_root else after).extend(["--tmpfs", str(real)])
        elif real.exists():
            after.extend(["--ro-bind", os.devnull, str(real)])
    argv += before
    for root in roots:
        if root.is_dir():
            argv += ["--bind", str(root), str(root)]
    argv += after
    argv += ["--chdir", str(workspace.resolve()), "--", "/bin/sh", "-c", command]
    return argv
