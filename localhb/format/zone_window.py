"""A task's own time zone and daily window, in a schedule or in task keys. Pure.

    daily at 09:00 UTC                   -> zone "UTC"
    daily at 09:00 Europe/London         -> zone "Europe/London"
    every 10 minutes, 9AM-11PM           -> window 09:00-23:00
    every hour between 9am and 5pm       -> window 09:00-17:00
    - Timezone: America/New_York         (a task key)
    - Active hours: 09:00-17:00          (a task key)

A zone is an IANA name (any case) or UTC/GMT; an abbreviation such as EST
or a fixed offset such as UTC+2 is refused with the name that keeps its
meaning. A window is start inclusive, end exclusive, like
`[heartbeat] active_hours`; both ends must be clock times (`9-5` could be
anything), and `24:00` or `midnight` may end one.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NoReturn
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from localhb.format.clock import ANY_TIME, time_value
from localhb.format.recurrence_model import Recurrence, RecurrenceError, describe_extras, hhmm
from localhb.format.rrule_text import rrule_parts

__all__ = ["check_window", "fixed_times", "parse_window", "split_window", "split_zone", "zone_name"]

_ABBREVIATIONS = {
    "est": "America/New_York", "edt": "America/New_York", "et": "America/New_York",
    "cst": "America/Chicago (or Asia/Shanghai)", "cdt": "America/Chicago",
    "mst": "America/Denver (or America/Phoenix)", "mdt": "America/Denver",
    "pst": "America/Los_Angeles", "pdt": "America/Los_Angeles", "pt": "America/Los_Angeles",
    "cet": "Europe/Berlin", "cest": "Europe/Berlin", "bst": "Europe/London",
    "ist": "Asia/Kolkata (or Europe/Dublin)", "jst": "Asia/Tokyo", "kst": "Asia/Seoul",
    "aest": "Australia/Sydney", "aedt": "Australia/Sydney", "eet": "Europe/Athens",
    "eest": "Europe/Athens", "wet": "Europe/Lisbon", "west": "Europe/Lisbon",
    "nzst": "Pacific/Auckland", "nzdt": "Pacific/Auckland", "hkt": "Asia/Hong_Kong",
    "sgt": "Asia/Singapore", "msk": "Europe/Moscow",
}  # fmt: skip
_UTC = {"utc", "gmt", "zulu"}
_ZONE_TAIL = re.compile(
    r"(?:^|[\s,;(])(?:in |at )?(?P<zone>[A-Za-z][A-Za-z0-9_+\-]*(?:/[A-Za-z0-9_+\-]+)+"
    r"|(?:utc|gmt)(?:\s*[+-]\s*\d{1,2}(?::?\d{2})?)?|[a-z]{2,4}|[+-]\d{2}:?\d{2})"
    r"(?:\s+time)?\)?\s*\.?\s*$",
    re.I,
)


@lru_cache(maxsize=1)
def _zones_by_fold() -> dict[str, str]:
    return {name.lower(): name for name in available_timezones()}


def zone_name(text: str) -> str:
    """An IANA zone name in its proper case ('europe/london' -> 'Europe/London'), or
    RecurrenceError with the name that keeps the meaning."""
    raw = text.strip()
    low = raw.lower()
    if low in _UTC:
        return "UTC"
    if low in _ABBREVIATIONS:
        raise RecurrenceError(
            f'"{raw}" is an abbreviation, not a time zone',
            f'write the zone by name, e.g. "{_ABBREVIATIONS[low]}" (it follows daylight saving)',
        )
    offset = re.fullmatch(r"(?:utc|gmt)?\s*([+-])\s*(\d{1,2})(?::?(\d{2}))?", low)
    if offset:
        sign, hours, minutes = offset.group(1), int(offset.group(2)), int(offset.group(3) or 0)
        etc = f'"Etc/GMT{"-" if sign == "+" else "+"}{hours}" (UTC{sign}{hours} all year), or '
        _refuse_offset(raw, etc if minutes == 0 and hours <= 12 else "")
    for candidate in (raw, "/".join(p[:1].upper() + p[1:] for p in raw.split("/"))):
        if "/" in candidate or candidate == "UTC":
            try:
                ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError):
                continue
            return candidate
    proper = _zones_by_fold().get(low)
    if proper is not None and "/" in proper:
        return proper
    raise RecurrenceError(
        f'"{raw}" is not a time zone localhb knows',
        'write an IANA zone such as "Europe/London" or "America/New_York", or "UTC"',
    )


def _refuse_offset(raw: str, etc: str) -> NoReturn:
    raise RecurrenceError(
        f'"{raw}" is a fixed offset, not a time zone',
        f'write {etc}a zone by name such as "Europe/Berlin" (with daylight saving)',
    )


def split_zone(text: str) -> tuple[str, str | None]:
    """'daily at 09:00 Europe/London' -> ('daily at 09:00', 'Europe/London').

    Only a trailing word that is a zone, UTC/GMT, an abbreviation or an
    offset counts; an unknown `Area/City` is an error, a plain word is left."""
    m = _ZONE_TAIL.search(text)
    if m is None:
        return text, None
    word = m.group("zone")
    low = word.lower()
    named = "/" in word or low in _UTC or low in _ABBREVIATIONS
    if not named and not re.fullmatch(r"(?:utc|gmt)\s*[+-].*|[+-]\d.*", low):
        return text, None
    rest = text[: m.start("zone")].rstrip()
    rest = re.sub(r"(?:\s|^)(?:in|at)$", "", rest).rstrip(" ,;(")
    if not rest.strip():
        return text, None
    return rest, zone_name(word)


_END_WORD = {"midnight": 1440, "24:00": 1440}
_BOUND = rf"(?:{ANY_TIME}|24:00|\d{{1,2}})"
_WINDOW = re.compile(
    rf"(?:^|,? |; )(?:only )?(?:between (?P<a1>{_BOUND}) and (?P<b1>{_BOUND})"
    rf"|(?:(?:from|during|within) )?(?P<a>{_BOUND}) ?(?:-|–|to|until|till) ?(?P<b>{_BOUND}))"
    r"(?: only)?$"
)


def parse_window(text: str, where: str = "") -> tuple[int, int]:
    """'09:00-17:00' / '9am-5pm' / 'between 9am and 5pm' -> (540, 1020) minutes."""
    s = re.sub(r"\s+", " ", text.strip().lower()).strip(" .")
    s = re.sub(r"\b([ap])\.\s?m\b\.?", r"\1m", s)
    m = _WINDOW.fullmatch(s) or _WINDOW.fullmatch(" " + s)
    if m is None:
        raise RecurrenceError(
            f'"{text.strip()}" is not a daily window{where}', 'write it as "09:00-17:00"'
        )
    return _bounds(m.group("a") or m.group("a1"), m.group("b") or m.group("b1"), text.strip())


def _bounds(a: str, b: str, shown: str) -> tuple[int, int]:
    for bound in (a, b):
        if re.fullmatch(r"\d{1,2}", bound.strip()):
            n = int(bound)
            raise RecurrenceError(
                f'"{shown}": {n} in a window could be {n}am or {n}pm',
                'write both ends as clock times: "09:00-17:00" or "9am-5pm"',
            )
    if a.strip() in _END_WORD and a.strip() == "24:00":
        raise RecurrenceError(f'"{shown}": 24:00 can only end a window', 'write "00:00-..."')
    h, mi = time_value(a)
    start = h * 60 + mi
    if b.strip() in _END_WORD:
        end = _END_WORD[b.strip()]
    else:
        h, mi = time_value(b)
        end = h * 60 + mi or 1440
    if start == end % 1440:
        raise RecurrenceError(
            f'"{shown}" starts and ends at {hhmm(start)}: an empty window',
            "to run all day, leave the window out",
        )
    return start, end


def split_window(s: str) -> tuple[str, tuple[int, int] | None]:
    """'every 10m, 9am-11pm' -> ('every 10m', (540, 1380)); no window -> (s, None)."""
    m = _WINDOW.search(s)
    if m is None or m.start() == 0:
        return s, None
    rest = s[: m.start()].rstrip(" ,;")
    if not re.search(r"[a-z]", rest):
        return s, None
    return rest, _bounds(m.group("a") or m.group("a1"), m.group("b") or m.group("b1"), s)


def _field(text: str) -> list[int] | None:
    if not re.fullmatch(r"\d{1,2}(?:,\d{1,2})*", text):
        return None
    return [int(v) for v in text.split(",")]


def fixed_times(rec: Recurrence) -> set[int] | None:
    """The clock times (minutes after midnight) a calendar schedule runs at; None when
    its hour or minute is a wildcard, a step or a range (or it is an interval)."""
    if rec.every_cycle or rec.interval is not None:
        return None
    out: set[int] = set()
    for cron in rec.crons:
        minute, hour = cron.split()[:2]
        minutes, hours = _field(minute), _field(hour)
        if minutes is None or hours is None:
            return None
        out |= {h * 60 + m for h in hours for m in minutes}
    for body in rec.rrules:
        parts = rrule_parts(body)
        hours, minutes = _field(parts.get("BYHOUR", "")), _field(parts.get("BYMINUTE", ""))
        if hours is None or minutes is None:
            return None
        out |= {h * 60 + m for h in hours for m in minutes}
    return out


def inside(minute: int, window: tuple[int, int]) -> bool:
    """Whether a clock time is inside a window (start inclusive, end exclusive)."""
    start, end = window
    return start <= minute < end if start < end else minute >= start or minute < end


def check_window(rec: Recurrence, window: tuple[int, int], source: str) -> None:
    """Refuse a window that none of a calendar schedule's clock times falls in."""
    times = fixed_times(rec)
    if times is None or any(inside(t, window) for t in times):
        return
    shown = describe_extras(window, None).removeprefix(", ")
    raise RecurrenceError(
        f'"{source}": {rec.describe_rule()} never falls inside {shown}, so it would never run',
        f"move the window to take in {hhmm(min(times))}, or drop it",
    )
