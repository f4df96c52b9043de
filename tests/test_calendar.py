"""The calendar grammar (issue 10, "Grammar to add"): each form, its meaning, its slots in four
zones on DST days, and a task's own zone and window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from itertools import islice, pairwise
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from localhb.format.parser import parse
from localhb.format.recurrence import RecurrenceError, parse_recurrence
from localhb.timing.schedule import State, evaluate, slots_after, slots_until

BER = ZoneInfo("Europe/Berlin")  # 2026: +1 -> +2 on 03-29 02:00, back on 10-25 03:00
NYC = ZoneInfo("America/New_York")  # 2026: -5 -> -4 on 03-08 02:00, back on 11-01 02:00
LHI = ZoneInfo("Australia/Lord_Howe")  # 2026: +11 -> +10:30 on 04-05 02:00, back 10-04 02:00
ZUTC = ZoneInfo("UTC")


def wall(tz: tzinfo, y: int, mo: int, d: int, h: int = 0, mi: int = 0, fold: int = 0) -> datetime:
    """A wall-clock time in `tz` as a UTC instant."""
    return datetime(y, mo, d, h, mi, tzinfo=tz, fold=fold).astimezone(UTC)


GRAMMAR = [
    # ordinal and last weekdays
    ("first Monday of the month at 10:00", "monthly on the first Monday at 10:00"),
    ("last Friday of the month", "monthly on the last Friday at 00:00"),
    ("the 2nd tuesday of every month at 9am", "monthly on the second Tuesday at 09:00"),
    (
        "monthly on the first and third monday at 18:30",
        "monthly on the first Monday, third Monday at 18:30",
    ),
    # days of the month
    ("on the last day of the month", "monthly on the last day at 00:00"),
    ("on the 1st and 15th at 08:00", "monthly on day 1, 15 at 08:00"),
    ("every 4th of the month at 7am", "monthly on day 4 at 07:00"),
    # longer periods
    ("quarterly", "quarterly on day 1 at 00:00"),
    ("quarterly on the 15th at 09:00", "quarterly on day 15 at 09:00"),
    ("quarterly on the first monday at 9:00", "quarterly on the first Monday at 09:00"),
    ("yearly on March 15 at 09:00", "yearly on March 15 at 09:00"),
    ("annually on 1 january", "yearly on January 1 at 00:00"),
    ("every year on december 25th at 8am", "yearly on December 25 at 08:00"),
    (
        "yearly on the last thursday of november at 9am",
        "yearly on the last Thursday of November at 09:00",
    ),
    ("every 2 weeks on Friday", "every 2 weeks on Fri at 00:00"),
    ("every other week on mon and thu at 9am", "every 2 weeks on Mon, Thu at 09:00"),
    ("every other Tuesday at 17:00", "every 2 weeks on Tue at 17:00"),
    ("fortnightly on friday at 16:00", "every 2 weeks on Fri at 16:00"),
    ("every other hour", "every 2h"),
    # parts of the day with a clock time
    ("every morning at 8:00 AM", "daily at 08:00"),
    ("every evening at 8pm", "daily at 20:00"),
    ("every evening at 8", "daily at 20:00"),
    ("nightly at 23:00", "daily at 23:00"),
    ("weekday mornings at 7:30", "weekdays at 07:30"),
    ("every monday morning at 9am", "weekly on Mon at 09:00"),
    # a zone per task
    ("daily at 09:00 UTC", "daily at 09:00 UTC"),
    ("daily at 09:00 Europe/London", "daily at 09:00 Europe/London"),
    ("weekdays at 9am in america/new_york", "weekdays at 09:00 America/New_York"),
    # a window per task
    ("every 10 minutes, 9AM-11PM", "every 10m, 09:00-23:00"),
    ("every hour between 9am and 5pm", "every 1h, 09:00-17:00"),
    ("every 30m from 22:00 to 06:00", "every 30m, 22:00-06:00"),
    ("every 10 minutes, 9AM-11PM only Europe/Berlin", "every 10m, 09:00-23:00 Europe/Berlin"),
    # RFC 5545
    ("RRULE:FREQ=MONTHLY;BYDAY=1MO;BYHOUR=10;BYMINUTE=0", "monthly on the first Monday at 10:00"),
]


@pytest.mark.parametrize(("text", "shown"), GRAMMAR)
def test_each_form_reads_with_its_documented_meaning_and_reads_back(text: str, shown: str) -> None:
    """Every grammar line parses to the documented form, and that form parses to the same."""
    rec = parse_recurrence(text)
    assert rec.describe() == shown
    again = parse_recurrence(shown)
    assert (again.crons, again.rrules, again.interval, again.zone, again.window) == (
        rec.crons,
        rec.rrules,
        rec.interval,
        rec.zone,
        rec.window,
    )


REFUSED = [
    (
        "every 2nd Tuesday",
        "second Tuesday of each month or every other Tuesday",
        '"second Tuesday of the month" or "every 2 weeks on Tue"',
    ),
    ("every first monday", "of the month?", '"first Monday of the month"'),
    ("biweekly on friday", "twice a week or every two weeks", "every 2 weeks on Friday"),
    ("yearly", "which day of the year", "yearly on January 1"),
    ("yearly on 15/03", "day/month or month/day", "yearly on March 15"),
    ("yearly on february 29", "not in every year", "February 28"),
    ("yearly on april 31", "April has no day 31", "1 to 30"),
    ("on the 31st", "does not exist in every month", "last day of the month"),
    ("every morning at 8pm", "20:00 is not in the morning", '"daily at 20:00" or "daily at 08:00"'),
    ("every night at 3", "could be in the morning or the evening", '"3am", "3pm"'),
    ("daily at 9am EST", "abbreviation", "America/New_York"),
    ("daily at 9am UTC+2", "fixed offset", "Etc/GMT-2"),
    ("daily at 9am Mars/Base", "not a time zone", "Europe/London"),
    ("every 10m, 9-5", "could be 9am or 9pm", "9am-5pm"),
    ("daily at 06:00, 9am-5pm", "never falls inside 09:00-17:00", "06:00"),
    ("every 10m, 09:00-09:00", "an empty window", "leave the window out"),
    ("every 60 weeks on friday", "2 to 52", "every 2 weeks"),
]


@pytest.mark.parametrize(("text", "message", "hint"), REFUSED)
def test_what_stays_ambiguous_is_refused_with_a_hint_that_keeps_the_meaning(
    text: str, message: str, hint: str
) -> None:
    """Ambiguous or impossible forms are diagnostics; the hint offers each possible meaning."""
    with pytest.raises(RecurrenceError) as err:
        parse_recurrence(text)
    assert message in err.value.message
    assert hint in err.value.hint


ZONES = [BER, NYC, LHI, ZUTC]
ZONE_IDS = ["berlin", "new-york", "lord-howe", "utc"]


@pytest.mark.parametrize("tz", ZONES, ids=ZONE_IDS)
def test_last_sunday_at_02_30_on_dst_days(tz: tzinfo) -> None:
    """ "last Sunday of the month at 02:30" through 2026: each month once, at 02:30 local, or
    at the transition where 02:30 does not exist (Berlin, 29 March)."""
    rec = parse_recurrence("last Sunday of the month at 02:30")
    slots = list(islice(slots_after(rec, datetime(2026, 1, 1, tzinfo=UTC), tz), 12))
    local = [s.astimezone(tz) for s in slots]
    assert [t.month for t in local] == list(range(1, 13))
    assert all(t.weekday() == 6 and (t + timedelta(days=7)).month != t.month for t in local)
    for t in local:
        expected = (3, 0) if tz is BER and (t.month, t.day) == (3, 29) else (2, 30)
        assert (t.hour, t.minute) == expected
    assert list(islice(slots_until(rec, slots[-1], tz), 12)) == slots[::-1]


DST_DAYS = [
    # (schedule, zone, just before, the next slot as a wall time, fold)
    ("second Sunday of the month at 02:30", NYC, (2026, 3, 1), (2026, 3, 8, 3, 0), 0),
    ("first Sunday of the month at 01:30", NYC, (2026, 10, 10), (2026, 11, 1, 1, 30), 0),
    ("first Sunday of the month at 02:15", LHI, (2026, 9, 10), (2026, 10, 4, 2, 30), 0),
    ("first Sunday of the month at 01:45", LHI, (2026, 3, 10), (2026, 4, 5, 1, 45), 0),
    ("last Sunday of the month at 02:30", BER, (2026, 10, 1), (2026, 10, 25, 2, 30), 0),
    ("on the 28th of the month at 02:30", BER, (2027, 3, 1), (2027, 3, 28, 3, 0), 0),
    ("monthly on day 8 at 02:30", NYC, (2026, 3, 1), (2026, 3, 8, 3, 0), 0),
    ("on the 4th of the month at 02:10", LHI, (2026, 9, 10), (2026, 10, 4, 2, 30), 0),
    ("quarterly on the first sunday at 02:15", LHI, (2026, 9, 10), (2026, 10, 4, 2, 30), 0),
    ("yearly on March 29 at 02:30", BER, (2026, 1, 1), (2026, 3, 29, 3, 0), 0),
    ("every 2 weeks on Sunday at 02:30", NYC, (2026, 3, 2), (2026, 3, 8, 3, 0), 0),
    ("last Sunday of the month at 02:30", ZUTC, (2026, 3, 1), (2026, 3, 29, 2, 30), 0),
]


@pytest.mark.parametrize(("text", "tz", "before", "slot", "fold"), DST_DAYS)
def test_ordinal_and_monthly_rules_on_dst_days(
    text: str, tz: tzinfo, before: tuple[int, int, int], slot: tuple[int, ...], fold: int
) -> None:
    """A skipped time runs at the transition, a repeated one once (its first pass), for both
    backends, in each zone; the one after it is a month (or the period) later."""
    rec = parse_recurrence(text)
    first, second = islice(slots_after(rec, wall(tz, *before), tz), 2)
    assert first == wall(tz, *slot, fold=fold)
    assert second > first + timedelta(hours=2)  # never a second run in the repeated hour
    assert next(slots_until(rec, first, tz)) == first


def test_every_2_weeks_on_friday_is_every_other_friday() -> None:
    """The Fridays of "every 2 weeks on Friday at 17:00" are 14 days apart, at 17:00 local."""
    rec = parse_recurrence("every 2 weeks on Friday at 17:00")
    slots = [s.astimezone(BER) for s in islice(slots_after(rec, wall(BER, 2026, 3, 1), BER), 8)]
    assert all(s.weekday() == 4 and (s.hour, s.minute) == (17, 0) for s in slots)
    assert all((b.date() - a.date()).days == 14 for a, b in pairwise(slots))


@pytest.mark.parametrize("tz", ZONES, ids=ZONE_IDS)
def test_a_schedule_zone_wins_over_the_configured_one(tz: tzinfo) -> None:
    """ "daily at 09:00 Europe/London" is 09:00 in London whatever zone is configured,
    across the days London and the configured zone change clocks."""
    rec = parse_recurrence("daily at 09:00 Europe/London")
    london = ZoneInfo("Europe/London")
    slots = list(islice(slots_after(rec, datetime(2026, 3, 20, tzinfo=UTC), tz), 20))
    assert all(s.astimezone(london).hour == 9 for s in slots)


@pytest.mark.parametrize("tz", ZONES, ids=ZONE_IDS)
def test_a_window_keeps_only_the_slots_inside_it(tz: tzinfo) -> None:
    """ "every 10 minutes, 9AM-11PM": 09:00 is the first slot of a day, 22:50 the last;
    walking back from 09:00 goes to the previous evening's 22:50."""
    rec = parse_recurrence("every 10 minutes, 9AM-11PM")
    start = wall(tz, 2026, 3, 7, 23, 0)
    day = [s.astimezone(tz) for s in islice(slots_after(rec, start, tz), 84)]
    assert (day[0].hour, day[0].minute) == (9, 0)
    assert (day[-1].hour, day[-1].minute) == (22, 50)
    back = next(slots_until(rec, day[0] - timedelta(minutes=1), tz)).astimezone(tz)
    assert (back.hour, back.minute) == (22, 50)


