"""When a person or the agent says "in 2 hours": text -> an absolute instant, by code.

Pure: `now` and the zone are arguments. The grammar (docs/cli.md, `localhb add`):

    in <n> <unit> [<n> <unit> ...]   "in 2 hours", "in 90 minutes", "in 1 day 2 hours",
                                     "in 2h30m", "in an hour"
    today|tonight|tomorrow [at] <time>          "tomorrow at 9", "today 18:30"
    [next|this|on] <weekday> [at] <time>         "next Monday at 10:00", "friday 9am"
    YYYY-MM-DD [HH:MM]  or ISO 8601 with offset  written as given
    now

Minutes and hours are elapsed time ("in 2 hours" across a DST change is two
real hours later); days and weeks are calendar days at the same wall-clock
time. A weekday means the next such day whose time is still ahead; "next
<weekday>" always skips today. A wall time inside a spring-forward gap moves
to the end of the gap. Anything else raises `WhenError` with a hint: nothing
is guessed, and a time in the past is refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from localhb.timing.schedule import resolve_local

__all__ = ["Due", "WhenError", "due_value", "resolve_due"]

HINT = 'try "in 2 hours", "tomorrow at 9", "next Monday at 10:00" or "2026-12-24 09:00"'
_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_UNITS = {
    "m": "minutes",
    "min": "minutes",
    "mins": "minutes",
    "minute": "minutes",
    "minutes": "minutes",
    "h": "hours",
    "hr": "hours",
    "hrs": "hours",
    "hour": "hours",
    "hours": "hours",
    "d": "days",
    "day": "days",
    "days": "days",
    "w": "weeks",
    "week": "weeks",
    "weeks": "weeks",
}
_WORDS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "half an": 0}
_PART = re.compile(r"(\d+|an?|one|two|three)\s*([a-z]+)")
_TIME = re.compile(r"^(\d{1,2})(?::(\d{2}))?\s*(am|pm|a\.m\.|p\.m\.)?$")


class WhenError(ValueError):
    """The text is not a time localhb can compute; `hint` says how to write one."""

    def __init__(self, message: str, hint: str = HINT) -> None:
        self.message = message
        self.hint = hint
        super().__init__(message)


@dataclass(frozen=True, slots=True)
class Due:
    """The instant meant, and the `Due:` value that names exactly it."""

    at: datetime
    value: str


def resolve_due(text: str, now: datetime, tz: tzinfo) -> Due:
    """The instant `text` means, seen at `now` (aware) in zone `tz`."""
    if now.tzinfo is None:
        raise ValueError("now must be aware")
    s = " ".join(text.strip().lower().split())
    if not s:
        raise WhenError("no time given")
    at = _absolute(text.strip(), tz)
    if at is None:
        at = _relative(s, now, tz)
    if at is None:
        raise WhenError(f"cannot read {text.strip()!r} as a time")
    if at.astimezone(UTC) < now.astimezone(UTC) - timedelta(minutes=1):
        shown = at.astimezone(tz).strftime("%Y-%m-%d %H:%M")
        raise WhenError(f"{text.strip()!r} is {shown}, which is in the past", "give a later time")
    return Due(at, due_value(at, tz))


def due_value(at: datetime, tz: tzinfo) -> str:
    """`YYYY-MM-DD HH:MM` in `tz`, with the offset only when the wall time is ambiguous."""
    local = at.astimezone(tz)
    wall = local.replace(tzinfo=None, second=0, microsecond=0)
    text = wall.strftime("%Y-%m-%d %H:%M")
    meant = local.replace(second=0, microsecond=0).astimezone(UTC)
    if resolve_local(wall, tz).astimezone(UTC) != meant:
        offset = local.strftime("%z")
        text += f"{offset[:3]}:{offset[3:]}"
    return text


def _absolute(text: str, tz: tzinfo) -> datetime | None:
    raw = text[:-1] + "+00:00" if text.endswith(("z", "Z")) else text
    try:
        dt = datetime.fromisoformat(raw.replace(" +", "+").replace(" -", "-"))
    except ValueError:
        return None
    return resolve_local(dt, tz) if dt.tzinfo is None else dt


def _relative(s: str, now: datetime, tz: tzinfo) -> datetime | None:
    if s == "now":
        return now
    if s.startswith("in "):
        return _in(s[3:], now, tz)
    m = re.match(r"^(today|tonight|tomorrow)(?:\s+(?:at\s+)?(.+))?$", s)
    if m:
        day = now.astimezone(tz).date() + timedelta(days=1 if m.group(1) == "tomorrow" else 0)
        if m.group(2) is None:
            if m.group(1) == "tonight":
                return _wall(day, time(20, 0), tz)
            raise WhenError(f"{s!r} needs a time of day", f'say "{m.group(1)} at 9" or "... 18:30"')
        return _wall(day, _clock(m.group(2)), tz)
    m = re.match(r"^(?:(next|this|on)\s+)?([a-z]+)(?:\s+(?:at\s+)?(.+))?$", s)
    if m:
        wd = _weekday(m.group(2))
        if wd is None:
            return None
        if m.group(3) is None:
            raise WhenError(f"{s!r} needs a time of day", f'say "{s} at 10:00"')
        clock = _clock(m.group(3))
        today = now.astimezone(tz).date()
        ahead = (wd - today.weekday()) % 7
        if m.group(1) == "next" and ahead == 0:
            ahead = 7
        at = _wall(today + timedelta(days=ahead), clock, tz)
        if at.astimezone(UTC) <= now.astimezone(UTC):
            at = _wall(today + timedelta(days=ahead + 7), clock, tz)
        return at
    return None


def _in(rest: str, now: datetime, tz: tzinfo) -> datetime:
    if rest in ("half an hour", "a half hour"):
        return now + timedelta(minutes=30)
    compact = rest.replace(" and ", " ").replace(",", " ")
    parts = _PART.findall(compact)
    if not parts or _PART.sub("", compact).strip():
        raise WhenError(f"cannot read 'in {rest}' as a duration", 'say "in 2 hours" or "in 90m"')
    amounts = {"minutes": 0, "hours": 0, "days": 0, "weeks": 0}
    for number, unit in parts:
        name = _UNITS.get(unit)
        if name is None:
            raise WhenError(f"unknown unit {unit!r}", "use minutes, hours, days or weeks")
        amounts[name] += int(number) if number.isdigit() else _WORDS[number]
    days = amounts["days"] + 7 * amounts["weeks"]
    at = now
    if days:
        local = now.astimezone(tz)
        wall = local.replace(tzinfo=None) + timedelta(days=days)
        at = resolve_local(wall, tz)
    elapsed = timedelta(hours=amounts["hours"], minutes=amounts["minutes"])
    return (at.astimezone(UTC) + elapsed).astimezone(tz)


def _clock(text: str) -> time:
    t = text.strip().removeprefix("at ").strip()
    if t == "noon":
        return time(12, 0)
    if t == "midnight":
        return time(0, 0)
    m = _TIME.match(t)
    if m is None:
        raise WhenError(
            f"cannot read {text!r} as a time of day", 'write "9", "9:30", "21:00" or "9pm"'
        )
    hour, minute = int(m.group(1)), int(m.group(2) or 0)
    half = (m.group(3) or "").replace(".", "")
    if half:
        if not 1 <= hour <= 12:
            raise WhenError(f"{text!r}: {hour} is not an hour on a 12-hour clock")
        hour = hour % 12 + (12 if half == "pm" else 0)
    if hour > 23 or minute > 59:
        raise WhenError(f"{text!r} is not a time of day", 'write "9", "9:30", "21:00" or "9pm"')
    return time(hour, minute)


def _weekday(word: str) -> int | None:
    word = word.removesuffix("s") if word.endswith("days") else word
    for i, name in enumerate(_DAYS):
        if len(word) >= 3 and name.startswith(word):
            return i
    return None


def _wall(day: date, clock: time, tz: tzinfo) -> datetime:
    return resolve_local(datetime.combine(day, clock), tz)
