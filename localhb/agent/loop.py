"""The agent: an LLM tool loop that carries out one task, bounded and safe to leave alone.

    connect(llm)               -> ModelClient      (raises MissingAPIKey: nothing ran)
    check_condition(task, cfg) -> ConditionResult  read-only tools, report_condition
    run_task(task, cfg)        -> TaskResult       all tools, complete_task

The endpoint client is `localhb.agent.client` (the only module that imports
`openai`, and only inside `ModelClient`, so loading it costs nothing until a
task really runs); one run's state and bounds are `localhb.agent.run`. Both are
re-exported here. The SDK's own retries are off: `ModelClient.complete`
retries 408/409/429/5xx, timeouts and connection failures itself, with
`[llm] retry_backoff` doubling (or the server's Retry-After), reporting each
retry as a trace event, and never past the task's deadline. When retries are
spent the run ends as an error result naming the reason.

After the task starts nothing raises: every failure is in the result. Bounds:
`max_steps` model turns, `task_timeout` wall-clock, `max_tokens_per_task`
tokens, and the same failing tool call `REPEAT_LIMIT` times in a row.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from localhb.agent.client import ModelClient as ModelClient
from localhb.agent.client import OutOfTime as OutOfTime
from localhb.agent.client import RetryHook as RetryHook
from localhb.agent.client import connect as connect
from localhb.agent.prompting import system_prompt
from localhb.agent.run import NUDGES as NUDGES
from localhb.agent.run import REPEAT_LIMIT as REPEAT_LIMIT
from localhb.agent.run import LoopEnd, LoopRun
from localhb.agent.run import SpendGuard as SpendGuard
from localhb.agent.tools import Toolbox, check_toolbox, task_toolbox
from localhb.agent.tools.base import HistoryReader, Scheduler
from localhb.agent.wire import strip_thinking
from localhb.config import Config
from localhb.core.clock import Clock as Clock
from localhb.core.results import (
    ConditionResult,
    EventKind,
    Failure,
    Status,
    TaskResult,
    TraceSink,
    clip,
    one_line,
)
from localhb.format.model import Task

if TYPE_CHECKING:
    from localhb.agent.mcp import MCPHub


CHECK_MAX_STEPS = 8
MESSAGE_LIMIT = 1000  # characters of complete_task's `message`


def run_task(
    task: Task,
    config: Config,
    *,
    client: ModelClient | None = None,
    on_event: TraceSink | None = None,
    clock: Clock | None = None,
    env: Mapping[str, str] | None = None,
    heartbeat_file: Path | None = None,
    scheduler: Scheduler | None = None,
    guard: SpendGuard | None = None,
    mcp: MCPHub | None = None,
    history: HistoryReader | None = None,
    payload: str | None = None,
) -> TaskResult:
    """Carry out `task` now, with every tool, until `complete_task` or a bound.

    Raises only before the task starts: MissingAPIKey (no client given and no
    key) or ConfigError (`[llm] system_prompt` unreadable). `heartbeat_file`
    (default `[heartbeat] file`) is readable but never writable by the tools;
    given a `scheduler`, the run has `schedule_task` to add tasks through it.
    `guard` ends the run `partial` once it names a crossed spend cap; `history`
    answers `run_history` (offered to tasks naming the `history` family).
    `payload` (a wakeup's JSON, `localhb.api`) is given as untrusted data.
    """
    run, end = _conduct(
        task,
        config,
        False,
        client,
        on_event,
        clock,
        env,
        heartbeat_file,
        scheduler,
        guard,
        mcp,
        history=history,
        payload=payload,
    )
    result = _task_result(run, end)
    run.emit(EventKind.FINISH, outcome=result.status.value, text=result.summary)
    return result


def _conduct(
    task: Task,
    config: Config,
    condition: bool,
    client: ModelClient | None,
    on_event: TraceSink | None,
    clock: Clock | None,
    env: Mapping[str, str] | None,
    heartbeat_file: Path | None,
    scheduler: Scheduler | None = None,
    guard: SpendGuard | None = None,
    mcp: MCPHub | None = None,
    history: HistoryReader | None = None,
    payload: str | None = None,
) -> tuple[LoopRun, LoopEnd]:
    """One loop: a task with every tool, or a condition check with read-only ones."""
    env = os.environ if env is None else env
    system = system_prompt(config.llm, condition=condition, source=config.path)
    own = client is None
    client = client or connect(config.llm, env)
    try:
        run = LoopRun(
            task,
            config,
            client,
            toolbox=check_toolbox(config.tools)
            if condition
            else task_toolbox(
                config.tools, offered_families(task, config), scheduling=scheduler is not None
            ),
            model=(config.llm.condition_model if condition else None) or config.llm.model,
            condition=condition,
            on_event=on_event,
            clock=clock or Clock(),
            env=env,
            heartbeat_file=heartbeat_file,
            scheduler=None if condition else scheduler,
            guard=guard,
            history=None if condition else history,
            payload=None if condition else payload,
        )
        run.open(system)
        if not condition and mcp is not None:
            _add_mcp_tools(run, mcp, offered_mcp(task, config))
        if condition:
            end = run.loop("report_condition", min(CHECK_MAX_STEPS, config.agent.max_steps))
        else:
            end = run.loop("complete_task", config.agent.max_steps)
    finally:
        if own:
            client.close()
    return run, end


def offered_mcp(task: Task, config: Config) -> tuple[str, ...]:
    """The MCP servers (`time`) and single tools (`git__git_status`) a task is offered:
    those its `- Tools:` line names, else every configured server."""
    names = tuple(s.name for s in config.mcp.servers)
    if task.tools is None:
        return names
    return tuple(w for w in task.tools if w.partition("__")[0] in names)


def _add_mcp_tools(run: LoopRun, mcp: MCPHub, names: Sequence[str]) -> None:
    """Start (on first use in the cycle) and offer the named servers' tools; a server
    that cannot start is a line in the trace and a note to the model."""
    if not names:
        return
    started = run.clock.monotonic()
    tools, problems = mcp.tools(names, run.time_left)
    seconds = run.clock.monotonic() - started
    base = run.toolbox.tools
    run.toolbox = Toolbox((*base[:-1], *tools, base[-1]))  # complete_task stays last
    for name in dict.fromkeys(n.partition("__")[0] for n in names):
        why = mcp.failure(name + "__")
        if why is not None:
            run.unavailable[name] = f"MCP server {name!r} did not start: {why}"
    for problem in problems:
        run.errors.append(problem)
        run.emit(EventKind.TOOL, tool="mcp", text="start", outcome="error", detail=problem)
    if tools:
        servers = list(dict.fromkeys(t.name.partition("__")[0] for t in tools))
        run.emit(
            EventKind.TOOL,
            tool="mcp",
            text="start " + ", ".join(servers),
            outcome="ok",
            detail=f"{len(tools)} tool(s)",
            seconds=seconds,
        )
    if problems:
        note = "Note: " + "; ".join(problems) + ". Its tools cannot be used in this run."
        run.messages.append({"role": "user", "content": run.redact(note)})


def offered_families(task: Task, config: Config) -> tuple[str, ...]:
    """The tool families a task is offered: its `- Tools:` line, else `[agent] tools`."""
    return task.tools if task.tools is not None else config.agent.tools


def _task_result(run: LoopRun, end: LoopEnd) -> TaskResult:
    """Only complete_task is a finish: every other end is an error naming why."""
    redact = run.redact
    message = ""
    if end.via == "failure" and end.failure is Failure.BUDGET:
        status, summary, notes = Status.PARTIAL, end.reason, ""
    elif end.via == "failure":
        status, summary, notes = Status.ERROR, end.reason, ""
    else:
        raw = str(end.arguments.get("status", "ok")).strip().lower()
        status = Status(raw) if raw in {s.value for s in Status} else Status.ERROR
        summary = strip_thinking(str(end.arguments.get("summary", "")))[0]
        summary = one_line(summary) or "(no summary)"
        notes = clip(strip_thinking(str(end.arguments.get("notes", "")))[0])
        message = clip(strip_thinking(str(end.arguments.get("message", "")))[0], MESSAGE_LIMIT)
    failure = end.failure or (Failure.MODEL if status is Status.ERROR else None)
    return TaskResult(
        task_id=run.task.id,
        status=status,
        summary=one_line(redact(summary)),
        notes=redact(notes),
        stats=run.stats(failure, end.fix),
        message=redact(message),
    )


def check_condition(
    task: Task,
    config: Config,
    *,
    client: ModelClient | None = None,
    on_event: TraceSink | None = None,
    clock: Clock | None = None,
    env: Mapping[str, str] | None = None,
    heartbeat_file: Path | None = None,
) -> ConditionResult:
    """Decide with read-only tools whether `task`'s condition holds now.

    Uses `[llm] condition_model` when set. At most `CHECK_MAX_STEPS` turns (or
    `max_steps` if lower). A failed check is `error` set and `met` False.
    Raises only before the check starts, as `run_task` does.
    """
    run, end = _conduct(task, config, True, client, on_event, clock, env, heartbeat_file)
    if end.via == "failure":
        met, evidence, error = False, "", end.reason
    else:
        met = bool(end.arguments.get("met", False))
        evidence, error = one_line(run.redact(str(end.arguments.get("evidence", "")))), None
    result = ConditionResult(
        task_id=task.id,
        met=met,
        evidence=evidence,
        error=error,
        stats=run.stats(end.failure, end.fix),
    )
    run.emit(EventKind.FINISH, outcome=result.outcome, text=evidence or (error or ""))
    return result
