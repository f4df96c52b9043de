"""What a schedule is once read: `Recurrence`, its errors, and how it is shown back.

Pure: no clock, no I/O. `localhb.format.recurrence` builds these values.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

__all__ = [
    "DAY_ABBR",
    "GENERIC_HINT",
    "MAX_INTERVAL",
    "WEEKDAYS",
    "WEEKENDS",
    "Recurrence",
    "RecurrenceError",
    "describe_extras",
    "format_duration",
    "hhmm",
]

GENERIC_HINT = (
    'write a schedule such as "every 3h", "daily at 09:00", "weekdays at 08:00" or '
    '"cron 0 9 * * 1-5"'
)
DAY_ABBR = ("Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat")
WEEKDAYS = frozenset(range(1, 6))
WEEKENDS = frozenset({0, 6})


MAX_INTERVAL = timedelta(days=3650)
"""The longest `every N` interval: ten years. Longer ones are a diagnostic, never an overflow."""


class RecurrenceError(ValueError):
    """The text is not a schedule localhb understands; `hint` says how to write it."""

    def __init__(self, message: str, hint: str = "") -> None:
        self.message = message
        self.hint = hint
        super().__init__(message)


@dataclass(frozen=True, slots=True)
class Recurrence:
    """A parsed schedule.

    Exactly one of the four shapes is used:
    - `every_cycle`: runs on every heartbeat cycle ("every heartbeat");
    - `interval`: fixed-length slots ("every 30m");
    - `crons`: a union of 5-field cron expressions in the configured zone,
      one per clock time ("daily at 09:00 and 18:00" -> ("0 9 * * *", "0 18 * * *"));
    - `rrules`: a union of RFC 5545 RRULE bodies ("FREQ=MONTHLY;BYDAY=1MO;BYHOUR=10;
      BYMINUTE=0;BYSECOND=0"), evaluated by python-dateutil on the local clock.
    `literal_cron` is true when the author wrote the cron expression itself.
    `label` is the canonical English of a form the cron describer does not
    know (quarterly, yearly, rrules). `zone` is an IANA zone the schedule
    names ("daily at 09:00 Europe/London"); `window` a daily window in
    minutes after midnight, start inclusive, end exclusive, outside which
    the schedule has no slots ("every 10m, 09:00-23:00").
    """

    source: str
    every_cycle: bool = False
    interval: timedelta | None = None
    crons: tuple[str, ...] = ()
    literal_cron: bool = False
    rrules: tuple[str, ...] = ()
    label: str = ""
    zone: str | None = None
    window: tuple[int, int] | None = None

    def describe(self) -> str:
        """A canonical, readable form that `parse_recurrence` reads back."""
        return self.describe_rule() + describe_extras(self.window, self.zone)

    def describe_rule(self) -> str:
        """`describe()` without the zone and window."""
        if self.every_cycle:
            return "every heartbeat"
        if self.interval is not None:
            return "every " + format_duration(self.interval)
        if self.label:
            return self.label
        if not self.literal_cron:
            friendly = _describe_crons(self.crons)
            if friendly is not None:
                return friendly
        if self.rrules:
            return "; ".join("RRULE:" + r for r in self.rrules)
        return "cron " + "; ".join(self.crons)


def hhmm(minutes: int) -> str:
    """Minutes after midnight as `HH:MM` (1440 is `24:00`)."""
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def describe_extras(window: tuple[int, int] | None, zone: str | None) -> str:
    """The window and zone suffix of a schedule: `, 09:00-17:00 Europe/London`."""
    text = f", {hhmm(window[0])}-{hhmm(window[1])}" if window is not None else ""
    return text + (f" {zone}" if zone else "")


def format_duration(interval: timedelta) -> str:
    seconds = int(interval.total_seconds())
    if seconds % 86400 == 0 and seconds >= 2 * 86400:
        return f"{seconds // 86400}d"
    hours, rem = divmod(seconds, 3600)
    minutes, secs = divmod(rem, 60)
    parts = [(hours, "h"), (minutes, "m"), (secs, "s")]
    return "".join(f"{n}{unit}" for n, unit in parts if n) or "0s"


def _describe_crons(crons: Iterable[str]) -> str | None:
    fields = [c.split() for c in crons]
    if not fields or any(len(f) != 5 for f in fields):
        return None
    if fields == [["0", "*", "*", "*", "*"]]:
        return "hourly"
    days = {(f[2], f[3], f[4]) for f in fields}
    if len(days) != 1 or not all(f[0].isdigit() and f[1].isdigit() for f in fields):
        return None
    dom, month, dow = days.pop()
    if month != "*":
        return None
    times = ", ".join(f"{int(f[1]):02d}:{int(f[0]):02d}" for f in sorted(fields, key=_hm))
    if dom == "*" and dow == "*":
        return f"daily at {times}"
    if dom == "*" and dow == "1-5":
        return f"weekdays at {times}"
    if dom == "*" and dow == "0,6":
        return f"weekends at {times}"
    if dom == "*" and re.fullmatch(r"[0-6](?:,[0-6])*", dow):
        names = ", ".join(DAY_ABBR[int(d)] for d in dow.split(","))
        return f"weekly on {names} at {times}"
    if dow == "*" and re.fullmatch(r"(?:\d{1,2},)*(?:\d{1,2}|L)", dom):
        which = ", ".join("the last day" if d == "L" else d for d in dom.split(","))
        prefix = "" if dom == "L" else "day "
        return f"monthly on {prefix}{which} at {times}"
    return None


def _hm(f: list[str]) -> tuple[int, int]:
    return int(f[1]), int(f[0])
