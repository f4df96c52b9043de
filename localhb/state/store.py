"""The `Store` seam: what cycles, runs, the daemon and the CLI need of the state database.

    Store          the Protocol (claim, finish with a `RunEnd`, history, abandon
                   stale runs with an injected `pid_alive`, cycles and skips)
    open_store     the SQLite ledger of a config (`localhb.state.ledger.Ledger`)
    existing_store the same, or None when there is no state.db yet (readers)
    memory_store   a private in-memory ledger, for tests

A cycle opens its store once and passes it down; nothing else opens the
database by path.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from types import TracebackType
from typing import TYPE_CHECKING, Protocol

from localhb.state.ledger import (
    MEMORY,
    Cycle,
    Ledger,
    RunRef,
    RunRow,
    SkipCount,
    Snapshot,
    process_alive,
)
from localhb.state.records import RunEnd, Trigger

if TYPE_CHECKING:
    from localhb.config import Config
    from localhb.state.breakers import BreakerRow
    from localhb.timing.plan import History

__all__ = [
    "PidAlive",
    "RunEnd",
    "Store",
    "Trigger",
    "existing_store",
    "memory_store",
    "open_store",
    "process_alive",
]

PidAlive = Callable[[int, str], bool]
"""`pid_alive(pid, host)`: whether that process still runs (True for another host)."""


class Store(Protocol):
    """Durable run state. `Ledger` is the implementation; see its docstring."""

    def claim(
        self,
        task_id: str,
        slot: datetime | str,
        kind: str,
        now: datetime,
        lease: timedelta,
        pid: int,
        *,
        attempt: int = 1,
        trigger: Trigger = Trigger.SCHEDULE,
    ) -> RunRef | None: ...

    def finish(self, run: RunRef, end: RunEnd, now: datetime) -> RunRow: ...

    def finished_run(
        self, task_id: str, slot: datetime | str, kind: str, attempt: int
    ) -> RunRow | None: ...

    def abandon_stale(self, now: datetime, pid_alive: PidAlive = ...) -> list[RunRef]: ...

    def abandon_own(self, pid: int, now: datetime, reason: str) -> list[RunRef]: ...

    def history(self) -> dict[str, History]: ...

    def snapshot(self, task_id: str) -> Snapshot | None: ...

    def snapshots(self) -> dict[str, Snapshot]: ...

    def see_tasks(self, task_ids: Iterable[str], now: datetime) -> list[str]: ...

    def retire(self, task_ids: Iterable[str]) -> list[str]: ...

    def run(self, run_id: int) -> RunRow | None: ...

    def runs(self, task_id: str | None = None, limit: int = 50) -> list[RunRow]: ...

    def recent_errors(self, limit: int = 10) -> list[RunRow]: ...

    def record_cycle(
        self, started_at: datetime, completed_at: datetime, outcome: str, detail: str = ""
    ) -> int: ...

    def last_cycle(self) -> Cycle | None: ...

    def cycle_errors(self, limit: int = 10) -> list[Cycle]: ...

    def running(self) -> list[RunRow]: ...

    def record_skip(self, reason: str, now: datetime) -> None: ...

    def skip_counts(self) -> dict[str, SkipCount]: ...

    def breaker(self, scope: str) -> BreakerRow | None: ...

    def breakers(self) -> list[BreakerRow]: ...

    def trip_breaker(
        self,
        scope: str,
        reason: str,
        now: datetime,
        *,
        fingerprint: str,
        tripped_by: str | None = None,
    ) -> tuple[BreakerRow, bool]: ...

    def close_breaker(self, scope: str) -> BreakerRow | None: ...

    def spend_since(self, since: datetime) -> list[tuple[str, datetime, str, int, int]]: ...

    def close(self) -> None: ...

    def __enter__(self) -> Store: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


def open_store(config: Config) -> Store:
    """The config's ledger (`<home>/state.db`), created and migrated as needed."""
    return Ledger.open(config.state_db)


@contextmanager
def existing_store(config: Config) -> Iterator[Store | None]:
    """The config's ledger for reading, or None when no cycle has created it yet."""
    if not config.state_db.exists():
        yield None
        return
    with Ledger.open(config.state_db) as store:
        yield store


def memory_store(*, host: str | None = None) -> Store:
    """A fresh ledger that lives in memory only (same schema, same rules)."""
    return Ledger.open(MEMORY, host=host)
