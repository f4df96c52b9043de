"""Carrying a wakeup out, through the same `execute` as a cycle's runs.

    task     find it in HEARTBEAT.md; execute(trigger api); write its outcome
             back into the file as a cycle does (a one-time task moves to
             Completed, a recurring one notes its Last run)
    prompt   `add_prompt_task` first appends a one-time task (`- Added by: api`)
             through the same compare-and-swap edit as `localhb add`, then it
             runs as a task wakeup, with the payload
    cycle    the daemon runs a cycle now (`request_cycle`)

The race with a scheduled cycle: the added task's `Due:` lies past the
wakeup's lease, so no cycle finds it due while the wakeup runs it; and the
run claims the very slot a cycle would claim for it (its due time), so even
then the ledger refuses a second run. Should the daemon die before the run
ends, the task stays in the file and a cycle runs it at its due time (without
the payload, which the file does not hold).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from localhb.api.body import BadRequest, Wakeup
from localhb.core.clock import Clock
from localhb.core.errors import AddRefused, HeartbeatFileError, LocalhbError
from localhb.cycle.adding import WAKE_SOURCE, AddRequest, add_task, added_by_value, prepare
from localhb.cycle.budget import Budget
from localhb.cycle.execute import Finished, LLMAgent, Options, execute
from localhb.cycle.observers import close_observers, default_observers
from localhb.cycle.workspace import Workspace
from localhb.cycle.writeback import write_outcomes
from localhb.format.model import Section, TaskKind
from localhb.state.records import Trigger
from localhb.state.store import open_store
from localhb.timing.plan import Work, WorkKind
from localhb.timing.schedule import resolve_local

if TYPE_CHECKING:
    from localhb.config import Config
    from localhb.core.results import TraceSink
    from localhb.format.model import Task

__all__ = ["Ended", "Services", "add_prompt_task", "find_task", "prompt_task_id", "run_task"]

log = logging.getLogger("localhb.api")


@dataclass(frozen=True, slots=True)
class Services:
    """What carrying out a wakeup needs from the daemon: its config (reloaded on
    SIGHUP), its clocks, the agent's environment and trace sink."""

    config: Callable[[], Config]
    clock: Callable[[], datetime]
    monotonic: Callable[[], float]
    sleep: Callable[[float], None]
    env: Mapping[str, str] | None = None
    on_event: TraceSink | None = None


@dataclass(frozen=True, slots=True)
class Ended:
    """How a wakeup's work ended, for the wakeup log."""

    state: str  # done | failed
    status: str | None = None
    summary: str | None = None
    error: str | None = None
    runs: tuple[int, ...] = ()
    task_id: str | None = None


def find_task(config: Config, task_id: str) -> Task:
    """The pending task `task_id`; BadRequest naming `task` when it cannot run."""
    try:
        ws = Workspace.load(config)
    except HeartbeatFileError as exc:
        raise BadRequest(str(exc), field="task", status=409) from None
    if ws.doc.errors:
        raise BadRequest(
            f"{ws.file} has {len(ws.doc.errors)} error(s), so no task of it runs "
            "(`localhb validate` lists them)",
            field="task",
            status=409,
        )
    task = ws.doc.task(task_id)
    if task is None:
        known = ", ".join(t.id for t in ws.doc.pending()[:10]) or "none"
        raise BadRequest(f"no task {task_id!r} in {ws.file} (pending: {known})", field="task")
    if task.section is not Section.PENDING:
        raise BadRequest(f"{task_id!r} is not pending (it is in {task.section})", field="task")
    if task.problem:
        raise BadRequest(f"{task_id!r} cannot run: {task.problem}", field="task", status=409)
    return task


def prompt_task_id(wakeup_id: str) -> str:
    return f"wake-{wakeup_id.removeprefix('w')}"