def pending(body: str) -> str:
    return f"# Tasks\n\n## Pending\n\n{body}"


def test_task_keys_give_a_zone_and_a_window() -> None:
    """`- Timezone:` and `- Active hours:` reach the schedule and show in its description."""
    doc = parse(
        pending(
            "### Poll\n- Recurring: every 30m\n- Timezone: america/new_york\n"
            "- Active hours: 09:00-17:00\n"
        )
    )
    assert not doc.errors
    (task,) = doc.pending()
    assert task.zone == "America/New_York" and task.window == (540, 1020)
    assert task.schedule_text == "every 30m, 09:00-17:00 America/New_York"
    first = next(slots_after(task.recurrence, wall(NYC, 2026, 6, 1, 17, 0), BER))  # type: ignore[arg-type]
    assert first == wall(NYC, 2026, 6, 2, 9, 0)


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ("- Timezone: EST\n", "abbreviation"),
        ("- Timezone: Nowhere/Land\n", "not a time zone"),
        ("- Active hours: 9-5\n", "could be 9am or 9pm"),
        ("- Active hours: whenever\n", "not a daily window"),
        ("- Active hours: 18:00-20:00\n", "never falls inside"),
        ("- Timezone: UTC\n- Recurring: daily at 09:00 Europe/London\n", "disagrees"),
    ],
)
def test_bad_task_keys_are_errors_on_their_line(keys: str, message: str) -> None:
    """A key localhb cannot read is an error naming the key; the task is held."""
    doc = parse(pending(f"### Report\n- Recurring: daily at 09:00\n{keys}"))
    assert any(message in d.message for d in doc.errors), doc.diagnostics
    (task,) = doc.pending()
    assert task.problem is not None


