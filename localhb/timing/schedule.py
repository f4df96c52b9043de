"""When tasks are due: pure evaluation of schedules, active hours and time zones.

Nothing here reads the clock or does I/O: `now` is always an argument and
must be timezone-aware. Every instant is compared in UTC, because two aware
datetimes sharing one `tzinfo` compare by wall clock and ignore `fold`;
`Evaluation` therefore carries UTC datetimes, and reasons show local times.

Slots are the instants a recurring task is meant to run:
- crons fire as cronsim says (Debian cron DST rules: a fixed time inside a
  spring-forward gap fires once at the transition, a fixed time in the
  repeated hour fires once, wildcard-hour jobs fire in both hours);
- an interval that divides 24 h evenly is a grid on the local clock from
  midnight ("every 4 hours" is 00:00, 04:00, ... local): a grid time in the
  repeated hour runs at both instants, one inside a gap at the transition;
- any other interval is a grid N apart in UTC anchored at the last run's
  slot (the ledger's, else the file's `Last run`), or, before the first run,
  at when the task first appeared: "every 3 days" is 3 days after the last
  run, one run per slot. Without an anchor (`slots_until` called bare) the
  grid counts from the Unix epoch.

`localhb.timing.slots` walks the slots, `localhb.timing.dst` holds the DST rule and
`localhb.timing.hours` the daily windows; docs/schedules.md explains the rules for people.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, tzinfo
from enum import StrEnum
from functools import lru_cache
from zoneinfo import ZoneInfo

from localhb.format.model import CatchUp, Section, Task, TaskKind
from localhb.format.recurrence import Recurrence
from localhb.format.recurrence_model import describe_extras
from localhb.timing.dst import resolve_local
from localhb.timing.hours import (
    ActiveHours,
    is_active,
    next_active,
    parse_active_hours,
    window_end,
)
from localhb.timing.slots import slots_after, slots_until

__all__ = [
    "ALL_CAP",
    "ActiveHours",
    "Evaluation",
    "State",
    "divides_day",
    "evaluate",
    "interval_anchor",
    "is_active",
    "next_active",
    "parse_active_hours",
    "resolve_local",
    "slots_after",
    "slots_until",
    "window_end",
]

ALL_CAP = 100
"""The most missed slots `catch_up = all` runs in one evaluation (the latest ones)."""

MAX_RETRY_DELAY = timedelta(hours=24)


class State(StrEnum):
    DUE = "due"
    SCHEDULED = "scheduled"
    CHECKING = "checking"
    PAUSED = "paused"
    DONE = "done"
    FAILED = "failed"
    INVALID = "invalid"


@dataclass(frozen=True, slots=True)
class Evaluation:
    """One task at one `now`: whether it runs, for which slots, and when next.

    `slots` (oldest first) and `next_due` are UTC instants.
    """

    due: bool
    state: State
    slots: tuple[datetime, ...]
    next_due: datetime | None
    reason: str


# --- clock times and zones ----------------------------------------------------------


def _aware(dt: datetime, tz: tzinfo) -> datetime:
    """Naive -> resolved in `tz`; either way as UTC."""
    return resolve_local(dt, tz).astimezone(UTC)


def divides_day(step: timedelta) -> bool:
    """Whether an interval is a grid on the local clock from midnight (it divides 24 h)."""
    return 86400 % int(step.total_seconds()) == 0


def interval_anchor(
    rec: Recurrence,
    now: datetime,
    tz: tzinfo,
    *,
    last_run: datetime | None,
    last_slot: datetime | None,
    first_seen: datetime | None,
) -> datetime | None:
    """Where the slots of an interval that does not divide a day are counted from.

    The last run's slot (the ledger's, unless the file's `Last run` is a whole
    interval later), else the file's `Last run`, else when the task first
    appeared, else `now` (to the minute). None for every other schedule."""
    if rec.interval is None or divides_day(rec.interval):
        return None
    ledger = _aware(last_slot, tz) if last_slot is not None else None
    written = _aware(last_run, tz) if last_run is not None else None
    if ledger is not None and (written is None or written < ledger + rec.interval):
        return ledger
    if written is not None:
        return written
    if first_seen is not None:
        return _aware(first_seen, tz)
    return _floor_minute(now)


# --- evaluation ---------------------------------------------------------------------


def _floor_minute(now: datetime) -> datetime:
    return now.astimezone(UTC).replace(second=0, microsecond=0)


def _show(instant: datetime, tz: tzinfo, now: datetime | None = None) -> str:
    """Local wall time for reasons: "18:00" on `now`'s day, else with the date."""
    local = instant.astimezone(tz)
    clock = "%H:%M:%S" if local.second else "%H:%M"
    if now is not None and local.date() == now.astimezone(tz).date():
        return local.strftime(clock)
    return local.strftime("%Y-%m-%d " + clock)


