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

import json
import logging
import os
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from localhb.core.clock import Clock, utc_now
from localhb.core.errors import LedgerError
from localhb.core.results import STATUS_VALUES
from localhb.cycle.breaker import Breaker
from localhb.cycle.budget import Budget
from localhb.cycle.events import Observer, RunFinished, RunStarted, emit
from localhb.cycle.history_view import history_reader, new_failures_for
from localhb.format.checks import CheckKind
from localhb.format.model import TaskKind
from localhb.state.records import RunEnd, Trigger
from localhb.timing.plan import Outcome, Work, WorkKind

if TYPE_CHECKING:
    from localhb.agent.commands import CheckVerdict
    from localhb.config import Config
    from localhb.core.results import ConditionResult, TaskResult, TraceSink
    from localhb.format.model import Task
    from localhb.state.ledger import RunRef
    from localhb.state.store import Store

__all__ = ["STATUSES", "Agent", "Finished", "LLMAgent", "Options", "crash_end", "execute"]

log = logging.getLogger("localhb")
_LOG_LEVELS = {"error": logging.ERROR, "partial": logging.WARNING}
"""A run's end is logged at ERROR or WARNING when it failed, so `grep ERROR agent.log` finds it."""

PAYLOAD_ENV = "LOCALHB_WAKE_PAYLOAD"
"""Where a `Run:` command finds a wakeup's payload (quote it: "$LOCALHB_WAKE_PAYLOAD")."""

STATUSES = frozenset(STATUS_VALUES)
"""What a file records of a run (`Outcome.status`)."""


class Agent(Protocol):
    """What `execute` needs of the agent: run a task, check a condition (by the model)
    or a `Check:` gate (by code), redact text."""

    def run_task(self, task: Task, guard: Any = None, **context: Any) -> TaskResult: ...

    def check_condition(self, task: Task) -> ConditionResult: ...

    def evaluate_check(self, task: Task, previous: str | None, **context: Any) -> CheckVerdict:
        """`context` may hold `new_failures` (a counter) for `Check: new failures`."""
        ...

    def redact(self, text: str) -> str: ...