def add_prompt_task(config: Config, wakeup: Wakeup, wakeup_id: str, now: datetime) -> Task:
    """Append the prompt to HEARTBEAT.md as a one-time task; BadRequest if refused."""
    assert wakeup.prompt is not None
    tz = config.tz()
    title = wakeup.title or _title_of(wakeup.prompt)
    due = (now + Options.of(config, lambda: now).lease + timedelta(minutes=1)).astimezone(tz)
    due = due.replace(second=0, microsecond=0) + timedelta(minutes=1)
    request = AddRequest(title=title, due=f"{due:%Y-%m-%d %H:%M}", description=wakeup.prompt)
    try:
        new = prepare(request, now, tz, added_by=added_by_value(WAKE_SOURCE, now, tz))
        new = replace(new, extra=(("ID", prompt_task_id(wakeup_id)),))
        added = add_task(config, new, now)
    except AddRefused as exc:
        field = str(exc).split(":", 1)[0] if str(exc).startswith("title:") else "prompt"
        raise BadRequest(str(exc), field=field, status=409 if exc.diagnostics else 400) from None
    except HeartbeatFileError as exc:
        raise BadRequest(str(exc), field="prompt", status=409) from None
    log.info("wakeup %s: added task %s to %s", wakeup_id, added.task.id, added.path)
    return added.task


def run_task(services: Services, task_id: str, payload: str | None) -> Ended:
    """Run the pending task `task_id` now (trigger api) and write its outcome to the file."""
    config = services.config()
    clock = services.clock
    try:
        task = find_task(config, task_id)
    except BadRequest as exc:  # gone or broken since the request was accepted
        return Ended("failed", error=exc.message, task_id=task_id)
    now = clock()
    ws = Workspace.load(config)
    agent: Any = None
    observers = default_observers(config, ws.tz, clock)
    try:
        agent = LLMAgent.connect(
            config,
            clock=Clock(now=clock, monotonic=services.monotonic, sleep=services.sleep),
            env=services.env,
            on_event=services.on_event,
            model=task.uses_model,
            scheduling=True,
        )
        with open_store(config) as store:
            options = Options.of(
                config, clock, trigger=Trigger.API, budget=Budget(config, clock), gates=False
            )
            work = Work(task, _slot(task, now, ws), WorkKind.TASK, ws.judge(task, now))
            done = execute(work, store, _WithPayload(agent, payload), observers, options)
            if done is None:
                return Ended(
                    "failed", error="this task's slot is being run already", task_id=task_id
                )
            warnings, moved = write_outcomes(ws, [done])
            store.retire(moved)
    except LocalhbError as exc:  # a missing key, an unreadable ledger: the wakeup failed
        return Ended("failed", error=str(exc), task_id=task_id)
    finally:
        if agent is not None:
            agent.close()
        close_observers(observers)
    for w in warnings:
        log.warning("wakeup of %s: %s", task_id, w)
    return _ended(done)


def _ended(done: Finished) -> Ended:
    status = done.outcome.status
    return Ended(
        "failed" if status == "error" else "done",
        status=status,
        summary=done.outcome.summary,
        runs=done.runs,
        task_id=done.work.task.id,
    )


def _slot(task: Task, now: datetime, ws: Workspace) -> datetime:
    """The slot a cycle would claim for a one-time task (its due time), so the ledger
    refuses a second run of it; else `now`, the moment of the wakeup."""
    if task.kind is not TaskKind.ONE_TIME or task.due is None:
        return now
    due = task.due if task.due.tzinfo is not None else resolve_local(task.due, ws.tz)
    ev = ws.judge(task, max(now, due))
    return ev.slots[0] if ev.slots else now


def _title_of(prompt: str) -> str:
    words = " ".join(prompt.split())
    if len(words) <= 60:
        return words
    cut = words[:60].rsplit(" ", 1)[0] or words[:60]
    return cut + "…"


@dataclass(frozen=True, slots=True)
class _WithPayload:
    """The agent, with the wakeup's payload handed to each task run."""

    inner: Any
    payload: str | None

    def run_task(self, task: Task, guard: Any = None, **context: Any) -> Any:
        return self.inner.run_task(task, guard, payload=self.payload, **context)

    def check_condition(self, task: Task) -> Any:
        return self.inner.check_condition(task)

    def evaluate_check(self, task: Task, previous: str | None, **context: Any) -> Any:
        return self.inner.evaluate_check(task, previous, **context)

    def redact(self, text: str) -> str:
        return str(self.inner.redact(text))


def retry_after(config: Config) -> int:
    """Seconds a client should wait when the queue is full: about one run."""
    return max(1, min(60, math.ceil(config.agent.task_timeout.total_seconds() / 10)))
