"""run_command: a shell command in the workspace, under the `[tools.shell]` policy.

The policy is judged on the command text before anything runs (`judge`, pure):
disabled shell, then the deny list, then the allow list (every part of a
chained command must match, and no redirection to or from files), then
patterns that need a person's approval,
which an unattended run can never give. In a condition check only read-only
commands run: ones matching `read_only`, without any shell operator.

The command runs with `/bin/sh -c`, inside the OS sandbox of
`localhb.agent.tools.sandbox` (bubblewrap) when there is one: the allow list is
a seatbelt against mistakes, the sandbox is the isolation. It runs with the
workspace as cwd, no stdin, in its own process group (killed whole on
timeout), with the LLM API key removed from its environment and git's hooks
and fsmonitor turned off (`GIT_SAFE_ENV`).
stdout and stderr go to temporary files, so a chatty command can neither
deadlock a pipe nor fill memory; each is capped at `max_output_bytes`.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from localhb.agent.tools.base import Tool, ToolContext, head_size, join_cut, obj, tail_size
from localhb.agent.tools.sandbox import choose, describe, wrap
from localhb.config import ShellConfig
from localhb.core.errors import ToolError

_CHAIN = re.compile(r"\|\||&&|[;|&\n]")
_SUBSTITUTION = re.compile(r"`|\$\(|<\(|>\(")
_OPERATORS = re.compile(r"[;&|<>`$\n]")
_HARMLESS = re.compile(r"\s\d?>&\d\b|\s\d?>\s*/dev/null\b")  # 2>&1, >&2, 2>/dev/null
_REDIRECT = re.compile(r"[<>]")
_RUNNING: set[int] = set()  # process groups of commands running now
_LOCK = threading.Lock()
_QUIET_ENV = {"PAGER": "cat", "GIT_PAGER": "cat", "GIT_TERMINAL_PROMPT": "0", "TERM": "dumb"}
# git reads these for every invocation, nested ones included, above the repository's
# own config: a .git/config or hook written by anyone cannot make `git status` run
# a program (core.fsmonitor, core.hooksPath), and no system config is read.
GIT_SAFE_ENV = {
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_COUNT": "2",
    "GIT_CONFIG_KEY_0": "core.hooksPath",
    "GIT_CONFIG_VALUE_0": "/dev/null",
    "GIT_CONFIG_KEY_1": "core.fsmonitor",
    "GIT_CONFIG_VALUE_1": "false",
}


def judge(command: str, policy: ShellConfig, *, check: bool = False) -> str | None:
    """Why `command` may not run under `policy`, or None when it may."""
    text = command.strip()
    if not policy.enabled:
        return "shell commands are disabled ([tools.shell] enabled = false)"
    for pattern in policy.deny:
        if re.search(pattern, text, re.MULTILINE):  # each line of a script is a command
            return (
                f"the command matches the deny pattern {pattern!r} in [tools.shell] deny; "
                "it is never run"
            )
    if policy.allow:
        if _SUBSTITUTION.search(text):
            return "command substitution is not allowed while [tools.shell] allow is set"
        bare = _HARMLESS.sub(" ", text)
        if _REDIRECT.search(bare):
            return (
                "redirection to or from files is not allowed while [tools.shell] allow is "
                "set (2>&1 and >/dev/null are fine); use write_file to write files"
            )
        for part in (p.strip() for p in _CHAIN.split(bare)):
            if part and not any(re.search(a, part) for a in policy.allow):
                return f"{part!r} matches no pattern in [tools.shell] allow"
    for pattern in policy.require_approval:
        if re.search(pattern, text, re.MULTILINE):
            return (
                f"the command needs a person's approval ([tools.shell] require_approval "
                f"pattern {pattern!r}), and this run is unattended, so nobody can give it. "
                "Do not try another way around it: finish with status 'partial' and say "
                "in the notes what a person should run"
            )
    if check:
        if _OPERATORS.search(text):
            return "a condition check may not use shell operators (; & | < > ` $)"
        if not any(re.search(p, text) for p in policy.read_only):
            return (
                "a condition check may only run read-only commands "
                "([tools.shell] read_only); decide from what you can read instead"
            )
    return None


def refusal(command: str, policy: ShellConfig, *, check: bool = False) -> str | None:
    """Why a `Run:` command (or, with `check`, a `Check:` command) may not run, said to
    the person who wrote it (`judge` speaks to the model), or None when it may."""
    reason = judge(command, policy, check=check)
    if reason is None:
        return None
    if check and reason.startswith("a condition check"):
        return (
            "a `Check:` command runs under the read-only policy: it must match a "
            "[tools.shell] read_only pattern, with no shell operators (; & | < > ` $); "
            "for a file write `Check: file <path> exists`, or add a pattern to read_only"
        )
    if reason.startswith("the command needs a person's approval"):
        head = reason.split(", and this run is unattended", 1)[0]
        return f"{head}; a `Run:` task runs unattended, so it is never run"
    return reason.replace("; use write_file to write files", "")


def command_env(env: Mapping[str, str], strip: tuple[str, ...]) -> dict[str, str]:
    """The environment commands run with: `env` without the named keys, pagers off."""
    out = {k: v for k, v in env.items() if k not in strip}
    out.update(_QUIET_ENV)
    return git_safe(out)


def git_safe(env: Mapping[str, str]) -> dict[str, str]:
    """`env` with any GIT_CONFIG* of its own replaced by `GIT_SAFE_ENV`."""
    out = {k: v for k, v in env.items() if not k.startswith("GIT_CONFIG")}
    out.update(GIT_SAFE_ENV)
    return out


@dataclass(frozen=True, slots=True)
class ShellRun:
    """How one command ended: `code` None when it timed out and was killed."""

    code: int | None
    stdout: str
    stderr: str
    seconds: float

    @property
    def timed_out(self) -> bool:
        return self.code is None


def run_shell(
    command: str,
    *,
    cwd: Path,
    env: Mapping[str, str],
    limit: float,
    max_output: int,
    argv: Sequence[str] | None = None,
) -> ShellRun:
    """Run `command` with `sh -c` in its own process group; kill the group at `limit`.

    The one command runner: the run_command tool, `- Run:` tasks and `- Check:`
    commands all go through it. The policy (`judge`) is the caller's to apply;
    `argv` (from `sandbox.wrap`) runs the command inside the OS sandbox instead.
    git's hooks and fsmonitor are always off (`GIT_SAFE_ENV`).
    """
    started = time.monotonic()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(
            list(argv) if argv is not None else ["/bin/sh", "-c", command],
            cwd=cwd,
            env=git_safe(env),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            start_new_session=True,
        )
        with _LOCK:
            _RUNNING.add(proc.pid)
        code: int | None
        try:
            code = proc.wait(timeout=limit)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            code = None
        finally:
            with _LOCK:
                _RUNNING.discard(proc.pid)
        return ShellRun(
            code,
            _read_capped(out, max_output, "stdout"),
            _read_capped(err, max_output, "stderr"),
            time.monotonic() - started,
        )


def _run(ctx: ToolContext, args: Mapping[str, Any], *, check: bool) -> str:
    command: str = args["command"]
    reason = judge(command, ctx.config.shell, check=check)
    if reason is not None:
        raise ToolError(f"refused: {reason}", tool="run_command", refused=True)
    limit = ctx.config.shell.timeout.total_seconds()
    if "timeout" in args:
        limit = min(limit, float(args["timeout"]))
    limit = min(limit, ctx.time_left())
    if limit <= 0:
        raise ToolError("no time left in this task to run a command", tool="run_command")
    shell = ctx.config.shell
    box = choose(shell.sandbox)
    if box.problem is not None:
        raise ToolError(
            f"refused: {describe(box, network=shell.network)}", tool="run_command", refused=True
        )
    argv = wrap(
        box,
        command,
        workspace=ctx.paths.workspace,
        writable=ctx.paths.allowed,
        hidden=ctx.hidden,
        network=shell.network,
    )
    done = run_shell(
        command,
        cwd=ctx.paths.workspace,
        env=ctx.env,
        limit=limit,
        max_output=ctx.config.max_output_bytes,
        argv=argv,
    )
    if done.timed_out:
        raise ToolError(
            f"timed out after {limit:g}s and was killed\n{report(done)}", tool="run_command"
        )
    return report(done)


def kill_running() -> int:
    """Kill every command still running (whole process groups); how many there were.

    For a daemon that stops while tasks run: their commands must not outlive it.
    """
    with _LOCK:
        groups = list(_RUNNING)
    for pgid in groups:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)
    return len(groups)


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (AttributeError, ProcessLookupError, PermissionError):  # Windows, or already gone
        proc.kill()
    proc.wait()


def report(done: ShellRun) -> str:
    """The exit code and both streams, as the model (or a summary) is shown them."""
    parts = [] if done.code is None else [f"exit code: {done.code}"]
    for name, text in (("stdout", done.stdout), ("stderr", done.stderr)):
        if text.strip():
            parts.append(f"--- {name} ---\n{text.rstrip()}")
    if len(parts) == (0 if done.code is None else 1):
        parts.append("(no output)")
    return "\n".join(parts)


def _read_capped(stream: IO[bytes], limit: int, name: str) -> str:
    """At most `limit` bytes of a stream, head and tail, without reading the middle."""
    size = stream.seek(0, os.SEEK_END)
    stream.seek(0)
    if size <= limit:
        return stream.read().decode("utf-8", errors="replace")
    head = stream.read(head_size(limit))
    stream.seek(size - tail_size(limit))
    return join_cut(head, stream.read(), size, what=name)


def _task_run(ctx: ToolContext, args: Mapping[str, Any]) -> str:
    return _run(ctx, args, check=False)


def _check_run(ctx: ToolContext, args: Mapping[str, Any]) -> str:
    return _run(ctx, args, check=True)


_PARAMS = obj(
    ("command",),
    command={"type": "string"},
    timeout={"type": "number", "minimum": 1, "description": "seconds"},
)
RUN_COMMAND = Tool(
    "run_command",
    "Run a shell command in the workspace; returns exit code, stdout, stderr.",
    _PARAMS,
    _task_run,
)
RUN_COMMAND_READ_ONLY = Tool(
    "run_command",
    "Run a read-only command (such as df, du, ls, git status) in the workspace. "
    "No shell operators; anything else is refused.",
    _PARAMS,
    _check_run,
)
