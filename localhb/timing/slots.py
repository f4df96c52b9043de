"""The slots of a schedule: the instants it names, walked either way. Pure.

- crons fire as cronsim says (Debian cron DST rules: a fixed time inside a
  spring-forward gap fires once at the transition, a fixed time in the
  repeated hour fires once, wildcard-hour jobs fire in both hours);
- rrules fire as python-dateutil says on the local clock, each wall time
  placed by the same rule (`localhb.timing.dst`);
- an interval that divides 24 h evenly is a grid on the local clock from
  midnight ("every 4 hours" is 00:00, 04:00, ... local): a grid time in the
  repeated hour runs at both instants, one inside a gap at the transition;
- any other interval is a grid from the Unix epoch, N apart in UTC.

A schedule that names its own zone ("daily at 09:00 Europe/London") is
walked in that zone; one with a window ("every 10m, 09:00-23:00") has only
the slots inside it. Every instant is UTC.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo

from cronsim import CronSim

from localhb.format.recurrence_model import Recurrence
from localhb.timing.dst import wall_instants as _wall_instants
from localhb.timing.hours import ActiveHours, windowed
from localhb.timing.rrule_backend import rrule_after, rrule_until

__all__ = ["schedule_zone", "slots_after", "slots_until"]

_DAY = timedelta(days=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DST_MARGIN = timedelta(hours=3)  # wider than any DST shift, for reverse cron walks


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


_EDGE = timedelta(days=7320)  # two longest intervals (and a little): where the calendar ends
_FIRST = datetime.min.replace(tzinfo=UTC) + _EDGE
_LAST = datetime.max.replace(tzinfo=UTC) - _EDGE


def _interval_back(
    step: timedelta, t: datetime, tz: tzinfo, anchor: datetime = _EPOCH
) -> Iterator[datetime]:
    seconds = int(step.total_seconds())
    if 86400 % seconds:
        if t <= _FIRST:
            return
        latest = anchor + step * ((t - anchor) // step)
        while latest > _FIRST:  # the calendar ends
            yield latest
            latest -= step
        return
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
        if t >= _LAST:
            return
        slot = anchor + step * ((t - anchor) // step + 1)
        while slot < _LAST:  # the calendar ends
            yield slot
            slot += step
        return
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


def schedule_zone(rec: Recurrence, tz: tzinfo) -> tzinfo:
    """The zone a schedule is walked in: its own, else `tz` (the configured one)."""
    return ZoneInfo(rec.zone) if rec.zone else tz


def _until(rec: Recurrence, t: datetime, tz: tzinfo, anchor: datetime) -> Iterator[datetime]:
    if rec.interval is not None:
        return _interval_back(rec.interval, t, tz, anchor)
    walks = [_cron_back(expr, t, tz) for expr in rec.crons]
    walks += [rrule_until(body, t, tz) for body in rec.rrules]
    return _unique(heapq.merge(*walks, reverse=True))


def _after(rec: Recurrence, t: datetime, tz: tzinfo, anchor: datetime) -> Iterator[datetime]:
    if rec.interval is not None:
        return _interval_forward(rec.interval, t, tz, anchor)
    walks = [_cron_forward(expr, t, tz) for expr in rec.crons]
    walks += [rrule_after(body, t, tz) for body in rec.rrules]
    return _unique(heapq.merge(*walks))


def slots_until(
    rec: Recurrence, t: datetime, tz: tzinfo, anchor: datetime | None = None
) -> Iterator[datetime]:
    """The slots at or before `t`, latest first, as UTC instants (none for every-cycle).

    `anchor` is a slot of an interval that does not divide a day (the last
    run's slot); without one its grid counts from the Unix epoch."""
    t, zone, start = t.astimezone(UTC), schedule_zone(rec, tz), _anchor_or_epoch(anchor)
    if rec.window is None:
        return _until(rec, t, zone, start)
    hours = ActiveHours(*rec.window)
    return windowed(lambda at: _until(rec, at, zone, start), t, hours, zone, forward=False)


def slots_after(
    rec: Recurrence, t: datetime, tz: tzinfo, anchor: datetime | None = None
) -> Iterator[datetime]:
    """The slots strictly after `t`, earliest first, as UTC instants (`anchor`: as above)."""
    t, zone, start = t.astimezone(UTC), schedule_zone(rec, tz), _anchor_or_epoch(anchor)
    if rec.window is None:
        return _after(rec, t, zone, start)
    hours = ActiveHours(*rec.window)
    return windowed(lambda at: _after(rec, at, zone, start), t, hours, zone, forward=True)


def _anchor_or_epoch(anchor: datetime | None) -> datetime:
    return _EPOCH if anchor is None else anchor.astimezone(UTC)
