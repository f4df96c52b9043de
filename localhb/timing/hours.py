"""Daily windows on the local clock: `[heartbeat] active_hours` and a task's own. Pure.

A window is start inclusive, end exclusive, in minutes after local midnight;
`end` may be 1440 ("24:00") and `start > end` crosses midnight. A window
opening inside a spring-forward gap opens at the transition.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time, timedelta, tzinfo
from typing import TYPE_CHECKING

from localhb.format.model import Diagnostic, Severity
from localhb.format.recurrence_model import describe_extras
from localhb.timing.dst import resolve_local

if TYPE_CHECKING:
    from localhb.format.parser import Document

__all__ = [
    "ActiveHours",
    "is_active",
    "next_active",
    "parse_active_hours",
    "previous_active",
    "window_end",
    "window_notes",
    "windowed",
]

_RESTARTS = 2000  # a walk that leaves the window this often in a row has no slot in it


@dataclass(frozen=True, slots=True)
class ActiveHours:
    """A daily window in minutes after local midnight: start inclusive, end exclusive.

    `end` may be 1440 ("24:00"); `start > end` crosses midnight.
    """

    start: int
    end: int


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


def previous_active(t: datetime, hours: ActiveHours, tz: tzinfo) -> datetime:
    """The latest instant before `t` inside the window (`t` itself is outside it)."""
    day = t.astimezone(tz).date()
    for back in range(4):
        close_day = day - timedelta(days=back)
        if hours.end == 1440:
            wall = datetime.combine(close_day + timedelta(days=1), time())
        else:
            wall = datetime.combine(close_day, time(hours.end // 60, hours.end % 60))
        close = resolve_local(wall, tz).astimezone(UTC)
        just_before = close - timedelta(microseconds=1)
        if close <= t.astimezone(UTC) and is_active(just_before, hours, tz):
            return just_before
    raise AssertionError("unreachable: a non-empty window closes within four days")


def windowed(
    walk: Callable[[datetime], Iterator[datetime]],
    t: datetime,
    hours: ActiveHours,
    tz: tzinfo,
    *,
    forward: bool,
) -> Iterator[datetime]:
    """The slots of `walk(t)` that fall inside the window, in the walk's order.

    A slot outside the window restarts the walk at the window's edge, so a
    dense schedule (every minute) does not step through the closed hours.
    """
    for _ in range(_RESTARTS):
        for slot in walk(t):
            if is_active(slot, hours, tz):
                yield slot
                continue
            if forward:
                t = next_active(slot, hours, tz).astimezone(UTC) - timedelta(microseconds=1)
            else:
                t = previous_active(slot, hours, tz)
            break
        else:
            return


def _minutes_of(window: ActiveHours) -> set[int]:
    if window.start < window.end:
        return set(range(window.start, window.end))
    return set(range(window.start, 1440)) | set(range(0, window.end))


def window_notes(doc: Document, active: ActiveHours | None) -> Document:
    """`doc` with a warning on each task whose own `Active hours` never meet
    `[heartbeat] active_hours` (same zone): such a task would never run."""
    if active is None:
        return doc
    notes = []
    for task in doc.pending():
        if task.window is None or task.zone is not None:
            continue
        if _minutes_of(ActiveHours(*task.window)) & _minutes_of(active):
            continue
        own = describe_extras(task.window, None).removeprefix(", ")
        hours = describe_extras((active.start, active.end), None).removeprefix(", ")
        notes.append(
            Diagnostic(
                task.line,
                Severity.WARNING,
                f"task {task.id!r}: its active hours {own} lie outside [heartbeat] "
                f"active_hours {hours}, so it never runs",
                "a task's window applies within the global one: move one of them",
            )
        )
    if not notes:
        return doc
    return replace(doc, diagnostics=tuple(sorted((*doc.diagnostics, *notes), key=lambda d: d.line)))
