"""Issue 10 defects: schedules as people write them never become a run they did not ask for."""

from __future__ import annotations

from pathlib import Path

import pytest

from localhb.format.model import TaskKind
from localhb.format.parser import parse
from localhb.format.recurrence import RecurrenceError, parse_recurrence


def pending(body: str) -> str:
    return f"# Heartbeat\n\n## Pending\n\n{body}\n"


# --- Defect 1: cron lists ----------------------------------------------------------

CRON_LISTS = [
    ("cron: 0 9,17 * * *", "0 9,17 * * *"),
    ("cron 0,30 * * * *", "0,30 * * * *"),
    ("cron: 0 9 * * mon,wed", "0 9 * * mon,wed"),
    ("cron: 0 9 * * MON,WED,FRI", "0 9 * * mon,wed,fri"),
    ("0 9,17 * * 1-5", "0 9,17 * * 1-5"),
    ("0,15,30,45 8-18 * * *", "0,15,30,45 8-18 * * *"),
    ("cron：0 9，17 * * *", "0 9,17 * * *"),
    ("cron: 0 9 1,15 * *", "0 9 1,15 * *"),
]


@pytest.mark.parametrize(("text", "cron"), CRON_LISTS)
def test_cron_lists_with_commas_are_read(text: str, cron: str) -> None:
    """A comma inside a cron field is a list, never split into more fields."""
    rec = parse_recurrence(text)
    assert rec.crons == (cron,) and rec.literal_cron


@pytest.mark.parametrize(("text", "cron"), CRON_LISTS[:4])
def test_cron_lists_in_a_recurring_field(text: str, cron: str) -> None:
    """`- Recurring: cron: 0 9,17 * * *` is a recurring task with that cron."""
    doc = parse(pending(f"### Report\n- Recurring: {text}\n"))
    assert not doc.errors
    (task,) = doc.pending()
    assert task.kind is TaskKind.RECURRING
    assert task.recurrence is not None and task.recurrence.crons == (cron,)


@pytest.mark.parametrize(("text", "cron"), CRON_LISTS[:4])
def test_cron_lists_in_a_title(text: str, cron: str) -> None:
    """`### Report (cron: 0 9,17 * * *)` is recurring, never a one-time task due now."""
    doc = parse(pending(f"### Report ({text})\n- Description: send it\n"))
    assert not doc.errors
    (task,) = doc.pending()
    assert task.kind is TaskKind.RECURRING and task.title == "Report"
    assert task.recurrence is not None and task.recurrence.crons == (cron,)


def test_cron_with_a_bad_list_names_the_field() -> None:
    """A list with an out-of-range value is refused naming the field."""
    with pytest.raises(ValueError, match="bad hour field"):
        parse_recurrence("cron: 0 9,25 * * *")


# --- Defect 2: a heading that says it is a schedule never runs once, now -----------

SCHEDULE_TITLES = [
    ("### Every Check", '"every heartbeat"'),
    ("### Report (cron: 0 9,25 * * *)", "bad hour field"),
    ("### Every 99999999999 days", "3650"),
    ("### Poll (every 2-4 hours)", '"every 2 hours"'),
    ("### Every 2 hours: 10AM, 2PM", "- Recurring: daily at 10:00, 14:00"),
]

WRONG_FIXES = [
    ("### Every 99999999999 days", "- Recurring: every 3650d"),
    ("### Report (cron: 0 9,25 * * *)", "- Recurring: cron 0 9 * * 1-5"),
    ("### Poll (every 2-4 hours)", "- Recurring: every 2 hours"),
    ("### Every Morning (Claude)", "- Recurring: daily at 08:00"),
    ("### Check (every hour between 9am and 5pm and more)", "- Recurring: every 1h`"),
]


@pytest.mark.parametrize(("heading", "wrong"), WRONG_FIXES)
def test_title_fixes_never_change_the_meaning(heading: str, wrong: str) -> None:
    """The exact fix is offered only when it means what was written, never an example."""
    doc = parse(pending(f"{heading}\n- Description: do it\n"))
    assert doc.errors
    assert all(wrong not in d.hint for d in doc.diagnostics)


@pytest.mark.parametrize(("heading", "fix"), SCHEDULE_TITLES)
def test_schedule_titles_that_do_not_parse_are_errors(heading: str, fix: str) -> None:
    """An unreadable schedule in a title is an error on its line with the fix, never due now."""
    doc = parse(pending(f"{heading}\n- Description: do it\n"))
    errors = [d for d in doc.errors if d.line == 5]
    assert errors, doc.diagnostics
    assert "schedule" in errors[0].message
    assert fix in errors[0].message + errors[0].hint
    (task,) = doc.pending()
    assert task.problem is not None


def test_a_part_of_the_day_with_a_time_in_a_title_is_read() -> None:
    """`### Every Morning at 8:00 AM (Claude)` is read now: daily at 08:00, no error."""
    doc = parse(pending("### Every Morning at 8:00 AM (Claude)\n- Description: do it\n"))
    assert not doc.errors
    (task,) = doc.pending()
    assert task.kind is TaskKind.RECURRING and task.schedule_text == "daily at 08:00"


def test_schedule_title_error_holds_the_task() -> None:
    """The task of an unreadable schedule title is held (invalid), not due."""
    from datetime import UTC, datetime

    from localhb.timing.schedule import State, evaluate

    doc = parse(pending("### Every Check\n- Description: look\n"))
    (task,) = doc.pending()
    ev = evaluate(task, datetime(2026, 1, 5, 12, 0, tzinfo=UTC), UTC)
    assert not ev.due and ev.state is State.INVALID