def test_active_hours_hold_a_due_task_until_its_window() -> None:
    """A slot missed at 16:50 is not run at 18:00, outside the task's hours: it waits for the
    next slot inside them (09:00 next day); inside the window it runs."""
    doc = parse(
        pending(
            "### Poll\n- Recurring: every 10m\n- Active hours: 09:00-17:00\n"
            "- Last run: 2026-06-01 16:40\n"
        )
    )
    (task,) = doc.pending()
    late = evaluate(task, wall(BER, 2026, 6, 1, 18, 0), BER)
    assert not late.due and late.state is State.SCHEDULED
    assert late.next_due == wall(BER, 2026, 6, 2, 9, 0)
    assert "active hours 09:00-17:00" in late.reason
    inside = evaluate(task, wall(BER, 2026, 6, 1, 16, 55), BER)
    assert inside.due and inside.slots == (wall(BER, 2026, 6, 1, 16, 50),)


def test_a_one_time_task_due_in_its_own_zone() -> None:
    """`- Due:` of a task with `- Timezone:` is read in that zone."""
    doc = parse(pending("### Call\n- Due: 2026-06-01 09:00\n- Timezone: Asia/Tokyo\n"))
    (task,) = doc.pending()
    assert task.schedule_text == "once at 2026-06-01 09:00 Asia/Tokyo"
    tokyo = ZoneInfo("Asia/Tokyo")
    assert not evaluate(task, wall(tokyo, 2026, 6, 1, 8, 59), BER).due
    assert evaluate(task, wall(tokyo, 2026, 6, 1, 9, 0), BER).due


