"""The one unit of execution: claim, run and record one piece of work.

    execute(work, store, agent, observers, options) -> Finished | None

Cycles (`localhb.cycle.runner`) and `localhb run ID` both call it; so will
anything else that runs a task (a wake API). It claims the run in the store,
tells the observers it started, runs the agent, records one `RunEnd` in the
store and tells the observers it finished. A condition check that is met is
followed, under the same slot, by the task's own run. Every exception of
the agent is that run's error (panic recovery); `execute` raises only when
the store itself fails.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from localhb.core.errors import LedgerError
from localhb.core.results import STATUS_VALUES, Status
from localhb.cycle.agents import PAYLOAD_ENV, Agent, LLMAgent
from localhb.cycle.breaker import Breaker
from localhb.cycle.budget import Budget
from localhb.cycle.events import Observer, RunFinished, RunStarted, emit
from localhb.cycle.steps import check_step, crash_end, gate_step, is_setup, run_step
from localhb.format.model import TaskKind
from localhb.state.records import RunEnd, Trigger
from localhb.state.rows import slot_key
from localhb.timing.plan import SETUP, Outcome, Work, WorkKind

if TYPE_CHECKING:
    from localhb.agent.commands import CheckVerdict
    from localhb.config import Config
    from localhb.core.results import ConditionResult, TaskResult
    from localhb.state.ledger import RunRef
    from localhb.state.store import Store

__all__ = ["PAYLOAD_ENV", "Agent", "Finished", "LLMAgent", "Options", "crash_end", "execute"]

log = logging.getLogger("localhb")
_LOG_LEVELS = {Status.ERROR: logging.ERROR, Status.PARTIAL: logging.WARNING}
"""A run's end is logged at ERROR or WARNING when it failed, so `grep ERROR agent.log` finds it."""


@dataclass(frozen=True, slots=True)
class Options:
    """How `execute` runs: its clock, the run's lease and owner, and what triggered it.

    `gates` False skips a recurring task's `Check:` gate (`localhb run` without
    `--check`). `budget` holds model work to the `[budget]` caps (None: no caps).
    """

    lease: timedelta
    clock: Callable[[], datetime]
    pid: int = field(default_factory=os.getpid)
    trigger: Trigger = Trigger.SCHEDULE
    gates: bool = True
    budget: Budget | None = None
    breaker: Breaker | None = None

    @classmethod
    def of(cls, config: Config, clock: Callable[[], datetime], **kwargs: Any) -> Options:
        """A lease longer than any run can last: the agent stops at task_timeout, at most
        one tool call late. Past it, another cycle may declare the run abandoned."""
        lease = (
            2 * config.agent.task_timeout + config.tools.shell.timeout + config.tools.http.timeout
        )
        return cls(lease=lease, clock=clock, **kwargs)


@dataclass(frozen=True, slots=True)
class Finished:
    """One piece of work done (or found already done: `recovered`).

    `gate`, `check` and `result` are what the `Check:` gate, the condition
    check and the task's run reported (None after a crash, or when not run);
    `runs` the ids of the ledger runs it made.
    """

    work: Work
    outcome: Outcome
    started: datetime
    finished: datetime
    failures: int
    check: ConditionResult | None = None
    result: TaskResult | None = None
    runs: tuple[int, ...] = ()
    recovered: bool = False
    gate: CheckVerdict | None = None


