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


def parse_interval(rest: str, source: str) -> Recurrence:
    if rest in _CYCLES:
        return Recurrence(source=source, every_cycle=True)
    if re.fullmatch(r"[\d.]+ ?(?:heartbeats?|cycles?|beats?|ticks?|runs?|checks?)", rest):
        raise RecurrenceError(
            f'"{source}" counts heartbeats, which have no fixed length',
            'write it as a duration: try "every 3h", or "every heartbeat"',
        )
    rng = re.fullmatch(r"([\d.]+) ?(?:-|–|to|or) ?[\d.]+ ?([a-z]+)", rest)
    if rng:
        raise RecurrenceError(
            f'"{source}" is a range', f'pick one: try "every {rng.group(1)} {rng.group(2)}"'
        )
    if _VAGUE.search(rest):
        exact = re.sub(r"\s+", " ", _VAGUE.sub("", rest)).strip()
        if not re.search(r"\d", exact):
            exact = "3h"
        raise RecurrenceError(
            f'"{source}" is approximate', f'give an exact interval: try "every {exact}"'
        )
    rest = {"half hour": "30m", "half an hour": "30m", "quarter hour": "15m"}.get(rest, rest)
    rest = {"other day": "2d", "other week": "14d", "fortnight": "14d"}.get(rest, rest)
    rest = {"other hour": "2h", "other minute": "2m"}.get(rest, rest)
    if re.fullmatch(r"[a-z]+", rest):
        rest = "1 " + rest
    if re.fullmatch(r"[\d.\s]+", rest):
        raise RecurrenceError(f'"{source}" has no unit', f'try "every {rest.strip()}m"')
    ordinals = re.findall(r"\b\d{1,2}(?:st|nd|rd|th)\b", rest)
    if ordinals and re.search(r"\bmonths?\b", rest):
        days = " and ".join(ordinals)
        raise RecurrenceError(
            f'"{source}" names days of the month',
            f'try "monthly on the {days}" (at 00:00) or "monthly on the {days} at 09:00"',
        )
    if re.search(r"\bmonths?\b|\byears?\b", rest):
        raise RecurrenceError(
            f'"{source}" is not a fixed duration', 'try "monthly on the 1st at 09:00" or a cron'
        )
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
        raise RecurrenceError(f'"{source}" is not a positive interval', 'try "every 30m"')
    if seconds != int(seconds):
        raise RecurrenceError(f'"{source}" is not a whole number of seconds', 'try "every 90s"')
    if seconds > MAX_INTERVAL.total_seconds():
        raise RecurrenceError(
            f'"{source}" is longer than the longest interval, {MAX_INTERVAL.days} days',
            'nothing runs that rarely: the longest is "every 3650d" (for a date each year, a '
            'cron such as "cron: 0 9 15 1 *"; for one run, a `- Due:` date)',
        )
    return Recurrence(source=source, interval=timedelta(seconds=int(seconds)))
