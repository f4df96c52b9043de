"""The slots of an RFC 5545 rule, by python-dateutil's `rrule`, on the local clock. Pure.

dateutil walks naive wall times (no zone, so no DST arithmetic of its own);
`localhb.timing.dst.wall_slot` turns each into the one instant it runs at,
the same policy the cron backend follows. dateutil is imported only here,
and only when a task's schedule is an rrule.

A walk covers a bounded stretch at a time, starting the rule at a DTSTART
in phase with `ANCHOR` (so INTERVAL counts the same weeks, months or hours
wherever the walk starts) and just before the stretch (so `before()` does
not replay the rule from 1970).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, tzinfo
from functools import lru_cache
from typing import TYPE_CHECKING

from localhb.format.rrule_text import ANCHOR, rrule_parts
from localhb.timing.dst import wall_slot

if TYPE_CHECKING:
    from dateutil.rrule import rrule

__all__ = ["rrule_after", "rrule_until"]

_MARGIN = timedelta(hours=3)  # wider than any DST shift: wall times near the bounds
_HORIZON = timedelta(days=366 * 400)  # a validated rule fires well within this
# A first stretch of each FREQ, in its own units (times INTERVAL); doubled while empty.
_STRETCH = {"YEARLY": 2, "MONTHLY": 3, "WEEKLY": 4, "DAILY": 8, "HOURLY": 24, "MINUTELY": 120}
_FIXED = {
    "WEEKLY": timedelta(weeks=1),
    "DAILY": timedelta(days=1),
    "HOURLY": timedelta(hours=1),
    "MINUTELY": timedelta(minutes=1),
}
_WKST = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


@lru_cache(maxsize=256)
def _rule(body: str, start: datetime) -> rrule:
    from dateutil.rrule import rrule, rrulestr  # only when a schedule is an rrule

    rule = rrulestr(body, dtstart=start)
    if not isinstance(rule, rrule):  # pragma: no cover - one RRULE line is one rrule
        raise TypeError(f"not a single rule: {body}")
    return rule


def _anchor(parts: dict[str, str]) -> datetime:
    if parts["FREQ"] == "WEEKLY":  # the week starts on WKST
        back = (ANCHOR.weekday() - _WKST.index(parts.get("WKST", "MO"))) % 7
        return ANCHOR - timedelta(days=back)
    return ANCHOR


def _start(parts: dict[str, str], near: datetime) -> datetime:
    """A DTSTART at or before `near`, a whole number of periods after the anchor."""
    freq, n = parts["FREQ"], int(parts.get("INTERVAL", "1"))
    anchor = _anchor(parts)
    if near <= anchor:
        return anchor
    if freq in ("YEARLY", "MONTHLY"):
        months = (near.year - anchor.year) * 12 + near.month - anchor.month
        step = n * (12 if freq == "YEARLY" else 1)
        months -= months % step
        year, month = divmod(anchor.month - 1 + months, 12)
        return datetime(anchor.year + year, month + 1, 1)
    period = _FIXED[freq] * n
    return anchor + period * ((near - anchor) // period)


def _stretch(parts: dict[str, str]) -> timedelta:
    freq, n = parts["FREQ"], int(parts.get("INTERVAL", "1"))
    units = _STRETCH[freq] * n
    if freq == "YEARLY":
        return timedelta(days=366 * units)
    if freq == "MONTHLY":
        return timedelta(days=31 * units)
    return _FIXED[freq] * units


def _walls(body: str, parts: dict[str, str], lo: datetime, hi: datetime) -> list[datetime]:
    """The rule's wall times in [lo, hi), ascending."""
    rule = _rule(body, _start(parts, lo))
    return [w for w in rule.between(lo, hi, inc=True) if w < hi]


def _local(t: datetime, tz: tzinfo) -> datetime:
    return t.astimezone(tz).replace(tzinfo=None)


def rrule_until(body: str, t: datetime, tz: tzinfo) -> Iterator[datetime]:
    """The rule's slots at or before `t`, latest first, as UTC instants."""
    parts = rrule_parts(body)
    t = t.astimezone(UTC)
    hi = _local(t, tz) + _MARGIN
    span, walked = _stretch(parts), timedelta(0)
    last: datetime | None = None
    while walked < _HORIZON and hi > _anchor(parts):
        lo = max(hi - span, _anchor(parts))
        walls = _walls(body, parts, lo, hi)
        for wall in reversed(walls):
            slot = wall_slot(wall, tz)
            if slot <= t and (last is None or slot < last):
                last = slot
                yield slot
        walked += hi - lo
        if not walls:
            span = min(span * 2, timedelta(days=366 * 50))
        hi = lo


def rrule_after(body: str, t: datetime, tz: tzinfo) -> Iterator[datetime]:
    """The rule's slots strictly after `t`, earliest first, as UTC instants."""
    parts = rrule_parts(body)
    t = t.astimezone(UTC)
    lo = _local(t, tz) - _MARGIN
    span, walked = _stretch(parts), timedelta(0)
    last: datetime | None = None
    while walked < _HORIZON and lo.year < 9000:
        hi = lo + span
        walls = _walls(body, parts, lo, hi)
        for wall in walls:
            slot = wall_slot(wall, tz)
            if slot > t and (last is None or slot > last):
                last = slot
                yield slot
        walked += span
        if not walls:
            span = min(span * 2, timedelta(days=366 * 50))
        lo = hi