def _scheduled(at: datetime | None, tz: tzinfo, reason: str = "") -> Evaluation:
    if at is None:
        return Evaluation(False, State.SCHEDULED, (), None, reason or "no future slot")
    text = f"next at {_show(at, tz)}"
    return Evaluation(False, State.SCHEDULED, (), at, f"{reason}; {text}" if reason else text)


def _one_time(
    task: Task,
    now: datetime,
    tz: tzinfo,
    first_seen: datetime | None,
    retry_base: timedelta,
    max_attempts: int,
) -> Evaluation:
    if task.attempts >= max_attempts:
        reason = f"failed: {task.attempts} attempts of {max_attempts}"
        return Evaluation(False, State.FAILED, (), None, reason)
    due_at = _aware(task.due, tz) if task.due is not None else None
    if due_at is not None:
        slot = due_at
    elif first_seen is not None:
        slot = _aware(first_seen, tz)
    else:
        slot = _floor_minute(now)
    earliest = due_at
    retry = ""
    if task.attempts > 0:
        retry = f"retry {task.attempts + 1} of {max_attempts}"
        if task.last_run is not None:
            delay = min(retry_base * 2 ** (task.attempts - 1), MAX_RETRY_DELAY)
            retry_at = _aware(task.last_run, tz) + delay
            earliest = retry_at if earliest is None else max(earliest, retry_at)
    if earliest is None or now >= earliest:
        what = retry or (f"once at {_show(due_at, tz, now)}" if due_at else "once, now")
        return Evaluation(True, State.DUE, (slot,), slot, f"due: {what}")
    return _scheduled(earliest, tz, retry)


def _catch_up(
    missed: list[datetime],
    policy: CatchUp,
    now: datetime,
    tz: tzinfo,
    window: timedelta,
    upcoming: datetime | None,
) -> Evaluation:
    """Apply the catch-up policy to missed slots (latest first, at most ALL_CAP + 1)."""
    latest = missed[0]
    n = len(missed)
    times = f"{n}" if n <= ALL_CAP else f"more than {ALL_CAP}"
    slot = _show(latest, tz, now)
    if policy is CatchUp.ALL:
        runs = tuple(reversed(missed[:ALL_CAP]))
        if n == 1:
            reason = f"due: slot {slot}"
        elif n <= ALL_CAP:
            reason = f"due: catch-up of {n} missed up to {slot}, runs each (catch-up all)"
        else:
            reason = (
                f"due: {times} missed slots up to {slot}; runs the latest {ALL_CAP}, "
                "older ones skipped (catch-up all)"
            )
        return Evaluation(True, State.DUE, runs, latest, reason)
    if policy is CatchUp.NONE:
        if now - latest > window:
            plural = "s" if n > 1 else ""
            skipped = f"skipped {times} missed slot{plural} (catch-up none)"
            return _scheduled(upcoming, tz, skipped)
        reason = f"due: slot {slot}"
        if n > 1:
            reason += "; older missed slots skipped (catch-up none)"
        return Evaluation(True, State.DUE, (latest,), latest, reason)
    reason = f"due: slot {slot}"
    if n > 1:
        reason += f"; catch-up of {times} missed, runs once (catch-up once)"
    return Evaluation(True, State.DUE, (latest,), latest, reason)


def _recurring(
    task: Task,
    now: datetime,
    tz: tzinfo,
    window: timedelta,
    last_slot: datetime | None,
    first_seen: datetime | None,
    policy: CatchUp,
) -> Evaluation:
    rec = task.recurrence
    if rec is None or not (rec.every_cycle or rec.interval or rec.crons or rec.rrules):
        return Evaluation(False, State.INVALID, (), None, "recurring task without a schedule")
    if rec.every_cycle:
        slot = _floor_minute(now)
        return Evaluation(True, State.DUE, (slot,), slot, "due: every heartbeat")
    covered = [_aware(d, tz) for d in (task.last_run, last_slot) if d is not None]
    since = max(covered) if covered else None
    anchor = interval_anchor(
        rec, now, tz, last_run=task.last_run, last_slot=last_slot, first_seen=first_seen
    )
    upcoming = _next_slot(rec, max([now, *covered]), tz, anchor)
    latest = _latest_slot(rec, now, tz, anchor)
    if since is None and rec.interval is not None and latest is not None:
        reason = f"due: first run, slot {_show(latest, tz, now)}"
        return Evaluation(True, State.DUE, (latest,), latest, reason)
    base = since if since is not None else first_seen
    missed: list[datetime] = []
    if base is not None and latest is not None and latest > _aware(base, tz):
        # Counted to ALL_CAP + 1 at most: the walk stops at the first covered slot.
        missed = _uncovered(slots_until(rec, now, tz, anchor), _aware(base, tz))
    if not missed and since is None and latest is not None and now - latest <= window:
        missed = [latest]  # never run: the slot that just fired still counts
    if not missed:
        return _scheduled(upcoming, tz)
    return _catch_up(missed, policy, now, tz, window, upcoming)


