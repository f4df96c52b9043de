"""Calendar schedules beyond days and times: ordinal weekdays, days of the month,
quarters, years, every N weeks and parts of the day with a clock time. Pure.

    first Monday of the month at 10:00   -> rrule FREQ=MONTHLY;BYDAY=1MO
    last Friday of the month             -> rrule FREQ=MONTHLY;BYDAY=-1FR (00:00)
    on the 1st and 15th at 08:00         -> cron 0 8 1,15 * *
    on the last day of the month         -> cron 0 0 L * *
    quarterly [on the 15th] [at 09:00]   -> cron 0 9 15 1,4,7,10 *
    yearly on March 15 at 09:00          -> cron 0 9 15 3 *
    every 2 weeks on Friday at 17:00     -> rrule FREQ=WEEKLY;INTERVAL=2;BYDAY=FR
    every morning at 8:00 AM             -> cron 0 8 * * *

`parse_calendar` returns None for text that is none of these, so the caller
goes on to the day-and-time grammar; text that is one of these but cannot
be read exactly (`every 2nd Tuesday`: the second Tuesday of the month, or
every other Tuesday?) raises `RecurrenceError` with a hint for each meaning.
"""

from __future__ import annotations

import re

from localhb.format.clock import ANY_TIME, BARE, DAY_WORDS, SEP, day, time_value
from localhb.format.recurrence_model import DAY_ABBR, Recurrence, RecurrenceError, hhmm
from localhb.format.rrule_text import check_fires, month_name, ordinal_day

__all__ = ["parse_calendar"]

_RFC = ("SU", "MO", "TU", "WE", "TH", "FR", "SA")
_ORD = {
    "first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3,
    "fourth": 4, "4th": 4, "fifth": 5, "5th": 5, "last": -1,
}  # fmt: skip
_ORD_WORD = "|".join(sorted(_ORD, key=len, reverse=True))
_DAY_WORD = "|".join(sorted(DAY_WORDS, key=len, reverse=True))
_ONE_ORD = rf"(?:{_ORD_WORD}) (?:{_DAY_WORD})s?"
# "first and third monday": a day name may close a list of ordinals
_ORD_LIST = rf"(?:(?:{_ORD_WORD})(?: (?:{_DAY_WORD})s?)?{SEP}(?:the )?)*{_ONE_ORD}"
# A bare hour ("at 8") only right after "at", as in the day-and-time grammar.
_TIME_LIST = rf"(?:{ANY_TIME}|(?<=at ){BARE})(?:{SEP}(?:at )?(?:{ANY_TIME}|{BARE}))*"
_AT = rf"(?:,? (?:at )?(?P<times>{_TIME_LIST}))?"
_MONTH_WORDS = {
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4,
    "apr": 4, "may": 5, "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8,
    "september": 9, "sep": 9, "sept": 9, "october": 10, "oct": 10, "november": 11,
    "nov": 11, "december": 12, "dec": 12,
}  # fmt: skip
_MONTH = "|".join(sorted(_MONTH_WORDS, key=len, reverse=True))
_MONTH_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_NTH = r"\d{1,2}(?:st|nd|rd|th)?"
_DOM_LIST = rf"(?:{_NTH}|last(?: day)?)(?:{SEP}(?:the )?(?:{_NTH}|last(?: day)?))*"
_OF_MONTH = r"(?: of (?:the|every|each) month| (?:of )?(?:every|each) month| monthly)"
_PARTS = {
    "morning": (4 * 60, 12 * 60),
    "afternoon": (12 * 60, 18 * 60),
    "evening": (17 * 60, 24 * 60),
    "night": (18 * 60, 6 * 60),
}


def _times(text: str | None, part: str | None = None) -> list[tuple[int, int]]:
    """The clock times of a list; none -> [(0, 0)]. A bare hour is read by the part of day."""
    if not text:
        return [(0, 0)]
    out: set[tuple[int, int]] = set()
    for m in re.finditer(rf"{ANY_TIME}|{BARE}", text):
        token = m.group(0)
        if re.fullmatch(r"\d{1,2}", token):
            out.add((_bare_hour(int(token), part, text), 0))
        else:
            out.add(time_value(token))
    return sorted(out)


def _bare_hour(hour: int, part: str | None, text: str) -> int:
    if part == "morning" and 1 <= hour <= 11:
        return hour
    if part in ("afternoon", "evening") and 1 <= hour <= 11:
        return hour + 12
    if part == "night" and 6 <= hour <= 11:
        return hour + 12
    if part is None and 0 <= hour <= 23:
        return hour
    raise RecurrenceError(
        f'"{text}": {hour} could be in the morning or the evening',
        f'write the time with am/pm or as 24-hour: "{hour}am", "{hour}pm" or "{hour:02d}:00"',
    )


