"""The endpoint circuit breaker: a setup failure stops model work, across cycles.

    Breaker.load(store, ...)      the cycle's breaker, open when state.db says it still holds
    Breaker.trip(task, summary)   a run ended on a setup failure: open, once
    Breaker.worked()              a model run got an answer: the endpoint works
    Breaker.reason                why the endpoint cannot be used (None: closed)
    Breaker.skip(store, task)     a model run not started: skip `endpoint`, reported
    Breaker.settle(store, now)    write what the cycle learned; `change` is opened/closed/None
    Breaker.warning()             the cycle's one message that the endpoint is down

A setup failure (`Failure.SETUP`: connection refused after retries, 401/403,
no key, unknown model, no tool support) says the endpoint or its config is
wrong, so every further model run of the cycle would fail the same way. Once
open, `execute` sends no more agent tasks or model condition checks: they are
not claimed (their slot stays due for the next cycle) and are counted as the
skip `endpoint`. `Run:` tasks and `Check:` gates need no model and still run.

It holds across cycles (localhb.state.breakers, the `breakers` table): a
cycle that finds it open and not yet due to be tried again (`retry_at`, with
backoff) sends no model request at all; the first cycle after `retry_at` lets
its model work try, and the breaker closes on the first answer, or stays open
with a longer backoff on another setup failure.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from localhb.core.results import Status
from localhb.cycle.events import TaskLine

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from localhb.format.model import Task
    from localhb.state.breakers import BreakerRow
    from localhb.state.store import Store

__all__ = ["SKIP_REASON", "Breaker"]

log = logging.getLogger("localhb")

SKIP_REASON = "endpoint"
"""The skip counter (`localhb health`/ledger `skips`) of runs the open breaker kept back."""


@dataclass
class Breaker:
    """One cycle's breaker; `lines` collects the runs it kept from starting."""

    clock: Callable[[], datetime]
    reason: str | None = None
    tripped_by: str | None = None
    lines: list[TaskLine] = field(default_factory=list)
    fingerprint: str = ""
    held: BreakerRow | None = None  # open from an earlier cycle, not yet to be tried
    probing: BreakerRow | None = None  # open, and this cycle tries the endpoint again
    row: BreakerRow | None = None  # after settle(): the open breaker, or None
    change: str | None = None  # after settle(): "opened", "closed" or None
    answered: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def load(
        cls, store: Store, clock: Callable[[], datetime], fingerprint: str, now: datetime
    ) -> Breaker:
        """The cycle's breaker: open from the start when state.db's still holds at `now`."""
        from localhb.state.breakers import ENDPOINT

        row = store.breaker(ENDPOINT)
        b = cls(clock, fingerprint=fingerprint)
        if row is not None and row.holds(now, fingerprint):
            b.held = b.row = row
            b.reason, b.tripped_by = row.reason, row.tripped_by
        elif row is not None:
            b.probing = row
            log.info("endpoint breaker open since %s: trying again", row.opened_at)
        return b

    def worked(self) -> None:
        """A model run got an answer (of any kind): the endpoint can be used."""
        with self._lock:
            self.answered = True

    def settle(self, store: Store, now: datetime) -> BreakerRow | None:
        """Record the cycle's finding in state.db; the open breaker after it, or None."""
        from localhb.state.breakers import ENDPOINT

        if self.held is not None:
            return self.held
        if self.reason is not None:
            self.row, new = store.trip_breaker(
                ENDPOINT, self.reason, now, fingerprint=self.fingerprint, tripped_by=self.tripped_by
            )
            self.change = "opened" if new else None
            return self.row
        if self.probing is not None and self.answered:
            store.close_breaker(ENDPOINT)
            self.change = "closed"
            log.info("endpoint breaker closed: the endpoint answers again")
            return None
        self.row = self.probing
        return self.row

    def trip(self, task: Task, summary: str) -> None:
        """Open on `task`'s setup failure; the first one names the problem."""
        with self._lock:
            if self.reason is not None:
                return
            self.reason = summary or "setup failure"
            self.tripped_by = task.id
        log.error(
            "endpoint down (%s: %s): the cycle's other agent tasks are skipped",
            task.id,
            self.reason,
        )

    def skip(self, store: Store, task: Task) -> None:
        store.record_skip(SKIP_REASON, self.clock())
        summary = f"endpoint down: {self.reason}"
        with self._lock:
            self.lines.append(TaskLine(task.id, Status.SKIPPED, summary, SKIP_REASON))
        log.info("%s: skipped: %s", task.id, summary)

    def warning(self) -> str | None:
        """One sentence for the cycle's output, or None when the breaker stayed closed."""
        if self.reason is None:
            return None
        n = len(self.lines)
        if self.held is not None:
            if not n:
                return None
            return (
                f"endpoint down ({self.held.describe()}); {n} agent task(s) skipped, still due; "
                "`Run:` tasks and checks still ran"
            )
        rest = f"{n} other agent task(s) skipped, still due" if n else "no other agent task was due"
        return (
            f"endpoint down ({self.tripped_by}: {self.reason}); {rest}; "
            "`Run:` tasks and checks still ran; a later cycle tries again"
        )