@lru_cache(maxsize=4096)
def _latest_slot(
    rec: Recurrence, t: datetime, tz: tzinfo, anchor: datetime | None = None
) -> datetime | None:
    """The latest slot at or before `t` (cached: tasks share schedules and `now`)."""
    return next(slots_until(rec, t, tz, anchor), None)


@lru_cache(maxsize=4096)
def _next_slot(
    rec: Recurrence, t: datetime, tz: tzinfo, anchor: datetime | None = None
) -> datetime | None:
    """The first slot after `t` (cached like `_latest_slot`)."""
    return next(slots_after(rec, t, tz, anchor), None)


def _uncovered(walk: Iterator[datetime], since: datetime) -> list[datetime]:
    """The slots after `since` from a latest-first walk, at most ALL_CAP + 1 of them."""
    out: list[datetime] = []
    for slot in walk:
        if slot <= since or len(out) > ALL_CAP:
            break
        out.append(slot)
    return out


def evaluate(
    task: Task,
    now: datetime,
    tz: tzinfo,
    *,
    window: timedelta = timedelta(minutes=30),
    last_slot: datetime | None = None,
    first_seen: datetime | None = None,
    retry_base: timedelta = timedelta(minutes=30),
    max_attempts: int = 3,
    default_catch_up: str = "once",
) -> Evaluation:
    """Whether `task` is due at `now`, which slot(s) it runs and when it is next due.

    `window` is how late a slot may still run when nothing has covered it;
    `last_slot` is the latest slot the ledger has run; `first_seen` when the
    ledger first saw the task. docs/schedules.md states the rules.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    try:
        policy = task.catch_up or CatchUp(default_catch_up)
    except ValueError:
        raise ValueError(
            f'default_catch_up "{default_catch_up}" must be one of none, once, all'
        ) from None
    now = now.astimezone(UTC)
    if task.section is Section.COMPLETED or task.checked is True:
        return Evaluation(False, State.DONE, (), None, "done")
    if task.paused is not None:
        reason = f'paused: "{task.paused}"' if task.paused else "paused"
        return Evaluation(False, State.PAUSED, (), None, reason)
    if task.problem is not None:
        return Evaluation(False, State.INVALID, (), None, f"invalid: {task.problem}")
    if task.zone is not None and task.due is not None and task.due.tzinfo is None:
        task = replace(task, due=resolve_local(task.due, ZoneInfo(task.zone)))
    if task.kind is TaskKind.ONE_TIME:
        ev = _one_time(task, now, tz, first_seen, retry_base, max_attempts)
    elif task.kind is TaskKind.CONDITIONAL:
        if task.due is not None and _aware(task.due, tz) > now:
            start = _aware(task.due, tz)
            return Evaluation(False, State.SCHEDULED, (), start, f"checks from {_show(start, tz)}")
        slot = _floor_minute(now)
        ev = Evaluation(True, State.CHECKING, (slot,), slot, f"checking: {task.condition or ''}")
    else:
        ev = _recurring(task, now, tz, window, last_slot, first_seen, policy)
    anchor = None
    if task.recurrence is not None:
        anchor = interval_anchor(
            task.recurrence,
            now,
            tz,
            last_run=task.last_run,
            last_slot=last_slot,
            first_seen=first_seen,
        )
    return _held_by_window(task, ev, now, tz, anchor)


def _held_by_window(
    task: Task, ev: Evaluation, now: datetime, tz: tzinfo, anchor: datetime | None = None
) -> Evaluation:
    """A due task outside its own `Active hours` waits for the window (or its next slot)."""
    if task.window is None or not ev.due:
        return ev
    zone = ZoneInfo(task.zone) if task.zone else tz
    hours = ActiveHours(*task.window)
    if is_active(now, hours, zone):
        return ev
    rec = task.recurrence
    if task.kind is TaskKind.RECURRING and rec is not None and not rec.every_cycle:
        upcoming = next(slots_after(rec, now, tz, anchor), None)  # N after the last run
    else:
        upcoming = next_active(now, hours, zone).astimezone(UTC)
    shown = describe_extras(task.window, None).removeprefix(", ")
    return _scheduled(upcoming, tz, f"held by its active hours {shown}")