def _at_list(times: list[tuple[int, int]]) -> str:
    return ", ".join(hhmm(h * 60 + m) for h, m in times)


def _rrules(body: str, times: list[tuple[int, int]]) -> tuple[str, ...]:
    rules = tuple(f"{body};BYHOUR={h};BYMINUTE={m};BYSECOND=0" for h, m in times)
    for rule in rules:
        check_fires(rule)
    return rules


def _ordinals(text: str) -> list[tuple[int, int]]:
    """'first monday and third monday' -> [(1, 1), (3, 1)]."""
    out: list[tuple[int, int]] = []
    waiting: list[int] = []
    for m in re.finditer(rf"\b({_ORD_WORD})\b(?: ({_DAY_WORD})s?\b)?", text):
        waiting.append(_ORD[m.group(1)])
        if m.group(2):
            weekday = day(m.group(2))
            assert weekday is not None  # the pattern only matches day names
            out += [(n, weekday) for n in waiting]
            waiting = []
    return list(dict.fromkeys(out))


def _monthly_ordinals(s: str, source: str) -> Recurrence | None:
    pat = (
        rf"(?:(?P<lead>monthly|every month|each month|quarterly|every quarter) on )?(?:on )?"
        rf"(?:the |every |each )?(?P<list>{_ORD_LIST})(?P<of>{_OF_MONTH}"
        rf"| of (?:the|every|each) quarter| (?:every|each) quarter| quarterly)?{_AT}"
    )
    m = re.fullmatch(pat, s)
    if m is None:
        return None
    lead, of = m.group("lead") or "", m.group("of") or ""
    if not lead and not of:
        raise _ambiguous_ordinal(s, source, m.group("list"), m.group("times"))
    quarterly = "quarter" in lead + of
    days = _ordinals(m.group("list"))
    times = _times(m.group("times"))
    byday = ",".join(f"{n}{_RFC[d]}" for n, d in days)
    freq = "FREQ=MONTHLY;INTERVAL=3" if quarterly else "FREQ=MONTHLY"
    which = ", ".join(ordinal_day(n, d) for n, d in days)
    label = f"{'quarterly' if quarterly else 'monthly'} on the {which} at {_at_list(times)}"
    rules = _rrules(f"{freq};BYDAY={byday}", times)
    return Recurrence(source=source, rrules=rules, label=label)


def _ambiguous_ordinal(s: str, source: str, which: str, times: str | None) -> RecurrenceError:
    days = _ordinals(which)
    at = f" at {_at_list(_times(times))}" if times else ""
    n, d = days[0]
    name = ordinal_day(n, d)
    if n == 2 and s.startswith(("every", "each")):
        return RecurrenceError(
            f'"{source}" could mean the {name} of each month or every other {name.split()[1]}',
            f'write "{name} of the month{at}" or "every 2 weeks on {DAY_ABBR[d]}{at}"',
        )
    return RecurrenceError(
        f'"{source}" does not say of what: the {name} of the month?',
        f'write "{name} of the month{at}"',
    )


def _weeks(s: str, source: str) -> Recurrence | None:
    m = re.fullmatch(
        rf"(?:every|each) (?P<n>\d+|other|2nd|second) weeks? on (?P<days>.+?){_AT}"
        rf"|(?:fortnightly|every fortnight) on (?P<fdays>.+?){_AT.replace('times', 'ftimes')}"
        rf"|(?:every|each) other (?P<oday>{_DAY_WORD})s?{_AT.replace('times', 'otimes')}",
        s,
    )
    if m is None:
        if re.match(r"bi-?weekly\b", s):
            raise RecurrenceError(
                f'"{source}" could mean twice a week or every two weeks',
                'write "every 2 weeks on Friday at 09:00" or "weekly on Mon, Thu at 09:00"',
            )
        return None
    n_text = m.group("n") or "2"
    n = 2 if n_text in ("other", "2nd", "second") else int(n_text)
    if n == 1:
        return None  # "every 1 week on Friday": the weekly grammar
    if not 2 <= n <= 52:
        raise _bad_weeks(source, n)
    day_text = m.group("days") or m.group("fdays") or m.group("oday")
    times = _times(m.group("times") or m.group("ftimes") or m.group("otimes"))
    days: set[int] = set()
    for item in re.split(rf"{SEP}|, | or ", day_text):
        weekday = day(item.strip())
        if weekday is None:
            raise RecurrenceError(
                f'"{item.strip()}" is not a day of the week',
                f'name days of the week, e.g. "every {n} weeks on Friday at 09:00"',
            )
        days.add(weekday)
    order = sorted(days, key=lambda d: (d - 1) % 7)  # Monday first, as the weeks count
    byday = ",".join(_RFC[d] for d in order)
    label = (
        f"every {n} weeks on {', '.join(DAY_ABBR[d] for d in sorted(days))} at {_at_list(times)}"
    )
    rules = _rrules(f"FREQ=WEEKLY;INTERVAL={n};BYDAY={byday}", times)
    return Recurrence(source=source, rrules=rules, label=label)