def execute(
    work: Work,
    store: Store,
    agent: Agent,
    observers: Sequence[Observer],
    options: Options,
) -> Finished | None:
    """Claim, run and record `work`; None when someone else has its slot."""
    task, clock = work.task, options.clock
    scheduled = options.trigger is Trigger.SCHEDULE
    attempt = task.attempts + 1 if task.kind is TaskKind.ONE_TIME and scheduled else 1
    budget, breaker = options.budget, options.breaker
    if breaker is not None and breaker.reason is not None and task.uses_model:
        breaker.skip(store, task)  # not claimed: the slot stays due for the next cycle
        return None
    if budget is not None and work.kind is WorkKind.TASK and task.uses_model:
        reason = budget.block(store)
        if reason is not None:  # not claimed: the slot stays due for a later cycle
            budget.skip(store, task, reason)
            return None
    if task.kind is TaskKind.ONE_TIME and scheduled:
        attempt += _setup_runs(store, work)
    run = _claim(store, work, work.kind, options, attempt)
    if run is None:
        if scheduled:
            ended = store.finished_run(task.id, work.slot, work.kind.value, attempt)
            if ended is not None and work.kind is WorkKind.TASK:
                # It ran, but the file never heard (a crash, or an edit conflict):
                # record that result now rather than running the task twice.
                log.warning("%s: recording run %s in the file", task.id, ended.id)
                status = Status(ended.state) if ended.state in STATUS_VALUES else Status.ERROR
                outcome = Outcome(task.id, status, ended.summary or "(no summary)")
                snap = store.snapshot(task.id)
                failures = snap.consecutive_failures if snap else 0
                done = ended.completed_at or ended.started_at
                return Finished(work, outcome, ended.started_at, done, failures, recovered=True)
        store.record_skip("overlap", clock())
        log.info("%s: slot %s is being run elsewhere; skipped", task.id, work.slot)
        return None
    runs = [run.id]
    check: ConditionResult | None = None
    verdict: CheckVerdict | None = None
    extra: dict[str, Any] = {}
    if work.kind is WorkKind.TASK and task.check is not None and options.gates:
        # A gated recurring task: its `Check:` decides, by code, whether it runs.
        started = _started(observers, work, WorkKind.CHECK, run, options)
        stop, end, verdict = gate_step(task, agent, store)
        if stop is not None:
            failures = _finish(
                store, observers, work, WorkKind.CHECK, run, stop, end, started, options
            )
            return Finished(work, stop, started, clock(), failures, runs=tuple(runs), gate=verdict)
        if verdict.fingerprint is not None:  # what a met `file ... changed` check saw
            extra["fingerprint"] = verdict.fingerprint
    if work.kind is WorkKind.CHECK:
        started = _started(observers, work, WorkKind.CHECK, run, options)
        outcome, end, check, verdict = check_step(task, agent, store, budget)
        if breaker is not None and check is not None:
            if check.stats.failure is not None and check.stats.failure.is_setup:
                breaker.trip(task, outcome.summary)
            else:
                breaker.worked()
        failures = _finish(
            store, observers, work, WorkKind.CHECK, run, outcome, end, started, options
        )
        if outcome.checked_only:
            return Finished(
                work, outcome, started, clock(), failures, check, None, tuple(runs), gate=verdict
            )
        reason = budget.block(store) if budget is not None and task.run is None else None
        if budget is not None and reason is not None:
            budget.skip(store, task, reason)
            skip = Outcome(task.id, Status.SKIPPED, reason, checked_only=True, detail="budget")
            return Finished(work, skip, started, clock(), failures, check, None, tuple(runs))
        run = _claim(store, work, WorkKind.TASK, options, 1)
        if run is None:
            return None
        runs.append(run.id)
    started = _started(observers, work, WorkKind.TASK, run, options)
    outcome, end, result = run_step(task, agent, extra, budget, store, clock)
    if breaker is not None and result is not None and task.uses_model:
        if is_setup(result):
            breaker.trip(task, outcome.summary)
        else:
            breaker.worked()
    failures = _finish(store, observers, work, WorkKind.TASK, run, outcome, end, started, options)
    return Finished(
        work, outcome, started, clock(), failures, check, result, tuple(runs), gate=verdict
    )


def _setup_runs(store: Store, work: Work) -> int:
    """Scheduled runs of this slot that ended on a setup error: each spent no attempt
    (the file's count stayed), but holds a ledger attempt number."""
    slot = slot_key(work.slot)
    return sum(
        1
        for r in store.runs(work.task.id, limit=500)
        if r.slot == slot
        and r.kind == work.kind.value
        and r.error == SETUP
        and r.trigger == Trigger.SCHEDULE.value
    )


def _claim(
    store: Store, work: Work, kind: WorkKind, options: Options, attempt: int
) -> RunRef | None:
    return store.claim(
        work.task.id,
        work.slot,
        kind.value,
        options.clock(),
        options.lease,
        options.pid,
        attempt=attempt,
        trigger=options.trigger,
    )


def _started(
    observers: Sequence[Observer], work: Work, kind: WorkKind, run: RunRef, options: Options
) -> datetime:
    started = options.clock()
    emit(observers, RunStarted(work.task, kind, work.slot, options.trigger, run.id, started))
    return started


def _finish(
    store: Store,
    observers: Sequence[Observer],
    work: Work,
    kind: WorkKind,
    run: RunRef,
    outcome: Outcome,
    end: RunEnd,
    started: datetime,
    options: Options,
) -> int:
    """Record the run's end in the store, then tell the observers; the failures in a row."""
    task = work.task
    done = options.clock()
    try:
        store.finish(run, end, done)
    except LedgerError as exc:  # e.g. abandoned meanwhile by another cycle's cleanup
        log.error("could not record the end of %s: %s", task.id, exc)
    snap = store.snapshot(task.id)
    failures = snap.consecutive_failures if snap is not None else 0
    check = kind is WorkKind.CHECK
    level = _LOG_LEVELS.get(outcome.status, logging.INFO)
    what = f"{task.id} (check)" if check else task.id
    log.log(level, "%s: %s - %s", what, outcome.status, outcome.summary)
    final = not check or outcome.checked_only
    emit(
        observers,
        RunFinished(
            task,
            kind,
            work.slot,
            options.trigger,
            run.id,
            started,
            done,
            end,
            outcome,
            final,
            failures,
        ),
    )
    return failures
