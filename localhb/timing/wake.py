"""When the daemon wakes next. Pure: no I/O, no clock; `now` is an argument.

    candidates  the interval tick: last cycle + interval (a clock that went
                back never makes it later than now + interval)
                every pending task's next due time after now
                the opening of the active-hours window, when outside it
    wake        the earliest candidate; one inside a closed window moves to
                the window's opening
    retries     a crashed cycle is retried sooner, after CRASH_BASE doubling
                per crash in a row, never later than the interval

Only future due times count: a task that is due *now* was the last cycle's
business (or it is a condition checked every cycle), so it waits for the
tick and the daemon never spins on it. All instants are UTC.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

from localhb.format.parser import Document
from localhb.timing.nextrun import task_next_run
from localhb.timing.plan import History, Policy, judge
from localhb.timing.schedule import ActiveHours, is_active, next_active

__all__ = [
    "CRASH_BASE",
    "Upcoming",
    "Wake",
    "crash_backoff",
    "due_within",
    "next_wake",
    "sleep_for",
    "upcoming",
]

CRASH_BASE = timedelta(seconds=5)
"""The first retry delay after a crashed cycle; it doubles per crash in a row."""


@dataclass(frozen=True, slots=True)
class Upcoming:
    """A pending task's next due time (UTC); `due_now` when that is not after `now`."""

    task_id: str
    title: str
    at: datetime
    due_now: bool
    reason: str


@dataclass(frozen=True, slots=True)
class Wake:
    """When the daemon runs its next cycle (UTC), and why."""

    at: datetime
    reason: str


def upcoming(
    doc: Document,
    now: datetime,
    tz: tzinfo,
    policy: Policy,
    history: Mapping[str, History],
    active: ActiveHours | None = None,
) -> list[Upcoming]:
    """Every pending task that will run by itself, earliest first (as `plan()` sees them).

    A task due now and free to run keeps the slot it is due for (in the past:
    the last cycle's business, see `next_wake`); any other is at its next run
    inside `active` (`[heartbeat] active_hours`) and its own window and zone,
    as `localhb tasks` shows it. A task whose windows never meet is left out."""
    now = now.astimezone(UTC)
    out: list[Upcoming] = []
    for task in doc.pending():
        ev = judge(task, now, tz, policy, history.get(task.id, History()))
        nxt = task_next_run(task, ev, now, tz, active)
        if ev.next_due is None or nxt.at is None:
            continue
        if ev.due and nxt.held_until is None:
            at = ev.next_due.astimezone(UTC)
            out.append(Upcoming(task.id, task.title, at, True, ev.reason))
            continue
        at = nxt.at.astimezone(UTC)
        out.append(Upcoming(task.id, task.title, at, at <= now, nxt.reason))
    out.sort(key=lambda u: (u.at, u.task_id))
    return out


def due_within(items: Iterable[Upcoming], now: datetime, horizon: timedelta) -> list[Upcoming]:
    """The items due now or within `horizon` of `now`, earliest first."""
    limit = now.astimezone(UTC) + horizon
    return sorted((u for u in items if u.at <= limit), key=lambda u: (u.at, u.task_id))


def next_wake(
    now: datetime,
    *,
    interval: timedelta,
    last_cycle: datetime | None,
    tasks: Iterable[Upcoming] = (),
    active_hours: ActiveHours | None = None,
    tz: tzinfo = UTC,
) -> Wake:
    """The next wake after a cycle (or at start, `last_cycle=None`: now).

    `tasks` are the pending tasks' next due times. Those after the last cycle
    began count (a slot that fell due while that cycle ran wakes at once);
    older ones that are still due were that cycle's to run, and wait.
    """
    now = now.astimezone(UTC)
    if last_cycle is None:
        best = Wake(now, "start")
        since = now
    else:
        base = min(last_cycle.astimezone(UTC), now)  # a clock set back starts over from now
        best = Wake(base + interval, "interval")
        since = base
    for u in tasks:
        at = max(u.at, now)
        if since < u.at and at < best.at:
            best = Wake(at, f"{u.task_id} due")
    if not is_active(now, active_hours, tz):
        opens = next_active(now, active_hours, tz).astimezone(UTC)
        if opens < best.at:
            best = Wake(opens, "active hours open")
    if not is_active(best.at, active_hours, tz):
        best = Wake(next_active(best.at, active_hours, tz).astimezone(UTC), "active hours open")
    return best


def crash_backoff(crashes: int, interval: timedelta, base: timedelta = CRASH_BASE) -> timedelta:
    """The wait before retrying after `crashes` crashed cycles in a row, capped at `interval`."""
    if crashes <= 0:
        return timedelta(0)
    return min(interval, base * (1 << min(crashes - 1, 40)))


def sleep_for(now: datetime, wake: Wake, chunk: float) -> float:
    """Seconds to sleep before looking at the clock again: at most `chunk`, never past the wake."""
    left = (wake.at - now.astimezone(UTC)).total_seconds()
    return max(0.0, min(chunk, left))
