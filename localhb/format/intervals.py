"""`every <duration>`: "every 30m", "every 2h30m", "every other hour", "every heartbeat". Pure.

Refusals name what is wrong (a range, an approximation, heartbeats counted,
months) with a hint that keeps the meaning.
"""

from __future__ import annotations

import re
from datetime import timedelta

from pytimeparse.timeparse import timeparse as parse_duration

from localhb.format.recurrence_model import (
    GENERIC_HINT,
    MAX_INTERVAL,
    Recurrence,
    RecurrenceError,
    format_duration,
)

__all__ = ["parse_interval"]


_CYCLES = frozenset({"heartbeat", "cycle", "heartbeat cycle", "beat", "tick", "run"})
_VAGUE = re.compile(r"~|\b(?:about|approx\w*|roughly|around|or so|ish|few|couple|several)\b")


_COUNTED = re.compile(
    r"(\d+)(?:st|nd|rd|th)?(?: ?(?:-|–|to|or) ?(\d+)(?:st|nd|rd|th)?)? ?"
    r"(?:heartbeats?|cycles?|beats?|ticks?|runs?|checks?)"
)
_DEFAULT_BEAT = timedelta(minutes=30)


def _counts_heartbeats(source: str, low: str, high: str | None) -> RecurrenceError:
    """A count of heartbeats: as long as that many [heartbeat] intervals, whatever they are."""

    def every(n: str) -> str:
        return "every " + format_duration(_DEFAULT_BEAT * int(n))

    if high is not None:
        return RecurrenceError(
            f'"{source}" is a range of heartbeats, which have no fixed length',
            f"pick one duration: with the default 30m interval, {low} to {high} heartbeats "
            f'are "{every(low)}" to "{every(high)}"; or "every heartbeat"',
        )
    return RecurrenceError(
        f'"{source}" counts heartbeats, which have no fixed length',
        f"write it as a duration: {low} times your [heartbeat] interval (with the default "
        f'30m, "{every(low)}"), or "every heartbeat"',
    )


def _months(rest: str, source: str) -> RecurrenceError:
    """`every N months` / `every N years`: the hint keeps N, the day and time are examples."""
    m = re.match(r"(\d+) ?(month|year)", rest)
    n, unit = (int(m.group(1)), m.group(2)) if m else (1, "month" if "month" in rest else "year")
    message = f'"{source}" is not a fixed duration: {unit}s differ in length'
    if unit == "year":
        if n == 1:
            return RecurrenceError(
                message, 'give the date you mean, e.g. "yearly on March 15 at 09:00"'
            )
        rule = f"RRULE:FREQ=YEARLY;INTERVAL={n};BYMONTH=3;BYMONTHDAY=15;BYHOUR=9"
        return RecurrenceError(
            message, f'write a rule with the date and time you mean, e.g. "{rule}"'
        )
    if n == 1:
        hint = 'give the day and time you mean, e.g. "monthly on the 1st at 09:00"'
    elif n == 3:
        hint = 'give the day and time you mean, e.g. "quarterly on the 1st at 09:00"'
    elif n < 12 and 12 % n == 0:
        hint = (
            f'write a cron with the day and time you mean, e.g. "cron: 0 9 1 */{n} *" '
            f"(09:00 on the 1st, every {n} months from January)"
        )
    elif n == 12:
        hint = 'give the date you mean, e.g. "yearly on January 1 at 09:00"'
    else:
        rule = f"RRULE:FREQ=MONTHLY;INTERVAL={n};BYMONTHDAY=1;BYHOUR=9"
        hint = f'write a rule with the day and time you mean, e.g. "{rule}"'
    return RecurrenceError(message, hint)


def parse_interval(rest: str, source: str) -> Recurrence:
    if rest in _CYCLES:
        return Recurrence(source=source, every_cycle=True)
    counted = _COUNTED.fullmatch(rest)
    if counted:
        raise _counts_heartbeats(source, counted.group(1), counted.group(2))
    rng = re.fullmatch(r"([\d.]+) ?(?:-|–|to|or) ?[\d.]+ ?([a-z]+)", rest)
    if rng:
        raise RecurrenceError(
            f'"{source}" is a range', f'pick one: try "every {rng.group(1)} {rng.group(2)}"'
        )
    if _VAGUE.search(rest):
        exact = re.sub(r"\s+", " ", _VAGUE.sub("", rest)).strip()
        if re.search(r"\d", exact):
            hint = f'give an exact interval: try "every {exact}"'
        else:  # "every few days": the number is the author's to give
            seconds = parse_duration("3 " + exact) if exact else None
            shown = format_duration(timedelta(seconds=int(seconds))) if seconds else "3h"
            hint = f'give the exact interval you mean, e.g. "every {shown}"'
        raise RecurrenceError(f'"{source}" is approximate', hint)
    rest = {"half hour": "30m", "half an hour": "30m", "quarter hour": "15m"}.get(rest, rest)
    rest = {"other day": "2d", "other week": "14d", "fortnight": "14d"}.get(rest, rest)
    rest = {"other hour": "2h", "other minute": "2m"}.get(rest, rest)
    if re.fullmatch(r"[a-z]+", rest):
        rest = "1 " + rest
    if re.fullmatch(r"[\d.\s]+", rest):
        n = rest.strip()
        raise RecurrenceError(
            f'"{source}" has no unit',
            f'add the unit you mean: "every {n}m", "every {n}h" or "every {n}s"',
        )
    ordinals = re.findall(r"\b\d{1,2}(?:st|nd|rd|th)\b", rest)
    if ordinals and re.search(r"\bmonths?\b", rest):
        days = " and ".join(ordinals)
        raise RecurrenceError(
            f'"{source}" names days of the month',
            f'try "monthly on the {days}" (at 00:00) or "monthly on the {days} at 09:00"',
        )
    if re.search(r"\bmonths?\b|\byears?\b", rest):
        raise _months(rest, source)
    if re.fullmatch(r"(?:1 )?(?:check|poll|pass|wake ?up|wake|time)s?", rest):
        raise RecurrenceError(
            f'"{source}" does not say how often',
            'to run on every heartbeat write "every heartbeat"; at a fixed pace, a duration '
            'such as "every 30m"',
        )
    seconds = parse_duration(rest)
    lead = re.match(r"[\d.]+ ?[a-z]+\b", rest)
    if seconds is None and lead and (head := parse_duration(lead.group(0))):
        every = "every " + format_duration(timedelta(seconds=int(head)))
        raise RecurrenceError(
            f'"{source}" has words after the interval',
            f'try "{every}" and keep the rest in the title: `### {rest[lead.end() :].strip()} '
            f"({every})`",
        )
    if seconds is None:
        raise RecurrenceError(f'"{source}" is not a schedule localhb understands', GENERIC_HINT)
    if seconds <= 0:
        raise RecurrenceError(f'"{source}" is not a positive interval', 'e.g. "every 30m"')
    if seconds != int(seconds):
        raise RecurrenceError(
            f'"{source}" is not a whole number of seconds', 'write whole seconds, e.g. "every 90s"'
        )
    if seconds > MAX_INTERVAL.total_seconds():
        raise RecurrenceError(
            f'"{source}" is longer than the longest interval, {MAX_INTERVAL.days} days',
            'nothing runs that rarely: the longest is "every 3650d" (for a date each year, a '
            'cron such as "cron: 0 9 15 1 *"; for one run, a `- Due:` date)',
        )
    return Recurrence(source=source, interval=timedelta(seconds=int(seconds)))
