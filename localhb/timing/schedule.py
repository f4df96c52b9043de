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

docs/schedules.md explains the rules for people.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from enum import StrEnum
from functools import lru_cache

from cronsim import CronSim

from localhb.format.model import CatchUp, Section, Task, TaskKind
from localhb.format.recurrence import Recurrence

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
]

ALL_CAP = 100
"""The most missed slots `catch_up = all` runs in one evaluation (the latest ones)."""

MAX_RETRY_DELAY = timedelta(hours=24)
_DAY = timedelta(days=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DST_MARGIN = timedelta(hours=3)  # wider than any DST shift, for reverse cron walks


@dataclass(frozen=True, slots=True)
class ActiveHours:
    """A daily window in minutes after local midnight: start inclusive, end exclusive.

    `end` may be 1440 ("24:00"); `start > end` crosses midnight.
    """

    start: int
    end: int


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


def _minutes(value: str, what: str, *, allow_24: bool) -> int:
    m = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*", value)
    if m is None:
        raise ValueError(f'active hours {what} "{value}" is not a time: write HH:MM, e.g. "09:00"')
    hour, minute = int(m.group(1)), int(m.group(2))
    if (hour, minute) == (24, 0):
        if allow_24:
            return 1440
        raise ValueError(f'active hours {what} "{value}": 24:00 can only end a window')
    if hour > 23 or minute > 59:
        raise ValueError(f'active hours {what} "{value}" is not a time of day (00:00-23:59)')
    return hour * 60 + minute


def parse_active_hours(start: str, end: str) -> ActiveHours:
    """ "09:00", "17:00" -> ActiveHours; "24:00" may only be the end."""
    first = _minutes(start, "start", allow_24=False)
    last = _minutes(end, "end", allow_24=True)
    if first == last:
        shown = f"{first // 60:02d}:{first % 60:02d}"
        raise ValueError(
            f"active hours start and end are both {shown}: an empty window; "
            "to run all day leave active_hours out"
        )
    return ActiveHours(first, last)


def _exists(aware: datetime) -> bool:
    """False for a wall time inside a spring-forward gap."""
    back = aware.astimezone(UTC).astimezone(aware.tzinfo)
    return back.replace(tzinfo=None, fold=0) == aware.replace(tzinfo=None, fold=0)


def resolve_local(naive: datetime, tz: tzinfo) -> datetime:
    """A wall-clock time in `tz` as an aware datetime.

    A time that does not exist (spring-forward gap) maps to the transition
    instant; an ambiguous one (fall back) to its first occurrence. An aware
    datetime is returned unchanged.
    """
    if naive.tzinfo is not None:
        return naive
    first = naive.replace(tzinfo=tz, fold=0)
    if _exists(first):
        return first
    a = first.astimezone(UTC)
    b = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)
    lo, hi = min(a, b), max(a, b)
    before = lo.astimezone(tz).utcoffset()
    low, high = 0, int((hi - lo).total_seconds())
    while high - low > 1:  # the first second with the new offset
        mid = (low + high) // 2
        if (lo + timedelta(seconds=mid)).astimezone(tz).utcoffset() == before:
            low = mid
        else:
            high = mid
    return (lo + timedelta(seconds=high)).astimezone(tz)


def _aware(dt: datetime, tz: tzinfo) -> datetime:
    """Naive -> resolved in `tz`; either way as UTC."""
    return resolve_local(dt, tz).astimezone(UTC)


def is_active(now: datetime, hours: ActiveHours | None, tz: tzinfo) -> bool:
    """Whether the local wall clock of `now` is inside the window (None: always)."""
    if hours is None:
        return True
    local = now.astimezone(tz)
    minute = local.hour * 60 + local.minute
    if hours.start < hours.end:
        return hours.start <= minute < hours.end
    return minute >= hours.start or minute < hours.end


