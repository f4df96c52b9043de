"""Work done by code, with no model: `- Run:` command tasks and `- Check:` gates.

    run_command_task(task, cfg) -> TaskResult   the task's `Run:` command
    evaluate_check(task, cfg)   -> CheckVerdict  the task's `Check:` gate

Neither sends a request to any model: they cost 0 tokens. Both go through the
one command runner (`localhb.agent.tools.shell.run_shell`) and its policy:
a `Run:` command is judged like the agent's `run_command` (deny, allow,
require_approval); a `Check:` command like a condition check's (read-only
patterns only, no shell operators). A `Run:` command may take the task's
whole `task_timeout`; a `Check:` command `[tools.shell] timeout`.
`GET` checks obey `[tools.http]`; file checks stay inside the workspace and
`[tools] allowed_directories`.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from localhb.agent.credentials import key_file
from localhb.agent.tools.paths import PathPolicy
from localhb.agent.tools.sandbox import choose, describe, wrap
from localhb.agent.tools.shell import ShellRun, command_env, refusal, run_shell
from localhb.config import Config
from localhb.core.errors import ToolError
from localhb.core.redact import Redactor
from localhb.core.results import (
    NO_MODEL,
    EventKind,
    Failure,
    RunStats,
    Status,
    TaskResult,
    TraceEvent,
    TraceSink,
    clip,
    one_line,
)
from localhb.format.checks import CheckKind, CheckSpec
from localhb.format.model import Task

MODEL = NO_MODEL  # what RunStats.model says for work that used no model


@dataclass(frozen=True, slots=True)
class CheckVerdict:
    """How a code check went: `met`, why (`evidence`), or `error` when it could not run.

    `fingerprint` is the watched file's state, for `file <path> changed`; `checked`
    what was checked (`file go.flag exists`, redacted), for the run's trace.
    """

    met: bool
    evidence: str
    error: str | None = None
    fingerprint: str | None = None
    checked: str = ""

    @property
    def outcome(self) -> str:
        return "error" if self.error is not None else "met" if self.met else "not met"

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "check": "code",
            "met": self.met,
            "outcome": self.outcome,
            "evidence": self.evidence,
            "error": self.error,
            "prompt_tokens": 0,
            "completion_tokens": 0,
            "steps": 0,
        }
        if self.fingerprint is not None:
            data["fingerprint"] = self.fingerprint
        if self.checked:
            data["checked"] = self.checked
        return data


def _redactor(config: Config, env: Mapping[str, str]) -> Redactor:
    return Redactor.from_env(env, extra_names=(config.llm.api_key_env, "OPENAI_API_KEY"))


def _env(config: Config, env: Mapping[str, str] | None) -> dict[str, str]:
    base = os.environ if env is None else env
    return command_env(base, (config.llm.api_key_env, "OPENAI_API_KEY"))


def _shell(
    command: str, config: Config, env: Mapping[str, str] | None, limit: float
) -> ShellRun | str:
    """Run `command` as the agent's commands run: in the workspace, inside the OS
    sandbox (`[tools.shell] sandbox`), without the API key. A string: why it may not."""
    shell = config.tools.shell
    box = choose(shell.sandbox)
    if box.problem is not None:
        return f"refused: {describe(box, network=shell.network)}"
    raw_env = os.environ if env is None else env
    workspace = config.agent.workspace
    workspace.mkdir(parents=True, exist_ok=True)
    secret = key_file(config.llm, raw_env)
    hidden = [config.home, *([secret] if secret is not None else [])]
    if raw_env.get("CREDENTIALS_DIRECTORY"):
        hidden.append(Path(raw_env["CREDENTIALS_DIRECTORY"]))
    paths = PathPolicy.build(workspace, config.tools.allowed_directories)
    argv = wrap(
        box,
        command,
        workspace=paths.workspace,
        writable=paths.allowed,
        hidden=tuple(hidden),
        network=shell.network,
    )
    return run_shell(
        command,
        cwd=paths.workspace,
        env=_env(config, env),
        limit=limit,
        max_output=config.tools.max_output_bytes,
        argv=argv,
    )


def _tail(done: ShellRun, limit: int = 180) -> str:
    """The last non-empty line of the output (stderr first), for a one-line summary."""
    for text in (done.stderr, done.stdout):
        lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
        if lines:
            return one_line(lines[-1], limit)
    return ""


def run_command_task(
    task: Task,
    config: Config,
    *,
    on_event: TraceSink | None = None,
    env: Mapping[str, str] | None = None,
    now: Any = None,
) -> TaskResult:
    """Run `task.run` in the workspace: exit 0 is ok, anything else (or a timeout) error."""
    assert task.run is not None
    clock = now or (lambda: datetime.now(UTC))
    raw_env = os.environ if env is None else env
    redact = _redactor(config, raw_env)
    started = clock().astimezone(UTC)
    command = task.run

    def emit(kind: EventKind, **fields: Any) -> None:
        if on_event is not None:
            on_event(TraceEvent(kind=kind, task_id=task.id, **fields))

    emit(EventKind.START, text=f"running {task.id} ({task.title}): command, no model")
    limit = config.agent.task_timeout.total_seconds()
    reason = refusal(command, config.tools.shell)
    failure: Failure | None = None
    notes = ""
    if reason is not None:
        status, summary, failure = Status.ERROR, f"refused: {reason}", Failure.REFUSED
        emit(EventKind.TOOL, tool="run", text=one_line(command, 120), outcome="refused")
    else:
        try:
            ran = _shell(command, config, env, limit)
        except OSError as exc:
            ran = f"could not start: {exc}"
        if isinstance(ran, str):  # refused (a required sandbox is missing), or no start
            status, summary = Status.ERROR, ran
            failure = Failure.REFUSED if ran.startswith("refused") else Failure.COMMAND
        else:
            done = ran
            out = "\n".join(t for t in (done.stdout.rstrip(), done.stderr.rstrip()) if t)
            notes = clip(redact(out))
            tail = redact(_tail(done))
            if done.timed_out:
                status, failure = Status.ERROR, Failure.TIMEOUT
                summary = f"timed out after {limit:g}s and was killed" + (
                    f": {tail}" if tail else ""
                )
            elif done.code == 0:
                status = Status.OK
                summary = tail or "exit 0"
            else:
                status, failure = Status.ERROR, Failure.COMMAND
                summary = f"exit {done.code}" + (f": {tail}" if tail else "")
            emit(
                EventKind.TOOL,
                tool="run",
                text=one_line(redact(command), 120),
                outcome="ok" if status is Status.OK else "error",
                detail=summary,
                seconds=done.seconds,
            )
    finished = clock().astimezone(UTC)
    summary = one_line(redact(summary))
    stats = RunStats(
        model=MODEL,
        prompt_tokens=0,
        completion_tokens=0,
        steps=0,
        tool_calls=(),
        errors=(summary,) if status is Status.ERROR else (),
        started_at=started,
        completed_at=finished,
        failure=failure,
        command=redact(command),
    )
    emit(EventKind.FINISH, outcome=status.value, text=summary)
    return TaskResult(task.id, status, summary, notes, stats)


def evaluate_check(
    task: Task,
    config: Config,
    *,
    env: Mapping[str, str] | None = None,
    previous: str | None = None,
    on_event: TraceSink | None = None,
    new_failures: Callable[[], int] | None = None,
) -> CheckVerdict:
    """Evaluate `task.check`; never raises. `previous` is the last file fingerprint;
    `new_failures` counts the ledger's failures since the task's last run."""
    spec = task.check
    assert spec is not None
    try:
        if spec.kind is CheckKind.NEW_FAILURES:
            verdict = _new_failures(new_failures)
        else:
            verdict = _evaluate(spec, config, env, previous)
    except ToolError as exc:
        verdict = CheckVerdict(False, "", error=str(exc))
    except Exception as exc:  # a check that fails is an error result, never a crash
        verdict = CheckVerdict(False, "", error=f"{type(exc).__name__}: {exc}")
    raw_env = os.environ if env is None else env
    redact = _redactor(config, raw_env)
    verdict = CheckVerdict(
        verdict.met,
        one_line(redact(verdict.evidence)),
        None if verdict.error is None else one_line(redact(verdict.error)),
        verdict.fingerprint,
        checked=one_line(redact(spec.describe()), 120),
    )
    if on_event is not None:
        on_event(
            TraceEvent(
                kind=EventKind.TOOL,
                task_id=task.id,
                tool="check",
                text=verdict.checked,
                outcome="ok" if verdict.error is None else "error",
                detail=verdict.error or f"{verdict.outcome}: {verdict.evidence}",
            )
        )
    return verdict


def _evaluate(
    spec: CheckSpec, config: Config, env: Mapping[str, str] | None, previous: str | None
) -> CheckVerdict:
    if spec.kind is CheckKind.COMMAND:
        return _command(spec.target, config, env)
    if spec.kind in (CheckKind.HTTP_STATUS, CheckKind.HTTP_CONTAINS):
        return _http(spec, config)
    return _file(spec, config, previous)


def _new_failures(count: Callable[[], int] | None) -> CheckVerdict:
    if count is None:
        return CheckVerdict(False, "", error="the ledger is not available to this check")
    n = count()
    if n == 0:
        return CheckVerdict(False, "no new failures since the last run")
    return CheckVerdict(True, f"{n} failed run(s) since the last run")


def _command(command: str, config: Config, env: Mapping[str, str] | None) -> CheckVerdict:
    reason = refusal(command, config.tools.shell, check=True)
    if reason is not None:
        return CheckVerdict(False, "", error=f"refused: {reason}")
    limit = min(config.tools.shell.timeout, config.agent.task_timeout).total_seconds()
    done = _shell(command, config, env, limit)
    if isinstance(done, str):
        return CheckVerdict(False, "", error=done)
    if done.timed_out:
        return CheckVerdict(False, "", error=f"check command timed out after {limit:g}s")
    tail = _tail(done)
    evidence = f"exit {done.code}" + (f": {tail}" if tail else "")
    return CheckVerdict(done.code == 0, evidence)


def _http(spec: CheckSpec, config: Config) -> CheckVerdict:
    import httpx

    from localhb.agent.tools.http import check_url

    policy = config.tools.http
    if not policy.enabled:
        return CheckVerdict(False, "", error="refused: HTTP is disabled ([tools.http])")
    reason = check_url(spec.target, policy)
    if reason is not None:
        return CheckVerdict(False, "", error=f"refused: {reason}")

    def guard(request: httpx.Request) -> None:
        why = check_url(str(request.url), policy)
        if why is not None:
            raise ToolError(f"refused: {why}", tool="check", refused=True)

    try:
        with (
            httpx.Client(
                timeout=policy.timeout.total_seconds(),
                follow_redirects=True,
                max_redirects=5,
                event_hooks={"request": [guard]},
            ) as client,
            client.stream("GET", spec.target) as response,
        ):
            body = b""
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) >= policy.max_response_bytes:
                    body = body[: policy.max_response_bytes]
                    break
            code = response.status_code
    except httpx.HTTPError as exc:
        return CheckVerdict(False, "", error=f"GET {spec.target} failed: {exc}")
    if spec.kind is CheckKind.HTTP_STATUS:
        return CheckVerdict(str(code) == spec.expect, f"HTTP {code}")
    text = body.decode("utf-8", errors="replace")
    found = spec.expect in text
    return CheckVerdict(found, f"HTTP {code}, {'contains' if found else 'lacks'} the text")


def _file(spec: CheckSpec, config: Config, previous: str | None) -> CheckVerdict:
    paths = PathPolicy.build(config.agent.workspace, config.tools.allowed_directories)
    path: Path = paths.resolve(spec.target, tool="check")
    if spec.kind is CheckKind.FILE_EXISTS:
        return CheckVerdict(path.exists(), "exists" if path.exists() else "does not exist")
    fingerprint = _fingerprint(path)
    if previous is None:
        return CheckVerdict(False, "first look: state recorded", fingerprint=fingerprint)
    changed = fingerprint != previous
    return CheckVerdict(
        changed, "changed since the last check" if changed else "unchanged", fingerprint=fingerprint
    )


def _fingerprint(path: Path) -> str:
    """Missing, a directory's listing, or a file's size and content hash."""
    if not path.exists():
        return "missing"
    if path.is_dir():
        names = sorted(os.listdir(path))
        return "dir:" + hashlib.sha256("\0".join(names).encode()).hexdigest()[:16]
    from localhb.core.bounded import NotReadable, open_regular

    digest = hashlib.sha256()
    try:
        with open_regular(path) as (fd, info):  # a FIFO is not waited on
            while block := os.read(fd, 1 << 16):
                digest.update(block)
    except NotReadable:
        return f"special:{path.stat().st_mode:o}"
    return f"file:{info.st_size}:{digest.hexdigest()[:16]}"
