"""What `localhb daemon status` reports: the daemon's files, the ledger and HEARTBEAT.md.

`gather_status(config, now)` reads them all and never raises for their
content: what it cannot read becomes a line in `problems`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any

from localhb.core.errors import HeartbeatFileError, LedgerError
from localhb.daemon.state import DaemonState, Running, find_daemon, read_pid, read_state

if TYPE_CHECKING:
    from localhb.config import Config
    from localhb.state.breakers import BreakerRow
    from localhb.state.ledger import Cycle, RunRow
    from localhb.timing.wake import Upcoming

__all__ = ["DaemonStatus", "gather_status"]


@dataclass(frozen=True, slots=True)
class DaemonStatus:
    """Everything `localhb daemon status` shows, gathered at `now`."""

    home: Path
    now: datetime
    running: Running | None
    state: DaemonState | None
    stale_pid: int | None
    last_cycle: Cycle | None = None
    due: tuple[Upcoming, ...] = ()
    errors: tuple[RunRow, ...] = ()
    problems: tuple[str, ...] = field(default=())
    cycle_errors: tuple[Cycle, ...] = ()
    running_now: tuple[RunRow, ...] = ()
    breaker: BreakerRow | None = None

    @property
    def failing(self) -> str | None:
        """Why the last cycle failed, when it did (the daemon's own record or the
        ledger's, whichever is newer): a setup error, a file with errors."""
        own, cycle = self.state, self.last_cycle
        if (
            own is not None
            and own.last_cycle_at is not None
            and (cycle is None or own.last_cycle_at > cycle.started_at)
        ):
            failed = own.last_outcome in ("error", "crashed")
            return (own.last_message or str(own.last_outcome)) if failed else None
        if cycle is not None and cycle.outcome == "error":
            return cycle.detail or "error"
        return None

    @property
    def endpoint_down(self) -> str | None:
        """The endpoint breaker's reason, while it is open (state.db `breakers`): a setup
        error (unreachable, 401, unknown model) keeps model work back, across cycles."""
        b = self.breaker
        return None if b is None else f"{b.tripped_by or 'endpoint'}: {b.reason}"

    @property
    def uptime(self) -> timedelta | None:
        if self.running is None or self.running.state is None:
            return None
        return max(timedelta(0), self.now - self.running.state.started_at)

    def to_dict(self, tz: tzinfo) -> dict[str, Any]:
        def local(dt: datetime | None) -> str | None:
            return None if dt is None else dt.astimezone(tz).isoformat()

        state = self.running.state if self.running else None
        cycle = self.last_cycle
        uptime = self.uptime
        return {
            "home": str(self.home),
            "running": self.running is not None,
            "pid": self.running.pid if self.running else None,
            "started_at": local(state.started_at) if state else None,
            "uptime_seconds": round(uptime.total_seconds()) if uptime is not None else None,
            "next_wake": local(state.next_wake) if state else None,
            "next_wake_reason": state.next_wake_reason if state else None,
            "stale_pid": self.stale_pid,
            "stopped_at": local(self.state.stopped_at) if self.state and not self.running else None,
            "last_cycle": None
            if cycle is None
            else {
                "started_at": local(cycle.started_at),
                "completed_at": local(cycle.completed_at),
                "outcome": cycle.outcome,
                "detail": cycle.detail,
            },
            "due_24h": [
                {"id": u.task_id, "title": u.title, "due": local(u.at), "due_now": u.due_now}
                for u in self.due
            ],
            "recent_errors": [
                {
                    "task_id": r.task_id,
                    "state": r.state,
                    "at": local(r.completed_at or r.started_at),
                    "summary": r.summary or r.error or "",
                }
                for r in self.errors
            ],
            "problems": list(self.problems),
            "last_cycle_failed": self.failing,
            "endpoint_down": self.endpoint_down,
            "breaker": None if self.breaker is None else self.breaker.to_dict(),
            "cycle_errors": [
                {"at": local(c.started_at), "detail": c.detail} for c in self.cycle_errors
            ],
            "running_now": [
                {
                    "task_id": r.task_id,
                    "run_id": r.id,
                    "kind": r.kind,
                    "started_at": local(r.started_at),
                    "seconds": round(max(0.0, (self.now - r.started_at).total_seconds())),
                    "pid": r.pid,
                }
                for r in self.running_now
            ],
        }


def gather_status(
    config: Config, now: datetime, *, horizon: timedelta = timedelta(hours=24), errors: int = 5
) -> DaemonStatus:
    """Read the daemon's files, the ledger and HEARTBEAT.md; never raises for their content."""
    from localhb.cycle.workspace import Workspace
    from localhb.state.breakers import ENDPOINT
    from localhb.state.store import existing_store
    from localhb.timing.wake import due_within

    home = config.home
    running = find_daemon(home)
    pid = read_pid(home)
    stale = pid if running is None and pid is not None else None
    problems: list[str] = []
    last_cycle = None
    recent: tuple[RunRow, ...] = ()
    cycle_errors: tuple[Cycle, ...] = ()
    running_now: tuple[RunRow, ...] = ()
    breaker: BreakerRow | None = None
    ws: Workspace | None = None
    due: tuple[Upcoming, ...] = ()
    try:
        with existing_store(config) as store:
            if store is not None:
                last_cycle = store.last_cycle()
                recent = tuple(store.recent_errors(errors))
                cycle_errors = tuple(store.cycle_errors(errors))
                running_now = tuple(store.running())
                held = _budget_held(store, config, now)
                if held is not None:
                    problems.append(held)
                breaker = store.breaker(ENDPOINT)
            ws = Workspace.load(config, store)
    except LedgerError as exc:
        problems.append(str(exc))
        try:
            ws = Workspace.load(config)
        except HeartbeatFileError as err:
            problems.append(str(err))
    except HeartbeatFileError as exc:
        problems.append(str(exc))
    if ws is not None:
        doc = ws.doc
        if doc.errors:
            problems.append(
                f"{ws.file}: {len(doc.errors)} error(s), so no task runs "
                "(`localhb validate` shows them)"
            )
        # Each at its next run inside the active hours and its own window.
        items = ws.upcoming(now)
        due = tuple(due_within(items, now, horizon))
    return DaemonStatus(
        home=home,
        now=now,
        running=running,
        state=read_state(home),
        stale_pid=stale,
        last_cycle=last_cycle,
        due=due,
        errors=recent,
        problems=tuple(problems),
        cycle_errors=cycle_errors,
        running_now=running_now,
        breaker=breaker,
    )


def _budget_held(store: Any, config: Config, now: datetime) -> str | None:
    """Why `[budget]` holds model runs today, or None (no cap, or under it)."""
    if not config.budget.capped:
        return None
    from localhb.state.budget import read_spend

    reason = read_spend(store, config, now).block_reason()
    if reason is None:
        return None
    return f"budget: model runs are held until the next budget day: {reason} (`localhb usage`)"