def next_active(now: datetime, hours: ActiveHours | None, tz: tzinfo) -> datetime:
    """`now` when active, else the next opening (a start inside a gap opens at the transition)."""
    if is_active(now, hours, tz):
        return now
    assert hours is not None  # None is always active
    today = now.astimezone(tz).date()
    start = time(hours.start // 60, hours.start % 60)
    for days in range(3):  # a window lying wholly inside a DST gap skips its day
        opening = resolve_local(datetime.combine(today + timedelta(days=days), start), tz)
        if opening.astimezone(UTC) > now.astimezone(UTC) and is_active(opening, hours, tz):
            return opening
    raise AssertionError("unreachable: a non-empty window opens within three days")


def window_end(now: datetime, hours: ActiveHours | None, tz: tzinfo) -> datetime | None:
    """The first minute after `now` that is outside the window (None: always active).

    Walks UTC minutes, so DST changes inside the window need no special case.
    """
    if hours is None:
        return None
    minute = now.astimezone(UTC).replace(second=0, microsecond=0)
    for step in range(1, 3 * 24 * 60):
        t = minute + timedelta(minutes=step)
        if not is_active(t, hours, tz):
            return t
    return None  # a window that never closes (cannot happen for start != end)


# --- slots --------------------------------------------------------------------------


def _wall_instants(wall: datetime, tz: tzinfo) -> tuple[datetime, ...]:
    """Every UTC instant whose `tz` clock reads `wall`; a gap time gives the transition."""
    a = wall.replace(tzinfo=tz, fold=0)
    b = wall.replace(tzinfo=tz, fold=1)
    if a.utcoffset() == b.utcoffset():
        return (a.astimezone(UTC),)
    if _exists(a):
        return (a.astimezone(UTC), b.astimezone(UTC))
    return (resolve_local(wall, tz).astimezone(UTC),)


@lru_cache(maxsize=64)
def _day_grid(day: date, step: int, tz: tzinfo) -> tuple[datetime, ...]:
    """The slots of a midnight-aligned interval of `step` seconds on one local day."""
    midnight = datetime.combine(day, time())
    start = _wall_instants(midnight, tz)[0]
    end = _wall_instants(midnight + _DAY, tz)[0]
    if end - start == _DAY:  # no transition: wall and UTC arithmetic agree
        return tuple(start + timedelta(seconds=s) for s in range(0, 86400, step))
    found = {
        i
        for s in range(0, 86400, step)
        for i in _wall_instants(midnight + timedelta(seconds=s), tz)
    }
    return tuple(sorted(found))


def divides_day(step: timedelta) -> bool:
    """Whether an interval is a grid on the local clock from midnight (it divides 24 h)."""
    return 86400 % int(step.total_seconds()) == 0


def _interval_back(
    step: timedelta, t: datetime, tz: tzinfo, anchor: datetime = _EPOCH
) -> Iterator[datetime]:
    seconds = int(step.total_seconds())
    if 86400 % seconds:
        latest = anchor + step * ((t - anchor) // step)
        while True:
            yield latest
            latest -= step
    day = t.astimezone(tz).date() + _DAY
    while True:
        for slot in reversed(_day_grid(day, seconds, tz)):
            if slot <= t:
                yield slot
        day -= _DAY


def _interval_forward(
    step: timedelta, t: datetime, tz: tzinfo, anchor: datetime = _EPOCH
) -> Iterator[datetime]:
    seconds = int(step.total_seconds())
    if 86400 % seconds:
        slot = anchor + step * ((t - anchor) // step + 1)
        while True:
            yield slot
            slot += step
    day = t.astimezone(tz).date() - _DAY
    while True:
        for slot in _day_grid(day, seconds, tz):
            if slot > t:
                yield slot
        day += _DAY


def _cron_back(expr: str, t: datetime, tz: tzinfo) -> Iterator[datetime]:
    # Start past `t`: a reverse walk from the second pass of a repeated hour
    # would otherwise miss fires of the first pass.
    for fire in CronSim(expr, (t + _DST_MARGIN).astimezone(tz), reverse=True):
        instant = fire.astimezone(UTC)
        if instant <= t:
            yield instant


def _cron_forward(expr: str, t: datetime, tz: tzinfo) -> Iterator[datetime]:
    while True:
        candidate = next(_cron_forward_raw(expr, t, tz), None)
        if candidate is None:
            return
        # cronsim's forward walk can skip a fire next to a 30-minute DST shift
        # (Lord Howe, wildcard-hour jobs) that its reverse walk finds; take the
        # earliest fire the reverse walk sees between `t` and the candidate.
        between = list(_until_after(_cron_back(expr, candidate, tz), t))
        t = between[-1] if between else candidate
        yield t


def _cron_forward_raw(expr: str, t: datetime, tz: tzinfo) -> Iterator[datetime]:
    for fire in CronSim(expr, t.astimezone(tz)):
        instant = fire.astimezone(UTC)
        if instant > t:
            yield instant


def _until_after(walk: Iterator[datetime], t: datetime) -> Iterator[datetime]:
    """A latest-first walk, stopped at the first slot at or before `t`."""
    for slot in walk:
        if slot <= t:
            return
        yield slot


def _unique(slots: Iterator[datetime]) -> Iterator[datetime]:
    last = None
    for slot in slots:
        if slot != last:
            yield slot
        last = slot


def slots_until(
    rec: Recurrence, t: datetime, tz: tzinfo, anchor: datetime | None = None
) -> Iterator[datetime]:
    """The slots at or before `t`, latest first, as UTC instants (none for every-cycle).

    `anchor` is a slot of an interval that does not divide a day (the last
    run's slot); without one its grid counts from the Unix epoch."""
    t = t.astimezone(UTC)
    if rec.interval is not None:
        return _interval_back(rec.interval, t, tz, _anchor_or_epoch(anchor))
    walks = [_cron_back(expr, t, tz) for expr in rec.crons]
    return _unique(heapq.merge(*walks, reverse=True))


def slots_after(
    rec: Recurrence, t: datetime, tz: tzinfo, anchor: datetime | None = None
) -> Iterator[datetime]:
    """The slots strictly after `t`, earliest first, as UTC instants (`anchor`: as above)."""
    t = t.astimezone(UTC)
    if rec.interval is not None:
        return _interval_forward(rec.interval, t, tz, _anchor_or_epoch(anchor))
    return _unique(heapq.merge(*(_cron_forward(expr, t, tz) for expr in rec.crons)))


def _anchor_or_epoch(anchor: datetime | None) -> datetime:
    return _EPOCH if anchor is None else anchor.astimezone(UTC)


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
    if rec is None or not (rec.every_cycle or rec.interval or rec.crons):
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
    if task.kind is TaskKind.ONE_TIME:
        return _one_time(task, now, tz, first_seen, retry_base, max_attempts)
    if task.kind is TaskKind.CONDITIONAL:
        if task.due is not None and _aware(task.due, tz) > now:
            start = _aware(task.due, tz)
            return Evaluation(False, State.SCHEDULED, (), start, f"checks from {_show(start, tz)}")
        slot = _floor_minute(now)
        return Evaluation(True, State.CHECKING, (slot,), slot, f"checking: {task.condition or ''}")
    return _recurring(task, now, tz, window, last_slot, first_seen, policy)
