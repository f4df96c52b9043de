"""What a cycle runs, and how each outcome changes the file. Pure: no I/O, no clock.

`plan()` turns a parsed document plus what the ledger remembers into an
ordered list of work; `edits_for()` turns one finished piece of work into the
surgical edits that record it. The runner does the I/O around both.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from enum import StrEnum
from typing import TYPE_CHECKING

from localhb.core.results import Status
from localhb.format.edit import Edit, MoveToCompleted, RemoveField, SetChecked, SetField
from localhb.format.model import Form, Task, TaskKind
from localhb.format.parser import Document
from localhb.timing.schedule import Evaluation, State, evaluate

if TYPE_CHECKING:
    from localhb.config import HeartbeatConfig

STAMP = "%Y-%m-%d %H:%M"
SETUP = "setup"
"""`Outcome.detail` of a run that ended on a setup error (the endpoint or config is wrong)."""


class WorkKind(StrEnum):
    TASK = "task"
    CHECK = "check"


@dataclass(frozen=True, slots=True)
class History:
    """What the ledger knows about a task beyond the file."""

    first_seen: datetime | None = None
    last_slot: datetime | None = None
    consecutive_failures: int = 0


@dataclass(frozen=True, slots=True)
class Work:
    """One thing to do this cycle: run a task for a slot, or check its condition."""

    task: Task
    slot: datetime
    kind: WorkKind
    evaluation: Evaluation


@dataclass(frozen=True, slots=True)
class Skip:
    task_id: str
    reason: str
    detail: str


@dataclass(frozen=True, slots=True)
class Policy:
    """The [heartbeat] settings evaluation needs."""

    window: timedelta = timedelta(minutes=30)
    retry_base: timedelta = timedelta(minutes=30)
    max_attempts: int = 3
    max_consecutive_failures: int = 3
    catch_up: str = "once"

    @classmethod
    def of(cls, hb: HeartbeatConfig) -> Policy:
        return cls(
            window=hb.interval,
            retry_base=hb.retry_backoff,
            max_attempts=hb.max_attempts,
            max_consecutive_failures=hb.max_consecutive_failures,
            catch_up=hb.catch_up,
        )


def judge(task: Task, now: datetime, tz: tzinfo, policy: Policy, h: History) -> Evaluation:
    """`evaluate` with the cycle's policy and what the ledger remembers of the task."""
    return evaluate(
        task,
        now,
        tz,
        window=policy.window,
        last_slot=h.last_slot,
        first_seen=h.first_seen,
        retry_base=policy.retry_base,
        max_attempts=policy.max_attempts,
        default_catch_up=policy.catch_up,
    )


def plan(
    doc: Document,
    now: datetime,
    tz: tzinfo,
    policy: Policy,
    history: Mapping[str, History],
) -> tuple[list[Work], list[Skip]]:
    """Due work in run order (high priority first, then earliest due), and skips."""
    work: list[tuple[tuple[int, datetime, int], Work]] = []
    skips: list[Skip] = []
    for order, task in enumerate(doc.pending()):
        ev = judge(task, now, tz, policy, history.get(task.id, History()))
        if ev.state is State.PAUSED:
            skips.append(Skip(task.id, "paused", ev.reason))
        if not ev.due:
            continue
        kind = WorkKind.CHECK if task.kind is TaskKind.CONDITIONAL else WorkKind.TASK
        for slot in ev.slots:
            work.append(((task.priority.rank, slot, order), Work(task, slot, kind, ev)))
    work.sort(key=lambda item: item[0])
    return [w for _, w in work], skips


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one piece of work ended, as far as the file cares.

    `status` is a `Status` (ok | partial | skipped | error). `checked_only` marks a
    condition check after which the task itself did not run (not met, or
    the check failed).
    """

    task_id: str
    status: Status
    summary: str
    checked_only: bool = False
    detail: str = ""  # SETUP: an error of the endpoint or config, not of the task

    def __post_init__(self) -> None:
        # A plain "ok" becomes Status.OK; anything else is a ValueError here,
        # not a wrong word in the file later.
        object.__setattr__(self, "status", Status(self.status))


def edits_for(
    task: Task,
    outcome: Outcome,
    *,
    started: datetime,
    finished: datetime,
    policy: Policy,
    consecutive_failures: int = 0,
) -> list[Edit]:
    """The edits that record `outcome` in the file.

    `started`/`finished` are local wall times: `Last run` and `Last checked`
    record when the run started (so a long run never seems to cover slots
    that passed while it ran); `Completed` records when it finished.
    """
    ran = started.strftime(STAMP)
    stamp = finished.strftime(STAMP)
    tid = task.id
    if outcome.checked_only:
        state = outcome.detail or outcome.status.value
        return [SetField(tid, "last checked", f"{ran} ({state})")]
    if task.kind is TaskKind.RECURRING:
        edits: list[Edit] = [SetField(tid, "last run", f"{ran} ({outcome.status.value})")]
        if outcome.status == Status.ERROR:
            edits.append(SetField(tid, "last error", outcome.summary))
            n = consecutive_failures
            setup = outcome.detail == SETUP  # the endpoint or config, not the task: no pause
            if n > 0 and n % policy.max_consecutive_failures == 0 and not setup:
                edits.append(
                    SetField(
                        tid,
                        "paused",
                        f"{n} failures in a row (last: {outcome.summary}); "
                        "delete this line to resume",
                    )
                )
        elif task.field("last error") is not None:
            edits.append(RemoveField(tid, "last error"))
        return edits
    # One-time tasks, and conditional tasks whose condition was met and ran.
    if outcome.status != Status.ERROR:
        edits = [SetChecked(tid, True)] if task.form is Form.CHECKBOX else []
        edits.append(SetField(tid, "completed", stamp))
        edits.append(SetField(tid, "notes", outcome.summary))
        if outcome.status != Status.OK:
            edits.append(SetField(tid, "status", outcome.status.value))
        edits.append(MoveToCompleted(tid))
        return edits
    if outcome.detail == SETUP:  # the endpoint or config is wrong: no attempt is spent
        return [
            SetField(tid, "last error", outcome.summary),
            SetField(tid, "last run", f"{ran} ({Status.ERROR.value})"),
        ]
    attempts = task.attempts + 1
    edits = [
        SetField(tid, "attempts", str(attempts)),
        SetField(tid, "last error", outcome.summary),
        SetField(tid, "last run", f"{ran} ({Status.ERROR.value})"),
    ]
    if attempts >= policy.max_attempts:
        edits += [
            SetField(tid, "status", Status.ERROR.value),
            SetField(tid, "completed", stamp),
            SetField(tid, "notes", f"gave up after {attempts} attempts: {outcome.summary}"),
            MoveToCompleted(tid),
        ]
    return edits


def earliest_due(
    doc: Document,
    now: datetime,
    tz: tzinfo,
    policy: Policy,
    history: Mapping[str, History],
) -> datetime | None:
    """When the first pending task becomes due (None: no task ever will by itself)."""
    soonest: datetime | None = None
    for task in doc.pending():
        ev = judge(task, now, tz, policy, history.get(task.id, History()))
        when = now if ev.due else ev.next_due
        if when is not None and (soonest is None or when < soonest):
            soonest = when
    return soonest
