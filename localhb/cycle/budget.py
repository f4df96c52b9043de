"""`[budget]` caps where runs start: the gate `execute` asks before any model work.

    Budget.block(store)     why no model run may start now (today's spend), or None
    Budget.guard(store)     what stops a run in progress at a cap (`RunGuard`)
    Budget.skip(...)        a run not started: counted as skip `budget`, reported
    BudgetEvent             told to the `on_budget` observer and to the cycle's
                            observers (notifications: one message a day)

The spend itself is read from the store (`localhb.state.budget`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from localhb.core.results import Status
from localhb.cycle.events import BudgetEvent, Observer, TaskLine, emit

if TYPE_CHECKING:
    from localhb.config import Config
    from localhb.format.model import Task
    from localhb.state.store import Store

__all__ = ["Budget", "BudgetEvent", "BudgetObserver", "log_budget"]

log = logging.getLogger("localhb")


class BudgetObserver(Protocol):
    """Told of every budget event; must not raise."""

    def __call__(self, event: BudgetEvent, /) -> None: ...


def log_budget(event: BudgetEvent) -> None:
    """The default observer: a warning in the log for the day's first event."""
    if event.first_today:
        log.warning("budget: %s %s: %s", event.task_id, event.action, event.reason)


@dataclass
class Budget:
    """The caps of `config` for one cycle; `lines` collects the runs it kept from starting.

    Each budget event goes to `on_budget` and then to `observers` (the cycle's
    lifecycle observers: notifications send the day's first event)."""

    config: Config
    clock: Callable[[], datetime]
    on_budget: BudgetObserver = log_budget
    observers: Sequence[Observer] = ()
    lines: list[TaskLine] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def block(self, store: Store) -> str | None:
        """Why no model run may start now ([budget] caps against today's spend), or None."""
        if not self.config.budget.capped:
            return None
        from localhb.state.budget import read_spend

        return read_spend(store, self.config, self.clock()).block_reason()

    def guard(self, store: Store) -> Any:
        """What stops a run that crosses a daily cap, given today's spend so far."""
        if not self.config.budget.capped:
            return None
        from localhb.state.budget import RunGuard, read_spend

        today = read_spend(store, self.config, self.clock()).today
        price = self.config.budget.price(self.config.llm.model)
        return RunGuard(self.config.budget, today.tokens, today.cost, price)

    def skip(self, store: Store, task: Task, reason: str) -> None:
        store.record_skip("budget", self.clock())
        with self._lock:
            self.lines.append(TaskLine(task.id, Status.SKIPPED, f"budget: {reason}", "budget"))
        log.info("%s: skipped: budget: %s", task.id, reason)
        self.event(task, "skipped", reason)

    def event(self, task: Task, action: str, reason: str) -> None:
        from localhb.state.budget import first_notice_today

        now = self.clock()
        day = now.astimezone(self.config.budget_tz()).date()
        with self._lock:  # two tasks crossing the cap at once: one first notice
            try:
                first = first_notice_today(self.config.home, day)
            except OSError as exc:
                log.error("could not record the budget notice: %s", exc)
                first = True
        event = BudgetEvent(task.id, action, reason, now, first, day)
        try:
            self.on_budget(event)
        except Exception:  # an observer must never break the cycle
            log.exception("budget observer failed")
        emit(self.observers, event)