@dataclass(frozen=True, slots=True)
class LLMAgent:
    """The agent of `localhb.agent`: the LLM loop (one client for a cycle's runs),
    `Run:` commands and `Check:` gates (`localhb.agent.commands`, no model).

    `clock` is the agent's clock (`localhb.core.clock.Clock`: now, monotonic,
    sleep), so its retry waits follow the caller's time. `client` is None when
    no work needs the model.
    """

    config: Config
    client: Any
    clock: Clock | None = None
    env: Mapping[str, str] | None = None
    on_event: TraceSink | None = None
    heartbeat_file: Path | None = None
    scheduling: bool = False
    mcp: Any = None  # localhb.agent.mcp.MCPHub: the cycle's MCP servers, started on first use

    @classmethod
    def connect(
        cls,
        config: Config,
        *,
        clock: Clock | None = None,
        env: Mapping[str, str] | None = None,
        on_event: TraceSink | None = None,
        heartbeat_file: Path | None = None,
        model: bool = True,
        scheduling: bool = False,
    ) -> LLMAgent:
        """Check the prompt and build the client first: problems of configuration
        (MissingAPIKey, ConfigError) surface before any run is claimed. With
        `model` False (only `Run:` tasks and `Check:` gates) nothing connects.
        `scheduling`: scheduled runs may get `schedule_task` (`localhb.cycle.adding`)."""
        from localhb.agent import loop as agent
        from localhb.agent.prompting import system_prompt

        client: Any = None
        hub: Any = None
        if model:
            system_prompt(config.llm, source=config.path)
            client = agent.connect(config.llm, os.environ if env is None else env)
            if config.mcp.servers:
                from localhb.agent.mcp import MCPHub  # nothing starts until a task uses it

                hub = MCPHub(config.mcp.servers, cwd=str(config.agent.workspace))
        return cls(config, client, clock, env, on_event, heartbeat_file, scheduling, hub)

    def close(self) -> None:
        """Close the client and stop every MCP server this agent started."""
        if self.mcp is not None:
            self.mcp.close()
        if self.client is not None:
            self.client.close()

    def _options(self) -> dict[str, Any]:
        return {
            "client": self.client,
            "on_event": self.on_event,
            "clock": self.clock,
            "env": self.env,
            "heartbeat_file": self.heartbeat_file or self.config.heartbeat.file,
        }

    def run_task(self, task: Task, guard: Any = None, **context: Any) -> TaskResult:
        """`guard` stops a model run at a `[budget]` cap (`localhb.state.budget.RunGuard`);
        `context` may hold `history` (the `run_history` tool's reader) and `payload`
        (a wakeup's JSON text: untrusted data for the model; `$LOCALHB_WAKE_PAYLOAD`
        for a `Run:` command, never put into its command line)."""
        from localhb.agent import loop as agent

        if task.run is not None:
            from localhb.agent.commands import run_command_task

            now = self.clock.now if self.clock is not None else None
            env = self.env
            if context.get("payload") is not None:
                env = {**(os.environ if env is None else env), PAYLOAD_ENV: context["payload"]}
            return run_command_task(task, self.config, on_event=self.on_event, env=env, now=now)
        scheduler = None
        if self.scheduling:
            from localhb.cycle.adding import scheduler_for

            now = self.clock.now if self.clock is not None else utc_now
            scheduler = scheduler_for(self.config, task, now)
        return agent.run_task(
            task,
            self.config,
            scheduler=scheduler,
            guard=guard,
            mcp=self.mcp,
            history=context.get("history"),
            payload=context.get("payload"),
            **self._options(),
        )

    def evaluate_check(self, task: Task, previous: str | None, **context: Any) -> CheckVerdict:
        from localhb.agent.commands import evaluate_check

        return evaluate_check(
            task,
            self.config,
            env=self.env,
            previous=previous,
            on_event=self.on_event,
            new_failures=context.get("new_failures"),
        )

    def check_condition(self, task: Task) -> ConditionResult:
        from localhb.agent import loop as agent

        return agent.check_condition(task, self.config, **self._options())

    def redact(self, text: str) -> str:
        from localhb.core.redact import Redactor

        env = os.environ if self.env is None else self.env
        return Redactor.from_env(env, extra_names=[self.config.llm.api_key_env])(text)


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
    run = _claim(store, work, work.kind, options, attempt)
    if run is None:
        if scheduled:
            ended = store.finished_run(task.id, work.slot, work.kind.value, attempt)
            if ended is not None and work.kind is WorkKind.TASK:
                # It ran, but the file never heard (a crash, or an edit conflict):
                # record that result now rather than running the task twice.
                log.warning("%s: recording run %s in the file", task.id, ended.id)
                status = ended.state if ended.state in STATUSES else "error"
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
        stop, end, verdict = _gate(task, agent, store)
        if stop is not None:
            failures = _finish(
                store, observers, work, WorkKind.CHECK, run, stop, end, started, options
            )
            return Finished(work, stop, started, clock(), failures, runs=tuple(runs), gate=verdict)
        if verdict.fingerprint is not None:  # what a met `file ... changed` check saw
            extra["fingerprint"] = verdict.fingerprint
    if work.kind is WorkKind.CHECK:
        started = _started(observers, work, WorkKind.CHECK, run, options)
        outcome, end, check, verdict = _check(task, agent, store, budget)
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
            skip = Outcome(task.id, "skipped", reason, checked_only=True, detail="budget")
            return Finished(work, skip, started, clock(), failures, check, None, tuple(runs))
        run = _claim(store, work, WorkKind.TASK, options, 1)
        if run is None:
            return None
        runs.append(run.id)
    started = _started(observers, work, WorkKind.TASK, run, options)
    outcome, end, result = _task(task, agent, extra, budget, store, clock)
    if breaker is not None and result is not None and _is_setup(result):
        breaker.trip(task, outcome.summary)
    failures = _finish(store, observers, work, WorkKind.TASK, run, outcome, end, started, options)
    return Finished(
        work, outcome, started, clock(), failures, check, result, tuple(runs), gate=verdict
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


def _task(
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
            context["history"] = history_reader(store, clock, agent.redact)
        r = agent.run_task(task, guard, **context)
        failure = r.stats.failure
        if budget is not None and failure is not None and failure.value == "budget":
            budget.event(task, "stopped", r.summary)
    except Exception as exc:  # panic recovery: a crashing task is that task's error
        outcome, end = crash_end(task, exc, agent.redact)
        return outcome, end, None
    outcome = Outcome(task.id, r.status.value, r.summary)
    data = {**r.to_dict(), **extra}
    return outcome, RunEnd.from_result(outcome.status, data, summary=r.summary), r


def _is_setup(result: TaskResult) -> bool:
    failure = result.stats.failure
    return failure is not None and failure.is_setup


def _gate(task: Task, agent: Agent, store: Store) -> tuple[Outcome | None, RunEnd, CheckVerdict]:
    """Evaluate `task.check` (0 tokens): no outcome when met, else the one that ends it."""
    context: dict[str, Any] = {}
    if task.check is not None and task.check.kind is CheckKind.NEW_FAILURES:
        context["new_failures"] = new_failures_for(store, task.id)
    v = agent.evaluate_check(task, _last_fingerprint(store, task.id), **context)
    if v.error is not None:
        outcome = Outcome(task.id, "error", v.error, checked_only=True, detail="error")
    elif not v.met:
        summary = f"check not met: {v.evidence}" if v.evidence else "check not met"
        outcome = Outcome(task.id, "skipped", summary, checked_only=True, detail="not met")
    else:
        return None, RunEnd.from_result("ok", v.to_dict()), v
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


def _check(
    task: Task, agent: Agent, store: Store, budget: Budget | None
) -> tuple[Outcome, RunEnd, ConditionResult | None, CheckVerdict | None]:
    verdict: CheckVerdict | None = None
    if task.check is not None:
        stop, end, verdict = _gate(task, agent, store)
        if stop is not None:
            return stop, end, None, verdict
        if task.condition is None:
            outcome = Outcome(task.id, "ok", f"check met: {verdict.evidence}")
            data = verdict.to_dict()
            return outcome, RunEnd.from_result("ok", data, summary=outcome.summary), None, verdict
    reason = budget.block(store) if budget is not None else None
    if budget is not None and reason is not None:
        budget.skip(store, task, reason)
        outcome = Outcome(task.id, "skipped", reason, checked_only=True, detail="budget")
        return outcome, RunEnd.from_result("skipped", {}, summary=reason), None, verdict
    try:
        c = agent.check_condition(task)
    except Exception as exc:
        crashed, end = crash_end(task, exc, agent.redact)
        outcome = Outcome(task.id, "error", crashed.summary, checked_only=True)
        return outcome, end, None, verdict
    if c.error is not None:
        outcome = Outcome(task.id, "error", c.error, checked_only=True, detail="error")
    elif not c.met:
        summary = f"condition not met: {c.evidence}" if c.evidence else "condition not met"
        outcome = Outcome(task.id, "skipped", summary, checked_only=True, detail="not met")
    else:
        outcome = Outcome(task.id, "ok", f"condition met: {c.evidence}")
    end = RunEnd.from_result(outcome.status, c.to_dict(), summary=outcome.summary)
    return outcome, end, c, verdict


def crash_end(
    task: Task, exc: BaseException, redact: Callable[[str], str]
) -> tuple[Outcome, RunEnd]:
    """A crashed run's outcome and end; the traceback is logged, both redacted."""
    tb = redact("".join(traceback.format_exception(exc)))
    log.error("task %s crashed:\n%s", task.id, tb)
    summary = redact(f"crashed: {type(exc).__name__}: {exc}")
    outcome = Outcome(task.id, "error", summary)
    end = RunEnd.from_result("error", {"error": summary, "traceback": tb}, summary=summary)
    return outcome, end


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
    level = _LOG_LEVELS.get(str(outcome.status), logging.INFO)
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
