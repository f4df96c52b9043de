"""Clock times and day names, as the schedule grammars read them. Pure.

`09:00`, `9:00`, `9am`, `9:30 PM`, `noon`, `midnight` (a bare hour only
where the caller allows one), and day names or abbreviations, singular or
plural, 0 = Sunday.
"""

from __future__ import annotations

import re

from localhb.format.recurrence_model import RecurrenceError

__all__ = [
    "ANY_TIME",
    "AT_LIST",
    "BARE",
    "DAILY",
    "DAY_WORDS",
    "LIST",
    "ONE_TIME",
    "RANGE_OF_TIMES",
    "SEP",
    "day",
    "time_value",
]

T12 = r"(?<![\d:])\d{1,2}(?::\d{2})? ?[ap]m\b"
T24 = r"(?<![\d:])\d{1,2}:\d{2}(?![\d:])"
TWORD = r"\b(?:noon|midnight)\b"
ANY_TIME = rf"(?:{T12}|{T24}|{TWORD})"
BARE = r"(?<![\d:])\d{1,2}(?![\d:]| ?(?:st|nd|rd|th)\b)"
SEP = r"(?:, (?:and )?| and )"
AT_LIST = re.compile(rf"\bat (?:{ANY_TIME}|{BARE})(?:{SEP}(?:at )?(?:{ANY_TIME}|{BARE}))*")
LIST = re.compile(rf"{ANY_TIME}(?:{SEP}(?:at )?{ANY_TIME})*")
ONE_TIME = re.compile(rf"{ANY_TIME}|{BARE}")
RANGE_OF_TIMES = re.compile(
    rf"(?:{ANY_TIME}|\d{{1,2}}) ?(?:-|–|to|until|till) ?{ANY_TIME}"
    rf"|\bbetween (?:{ANY_TIME}|\d{{1,2}}) and {ANY_TIME}"
)

DAY_WORDS = {
    "sunday": 0, "sun": 0,
    "monday": 1, "mon": 1,
    "tuesday": 2, "tue": 2,
    "wednesday": 3, "wed": 3,
    "thursday": 4, "thu": 4, "thur": 4,
    "friday": 5, "fri": 5,
    "saturday": 6, "sat": 6,
}  # fmt: skip
DAILY = frozenset({"daily", "everyday", "every day", "each day", "every single day"})


def time_value(token: str) -> tuple[int, int]:
    """'9:30 pm' -> (21, 30); raises RecurrenceError for 25:00 and friends."""
    t = token.strip().removeprefix("at ").strip()
    if t == "noon":
        return 12, 0
    if t == "midnight":
        return 0, 0
    m = re.fullmatch(r"(\d{1,2})(?::(\d{2}))? ?([ap]m)?", t)
    if m is None:  # pragma: no cover - the caller only passes regex matches
        raise RecurrenceError(f'"{token}" is not a time', "write times as 09:00, 9am or 9:30 PM")
    hour, minute, suffix = int(m.group(1)), int(m.group(2) or 0), m.group(3)
    if suffix:
        if not 1 <= hour <= 12 or minute > 59:
            raise RecurrenceError(
                f'"{token}" is not a time of day', "12-hour times run from 12:00 am to 11:59 pm"
            )
        hour = hour % 12 + (12 if suffix == "pm" else 0)
    elif hour > 23 or minute > 59:
        hint = 'midnight is 00:00: try "daily at 00:00"' if hour == 24 else ""
        raise RecurrenceError(
            f'"{token}" is not a time of day', hint or "hours run 00-23 and minutes 00-59"
        )
    return hour, minute


def day(word: str) -> int | None:
    w = word.strip().rstrip(".")
    for candidate in (w, w.removesuffix("s")):
        if candidate in DAY_WORDS:
            return DAY_WORDS[candidate]
    return None