def _bad_weeks(source: str, n: int) -> RecurrenceError:
    return RecurrenceError(
        f'"{source}": every {n} weeks is not a count localhb reads (2 to 52)',
        'the weeks are counted from 2 to 52, e.g. "every 2 weeks on Friday at 09:00"; for '
        'a date each year, "yearly on March 15 at 09:00"',
    )


def _dom(text: str, source: str) -> str:
    """'1st and 15th' / 'last day' -> '1,15' / 'L' (the days that exist in every month)."""
    days: set[int] = set()
    last = False
    for item in re.split(rf"{SEP}|, ", text):
        item = item.strip().removeprefix("the ").strip()
        if item in ("last", "last day"):
            last = True
            continue
        n = int(re.sub(r"\D", "", item))
        if not 1 <= n <= 31:
            raise RecurrenceError(f'"{item}" is not a day of the month', "days run from 1 to 31")
        if n > 28:
            raise RecurrenceError(
                f"day {n} does not exist in every month",
                f'pick a day from 1 to 28, or write "on the last day of the month"'
                f" (or a cron: cron 0 9 {n} * *)",
            )
        days.add(n)
    return ",".join([str(d) for d in sorted(days)] + (["L"] if last else []))


def _days_of_month(s: str, source: str) -> Recurrence | None:
    m = re.fullmatch(
        rf"(?:(?P<q>quarterly|every quarter) on |on |every |each )?(?:the )?"
        rf"(?:days? )?(?P<days>{_DOM_LIST})(?P<of>{_OF_MONTH}| of (?:the|every|each) quarter)?"
        rf"{_AT}",
        s,
    )
    if m is None:
        return None
    lead = s.split(" ", 1)[0]
    quarterly = bool(m.group("q")) or "quarter" in (m.group("of") or "")
    if not (m.group("of") or quarterly or lead in ("on", "the")):
        return None  # "15th at 9" alone: not this grammar
    dom = _dom(m.group("days"), source)
    times = _times(m.group("times"))
    months = "1,4,7,10" if quarterly else "*"
    crons = tuple(f"{mi} {h} {dom} {months} *" for h, mi in times)
    label = ""
    if quarterly:
        which = "the last day" if dom == "L" else "day " + dom.replace(",", ", ")
        label = f"quarterly on {which.replace(', L', ', the last day')} at {_at_list(times)}"
    return Recurrence(source=source, crons=crons, label=label)


def _weekday_of_month(s: str, source: str) -> Recurrence | None:
    """'last weekday of the month at 17:00' -> rrule BYDAY=MO,...,FR;BYSETPOS=-1."""
    m = re.fullmatch(
        rf"(?P<lead>monthly on )?(?:on )?(?:the )?(?P<n>first|1st|last) "
        rf"(?:weekday|business day|working day)(?P<of>{_OF_MONTH})?{_AT}",
        s,
    )
    if m is None or not (m.group("lead") or m.group("of")):
        return None
    n = "first" if m.group("n") in ("first", "1st") else "last"
    times = _times(m.group("times"))
    pos = 1 if n == "first" else -1
    rules = _rrules(f"FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS={pos}", times)
    return Recurrence(
        source, rrules=rules, label=f"monthly on the {n} weekday at {_at_list(times)}"
    )


def _quarterly(s: str, source: str) -> Recurrence | None:
    m = re.fullmatch(rf"(?:quarterly|every quarter|once a quarter){_AT}", s)
    if m is None:
        return None
    times = _times(m.group("times"))
    crons = tuple(f"{mi} {h} 1 1,4,7,10 *" for h, mi in times)
    return Recurrence(source=source, crons=crons, label=f"quarterly on day 1 at {_at_list(times)}")


_YEARLY = r"(?:yearly|annually|every year|each year|once a year)"


