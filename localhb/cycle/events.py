"""Typed lifecycle events, and the `Observer` hook that receives them.

    RunStarted     a run was claimed and its agent is about to start
    RunFinished    a run ended and is recorded in the store (its `RunEnd`)
    CycleFinished  a heartbeat cycle ended (its `CycleReport`), also when skipped
    BudgetEvent    a `[budget]` cap kept a model run from starting, or stopped one

An observer is any callable taking one event (in the way hynek/stamina's
instrumentation hooks take frozen details): health files and the daily
memory log are the built-in ones (`localhb.cycle.observers`); a new one
(notifications, metrics) is one more callable in the list handed to
`Runner(observers=...)` or `execute(...)`. Observers run in the thread that
ran the work; one that raises is logged and the others still run.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Protocol

from localhb.core.results import Status
from localhb.state.records import RunEnd, Trigger
from localhb.timing.plan import Outcome, WorkKind

if TYPE_CHECKING:
    from localhb.format.model import Diagnostic, Task
    from localhb.state.breakers import BreakerRow

__all__ = [
    "BudgetEvent",
    "CycleFinished",
    "CycleReport",
    "Event",
    "Observer",
    "RunFinished",
    "RunStarted",
    "TaskLine",
    "emit",
]

log = logging.getLogger("localhb")


@dataclass(frozen=True, slots=True)
class TaskLine:
    """One finished piece of work, as the cycle reports it."""

    task_id: str
    status: Status
    summary: str
    kind: str = "task"

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", Status(self.status))


@dataclass(frozen=True, slots=True)
class CycleReport:
    """What a cycle did. `outcome`: idle | ran | inactive | locked | dry-run | error."""

    outcome: str
    message: str = ""
    results: tuple[TaskLine, ...] = ()
    planned: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    diagnostics: tuple[Diagnostic, ...] = ()
    next_wake: datetime | None = None
    endpoint_down: str | None = None  # the breaker kept model work back: why (a setup error)
    breaker: BreakerRow | None = None  # the endpoint's open breaker after the cycle
    breaker_change: str | None = None  # "opened" or "closed" by this cycle

    @property
    def failed(self) -> bool:
        return self.endpoint_down is not None or any(r.status == Status.ERROR for r in self.results)


@dataclass(frozen=True, slots=True)
class RunStarted:
    """A run of `task` (a task run or a condition check: `kind`) has been claimed."""

    task: Task
    kind: WorkKind
    slot: datetime
    trigger: Trigger
    run_id: int
    at: datetime


@dataclass(frozen=True, slots=True)
class RunFinished:
    """A run ended and the store has it.

    `end` is what the ledger recorded; `outcome` what the file records.
    `final` is False for a met condition's check: the task's own run follows.
    `consecutive_failures` is the ledger's count after this run.
    """

    task: Task
    kind: WorkKind
    slot: datetime
    trigger: Trigger
    run_id: int
    started: datetime
    finished: datetime
    end: RunEnd
    outcome: Outcome
    final: bool
    consecutive_failures: int


@dataclass(frozen=True, slots=True)
class CycleFinished:
    """A cycle ended (not for dry runs)."""

    started: datetime
    finished: datetime
    report: CycleReport


@dataclass(frozen=True, slots=True)
class BudgetEvent:
    """A `[budget]` cap stopped model work: a run `skipped` before it started, or one
    `stopped` partway. `first_today` is True for the day's first such event, the one
    that is notified (one notice per budget day, `day` in `[budget] timezone`)."""

    task_id: str
    action: str  # skipped | stopped
    reason: str
    at: datetime
    first_today: bool
    day: date | None = None


Event = RunStarted | RunFinished | CycleFinished | BudgetEvent


class Observer(Protocol):
    """Receives lifecycle events as they happen; should not raise (it is logged if it does)."""

    def __call__(self, event: Event, /) -> None: ...


def emit(observers: Iterable[Observer], event: Event) -> None:
    """Hand `event` to every observer in turn; one that raises does not stop the rest."""
    for observer in observers:
        try:
            observer(event)
        except Exception:
            log.exception("observer %r failed on %s", observer, type(event).__name__)
