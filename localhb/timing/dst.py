"""The one DST policy: how a wall-clock time in a zone becomes instants. Pure.

Every schedule backend produces local wall times (cronsim's walk in the
zone, dateutil's `rrule` over naive datetimes, the midnight grid of an
interval); this module says which instants they mean:

- a time that exists once is that instant;
- a time inside a spring-forward gap runs once, at the transition (the
  first instant of the new offset): `02:30` on a Berlin spring-forward day
  is 03:00 CEST, `02:15` on Lord Howe's is 02:30 (a 30-minute shift);
- a time in the repeated hour of a fall-back night runs once, the first
  time it happens (`01:30` in New York on the first Sunday of November is
  01:30 EDT, never again at 01:30 EST).

That is Debian cron's rule for jobs at fixed times, which cronsim follows;
`wall_slot` is the same rule for the `rrule` backend, and
tests/test_calendar_dst.py holds both backends to it on the same days.
Only schedules whose hour is a wildcard (`hourly`, `cron 30 * * * *`) and
midnight-aligned interval grids see every instant (`wall_instants`): twice
in the repeated hour.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo

__all__ = ["exists", "resolve_local", "wall_instants", "wall_slot"]


def exists(aware: datetime) -> bool:
    """False for a wall time inside a spring-forward gap."""
    back = aware.astimezone(UTC).astimezone(aware.tzinfo)
    return back.replace(tzinfo=None, fold=0) == aware.replace(tzinfo=None, fold=0)


def resolve_local(naive: datetime, tz: tzinfo) -> datetime:
    """A wall-clock time in `tz` as an aware datetime, by the policy above.

    A time that does not exist (spring-forward gap) maps to the transition
    instant; an ambiguous one (fall back) to its first occurrence. An aware
    datetime is returned unchanged.
    """
    if naive.tzinfo is not None:
        return naive
    first = naive.replace(tzinfo=tz, fold=0)
    if exists(first):
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


def wall_slot(wall: datetime, tz: tzinfo) -> datetime:
    """The one UTC instant a scheduled wall time runs at (gap: the transition; repeated: first)."""
    return resolve_local(wall.replace(tzinfo=None), tz).astimezone(UTC)


def wall_instants(wall: datetime, tz: tzinfo) -> tuple[datetime, ...]:
    """Every UTC instant whose `tz` clock reads `wall`; a gap time gives the transition."""
    a = wall.replace(tzinfo=tz, fold=0)
    b = wall.replace(tzinfo=tz, fold=1)
    if a.utcoffset() == b.utcoffset():
        return (a.astimezone(UTC),)
    if exists(a):
        return (a.astimezone(UTC), b.astimezone(UTC))
    return (resolve_local(wall, tz).astimezone(UTC),)