def _date(text: str, source: str) -> tuple[int, int] | None:
    """'march 15' / '15th of march' / '15 mar' -> (3, 15)."""
    m = re.fullmatch(rf"(?:the )?(?P<d>\d{{1,2}})(?:st|nd|rd|th)?(?: of)? (?P<m>{_MONTH})", text)
    m = m or re.fullmatch(rf"(?P<m>{_MONTH}) (?:the )?(?P<d>\d{{1,2}})(?:st|nd|rd|th)?", text)
    if m is None:
        if re.fullmatch(r"\d{1,2}[/.]\d{1,2}", text):
            raise RecurrenceError(
                f'"{source}": {text} could be day/month or month/day',
                'write the month as a word: "yearly on March 15 at 09:00"',
            )
        return None
    month, dom = _MONTH_WORDS[m.group("m")], int(m.group("d"))
    if month == 2 and dom == 29:
        raise RecurrenceError(
            f'"{source}": February 29 is not in every year',
            'write "yearly on February 28" or "yearly on March 1"'
            " (or a cron for leap years only: cron 0 9 29 2 *)",
        )
    if not 1 <= dom <= _MONTH_DAYS[month - 1]:
        raise RecurrenceError(
            f'"{source}": {month_name(month)} has no day {dom}',
            f"write a day from 1 to {_MONTH_DAYS[month - 1]}",
        )
    return month, dom


def _yearly(s: str, source: str) -> Recurrence | None:
    m = re.fullmatch(rf"{_YEARLY}(?: on| in)? ?(?P<what>.*?){_AT}", s) or re.fullmatch(
        rf"(?:on )?(?P<what>.+?) {_YEARLY}{_AT}", s
    )
    if m is None:
        return None
    what = (m.group("what") or "").strip()
    times = _times(m.group("times"))
    at = _at_list(times)
    if not what:
        raise RecurrenceError(
            f'"{source}" does not say which day of the year',
            f'give the date: "yearly on January 1 at {at if m.group("times") else "09:00"}"',
        )
    o = re.fullmatch(rf"(?:the )?({_ONE_ORD}) (?:of|in) ({_MONTH})", what)
    if o:
        (n, d), month = _ordinals(o.group(1))[0], _MONTH_WORDS[o.group(2)]
        rules = _rrules(f"FREQ=YEARLY;BYMONTH={month};BYDAY={n}{_RFC[d]}", times)
        label = f"yearly on the {ordinal_day(n, d)} of {month_name(month)} at {at}"
        return Recurrence(source=source, rrules=rules, label=label)
    date = _date(what, source)
    if date is None:
        raise RecurrenceError(
            f'"{what}" is not a date localhb reads', 'write it as "yearly on March 15 at 09:00"'
        )
    month, dom = date
    crons = tuple(f"{mi} {h} {dom} {month} *" for h, mi in times)
    return Recurrence(
        source=source, crons=crons, label=f"yearly on {month_name(month)} {dom} at {at}"
    )


def _part_of_day(s: str, source: str) -> Recurrence | None:
    parts = "|".join(_PARTS)
    m = re.fullmatch(
        rf"(?:(?:every|each) )?(?:(?P<days>[a-z, -]+?) )?(?P<part>{parts})s?"
        rf"(?: at| around)? (?P<times>{_TIME_LIST})"
        rf"|(?P<nightly>nightly) (?:at )?(?P<ntimes>{_TIME_LIST})"
        rf"|(?P<pdays>[a-z, -]+?) (?P<ppart>{parts})s? (?:at )?(?P<ptimes>{_TIME_LIST})",
        s,
    )
    if m is None:
        return None
    part = m.group("part") or m.group("ppart") or "night"
    text = m.group("times") or m.group("ntimes") or m.group("ptimes")
    times = _times(text, part)
    start, end = _PARTS[part]
    for h, mi in times:
        minute = h * 60 + mi
        inside = start <= minute < end if start < end else minute >= start or minute < end
        if not inside:
            other = (h + 12) % 24 if h != 12 else 0
            raise RecurrenceError(
                f'"{source}": {hhmm(minute)} is not in the {part}',
                f'write the time you mean: "daily at {hhmm(minute)}" or '
                f'"daily at {hhmm(other * 60 + mi)}"',
            )
    day_text = (m.group("days") or m.group("pdays") or "").strip()
    dow: str | None = "*"
    if day_text and day_text not in ("day", "single"):
        dow = _dow(day_text, source)
    if dow is None:
        return None
    return Recurrence(source=source, crons=tuple(f"{mi} {h} * * {dow}" for h, mi in times))


def _dow(text: str, source: str) -> str | None:
    if text in ("weekday", "weekdays", "workday", "workdays"):
        return "1-5"
    if text in ("weekend", "weekends"):
        return "0,6"
    days = set()
    for item in re.split(rf"{SEP}|, ", text):
        weekday = day(item.strip())
        if weekday is None:
            return None
        days.add(weekday)
    return ",".join(str(d) for d in sorted(days))


def parse_calendar(s: str, source: str) -> Recurrence | None:
    """One of the forms above (`s` normalised as the grammar does), or None for the rest."""
    forms = (_weekday_of_month, _monthly_ordinals, _weeks, _quarterly, _days_of_month)
    for form in (*forms, _yearly, _part_of_day):
        found = form(s, source)
        if found is not None:
            return found
    return None
