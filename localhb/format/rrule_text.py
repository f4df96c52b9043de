"""RFC 5545 recurrence rules: `RRULE:FREQ=MONTHLY;BYDAY=1MO;BYHOUR=10;BYMINUTE=0`.

A calendar user can paste a rule; the English forms of `localhb.format.calendar`
compile to the same bodies. A body is kept canonical (`FREQ` first, the
other parts in a fixed order, `BYSECOND=0` and `BYMINUTE=0` filled in) and
evaluated by python-dateutil's `rrule` on the local clock (see
`localhb.timing.rrule_backend`), which is imported only when a rule is
checked or walked: never on the idle path.

A rule has no DTSTART in localhb: whatever RFC 5545 would take from one is
asked for instead (a monthly rule names its days, a daily rule its hour),
so the rule means the same here as in the calendar it came from. INTERVAL
counts from the week of Monday 1970-01-05 (docs/schedules.md).

Pure: no clock, no I/O.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from localhb.format.recurrence_model import DAY_ABBR, Recurrence, RecurrenceError, hhmm

__all__ = ["ANCHOR", "describe_rrule", "parse_rrule", "rrule_body", "rrule_parts"]

ANCHOR = datetime(1970, 1, 5)
"""A Monday at 00:00: the start INTERVAL counts from, on the local clock."""

_ORDER = (
    "FREQ",
    "INTERVAL",
    "WKST",
    "BYMONTH",
    "BYWEEKNO",
    "BYYEARDAY",
    "BYMONTHDAY",
    "BYDAY",
    "BYSETPOS",
    "BYHOUR",
    "BYMINUTE",
    "BYSECOND",
)
_FREQS = ("YEARLY", "MONTHLY", "WEEKLY", "DAILY", "HOURLY", "MINUTELY")
_RFC_DAYS = ("SU", "MO", "TU", "WE", "TH", "FR", "SA")
_DAY_NAMES = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_ORDINALS = {1: "first", 2: "second", 3: "third", 4: "fourth", 5: "fifth", -1: "last"}
_HINT = 'e.g. "RRULE:FREQ=MONTHLY;BYDAY=1MO;BYHOUR=10;BYMINUTE=0"'


def rrule_parts(body: str) -> dict[str, str]:
    """`FREQ=DAILY;BYHOUR=9` -> {"FREQ": "DAILY", "BYHOUR": "9"} (no checks)."""
    parts: dict[str, str] = {}
    for item in body.split(";"):
        key, _, value = item.partition("=")
        if key.strip():
            parts[key.strip().upper()] = value.strip().upper()
    return parts


def rrule_body(parts: dict[str, str]) -> str:
    """The canonical body of some parts: a fixed order, `INTERVAL=1` and `WKST=MO` left out."""
    keep = {k: v for k, v in parts.items() if (k, v) not in (("INTERVAL", "1"), ("WKST", "MO"))}
    return ";".join(f"{k}={keep[k]}" for k in _ORDER if k in keep)


def _fail(message: str, hint: str = _HINT) -> RecurrenceError:
    return RecurrenceError(f"RRULE: {message}", hint)


def _check_parts(parts: dict[str, str]) -> None:
    """Refuse what localhb would have to guess: parts RFC 5545 takes from a DTSTART."""
    for key in parts:
        if key in ("COUNT", "UNTIL"):
            raise _fail(
                f"{key} needs the rule's start or end date, which a task does not have",
                f"remove {key}; to stop the task, pause it or move it to Completed",
            )
        if key not in _ORDER:
            raise _fail(
                f'"{key}" is not a part localhb reads', "use FREQ, INTERVAL and BY... parts"
            )
    freq = parts.get("FREQ")
    if freq is None:
        raise _fail("has no FREQ")
    if freq not in _FREQS:
        raise _fail(f"FREQ={freq} is not one of {', '.join(_FREQS)}")
    interval = parts.get("INTERVAL", "1")
    if not interval.isdigit() or not 1 <= int(interval) <= 1000:
        raise _fail(f"INTERVAL={interval} is not a whole number from 1 to 1000")
    has = set(parts)
    sub_daily = freq in ("HOURLY", "MINUTELY")
    if sub_daily and has - {"FREQ", "INTERVAL", "WKST", "BYDAY", "BYHOUR", "BYMINUTE", "BYSECOND"}:
        extra = sorted(has - {"FREQ", "INTERVAL", "WKST", "BYDAY", "BYHOUR", "BYMINUTE"})
        raise _fail(
            f"FREQ={freq} with {', '.join(extra)} is more than localhb reads",
            "use FREQ=DAILY (or coarser) with BYHOUR and BYMINUTE, or a cron",
        )
    if freq == "WEEKLY" and "BYDAY" not in has:
        raise _fail("a weekly rule takes its day from DTSTART", "add the day: BYDAY=MO")
    days_of_month = {"BYMONTHDAY", "BYDAY", "BYYEARDAY", "BYWEEKNO"}
    if freq == "MONTHLY" and not has & days_of_month:
        raise _fail("a monthly rule takes its day from DTSTART", "add the day: BYMONTHDAY=1")
    if freq == "YEARLY" and not has & {"BYYEARDAY", "BYWEEKNO"}:
        if "BYMONTH" not in has:
            raise _fail("a yearly rule takes its month from DTSTART", "add BYMONTH=1;BYMONTHDAY=1")
        if not has & {"BYMONTHDAY", "BYDAY"}:
            raise _fail("a yearly rule takes its day from DTSTART", "add the day: BYMONTHDAY=1")
    if not sub_daily and "BYHOUR" not in has:
        raise _fail(
            f"a FREQ={freq} rule takes its time from DTSTART",
            "add the time it runs: BYHOUR=9;BYMINUTE=0",
        )
    for key in ("BYSECOND",):
        if key in parts and parts[key] != "0":
            raise _fail("runs at seconds other than 0", "localhb runs at whole minutes: BYSECOND=0")


def parse_rrule(text: str, source: str) -> Recurrence:
    """`RRULE:FREQ=...` (the `RRULE:` optional after the caller's prefix) -> a Recurrence."""
    body = re.sub(r"^\s*rrule\s*:?\s*", "", text.strip(), flags=re.I).strip().rstrip(";")
    if not body:
        raise _fail("is empty")
    if re.search(r"\bDTSTART\b", body, re.I):
        raise _fail("DTSTART is not read", "paste only the RRULE line; give the time in BYHOUR")
    parts = rrule_parts(body)
    _check_parts(parts)
    parts.setdefault("BYSECOND", "0")
    if parts["FREQ"] != "MINUTELY":
        parts.setdefault("BYMINUTE", "0")
    canonical = rrule_body(parts)
    check_fires(canonical)
    return Recurrence(source=source, rrules=(canonical,), label=describe_rrule(canonical) or "")


def check_fires(body: str) -> None:
    """Build the rule with dateutil and make sure it fires at all (else RecurrenceError)."""
    from dateutil.rrule import rrulestr  # only when a rule needs it

    try:
        rule = rrulestr(body, dtstart=ANCHOR)
    except (ValueError, TypeError) as exc:
        raise _fail(str(exc)) from None
    freq = rrule_parts(body)["FREQ"]
    if freq in ("HOURLY", "MINUTELY"):  # bounded: a phase that never meets BYHOUR never ends
        horizon = timedelta(days=8 if freq == "MINUTELY" else 60)
        fires = bool(rule.between(ANCHOR, ANCHOR + horizon, inc=True))
    else:
        fires = rule.after(ANCHOR, inc=True) is not None
    if not fires:
        raise _fail("never fires", "check BYMONTH, BYMONTHDAY and BYDAY against each other")


# --- describing -------------------------------------------------------------------


def _ints(value: str) -> list[int] | None:
    items = value.split(",")
    if not all(re.fullmatch(r"[+-]?\d{1,3}", i) for i in items):
        return None
    return [int(i) for i in items]


def _times(parts: dict[str, str]) -> str | None:
    hours, minutes = _ints(parts.get("BYHOUR", "")), _ints(parts.get("BYMINUTE", "0"))
    if hours is None or minutes is None or parts.get("BYSECOND", "0") != "0":
        return None
    return ", ".join(hhmm(h * 60 + m) for h in sorted(set(hours)) for m in sorted(set(minutes)))


def _weekdays(value: str) -> list[tuple[int, int]] | None:
    """`1MO,-1FR` -> [(1, 1), (-1, 5)] (ordinal 0: every such day)."""
    out = []
    for item in value.split(","):
        m = re.fullmatch(r"([+-]?\d{1,2})?(SU|MO|TU|WE|TH|FR|SA)", item)
        if m is None:
            return None
        out.append((int(m.group(1) or 0), _RFC_DAYS.index(m.group(2))))
    return out


def ordinal_day(n: int, day: int) -> str:
    """(1, 1) -> "first Monday"; (-1, 5) -> "last Friday"."""
    return f"{_ORDINALS[n]} {_DAY_NAMES[day]}"


def describe_rrule(body: str) -> str | None:
    """Plain English for the rules the English grammar writes; None for the rest."""
    parts = rrule_parts(body)
    freq, times = parts.get("FREQ"), _times(parts)
    interval = int(parts.get("INTERVAL", "1"))
    known = set(parts) - {"FREQ", "INTERVAL", "BYHOUR", "BYMINUTE", "BYSECOND"}
    if times is None:
        return None
    if freq == "WEEKLY" and known == {"BYDAY"}:
        days = _weekdays(parts["BYDAY"])
        if days is None or any(n for n, _ in days):
            return None
        names = ", ".join(DAY_ABBR[d] for d in sorted({d for _, d in days}))
        every = "weekly" if interval == 1 else f"every {interval} weeks"
        return f"{every} on {names} at {times}"
    if freq == "MONTHLY" and interval == 1 and known == {"BYDAY"}:
        days = _weekdays(parts["BYDAY"])
        if days is None or not all(n in _ORDINALS for n, _ in days):
            return None
        which = ", ".join(ordinal_day(n, d) for n, d in days)
        return f"monthly on the {which} at {times}"
    if freq == "MONTHLY" and interval == 1 and known == {"BYDAY", "BYSETPOS"}:
        pos = {"1": "first", "-1": "last"}.get(parts["BYSETPOS"])
        if parts["BYDAY"] == "MO,TU,WE,TH,FR" and pos is not None:
            return f"monthly on the {pos} weekday at {times}"
        return None
    if freq == "YEARLY" and interval == 1 and known == {"BYMONTH", "BYDAY"}:
        days, months = _weekdays(parts["BYDAY"]), _ints(parts["BYMONTH"])
        if days is None or months is None or len(days) != 1 or len(months) != 1:
            return None
        n, d = days[0]
        if n not in _ORDINALS or not 1 <= months[0] <= 12:
            return None
        return f"yearly on the {ordinal_day(n, d)} of {_MONTHS[months[0] - 1]} at {times}"
    return None


def month_name(month: int) -> str:
    return _MONTHS[month - 1]
