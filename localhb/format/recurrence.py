"""The recurrence grammar: text such as "daily at 18:00" -> a `Recurrence`.

Pure: no clock, no I/O. The grammar (docs/schedules.md has the user's view):

    every heartbeat | every cycle | each heartbeat | 每次心跳      -> every_cycle
    every <duration>        "every 30m", "every 2h30m", "every 4 hours" -> interval
    hourly | daily | weekly | monthly                            -> crons
    <days> [at] <times>  or  <times> <days>                      -> crons, one per time
    cron[:] <5 fields>  or a bare 5-field expression             -> crons, as written
    RRULE:FREQ=...                                               -> rrules (rrule_text)
    first Monday of the month, quarterly, yearly on March 15,
    every 2 weeks on Friday, every morning at 8am                -> crons or rrules (calendar)
    ... Europe/London  /  ..., 9am-5pm                           -> zone, window (zone_window)

`<days>` is daily/every day, weekdays/M-F/Mon-Fri, weekends, day names
("every monday and thursday", "Sundays"), "weekly on <day>" or
"monthly on the 1st". `<times>` is a list of 09:00, 9:00 PM, 9am, noon,
midnight (a bare hour only after "at"). Chinese forms are translated to
English first ("每天 22:05" -> "daily 22:05", `normalise`). Intervals are
read by `intervals`, cron lines by `cron_text`. Anything else raises
`RecurrenceError` with a hint: the grammar never guesses.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import replace

from localhb.format.calendar import parse_calendar
from localhb.format.clock import ANY_TIME as _ANY_TIME
from localhb.format.clock import AT_LIST as _AT_LIST
from localhb.format.clock import DAILY as _DAILY
from localhb.format.clock import LIST as _LIST
from localhb.format.clock import ONE_TIME as _ONE_TIME
from localhb.format.clock import RANGE_OF_TIMES as _RANGE_OF_TIMES
from localhb.format.clock import SEP as _SEP
from localhb.format.clock import day as _day
from localhb.format.clock import time_value as _time_value
from localhb.format.cron_text import cron_text as _cron_text
from localhb.format.cron_text import crontab_line
from localhb.format.cron_text import parse_cron as _cron
from localhb.format.dayparts import part_of_day, time_hint
from localhb.format.intervals import parse_interval as _interval
from localhb.format.normalise import normalise as _normalise
from localhb.format.recurrence_model import (
    GENERIC_HINT,
    WEEKDAYS,
    WEEKENDS,
    Recurrence,
    RecurrenceError,
)
from localhb.format.rrule_text import month_name, parse_rrule
from localhb.format.zone_window import check_window, split_window, split_zone

__all__ = [
    "GENERIC_HINT",
    "Recurrence",
    "RecurrenceError",
    "looks_like_schedule",
    "parse_recurrence",
    "schedule_error_in_parentheses",
    "schedule_in_parentheses",
]

# --- times and days -----------------------------------------------------------


def _times(text: str) -> list[tuple[int, int]]:
    return sorted({_time_value(m.group(0)) for m in _ONE_TIME.finditer(text.replace("at ", ""))})


def _day_set(text: str) -> frozenset[int]:
    """'monday and thursday' / 'mon-fri' / 'weekdays' -> days, 0 = Sunday."""
    days: set[int] = set()
    for item in re.split(rf"{_SEP}|, | or ", text):
        item = item.strip().removeprefix("on ").removeprefix("every ").strip()
        if item in ("weekday", "weekdays", "workday", "workdays", "business days", "m-f"):
            days |= WEEKDAYS
            continue
        if item in ("weekend", "weekends"):
            days |= WEEKENDS
            continue
        rng = re.fullmatch(r"([a-z]+) ?(?:-|–|to|through|thru|till|until) ?([a-z]+)", item)
        if rng:
            first, last = _day(rng.group(1)), _day(rng.group(2))
            if first is not None and last is not None:
                span = (last - first) % 7
                days |= {(first + i) % 7 for i in range(span + 1)}
                continue
        single = _day(item)
        if single is None:
            raise RecurrenceError(
                f'"{item}" is not a day of the week',
                "name a day of the week (Monday to Sunday, or mon, tue, ...), "
                'e.g. "weekly on Monday at 09:00"',
            )
        days.add(single)
    return frozenset(days)


def _dow_field(days: frozenset[int]) -> str:
    if days == WEEKDAYS:
        return "1-5"
    if len(days) == 7:
        return "*"
    return ",".join(str(d) for d in sorted(days))


def _dom_field(text: str) -> str:
    """'the 1st and 15th' / 'day 1' / 'the last day' -> '1,15' / '1' / 'L'."""
    out: list[str] = []
    for item in re.split(rf"{_SEP}|, ", text):
        item = re.sub(r"^(?:on )?(?:the )?(?:days? )?", "", item.strip())
        if item in ("last", "last day"):
            out.append("L")
            continue
        m = re.fullmatch(r"(\d{1,2})(?:st|nd|rd|th)?(?: day)?", item)
        if m is None or not 1 <= int(m.group(1)) <= 31:
            raise RecurrenceError(
                f'"{item}" is not a day of the month',
                'a day of the month is 1 to 28 or "the last day" (e.g. "monthly on the 15th at '
                '09:00"); the last weekday is "last weekday of the month"',
            )
        day = int(m.group(1))
        if day > 28:
            raise RecurrenceError(
                f"day {day} does not exist in every month",
                'pick a day from 1 to 28, or write "monthly on the last day"',
            )
        out.append(str(day))
    numbers = sorted({int(d) for d in out if d != "L"})
    return ",".join([str(d) for d in numbers] + (["L"] if "L" in out else []))


def _days(spec: str) -> tuple[str, str, bool] | None:
    """A day spec -> (day-of-month field, day-of-week field, explicit); None when empty.

    `explicit` says the spec carries its own "every"/"daily"/"weekly"
    wording, so it may stand without a time (then 00:00).
    """
    s = spec.strip(" ,:").removeprefix("on ").strip()
    if not s:
        return None
    if s in _DAILY:
        return "*", "*", True
    m = re.fullmatch(r"(?:weekly|every week|each week|once a week)(?: on (.+))?", s)
    if m:
        return "*", _dow_field(_day_set(m.group(1))) if m.group(1) else "1", True
    m = re.fullmatch(r"(?:monthly|every month|each month|once a month)(?: on (.+))?", s)
    if m:
        return (_dom_field(m.group(1)) if m.group(1) else "1"), "*", True
    m = re.fullmatch(r"(?:on )?(?:the )?(.+?) of (?:every|each|the) month", s)
    if m:
        return _dom_field(m.group(1)), "*", True
    explicit = False
    m = re.fullmatch(r"(?:every|each) (.+)", s)
    if m:
        s, explicit = m.group(1), True
    if re.fullmatch(r"(?:[\d.]+|an?|one) ?[a-z]+", s) and _day(s) is None:
        raise RecurrenceError(
            f'"{spec.strip()}" cannot be combined with clock times',
            'use either an interval ("every 2h") or clock times ("daily at 09:00, 18:00")',
        )
    return "*", _dow_field(_day_set(s)), explicit


_DAY_HINT = r"\b(?:mon|tue|wed|thu|fri|sat|sun|week|month|daily)"


def _window_hint(s: str, window: re.Match[str]) -> str:
    """Both halves of "every hour between 9am and 5pm": the schedule and its window."""
    bounds = [_time_value(t.group(0)) for t in _ONE_TIME.finditer(window.group(0))][:2]
    shown = "-".join(f"{h:02d}:{m:02d}" for h, m in bounds)
    rest = s[: window.start()] + s[window.end() :]
    rest = re.sub(r"\b(?:only|from|between)\b|,", " ", rest)
    rest = re.sub(r"\s+", " ", rest).strip()
    try:
        every = parse_recurrence(rest).describe()
    except RecurrenceError:
        every = ""
    if every and len(bounds) == 2:
        return f'put the window after the schedule: "{every}, {shown}"'
    return 'write when it runs ("every 10m"); limit the hours with active hours'


def _calendar(s: str, source: str) -> Recurrence:
    window = _RANGE_OF_TIMES.search(s)
    if window:
        raise RecurrenceError(
            f'"{source}" gives a time window, not a schedule', _window_hint(s, window)
        )
    found = _AT_LIST.search(s) or _LIST.search(s)
    times: list[tuple[int, int]] = []
    prefix, suffix = s, ""
    if found:
        times = _times(found.group(0))
        prefix, suffix = s[: found.start()].strip(" ,"), s[found.end() :].strip(" ,")
        if prefix and suffix:
            raise RecurrenceError(f'"{source}" is not a schedule localhb understands', GENERIC_HINT)
    if re.search(r"(?<![\d:\-/.])\d{3,4}(?![\d:\-/.])", prefix + " " + suffix):
        raise RecurrenceError(
            f'"{source}" has a time without a colon', "write clock times as 09:00 or 9am"
        )
    try:
        parsed = _days(prefix or suffix)
    except RecurrenceError as exc:
        if not times and not re.search(rf"{_DAY_HINT}|\b(?:on|every|each)\b", s):
            raise RecurrenceError(
                f'"{source}" is not a schedule localhb understands', GENERIC_HINT
            ) from exc
        at = ", ".join(f"{h:02d}:{m:02d}" for h, m in times)
        ordinals = re.findall(r"\b\d{1,2}(?:st|nd|rd|th)\b", prefix or suffix)
        if times and ordinals and re.search(r"\bmonths?\b", s):
            days = " and ".join(ordinals)
            raise RecurrenceError(
                f'"{source}" names days of the month', f'try "monthly on the {days} at {at}"'
            ) from exc
        if times and re.match(r"every [\d.]+ ?[a-z]+", prefix):
            raise RecurrenceError(
                f'"{source}" mixes an interval with clock times', f'try "daily at {at}"'
            ) from exc
        if times and not re.search(_DAY_HINT, prefix or suffix):
            raise RecurrenceError(
                f'"{source}" does not say which days',
                f'say which: e.g. "daily at {at}" or "weekdays at {at}"',
            ) from exc
        raise
    if parsed is None:
        at = ", ".join(f"{h:02d}:{m:02d}" for h, m in times)
        raise RecurrenceError(
            f'"{source}" gives a time but no days', f'say which: e.g. "daily at {at}"'
        )
    dom, dow, explicit = parsed
    if not times:
        if not explicit:
            raise RecurrenceError(
                f'"{source}" gives days but no time',
                f'add the time you mean, e.g. "every {s} at 09:00"',
            )
        times = [(0, 0)]
    crons = tuple(f"{m} {h} {dom} * {dow}" for h, m in times)
    return Recurrence(source=source, crons=crons)


_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_MONTH = r"(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?"
_DATE = re.compile(
    rf"\b{_MONTH} (\d{{1,2}})(?:st|nd|rd|th)?\b|\b(\d{{1,2}})(?:st|nd|rd|th)? (?:of )?{_MONTH}"
)


def _refuse_unsaid(s: str, source: str) -> None:
    """Refuse, with a hint that keeps the meaning, what a schedule leaves unsaid.

    A part of the day with no clock time ("daily in the morning") is never
    00:00; a date in the year ("once a year on december 25th") is a cron."""
    word = part_of_day(s)
    if word is not None:
        days = _PART_WORDS.sub(" ", s.replace("(", " ").replace(")", " "))
        days = re.sub(r"\s+", " ", days).strip(" ,")
        if days in ("", "every", "each", "once", "once a day"):
            days = "daily"
        try:
            parse_recurrence(f"{days} at 09:00")
        except RecurrenceError:
            days = "daily"
        raise RecurrenceError(
            f'"{source}": "{word}" is a part of the day, not a clock time', time_hint(word, days)
        )
    m = _DATE.search(s)
    if m is not None:
        month = _MONTHS.index(m.group(1) or m.group(4)) + 1
        day = int(m.group(2) or m.group(3))
        rest = s[: m.start()] + s[m.end() :]
        found = [_time_value(t.group(0)) for t in re.finditer(_ANY_TIME, rest)]
        crons = [f"{mi} {h} {day} {month} *" for h, mi in found] or [f"0 0 {day} {month} *"]
        written = " and ".join(f'"cron: {c}"' for c in crons)
        at = "" if found else " (at 00:00; put the hour you mean in the second field)"
        times = ", ".join(f"{h:02d}:{mi:02d}" for h, mi in found) or "00:00"
        yearly = f'"yearly on {month_name(month)} {day} at {times}"'
        raise RecurrenceError(
            f'"{source}" is a date in the year', f"write it as {yearly}, or a cron: {written}{at}"
        )


_PART_WORDS = re.compile(
    r"\b(?:in|on|at) (?:the )?(?=\w)|\b(?:mornings?|afternoons?|evenings?|nights?|nightly"
    r"|tonight|overnight|dawn|dusk|lunchtime|bedtime)\b"
    r"|早上|早晨|清晨|上午|中午|下午|傍晚|晚上|夜里|夜间|凌晨"
)


# --- the public entry points ----------------------------------------------------


def parse_recurrence(text: str) -> Recurrence:
    """Parse one schedule; raise `RecurrenceError` (with a hint) for anything else.

    A trailing time zone ("... Europe/London") and daily window ("..., 9am-5pm")
    are read first (`localhb.format.zone_window`), then the rule itself."""
    source = text.strip()
    body, zone = split_zone(source)
    rec = _rule(body, source)
    return replace(rec, zone=zone) if zone else rec


def _rule(text: str, source: str) -> Recurrence:
    pasted = crontab_line(text)
    if pasted is not None:
        schedule, command = pasted
        raise RecurrenceError(
            f'"{source}" is a whole crontab line',
            f"keep the schedule here (`- Recurring: {schedule}`) and put the command on "
            f"a line of its own (`- Run: {command}`)",
        )
    cron = _cron_text(text)
    if cron is not None:
        return _cron(cron, source)
    s = _normalise(text)
    if not s:
        raise RecurrenceError("the schedule is empty", GENERIC_HINT)
    if re.match(r"rrule\b|freq=|dtstart\b", s):
        return parse_rrule(text, source)
    rest, window = split_window(s)
    if window is None:
        return _normalised(s, source)
    rec = _normalised(rest, source)
    check_window(rec, window, source)
    return replace(rec, window=window)


def _normalised(s: str, source: str) -> Recurrence:
    found = parse_calendar(s, source)
    if found is not None:
        return found
    _refuse_unsaid(s, source)
    if s == "hourly":
        return Recurrence(source=source, crons=("0 * * * *",))
    m = re.fullmatch(r"(?:once )?(?:every|each) (.+)", s)
    if m and not (_AT_LIST.search(s) or _LIST.search(s) or _RANGE_OF_TIMES.search(s)):
        rest = m.group(1)
        try:
            if _days(s) is not None:
                return _calendar(s, source)
        except RecurrenceError:
            pass
        return _interval(rest, source)
    return _calendar(s, source)


_GROUP = re.compile(r"[(（]([^()（）]*)[)）]")


def schedule_in_parentheses(text: str) -> tuple[Recurrence | None, str]:
    """The first parenthesised group that parses as a schedule, and the text without it.

    `Check inbox (every 4 hours)` -> (every 4h, "Check inbox"). Groups that are
    not schedules, such as `(URGENT)`, are left in place.
    """
    for m in _GROUP.finditer(text):
        try:
            rec = parse_recurrence(m.group(1))
        except RecurrenceError:
            continue
        rest = text[: m.start()].rstrip() + text[m.end() :]
        return rec, re.sub(r"\s{2,}", " ", rest).strip()
    return None, text


def schedule_error_in_parentheses(text: str) -> RecurrenceError | None:
    """The error of the first group that looks like a schedule but does not parse."""
    for m in _GROUP.finditer(text):
        if not looks_like_schedule(m.group(1)):
            continue
        try:
            parse_recurrence(m.group(1))
        except RecurrenceError as exc:
            return exc
    return None


_LOOKS = re.compile(
    r"\b(?:every|each|daily|weekly|monthly|hourly|cron|weekdays?|weekends?|m-f|noon|midnight)\b"
    r"|每\s*(?:[天日周週月年]|\d|[一二两三四五六七八九十半]+\s*(?:个|個)?\s*(?:小时|小時|分钟|分鐘|天|周|週))"
    r"|工作日|周末"
    r"|\d ?(?:[ap]\.?m)\b"
    r"|(?:^|\s)(?:[\d*/,\-]+\s){4}[\w*/,\-]+"
)
_DAY_NAME = r"\b(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\b"


def looks_like_schedule(text: str) -> bool:
    """A cheap guess that `text` tries to be a schedule, for diagnostics only."""
    s = unicodedata.normalize("NFKC", text).lower()
    if _LOOKS.search(s):
        return True
    return bool(re.search(_DAY_NAME, s) and re.search(r"\d{1,2}(?::\d{2})?", s))