def test_validate_exits_non_zero_on_a_schedule_title(tmp_path: Path) -> None:
    """`localhb validate` fails (exit 2) and prints file:line for a schedule title."""
    from localhb.cli import main

    path = tmp_path / "HEARTBEAT.md"
    path.write_text(pending("### Every Check (Claude)\n- Description: hi\n"))
    code = main(["validate", str(path)])
    assert code == 2


@pytest.mark.parametrize(
    "heading",
    [
        "### Review the weekly report",
        "### Daily standup",
        "### Fix the login bug (URGENT)",
        "### Check CI Status",
    ],
)
def test_prose_titles_are_still_one_time_tasks(heading: str) -> None:
    """A title that only mentions a schedule word (not leading with "every") is no error."""
    doc = parse(pending(f"{heading}\n- Description: do it\n"))
    assert not doc.errors
    (task,) = doc.pending()
    assert task.kind is TaskKind.ONE_TIME


def test_scheduled_fields_win_over_a_schedule_word_in_the_title() -> None:
    """`### Every Check` with its own `- Recurring:` line is fine."""
    doc = parse(pending("### Every Check\n- Recurring: every 30m\n"))
    assert not doc.errors
    (task,) = doc.pending()
    assert task.recurrence is not None and task.recurrence.describe() == "every 30m"


# --- Defect 3: a part of the day without a clock time --------------------------------


@pytest.mark.parametrize(
    ("heading", "word"),
    [
        ("### Daily (Morning)", "morning"),
        ("### Weekly (Monday)", "monday"),
        ("### Weekly (Monday) (Evening)", "evening"),
        ("### Every Evening", "evening"),
        ("### 日报（每天晚上）", "晚上"),
    ],
)
def test_titles_without_a_clock_time_are_diagnostics(heading: str, word: str) -> None:
    """A part of the day or a day without a time in a title never becomes 00:00."""
    doc = parse(pending(f"{heading}\n- Description: do it\n"))
    errors = [d for d in doc.errors if d.line == 5]
    assert errors, doc.diagnostics
    assert word in (errors[0].message + errors[0].hint).lower()
    assert "00:00" not in errors[0].hint
    (task,) = doc.pending()
    assert task.problem is not None


@pytest.mark.parametrize(
    "text", ["daily (morning)", "daily in the morning", "every morning", "nightly", "每天早上"]
)
def test_recurring_parts_of_day_without_a_time_are_refused(text: str) -> None:
    """`- Recurring: daily in the morning` is a RecurrenceError naming the part of the day."""
    with pytest.raises(RecurrenceError) as caught:
        parse_recurrence(text)
    assert "part of the day" in caught.value.message
    assert "00:00" not in caught.value.hint


def test_daily_without_a_time_in_a_field_is_still_midnight() -> None:
    """The documented `daily` (00:00) in a Recurring field is unchanged."""
    assert parse_recurrence("daily").crons == ("0 0 * * *",)


# --- Defect 5: hints keep the meaning -----------------------------------------------

HINTS = [
    ("between 9am and 5pm every hour", '"every 1h, 09:00-17:00"'),
    ("9AM-11PM every 10 minutes", '"every 10m, 09:00-23:00"'),
    ("每2小时轮询", '"every 2h"'),
]


# Once refused with a hint, now read (the calendar grammar), with the meaning the hint gave.
NOW_READ = [
    ("every 1st and 15th of the month at 8:00", "monthly on day 1, 15 at 08:00"),
    ("once a year on december 25th", "yearly on December 25 at 00:00"),
    ("once a year on december 25th at 9am", "yearly on December 25 at 09:00"),
    ("every 4th of the month", "monthly on day 4 at 00:00"),
    ("every hour between 9am and 5pm", "every 1h, 09:00-17:00"),
    ("every 10 minutes, 9AM-11PM only", "every 10m, 09:00-23:00"),
]


@pytest.mark.parametrize(("text", "shown"), NOW_READ)
def test_what_the_hints_proposed_is_now_read_the_same_way(text: str, shown: str) -> None:
    """The calendar grammar reads these with the meaning their old hint spelled out."""
    assert parse_recurrence(text).describe() == shown


@pytest.mark.parametrize(("text", "hint"), HINTS)
def test_hints_keep_the_meaning(text: str, hint: str) -> None:
    """Each refusal's hint says the same thing in localhb's words, never something else."""
    with pytest.raises(RecurrenceError) as caught:
        parse_recurrence(text)
    assert hint in caught.value.hint


@pytest.mark.parametrize(
    ("text", "bad"),
    [
        ("between 9am and 5pm every hour", "daily at 09:00, 17:00"),
        ("每2小时轮询", "every 3h"),
        ("every 99999999999 days", "for a yearly task use"),
    ],
)
def test_hints_never_change_the_meaning(text: str, bad: str) -> None:
    """The wrong-way hints of issue 10 are gone."""
    with pytest.raises(RecurrenceError) as caught:
        parse_recurrence(text)
    assert bad not in caught.value.hint


def test_window_hint_keeps_the_window() -> None:
    """A schedule with a time window keeps both parts in the hint."""
    with pytest.raises(RecurrenceError) as caught:
        parse_recurrence("between 9am and 5pm every hour")
    assert "09:00-17:00" in caught.value.hint
