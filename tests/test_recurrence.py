"""The recurrence grammar: what parses, to what, and how refusals are worded."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from localhb.format.recurrence import (
    Recurrence,
    RecurrenceError,
    looks_like_schedule,
    parse_recurrence,
    schedule_error_in_parentheses,
    schedule_in_parentheses,
)

CALENDAR = [
    ("hourly", "hourly", ("0 * * * *",)),
    ("daily", "daily at 00:00", ("0 0 * * *",)),
    ("weekly", "weekly on Mon at 00:00", ("0 0 * * 1",)),
    ("monthly", "monthly on day 1 at 00:00", ("0 0 1 * *",)),
    ("daily at 18:00", "daily at 18:00", ("0 18 * * *",)),
    ("every day at 9:00 AM", "daily at 09:00", ("0 9 * * *",)),
    ("daily at 09:00 and 18:00", "daily at 09:00, 18:00", ("0 9 * * *", "0 18 * * *")),
    ("daily at 09:15 and 18:30", "daily at 09:15, 18:30", ("15 9 * * *", "30 18 * * *")),
    (
        "daily at 9am, 1pm and 6pm",
        "daily at 09:00, 13:00, 18:00",
        ("0 9 * * *", "0 13 * * *", "0 18 * * *"),
    ),
    ("weekdays at 08:00", "weekdays at 08:00", ("0 8 * * 1-5",)),
    ("weekends at 10:00", "weekends at 10:00", ("0 10 * * 0,6",)),
    ("every weekday at 8", "weekdays at 08:00", ("0 8 * * 1-5",)),
    ("M-F 17:30", "weekdays at 17:30", ("30 17 * * 1-5",)),
    ("17:30 M-F", "weekdays at 17:30", ("30 17 * * 1-5",)),
    ("Mon-Fri at 9:00", "weekdays at 09:00", ("0 9 * * 1-5",)),
    ("weekly on Monday at 09:00", "weekly on Mon at 09:00", ("0 9 * * 1",)),
    ("every Monday at 9:00 AM", "weekly on Mon at 09:00", ("0 9 * * 1",)),
    ("every monday and thursday at 10:00", "weekly on Mon, Thu at 10:00", ("0 10 * * 1,4",)),
    ("Fri 18:00", "weekly on Fri at 18:00", ("0 18 * * 5",)),
    ("Sundays 10 AM", "weekly on Sun at 10:00", ("0 10 * * 0",)),
    ("22:30 daily", "daily at 22:30", ("30 22 * * *",)),
    ("weekly at 9:00", "weekly on Mon at 09:00", ("0 9 * * 1",)),
    ("monthly on the 1st at 09:00", "monthly on day 1 at 09:00", ("0 9 1 * *",)),
    ("monthly on the 15th", "monthly on day 15 at 00:00", ("0 0 15 * *",)),
    ("monthly on day 1 at 9:00", "monthly on day 1 at 09:00", ("0 9 1 * *",)),
    ("every month on the 1st and 15th at 8:00", "monthly on day 1, 15 at 08:00", ("0 8 1,15 * *",)),
    ("monthly on the last day", "monthly on the last day at 00:00", ("0 0 L * *",)),
    ("daily at 12am", "daily at 00:00", ("0 0 * * *",)),
    ("daily at 12pm", "daily at 12:00", ("0 12 * * *",)),
    ("daily at 9:30 PM", "daily at 21:30", ("30 21 * * *",)),
    ("daily at 9:30 p.m.", "daily at 21:30", ("30 21 * * *",)),
    ("daily at noon", "daily at 12:00", ("0 12 * * *",)),
    ("daily at midnight", "daily at 00:00", ("0 0 * * *",)),
    ("  DAILY   at 18:00. ", "daily at 18:00", ("0 18 * * *",)),
    ("每天 22:05", "daily at 22:05", ("5 22 * * *",)),
    ("每日 9:00, 21:00", "daily at 09:00, 21:00", ("0 9 * * *", "0 21 * * *")),
    ("每日 9:00，21:00", "daily at 09:00, 21:00", ("0 9 * * *", "0 21 * * *")),
    ("每周一 9:00", "weekly on Mon at 09:00", ("0 9 * * 1",)),
    ("每周一、四 上午9点", "weekly on Mon, Thu at 09:00", ("0 9 * * 1,4",)),
    ("工作日 15:10", "weekdays at 15:10", ("10 15 * * 1-5",)),
    ("每月15号 8点半", "monthly on day 15 at 08:30", ("30 8 15 * *",)),
    ("每天12:00和00:00", "daily at 00:00, 12:00", ("0 0 * * *", "0 12 * * *")),
]


@pytest.mark.parametrize(("text", "described", "crons"), CALENDAR)
def test_calendar_schedules_become_crons(text: str, described: str, crons: tuple[str, ...]) -> None:
    """Calendar wording becomes one cron per clock time and a canonical description."""
    rec = parse_recurrence(text)
    assert rec.crons == crons
    assert rec.interval is None and not rec.every_cycle
    assert rec.describe() == described
    assert rec.source == text.strip()


INTERVALS = [
    ("every 30m", timedelta(minutes=30), "every 30m"),
    ("every 2h30m", timedelta(hours=2, minutes=30), "every 2h30m"),
    ("every 90s", timedelta(seconds=90), "every 1m30s"),
    ("every 4 hours", timedelta(hours=4), "every 4h"),
    ("Every 30 Minutes", timedelta(minutes=30), "every 30m"),
    ("every 10 minutes", timedelta(minutes=10), "every 10m"),
    ("every 2 days", timedelta(days=2), "every 2d"),
    ("Every 80 Days", timedelta(days=80), "every 80d"),
    ("every 24h", timedelta(hours=24), "every 24h"),
    ("every hour", timedelta(hours=1), "every 1h"),
    ("every minute", timedelta(minutes=1), "every 1m"),
    ("every other day", timedelta(days=2), "every 2d"),
    ("every 2 weeks", timedelta(days=14), "every 14d"),
    ("每 2 小时", timedelta(hours=2), "every 2h"),
    ("每2小时", timedelta(hours=2), "every 2h"),
    ("每30分钟", timedelta(minutes=30), "every 30m"),
]


@pytest.mark.parametrize(("text", "interval", "described"), INTERVALS)
def test_durations_become_intervals(text: str, interval: timedelta, described: str) -> None:
    """'every <duration>' becomes a fixed interval, described compactly."""
    rec = parse_recurrence(text)
    assert rec.interval == interval
    assert rec.crons == () and not rec.every_cycle
    assert rec.describe() == described


@pytest.mark.parametrize(
    "text", ["every heartbeat", "Every Heartbeat", "every cycle", "each heartbeat", "每次心跳"]
)
def test_every_heartbeat_runs_every_cycle(text: str) -> None:
    """'every heartbeat' and its synonyms run on every cycle."""
    rec = parse_recurrence(text)
    assert rec.every_cycle and rec.interval is None and rec.crons == ()
    assert rec.describe() == "every heartbeat"


@pytest.mark.parametrize(
    ("text", "crons", "described"),
    [
        ("cron: 0 9 * * 1-5", ("0 9 * * 1-5",), "cron 0 9 * * 1-5"),
        ("cron 0 9 * * 1-5", ("0 9 * * 1-5",), "cron 0 9 * * 1-5"),
        ("cron   5 22  * * *", ("5 22 * * *",), "cron 5 22 * * *"),
        ('cron "5 22 * * *"', ("5 22 * * *",), "cron 5 22 * * *"),
        ("0 9 * * *", ("0 9 * * *",), "cron 0 9 * * *"),
        ("*/15 * * * MON-FRI", ("*/15 * * * mon-fri",), "cron */15 * * * mon-fri"),
    ],
)
def test_cron_expressions_are_kept_as_written(
    text: str, crons: tuple[str, ...], described: str
) -> None:
    """A cron expression, with or without the 'cron' prefix, stays a literal cron."""
    rec = parse_recurrence(text)
    assert rec.crons == crons and rec.literal_cron
    assert rec.describe() == described


REJECTED = [
    ("every 2-4 hours", "range", 'try "every 2 hours"'),
    ("every ~30 min", "approximate", 'try "every 30 min"'),
    ("every few hours", "approximate", 'e.g. "every 3h"'),
    ("every 6 heartbeats", "counts heartbeats", "write it as a duration"),
    ("daily at 25:00", '"25:00" is not a time of day', "hours run 00-23"),
    ("daily at 24:00", '"24:00" is not a time of day', "midnight is 00:00"),
    ("daily at 13pm", '"13pm" is not a time of day', "12-hour"),
    ("every 0m", "not a positive interval", 'e.g. "every 30m"'),
    ("every -5m", "not a positive interval", 'e.g. "every 30m"'),
    ("every 1000000000 days", "longer than the longest interval", '"cron: 0 9 15 1 *"'),
    ("every 3651 days", "longer than the longest interval", '"cron: 0 9 15 1 *"'),
    ("every 99999999999999999999999 seconds", "longer than the longest", "cron"),
    ("every 30", "has no unit", '"every 30m"'),
    ("every 2 months", "not a fixed duration", '"cron: 0 9 1 */2 *"'),
    ("sometimes", "not a schedule localhb understands", 'such as "every 3h"'),
    ("", "empty", 'such as "every 3h"'),
    ("weekly on Funday", '"funday" is not a day of the week', "weekly on Monday"),
    ("daily at 0900", "without a colon", "09:00"),
    ("Monday", "days but no time", 'e.g. "every monday at 09:00"'),
    ("9:00", "a time but no days", 'e.g. "daily at 09:00"'),
    (
        "every 2 hours: 10AM, 2PM, 6PM, 10PM",
        "mixes an interval with clock times",
        'try "daily at 10:00, 14:00, 18:00, 22:00"',
    ),
    ("9AM-11PM every 10 minutes", "time window", "every 10m, 09:00-23:00"),
    ("monthly on the 31st", "does not exist in every month", "last day"),
    ("cron 61 * * * *", "bad minute field", "cron 0 9 * * 1-5"),
    ("cron 0 0 30 2 *", "bad day-of-month field", "cron 0 9 * * 1-5"),
    ("cron 0 9 * *", "has 4 fields, not 5", "minute hour"),
]


@pytest.mark.parametrize(("text", "message", "hint"), REJECTED)
def test_unclear_schedules_are_refused_with_a_hint(text: str, message: str, hint: str) -> None:
    """Anything the grammar cannot read is a RecurrenceError naming it, never a guess."""
    with pytest.raises(RecurrenceError) as caught:
        parse_recurrence(text)
    assert message in caught.value.message
    assert hint in caught.value.hint


def test_recurrence_error_is_a_value_error() -> None:
    """RecurrenceError is a ValueError whose str() is its message."""
    err = RecurrenceError("bad", "try this")
    assert isinstance(err, ValueError) and str(err) == "bad" and err.hint == "try this"


PARENTHESES = [
    ("Check inbox (every 4 hours)", "every 4h", "Check inbox"),
    ("Standup notes (17:30 M-F)", "weekdays at 17:30", "Standup notes"),
    ("Weekly review (Fri 18:00)", "weekly on Fri at 18:00", "Weekly review"),
    ("Journal (22:30 daily)", "daily at 22:30", "Journal"),
    ("巡检（每 2 小时）", "every 2h", "巡检"),
    ("Sync (每日 9:00, 21:00) now", "daily at 09:00, 21:00", "Sync now"),
    ("(every heartbeat) Check mail", "every heartbeat", "Check mail"),
    ("Poll (Ollama) (every 30 minutes)", "every 30m", "Poll (Ollama)"),
]


@pytest.mark.parametrize(("title", "described", "rest"), PARENTHESES)
def test_schedule_in_parentheses_is_taken_out_of_the_title(
    title: str, described: str, rest: str
) -> None:
    """A parenthesised schedule is parsed and removed with the space before it."""
    rec, stripped = schedule_in_parentheses(title)
    assert rec is not None and rec.describe() == described
    assert stripped == rest


@pytest.mark.parametrize(
    "title",
    [
        "Task (added 2026-01-01)",
        "(URGENT) Fix the build",
        "Every 30 Minutes (Ollama)",
        "Daily (Morning)",
        "Poll (every 2 hours: 10AM, 2PM, 6PM, 10PM)",
        "No groups at all",
    ],
)
def test_groups_that_are_not_schedules_are_kept(title: str) -> None:
    """Parenthesised groups that do not parse leave the title untouched."""
    assert schedule_in_parentheses(title) == (None, title)


@pytest.mark.parametrize(
    ("title", "message"),
    [
        ("Poll (every 2 hours: 10AM, 2PM, 6PM, 10PM)", "mixes an interval"),
        ("Check (every ~30 min)", "approximate"),
        ("Check (every 4 hours)", None),
        ("Task (URGENT)", None),
    ],
)
def test_schedule_error_in_parentheses_explains_near_misses(
    title: str, message: str | None
) -> None:
    """A group that looks like a schedule but fails to parse yields its error."""
    err = schedule_error_in_parentheses(title)
    if message is None:
        assert err is None
    else:
        assert err is not None and message in err.message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("every 2-4 hours", True),
        ("Every 6 heartbeats", True),
        ("daily standup", True),
        ("Fri 18:00", True),
        ("Sundays 10 AM", True),
        ("at 9:30 PM", True),
        ("cron 0 9 * * *", True),
        ("0 9 * * 1-5", True),
        ("每2小时轮询", True),
        ("M-F", True),
        ("Check the inbox", False),
        ("Ollama", False),
        ("added 2026-01-01", False),
        ("Fix the build", False),
        ("Monday motivation", False),
    ],
)
def test_looks_like_schedule(text: str, expected: bool) -> None:
    """The diagnostic heuristic flags schedule-like text and leaves prose alone."""
    assert looks_like_schedule(text) is expected


def _day_texts() -> st.SearchStrategy[str]:
    names = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
    return st.one_of(
        st.sampled_from(["daily", "weekdays", "weekends", "every day"]),
        st.lists(st.sampled_from(names), min_size=1, max_size=3, unique=True).map(
            lambda days: "every " + " and ".join(days)
        ),
        st.integers(1, 28).map(lambda d: f"monthly on day {d}"),
    )


@given(
    days=_day_texts(),
    times=st.lists(st.tuples(st.integers(0, 23), st.integers(0, 59)), min_size=1, max_size=3),
)
def test_describe_reads_back_as_the_same_calendar(days: str, times: list[tuple[int, int]]) -> None:
    """describe() of any calendar schedule parses back to the same crons."""
    text = f"{days} at " + " and ".join(f"{h}:{m:02d}" for h, m in times)
    rec = parse_recurrence(text)
    again = parse_recurrence(rec.describe())
    assert again.crons == rec.crons
    assert len(rec.crons) == len(set(times))


@given(st.integers(1, 200 * 86400))
def test_describe_reads_back_as_the_same_interval(seconds: int) -> None:
    """describe() of any interval parses back to the same duration."""
    rec = Recurrence(source="x", interval=timedelta(seconds=seconds))
    assert parse_recurrence(rec.describe()).interval == rec.interval


@given(st.text(max_size=40))
def test_parse_never_fails_with_anything_but_recurrence_error(text: str) -> None:
    """Arbitrary text either parses or raises RecurrenceError, nothing else."""
    try:
        parse_recurrence(text)
    except RecurrenceError as err:
        assert err.message


@pytest.mark.parametrize(
    ("text", "schedule", "command"),
    [
        (
            "0 3 * * * tar czf backups/notes.tgz notes",
            "0 3 * * *",
            "tar czf backups/notes.tgz notes",
        ),
        (
            "*/15 9-17 * * mon-fri  /usr/bin/check --quiet",
            "*/15 9-17 * * mon-fri",
            "/usr/bin/check --quiet",
        ),
        ("cron: 0 9,17 * * * echo hi", "0 9,17 * * *", "echo hi"),
    ],
)
def test_a_whole_crontab_line_says_how_to_split_it(text: str, schedule: str, command: str) -> None:
    """A crontab line pasted into `Recurring:` whole is refused with the Recurring and Run
    lines it should become."""
    with pytest.raises(RecurrenceError) as caught:
        parse_recurrence(text)
    assert "is a whole crontab line" in caught.value.message
    assert f"`- Recurring: {schedule}`" in caught.value.hint
    assert f"`- Run: {command}`" in caught.value.hint


@pytest.mark.parametrize(
    "text", ["0 3 * * *", "0 9 * * 1-5 Europe/Berlin", "cron: 0 9,17 * * mon-fri"]
)
def test_a_cron_alone_is_not_a_crontab_line(text: str) -> None:
    """A cron expression alone, or with a zone, still parses as a schedule."""
    assert parse_recurrence(text).crons
