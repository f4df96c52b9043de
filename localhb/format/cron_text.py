"""Cron expressions as written: `cron: 0 9 * * 1-5`, or a bare five-field line. Pure.

The expression is recognised before any other rewriting, so `0 9,17 * * *`
stays one list; cronsim checks it and a bad field is named.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime

from cronsim import CronSim, CronSimError

from localhb.format.recurrence_model import Recurrence, RecurrenceError

__all__ = ["CRON_TOKEN", "cron_text", "crontab_line", "parse_cron"]

_CRON_NAME = r"(?:mon|tue|wed|thu|fri|sat|sun|jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)"
CRON_TOKEN = re.compile(rf"[\d*/,\-]+|{_CRON_NAME}(?:[-,](?:{_CRON_NAME}|\d+))*")
_CRON_CHECK_AT = datetime(2000, 1, 1, tzinfo=UTC)


_CRON_FIELDS = (
    "the fields run minute 0-59, hour 0-23, day of month 1-31, month 1-12, weekday 0-7 "
    '(e.g. "cron 0 9 * * 1-5" is 09:00 on weekdays)'
)


def parse_cron(expr: str, source: str) -> Recurrence:
    expr = expr.strip().strip("\"'`").strip()
    fields = expr.split()
    if len(fields) != 5:
        raise RecurrenceError(
            f'cron "{expr}" has {len(fields)} fields, not 5',
            "write five fields, minute hour day-of-month month day-of-week "
            '(e.g. "cron 0 9 * * 1-5" is 09:00 on weekdays)',
        )
    try:
        next(iter(CronSim(expr, _CRON_CHECK_AT)))
    except CronSimError as exc:
        raise RecurrenceError(f'cron "{expr}": {str(exc).lower()} field', _CRON_FIELDS) from exc
    except StopIteration as exc:
        raise RecurrenceError(f'cron "{expr}" never fires', _CRON_FIELDS) from exc
    return Recurrence(source=source, crons=(" ".join(fields),), literal_cron=True)


def cron_text(text: str) -> str | None:
    """The cron expression of `text`, read before any `,` rewrite (`0 9,17 * * *` is a list)."""
    s = unicodedata.normalize("NFKC", text).lower().strip().strip("\"'`").strip()
    s = re.sub(r"\s+", " ", s.rstrip(".").strip())
    m = re.fullmatch(r"cron(?:tab)?(?: ?: ?| )(.+)", s)
    if m:
        return m.group(1)
    tokens = s.split()
    if len(tokens) == 5 and "*" in s and all(CRON_TOKEN.fullmatch(t) for t in tokens):
        return s
    return None


def crontab_line(text: str) -> tuple[str, str] | None:
    """A whole crontab line (`0 3 * * * tar czf ...`) split into its schedule and its
    command, or None: the hint for a line pasted into `Recurring:` as it was."""
    m = re.fullmatch(r"\s*(?:cron(?:tab)?\s*:?\s*)?((?:\S+\s+){4}\S+)\s+(\S.*?)\s*", text)
    if m is None:
        return None
    schedule, command = " ".join(m.group(1).split()), m.group(2)
    tokens = schedule.lower().split()
    if schedule.endswith(",") or m.group(2).startswith(("-", ",")):
        return None  # `0 9 * * 1-5, 9am-5pm`: a cron and its window, not a command
    if "*" not in schedule or not all(CRON_TOKEN.fullmatch(t) for t in tokens):
        return None
    return schedule, command