def test_a_rule_based_task_is_scheduled_not_invalid() -> None:
    """A task whose schedule compiles to an rrule is evaluated (next due on the right day)."""
    doc = parse(pending("### Board prep (first Monday of the month at 10:00)\n- Run: true\n"))
    assert not doc.errors
    (task,) = doc.pending()
    ev = evaluate(task, wall(BER, 2026, 12, 3, 12, 0), BER, first_seen=datetime(2026, 12, 1))
    assert ev.state is State.SCHEDULED and ev.next_due == wall(BER, 2026, 12, 7, 10, 0)
    due = evaluate(task, wall(BER, 2026, 12, 7, 10, 1), BER, first_seen=datetime(2026, 12, 1))
    assert due.due and due.slots == (wall(BER, 2026, 12, 7, 10, 0),)


def test_a_task_window_outside_the_global_active_hours_is_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`validate` warns when a task's own hours never meet [heartbeat] active_hours."""
    from localhb.cli import main

    home = tmp_path / "hb"
    home.mkdir()
    (home / "config.toml").write_text(
        '[heartbeat]\ntimezone = "UTC"\nactive_hours = { start = "09:00", end = "17:00" }\n',
        encoding="utf-8",
    )
    heartbeat = home / "HEARTBEAT.md"
    heartbeat.write_text(
        pending(
            "### Early\n- Recurring: every 10m\n- Active hours: 06:00-08:00\n- Run: true\n"
            "### Late\n- Recurring: every 10m\n- Active hours: 16:00-18:00\n- Run: true\n"
        ),
        encoding="utf-8",
    )
    assert main(["--home", str(home), "validate", str(heartbeat)]) == 0
    out = capsys.readouterr().out
    assert "task 'early': its active hours 06:00-08:00 lie outside" in out
    assert "'late'" not in out


