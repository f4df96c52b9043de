"""run_command: a shell command in the workspace, under the `[tools.shell]` policy.

The policy is judged on the command text before anything runs (`judge`, pure):
disabled shell, then the deny list, then the allow list (every part of a
chained command must match, and no redirection to or from files), then
patterns that need a person's approval,
which an unattended run can never give. In a condition check only read-only
commands run: ones matching `read_only`, without any shell operator.

The command runs with the workspace as cwd, no stdin, in its own process group
(killed whole on timeout), with the LLM API key removed from its environment.
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
from collections.abc import Mapping
from typing import IO, Any

from localhb.agent.tools.base import Tool, ToolContext, head_size, join_cut, obj, tail_size
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


def command_env(env: Mapping[str, str], strip: tuple[str, ...]) -> dict[str, str]:
    """The environment commands run with: `env` without the named keys, pagers off."""
    out = {k: v for k, v in env.items() if k not in strip}
    out.update(_QUIET_ENV)
    return out


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
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(
            command,
            shell=True,
            cwd=ctx.paths.workspace,
            env=dict(ctx.env),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            start_new_session=True,
        )
        with _LOCK:
            _RUNNING.add(proc.pid)
        try:
            code = proc.wait(timeout=limit)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            text = _report(ctx, None, out, err)
            raise ToolError(
                f"timed out after {limit:g}s and was killed\n{text}", tool="run_command"
            ) from None
        finally:
            with _LOCK:
                _RUNNING.discard(proc.pid)
        return _report(ctx, code, out, err)


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


def _report(ctx: ToolContext, code: int | None, out: IO[bytes], err: IO[bytes]) -> str:
    parts = [] if code is None else [f"exit code: {code}"]
    for name, stream in (("stdout", out), ("stderr", err)):
        text = _read_capped(stream, ctx.config.max_output_bytes, name)
        if text.strip():
            parts.append(f"--- {name} ---\n{text.rstrip()}")
    if len(parts) == (0 if code is None else 1):
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
    command={"type": "string", "description": "A shell command; cwd is the workspace."},
    timeout={"type": "number", "minimum": 1, "description": "Seconds; capped by the config."},
)
RUN_COMMAND = Tool(
    "run_command",
    "Run a shell command in the workspace. Returns the exit code, stdout and stderr "
    "(each cut when long). Some commands are refused by policy.",
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
