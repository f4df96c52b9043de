"""Schedules written in task titles, and what a title that says it is a schedule must not do.

Pure. `title_schedule` reads `### Check inbox (every 4 hours)` or a title that
is itself a schedule (`### Every Monday at 9:00 AM`). `title_problem` says
what is wrong with a title that says it is a schedule localhb cannot read
(`### Every Check`, `### Report (cron: 0 9,25 * * *)`) or that leaves the time
unsaid (`### Daily (Morning)`): such a task is never a one-time task due now;
the problem is an error on the heading's line, with the exact fix.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, replace

from localhb.format.dayparts import has_clock_time, part_of_day, time_hint
from localhb.format.recurrence import (
    GENERIC_HINT,
    Recurrence,
    RecurrenceError,
    looks_like_schedule,
    parse_recurrence,
    schedule_error_in_parentheses,
    schedule_in_parentheses,
)

__all__ = ["TitleProblem", "schedule_hint", "shown_schedule", "title_problem", "title_schedule"]

_GROUPS = re.compile(r"\s*[(（][^)）]*[)）]")
_GROUP_TEXT = re.compile(r"[(（]([^()（）]*)[)）]")
_NOT_SCHEDULE = re.compile(r"[^\w :：.,/-]|_")  # emoji, bold markers and other decoration
_LEAD = re.compile(r"^(?:every|each|once (?:a|an|per|every)|每)(?:\b|(?=\S))", re.I)
_DAY_ONLY = re.compile(
    r"^(?:on )?(?:(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*|weekdays?|weekends?)"
    r"(?:(?:, | and | ?- ?)(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*)*$"
)


def _bare(title: str) -> str:
    """The title without its parenthesised groups and decoration."""
    return _NOT_SCHEDULE.sub("", _GROUPS.sub("", title)).strip(" -.,")


def title_schedule(title: str) -> tuple[Recurrence | None, str]:
    """A schedule written in a title: in its parentheses, or as the whole title.

    Returns the schedule (or None) and the title without a parenthesised
    schedule: `Check inbox (every 4 hours)` -> (every 4h, `Check inbox`);
    `Every Monday at 9:00 AM` -> (weekly on Mon at 09:00, unchanged).
    """
    found, stripped = schedule_in_parentheses(title)
    if found is not None:
        return found, stripped
    if not looks_like_schedule(title):
        return None, title
    bare = _bare(title)
    if not bare or not looks_like_schedule(bare):
        return None, title
    try:
        return parse_recurrence(bare), title
    except RecurrenceError:
        return None, title


def schedule_hint(title: str) -> str:
    """How to fix a title that mentions a schedule localhb cannot read."""
    err = schedule_error_in_parentheses(title)
    if err is not None:
        return f"{err.message}; {err.hint}" if err.hint else err.message
    return "put it in parentheses, e.g. `(every 4 hours)`, or add `- Recurring: ...`"


@dataclass(frozen=True, slots=True)
class TitleProblem:
    """Why a title's schedule cannot run: `fatal` ones are errors and hold the task."""

    message: str
    hint: str
    fatal: bool


def _shown(title: str) -> str:
    return repr(title if len(title) <= 60 else title[:59] + "…")


def _suggestion(hint: str) -> str | None:
    """The schedule a hint offers as the same meaning (`try "X"`), if localhb reads it.

    Never the generic list, a choice left to the author ("pick one"), or an
    example ("e.g.", "the longest is"): those would change what was written."""
    if hint == GENERIC_HINT or "pick one" in hint:
        return None
    for m in re.finditer(r'\btry "([^"]+)"', hint):
        try:
            parse_recurrence(m.group(1))
        except RecurrenceError:
            continue
        return m.group(1)
    return None


def _fix(err: RecurrenceError) -> str:
    text = f"{err.message}: {err.hint}" if err.hint else err.message
    wanted = _suggestion(err.hint)
    if wanted is not None:
        text += f"; then write it under the heading as `- Recurring: {wanted}`"
    else:
        text += "; then write it under the heading as `- Recurring: ...`"
    return text


def _says_schedule(title: str) -> bool:
    """A heading that says it is a schedule: it starts with "every", or gives a clock time."""
    bare = _bare(unicodedata.normalize("NFKC", title))
    return bool(_LEAD.match(bare)) or has_clock_time(bare)


def _unsaid_time(title: str, found: Recurrence) -> TitleProblem | None:
    """A schedule read from the title whose time the title leaves unsaid (never 00:00)."""
    if found.literal_cron or not (found.crons or found.rrules) or has_clock_time(found.source):
        return None
    word = part_of_day(title)
    days = found.source.strip().lower()
    if word is not None:
        return TitleProblem(
            f"the title {_shown(title)} says {word!r}, a part of the day, but no clock time; "
            "localhb will not guess one",
            time_hint(word, days) + f"; then write it as `- Recurring: {days} at HH:MM`",
            fatal=True,
        )
    for m in _GROUP_TEXT.finditer(title):
        group = unicodedata.normalize("NFKC", m.group(1)).strip().lower()
        if _DAY_ONLY.match(group):
            return TitleProblem(
                f"the title {_shown(title)} names {group!r} but no clock time; "
                "localhb will not guess one",
                f'say when: write `- Recurring: every {group} at HH:MM` (e.g. "every {group} '
                'at 09:00")',
                fatal=True,
            )
    return None


def shown_schedule(title: str, found: Recurrence) -> Recurrence:
    """What the title's schedule is shown as: itself, or, when the title leaves its time
    unsaid (`Daily (Morning)`), the same without the 00:00 localhb will not run it at."""
    if _unsaid_time(title, found) is None:
        return found
    rule = found.describe_rule().replace(" at 00:00", "")
    return replace(found, label=f"{rule}, no clock time")


def title_problem(title: str, found: Recurrence | None) -> TitleProblem | None:
    """What stops the title's schedule from running as written, else None.

    `found` is what `title_schedule` read from it. A title that says it is a
    schedule and does not parse, or leaves its time unsaid, is fatal; one
    that merely mentions a schedule word gets a warning."""
    if found is not None:
        return _unsaid_time(title, found)
    err = schedule_error_in_parentheses(title)
    if err is not None:
        return TitleProblem(
            f"the title {_shown(title)} gives a schedule localhb cannot read, so the task "
            "does not run",
            _fix(err),
            fatal=True,
        )
    if _says_schedule(title):
        try:
            parse_recurrence(_bare(title))
        except RecurrenceError as exc:
            err = exc
        return TitleProblem(
            f"the title {_shown(title)} says it is a schedule localhb cannot read, so the "
            "task does not run",
            _fix(err) if err is not None else "add `- Recurring: ...`",
            fatal=True,
        )
    if looks_like_schedule(title):
        return TitleProblem(
            f"the title {_shown(title)} mentions a schedule but gives none localhb reads, so "
            "it is a one-time task that runs once, now",
            "if it repeats, put its schedule in parentheses, e.g. `(daily at 09:00)`, or add "
            "`- Recurring: ...`; if it runs once, add `- Due: YYYY-MM-DD HH:MM`",
            fatal=False,
        )
    return None