def test_tasks_shows_the_new_forms_and_their_next_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`localhb tasks` describes rule-based, zoned and windowed schedules and gives each
    its next run (with the date), never "invalid"."""
    from localhb.cli import main

    home = tmp_path / "hb"
    home.mkdir()
    (home / "config.toml").write_text('[heartbeat]\ntimezone = "UTC"\n', encoding="utf-8")
    heartbeat = home / "HEARTBEAT.md"
    heartbeat.write_text(
        pending(
            "### Board\n- Recurring: first Monday of the month at 10:00\n- Run: true\n"
            "### Rent\n- Recurring: RRULE:FREQ=MONTHLY;BYMONTHDAY=-1;BYHOUR=9\n- Run: true\n"
            "### Poll\n- Recurring: every 10 minutes, 9AM-11PM\n- Timezone: Asia/Tokyo\n"
            "- Run: true\n"
        ),
        encoding="utf-8",
    )
    at = ["--at", "2026-12-03 15:00", "--json"]  # 00:00 in Tokyo
    code = main(["--home", str(home), "tasks", "--file", str(heartbeat), *at])
    assert code == 0
    import json

    rows = {row["id"]: row for row in json.loads(capsys.readouterr().out)}
    assert rows["board"]["schedule"] == "monthly on the first Monday at 10:00"
    assert rows["board"]["next_due"].startswith("2026-12-07T10:00")
    assert rows["rent"]["next_due"].startswith("2026-12-31T09:00")
    assert rows["poll"]["schedule"] == "every 10m, 09:00-23:00 Asia/Tokyo"
    assert rows["poll"]["next_due"].startswith("2026-12-04T00:00")  # 09:00 in Tokyo
    assert all(row["state"] != "invalid" for row in rows.values())


@pytest.mark.parametrize("tz", ZONES, ids=ZONE_IDS)
@pytest.mark.parametrize("text", [text for text, _ in GRAMMAR])
def test_every_form_walks_the_same_slots_both_ways_in_every_zone(text: str, tz: tzinfo) -> None:
    """For each grammar line in each zone, from just before the March and October DST
    changes: slots strictly increase, the backward walk finds the same ones, each falls on
    one of the schedule's clock times (or at a DST transition, when that time is skipped),
    and inside its window."""
    from localhb.format.zone_window import fixed_times, inside

    rec = parse_recurrence(text)
    zone = ZoneInfo(rec.zone) if rec.zone else tz
    times = fixed_times(rec)
    for start in (datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 9, 25, tzinfo=UTC)):
        ahead = list(islice(slots_after(rec, start, tz), 6))
        assert len(ahead) == 6 and all(a < b for a, b in pairwise(ahead))
        assert list(islice(slots_until(rec, ahead[-1], tz), 6)) == ahead[::-1]
        for slot in ahead:
            local = slot.astimezone(zone)
            minute = local.hour * 60 + local.minute
            if times is not None:
                before = (slot - timedelta(minutes=1)).astimezone(zone).utcoffset()
                at_transition = before != local.utcoffset()
                assert minute in times or at_transition, (text, local)
            if rec.window is not None:
                assert inside(minute, rec.window), (text, local)


def test_active_hours_hold_a_condition_check_outside_them() -> None:
    """A conditional task with `- Active hours:` is checked only inside them."""
    doc = parse(pending("### Merge\n- Condition: CI is green\n- Active hours: 9am-5pm\n"))
    (task,) = doc.pending()
    night = evaluate(task, wall(NYC, 2026, 11, 1, 1, 30), NYC)
    assert not night.due and night.next_due == wall(NYC, 2026, 11, 1, 9, 0)
    assert evaluate(task, wall(NYC, 2026, 11, 1, 9, 0), NYC).due
