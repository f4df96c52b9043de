"""The endpoint circuit breaker, within one cycle: a setup failure stops model work.

    Breaker.trip(task, summary)   a run ended on a setup failure: open, once
    Breaker.reason                why the endpoint cannot be used (None: closed)
    Breaker.skip(store, task)     a model run not started: skip `endpoint`, reported
    Breaker.warning()             the cycle's one message that the endpoint is down

A setup failure (`Failure.SETUP`: connection refused after retries, 401/403,
no key, unknown model, no tool support) says the endpoint or its config is
wrong, so every further model run of the cycle would fail the same way. Once
open, `execute` sends no more agent tasks or model condition checks: they are
not claimed (their slot stays due for the next cycle) and are counted as the
skip `endpoint`. `Run:` tasks and `Check:` gates need no model and still run.
The breaker is per cycle: the next cycle tries the endpoint again.
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
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

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
        rest = f"{n} other agent task(s) skipped, still due" if n else "no other agent task was due"
        return (
            f"endpoint down ({self.tripped_by}: {self.reason}); {rest}; "
            "`Run:` tasks and checks still ran; the next cycle tries again"
        )
