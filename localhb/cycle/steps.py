"""The steps of one run, each turned into an `Outcome` and a `RunEnd`.

`run_step` runs the task, `gate_step` evaluates its `Check:` gate (by code),
`check_step` its condition (gate first, then the model); `crash_end` is what
any of them records when the agent raises. `localhb.cycle.execute` claims,
records and reports around them.
"""

from __future__ import annotations

import json
import logging
import traceback
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from localhb.core.results import Failure, Status
from localhb.cycle.budget import Budget
from localhb.cycle.history_view import history_reader, new_failures_for, paused_in_file
from localhb.format.checks import CheckKind
from localhb.state.records import RunEnd, Trigger
from localhb.timing.plan import SETUP, Outcome

if TYPE_CHECKING:
    from localhb.agent.commands import CheckVerdict
    from localhb.core.results import ConditionResult, TaskResult
    from localhb.cycle.agents import Agent
    from localhb.format.model import Task
    from localhb.state.store import Store

__all__ = ["check_step", "crash_end", "gate_step", "is_setup", "run_step"]

log = logging.getLogger("localhb")


def run_step(
    task: Task,
    agent: Agent,
    extra: Mapping[str, Any],
    budget: Budget | None,
    store: Store,
    clock: Callable[[], datetime],
) -> tuple[Outcome, RunEnd, TaskResult | None]:
    try:
        guard = budget.guard(store) if budget is not None and task.run is None else None
        context: dict[str, Any] = {}
        if task.tools is not None and "history" in task.tools:
            config = getattr(agent, "config", None)  # the real agent sees the file
            paused = None
            if config is not None:
                paused = paused_in_file(config, getattr(agent, "heartbeat_file", None))
            context["history"] = history_reader(store, clock, agent.redact, paused)
        r = agent.run_task(task, guard, **context)
        failure = r.stats.failure
        if budget is not None and failure is not None and failure is Failure.BUDGET:
            budget.event(task, "stopped", r.summary)
    except Exception as exc:  # panic recovery: a crashing task is that task's error
        outcome, end = crash_end(task, exc, agent.redact)
        return outcome, end, None
    setup = r.stats.failure is not None and r.stats.failure.is_setup
    outcome = Outcome(task.id, r.status, r.summary, detail=SETUP if setup else "")
    data = {**r.to_dict(), **extra}
    return outcome, RunEnd.from_result(outcome.status, data, summary=r.summary), r


def is_setup(result: TaskResult) -> bool:
    failure = result.stats.failure
    return failure is not None and failure.is_setup


def gate_step(
    task: Task, agent: Agent, store: Store
) -> tuple[Outcome | None, RunEnd, CheckVerdict]:
    """Evaluate `task.check` (0 tokens): no outcome when met, else the one that ends it."""
    context: dict[str, Any] = {}
    if task.check is not None and task.check.kind is CheckKind.NEW_FAILURES:
        context["new_failures"] = new_failures_for(store, task.id)
    v = agent.evaluate_check(task, _last_fingerprint(store, task.id), **context)
    if v.error is not None:
        outcome = Outcome(task.id, Status.ERROR, v.error, checked_only=True, detail="error")
    elif not v.met:
        summary = f"check not met: {v.evidence}" if v.evidence else "check not met"
        outcome = Outcome(task.id, Status.SKIPPED, summary, checked_only=True, detail="not met")
    else:
        return None, RunEnd.from_result(Status.OK, v.to_dict()), v
    return outcome, RunEnd.from_result(outcome.status, v.to_dict(), summary=outcome.summary), v


def _last_fingerprint(store: Store, task_id: str) -> str | None:
    """The file state the task's last scheduled `file ... changed` check recorded."""
    for row in store.runs(task_id, limit=20):
        if row.trigger != Trigger.SCHEDULE.value:
            continue
        try:
            data = json.loads(row.result_json or "{}")
        except ValueError:
            continue
        if isinstance(data, dict) and isinstance(data.get("fingerprint"), str):
            return str(data["fingerprint"])
    return None


def check_step(
    task: Task, agent: Agent, store: Store, budget: Budget | None
) -> tuple[Outcome, RunEnd, ConditionResult | None, CheckVerdict | None]:
    verdict: CheckVerdict | None = None
    if task.check is not None:
        stop, end, verdict = gate_step(task, agent, store)
        if stop is not None:
            return stop, end, None, verdict
        if task.condition is None:
            outcome = Outcome(task.id, Status.OK, f"check met: {verdict.evidence}")
            end = RunEnd.from_result(Status.OK, verdict.to_dict(), summary=outcome.summary)
            return outcome, end, None, verdict
    reason = budget.block(store) if budget is not None else None
    if budget is not None and reason is not None:
        budget.skip(store, task, reason)
        outcome = Outcome(task.id, Status.SKIPPED, reason, checked_only=True, detail="budget")
        return outcome, RunEnd.from_result(Status.SKIPPED, {}, summary=reason), None, verdict
    try:
        c = agent.check_condition(task)
    except Exception as exc:
        crashed, end = crash_end(task, exc, agent.redact)
        outcome = Outcome(task.id, Status.ERROR, crashed.summary, checked_only=True)
        return outcome, end, None, verdict
    if c.error is not None:
        outcome = Outcome(task.id, Status.ERROR, c.error, checked_only=True, detail="error")
    elif not c.met:
        summary = f"condition not met: {c.evidence}" if c.evidence else "condition not met"
        outcome = Outcome(task.id, Status.SKIPPED, summary, checked_only=True, detail="not met")
    else:
        outcome = Outcome(task.id, Status.OK, f"condition met: {c.evidence}")
    end = RunEnd.from_result(outcome.status, c.to_dict(), summary=outcome.summary)
    return outcome, end, c, verdict


def crash_end(
    task: Task, exc: BaseException, redact: Callable[[str], str]
) -> tuple[Outcome, RunEnd]:
    """A crashed run's outcome and end; the traceback is logged, both redacted."""
    tb = redact("".join(traceback.format_exception(exc)))
    log.error("task %s crashed:\n%s", task.id, tb)
    summary = redact(f"crashed: {type(exc).__name__}: {exc}")
    outcome = Outcome(task.id, Status.ERROR, summary)
    end = RunEnd.from_result(Status.ERROR, {"error": summary, "traceback": tb}, summary=summary)
    return outcome, end
