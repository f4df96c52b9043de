"""Schedule evaluation as tables of datetimes: active hours, zones, DST, slots, catch-up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from itertools import islice, pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from localhb.format.model import CatchUp, Form, Section, Task, TaskKind
from localhb.format.recurrence import parse_recurrence
from localhb.timing.schedule import (
    ALL_CAP,
    ActiveHours,
    Evaluation,
    State,
    evaluate,
    is_active,
    next_active,
    parse_active_hours,
    resolve_local,
    slots_after,
    slots_until,
)

BER = ZoneInfo("Europe/Berlin")  # 2024: +1 -> +2 on 03-31 02:00, back on 10-27 03:00
NYC = ZoneInfo("America/New_York")  # 2024: -5 -> -4 on 03-10 02:00, back on 11-03 02:00
LHI = ZoneInfo("Australia/Lord_Howe")  # 2024: +11 -> +10:30 on 04-07 02:00, back on 10-06
ZUTC = ZoneInfo("UTC")
ZONES = [BER, NYC, LHI, ZUTC]


def at(
    tz: tzinfo, y: int, mo: int, d: int, h: int = 0, mi: int = 0, sec: int = 0, *, fold: int = 0
) -> datetime:
    """An aware wall-clock datetime; `fold=1` picks the second of a repeated time."""
    return datetime(y, mo, d, h, mi, sec, tzinfo=tz, fold=fold)


def ber(y: int, mo: int, d: int, h: int = 0, mi: int = 0, sec: int = 0) -> datetime:
    return at(BER, y, mo, d, h, mi, sec)


def utc(y: int, mo: int, d: int, h: int = 0, mi: int = 0, sec: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, sec, tzinfo=UTC)


N = datetime  # a naive wall-clock time in the task's zone, as the file writes it


def task(
    schedule: str | None = None,
    *,
    kind: TaskKind = TaskKind.RECURRING,
    section: Section = Section.PENDING,
    **fields: object,
) -> Task:
    """A Task built directly, with a parsed recurrence when `schedule` is given."""
    rec = parse_recurrence(schedule) if schedule else None
    return Task(
        id="t1",
        title="Task",
        kind=kind,
        section=section,
        form=Form.HEADING,
        start=0,
        end=3,
        text="### Task\n",
        recurrence=rec,
        **fields,  # type: ignore[arg-type]
    )


# --- active hours -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        ("09:00", "17:00", ActiveHours(540, 1020)),
        ("9:30", "24:00", ActiveHours(570, 1440)),
        ("22:00", "06:00", ActiveHours(1320, 360)),
        ("00:00", "24:00", ActiveHours(0, 1440)),
        (" 07:05 ", "07:06", ActiveHours(425, 426)),
    ],
)
def test_parse_active_hours(start: str, end: str, expected: ActiveHours) -> None:
    """HH:MM strings become minutes after midnight; 24:00 is allowed as the end."""
    assert parse_active_hours(start, end) == expected


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        (
            "09:00",
            "09:00",
            "start and end are both 09:00: an empty window; to run all day leave active_hours out",
        ),
        ("00:00", "00:00", "both 00:00"),
        ("24:00", "06:00", '"24:00": 24:00 can only end a window'),
        ("9", "17:00", 'start "9" is not a time'),
        ("09:00", "5pm", 'end "5pm" is not a time'),
        ("09:60", "10:00", 'start "09:60" is not a time of day'),
        ("09:00", "25:00", 'end "25:00" is not a time of day'),
        ("09:00", "24:30", 'end "24:30" is not a time of day'),
    ],
)
def test_parse_active_hours_rejects(start: str, end: str, message: str) -> None:
    """Malformed or empty windows raise ValueError naming the value."""
    with pytest.raises(ValueError, match="active hours") as caught:
        parse_active_hours(start, end)
    assert message in str(caught.value)


ACTIVE = [
    ("09:00", "17:00", ZUTC, at(ZUTC, 2024, 1, 15, 9, 0), True),
    ("09:00", "17:00", ZUTC, at(ZUTC, 2024, 1, 15, 16, 59, 59), True),
    ("09:00", "17:00", ZUTC, at(ZUTC, 2024, 1, 15, 17, 0), False),
    ("09:00", "17:00", ZUTC, at(ZUTC, 2024, 1, 15, 8, 59), False),
    ("09:00", "17:00", BER, utc(2024, 7, 1, 7, 30), True),  # 09:30 CEST
    ("09:00", "17:00", NYC, utc(2024, 7, 1, 7, 30), False),  # 03:30 EDT
    ("22:00", "06:00", BER, at(BER, 2024, 1, 15, 22, 0), True),
    ("22:00", "06:00", BER, at(BER, 2024, 1, 15, 23, 30), True),
    ("22:00", "06:00", BER, at(BER, 2024, 1, 16, 5, 59), True),
    ("22:00", "06:00", BER, at(BER, 2024, 1, 16, 6, 0), False),
    ("22:00", "06:00", BER, at(BER, 2024, 1, 16, 12, 0), False),
    ("18:00", "24:00", NYC, at(NYC, 2024, 1, 15, 23, 59), True),
    ("18:00", "24:00", NYC, at(NYC, 2024, 1, 16, 0, 0), False),
    ("00:00", "24:00", LHI, at(LHI, 2024, 1, 16, 0, 0), True),
    ("02:00", "03:00", BER, at(BER, 2024, 10, 27, 2, 30, fold=1), True),  # repeated hour
    ("01:00", "02:00", LHI, at(LHI, 2024, 4, 7, 1, 45, fold=1), True),
]


@pytest.mark.parametrize(("start", "end", "tz", "now", "expected"), ACTIVE)
def test_is_active(start: str, end: str, tz: tzinfo, now: datetime, expected: bool) -> None:
    """Start inclusive, end exclusive, on the wall clock of tz; start > end crosses midnight."""
    assert is_active(now, parse_active_hours(start, end), tz) is expected


def test_no_active_hours_is_always_active() -> None:
    """Without active hours every instant is active and next_active is now."""
    now = at(BER, 2024, 3, 31, 3, 0)
    assert is_active(now, None, BER)
    assert next_active(now, None, BER) is now


NEXT_ACTIVE = [
    ("09:00", "17:00", BER, at(BER, 2024, 1, 15, 10, 0), at(BER, 2024, 1, 15, 10, 0)),
    ("09:00", "17:00", BER, at(BER, 2024, 1, 15, 18, 0), at(BER, 2024, 1, 16, 9, 0)),
    ("09:00", "17:00", BER, at(BER, 2024, 1, 15, 7, 0), at(BER, 2024, 1, 15, 9, 0)),
    ("22:00", "06:00", BER, at(BER, 2024, 1, 15, 12, 0), at(BER, 2024, 1, 15, 22, 0)),
    # a start inside the spring-forward gap opens at the transition
    ("02:30", "05:00", BER, at(BER, 2024, 3, 31, 1, 0), at(BER, 2024, 3, 31, 3, 0)),
    # a window wholly inside the gap does not exist that day
    ("02:00", "02:45", BER, at(BER, 2024, 3, 31, 1, 0), at(BER, 2024, 4, 1, 2, 0)),
    ("09:00", "17:00", NYC, at(NYC, 2024, 3, 9, 18, 0), utc(2024, 3, 10, 13, 0)),
    ("09:00", "17:00", NYC, at(NYC, 2024, 11, 2, 18, 0), utc(2024, 11, 3, 14, 0)),
    # an ambiguous start opens at its first occurrence
    ("01:30", "02:00", NYC, at(NYC, 2024, 11, 3, 0, 0), utc(2024, 11, 3, 5, 30)),
    ("02:00", "04:00", LHI, at(LHI, 2024, 10, 6, 1, 0), utc(2024, 10, 5, 15, 30)),
    ("09:00", "17:00", ZUTC, at(ZUTC, 2024, 12, 31, 17, 0), utc(2025, 1, 1, 9, 0)),
]


@pytest.mark.parametrize(("start", "end", "tz", "now", "expected"), NEXT_ACTIVE)
def test_next_active(start: str, end: str, tz: tzinfo, now: datetime, expected: datetime) -> None:
    """next_active is now when active, else the next opening, across DST changes."""
    got = next_active(now, parse_active_hours(start, end), tz)
    assert got.astimezone(UTC) == expected.astimezone(UTC)
    assert got.tzinfo is not None
    assert is_active(got, parse_active_hours(start, end), tz)


# --- zones --------------------------------------------------------------------------

RESOLVE = [
    (BER, datetime(2024, 7, 1, 12, 0), utc(2024, 7, 1, 10, 0)),
    (BER, datetime(2024, 3, 31, 2, 30), utc(2024, 3, 31, 1, 0)),  # gap -> 03:00 CEST
    (BER, datetime(2024, 10, 27, 2, 30), utc(2024, 10, 27, 0, 30)),  # fold -> first, CEST
    (NYC, datetime(2024, 3, 10, 2, 30), utc(2024, 3, 10, 7, 0)),  # gap -> 03:00 EDT
    (NYC, datetime(2024, 11, 3, 1, 30), utc(2024, 11, 3, 5, 30)),  # fold -> first, EDT
    (LHI, datetime(2024, 10, 6, 2, 15), utc(2024, 10, 5, 15, 30)),  # gap -> 02:30 +11
    (LHI, datetime(2024, 4, 7, 1, 45), utc(2024, 4, 6, 14, 45)),  # fold -> first, +11
    (ZUTC, datetime(2024, 3, 31, 2, 30), utc(2024, 3, 31, 2, 30)),
]


@pytest.mark.parametrize(("tz", "naive", "expected"), RESOLVE)
def test_resolve_local(tz: tzinfo, naive: datetime, expected: datetime) -> None:
    """A gap time maps to the transition instant and a repeated time to its first occurrence."""
    got = resolve_local(naive, tz)
    assert got.tzinfo is tz
    assert got.astimezone(UTC) == expected


def test_resolve_local_keeps_aware_times() -> None:
    """An aware datetime is returned unchanged."""
    aware = utc(2024, 3, 31, 1, 30)
    assert resolve_local(aware, BER) is aware


# --- slots --------------------------------------------------------------------------

CRON_SLOTS = [
    (
        BER,
        "daily at 02:30",
        at(BER, 2024, 3, 30, 0, 0),
        [utc(2024, 3, 30, 1, 30), utc(2024, 3, 31, 1, 0), utc(2024, 4, 1, 0, 30)],
    ),
    (
        BER,
        "daily at 02:30",
        at(BER, 2024, 10, 26, 0, 0),
        [utc(2024, 10, 26, 0, 30), utc(2024, 10, 27, 0, 30), utc(2024, 10, 28, 1, 30)],
    ),
    (
        NYC,
        "daily at 02:30",
        at(NYC, 2024, 3, 9, 0, 0),
        [utc(2024, 3, 9, 7, 30), utc(2024, 3, 10, 7, 0), utc(2024, 3, 11, 6, 30)],
    ),
    (
        NYC,
        "daily at 01:30",
        at(NYC, 2024, 11, 2, 0, 0),
        [utc(2024, 11, 2, 5, 30), utc(2024, 11, 3, 5, 30), utc(2024, 11, 4, 6, 30)],
    ),
    (
        LHI,
        "daily at 02:15",
        at(LHI, 2024, 10, 5, 0, 0),
        [utc(2024, 10, 4, 15, 45), utc(2024, 10, 5, 15, 30), utc(2024, 10, 6, 15, 15)],
    ),
    (
        LHI,
        "daily at 01:45",
        at(LHI, 2024, 4, 6, 0, 0),
        [utc(2024, 4, 5, 14, 45), utc(2024, 4, 6, 14, 45), utc(2024, 4, 7, 15, 15)],
    ),
    (  # a wildcard-hour job fires in both copies of the repeated hour
        BER,
        "hourly",
        at(BER, 2024, 10, 27, 1, 30),
        [utc(2024, 10, 27, 0, 0), utc(2024, 10, 27, 1, 0), utc(2024, 10, 27, 2, 0)],
    ),
    (  # 02:30 exists on Lord Howe's spring-forward day (the gap is 02:00-02:30)
        LHI,
        "cron 30 * * * *",
        at(LHI, 2024, 10, 6, 1, 0),
        [utc(2024, 10, 5, 15, 0), utc(2024, 10, 5, 15, 30), utc(2024, 10, 5, 16, 30)],
    ),
    (
        ZUTC,
        "daily at 09:00 and 18:00",
        at(ZUTC, 2024, 1, 15, 12, 0),
        [utc(2024, 1, 15, 18, 0), utc(2024, 1, 16, 9, 0), utc(2024, 1, 16, 18, 0)],
    ),
    (
        BER,
        "weekdays at 08:00",
        at(BER, 2024, 1, 12, 9, 0),  # a Friday
        [utc(2024, 1, 15, 7, 0), utc(2024, 1, 16, 7, 0), utc(2024, 1, 17, 7, 0)],
    ),
]


@pytest.mark.parametrize(("tz", "schedule", "after", "expected"), CRON_SLOTS)
def test_cron_slots_across_dst(
    tz: tzinfo, schedule: str, after: datetime, expected: list[datetime]
) -> None:
    """Daily slots shift to the transition in a gap and fire once in a repeated hour."""
    rec = parse_recurrence(schedule)
    assert list(islice(slots_after(rec, after, tz), 3)) == expected
    back = list(islice(slots_until(rec, expected[-1], tz), 3))
    assert back == expected[::-1]


INTERVAL_SLOTS = [
    # divides 24 h: a grid from local midnight
    (ZUTC, "every 4 hours", utc(2024, 1, 15, 10, 30), utc(2024, 1, 15, 8), utc(2024, 1, 15, 12)),
    (
        NYC,
        "every 4 hours",
        at(NYC, 2024, 1, 15, 10, 30),
        at(NYC, 2024, 1, 15, 8),
        at(NYC, 2024, 1, 15, 12),
    ),
    (
        BER,
        "every 90 minutes",
        at(BER, 2024, 1, 15, 10, 0),
        at(BER, 2024, 1, 15, 9, 0),
        at(BER, 2024, 1, 15, 10, 30),
    ),
    (
        LHI,
        "every 30m",
        at(LHI, 2024, 1, 15, 10, 10),
        at(LHI, 2024, 1, 15, 10, 0),
        at(LHI, 2024, 1, 15, 10, 30),
    ),
    (  # the grid stays on the local clock on the spring-forward day
        BER,
        "every 4 hours",
        at(BER, 2024, 3, 31, 5, 0),
        at(BER, 2024, 3, 31, 4, 0),
        at(BER, 2024, 3, 31, 8, 0),
    ),
    (  # a grid time inside the gap runs at the transition
        BER,
        "every 30m",
        at(BER, 2024, 3, 31, 1, 45),
        at(BER, 2024, 3, 31, 1, 30),
        at(BER, 2024, 3, 31, 3, 0),
    ),
    (  # the repeated hour runs both times
        BER,
        "every 1h",
        at(BER, 2024, 10, 27, 2, 10),
        at(BER, 2024, 10, 27, 2, 0),
        at(BER, 2024, 10, 27, 2, 0, fold=1),
    ),
    # does not divide 24 h: a grid from the Unix epoch
    (BER, "every 7h", utc(2024, 1, 15, 12), utc(2024, 1, 15, 9), utc(2024, 1, 15, 16)),
    (NYC, "every 2 days", utc(2024, 1, 15, 12), utc(2024, 1, 14), utc(2024, 1, 16)),
    (LHI, "every 80 days", utc(2024, 1, 15, 12), utc(2023, 11, 19), utc(2024, 2, 7)),
]


@pytest.mark.parametrize(("tz", "schedule", "now", "latest", "upcoming"), INTERVAL_SLOTS)
def test_interval_alignment(
    tz: tzinfo, schedule: str, now: datetime, latest: datetime, upcoming: datetime
) -> None:
    """Intervals dividing a day align to local midnight, others to the Unix epoch."""
    rec = parse_recurrence(schedule)
    assert next(slots_until(rec, now, tz)) == latest.astimezone(UTC)
    assert next(slots_after(rec, now, tz)) == upcoming.astimezone(UTC)


def test_slot_boundaries_are_inclusive_until_and_exclusive_after() -> None:
    """slots_until includes a slot at t; slots_after starts strictly after t."""
    rec = parse_recurrence("every 4 hours")
    t = utc(2024, 1, 15, 8)
    assert next(slots_until(rec, t, ZUTC)) == t
    assert next(slots_after(rec, t, ZUTC)) == utc(2024, 1, 15, 12)


# --- evaluation: states -------------------------------------------------------------

NOW = at(BER, 2024, 1, 15, 19, 0)


@pytest.mark.parametrize(
    ("t", "state", "reason"),
    [
        (task("daily at 18:00", section=Section.COMPLETED), State.DONE, "done"),
        (task("daily at 18:00", checked=True), State.DONE, "done"),
        (task("daily at 18:00", paused="on holiday"), State.PAUSED, 'paused: "on holiday"'),
        (task(kind=TaskKind.ONE_TIME, paused=""), State.PAUSED, "paused"),
        (task(kind=TaskKind.ONE_TIME, attempts=3), State.FAILED, "failed: 3 attempts of 3"),
        (task(None), State.INVALID, "without a schedule"),
        (
            task(kind=TaskKind.CONDITIONAL, condition="disk > 90%", due=datetime(2024, 2, 1)),
            State.SCHEDULED,
            "checks from 2024-02-01 00:00",
        ),
    ],
)
def test_tasks_that_do_not_run(t: Task, state: State, reason: str) -> None:
    """Done, paused, failed, invalid and not-yet-started conditional tasks are not due."""
    ev = evaluate(t, NOW, BER)
    assert not ev.due and ev.state is state and ev.slots == ()
    assert reason in ev.reason


def test_done_wins_over_paused() -> None:
    """A completed task is DONE even when it also carries Paused."""
    ev = evaluate(task("daily at 18:00", section=Section.COMPLETED, paused="x"), NOW, BER)
    assert ev.state is State.DONE


@pytest.mark.parametrize(
    ("t", "state"),
    [
        (task("every heartbeat", last_run=datetime(2024, 1, 15, 19, 0)), State.DUE),
        (task(kind=TaskKind.CONDITIONAL, condition="new mail"), State.CHECKING),
        (
            task(kind=TaskKind.CONDITIONAL, condition="x", due=datetime(2024, 1, 15, 18)),
            State.CHECKING,
        ),
    ],
)
def test_every_cycle_and_conditions_are_due_each_cycle(t: Task, state: State) -> None:
    """Every-heartbeat and conditional tasks run every cycle with slot = now to the minute."""
    ev = evaluate(t, at(BER, 2024, 1, 15, 19, 0, 42), BER)
    assert ev.due and ev.state is state
    assert ev.slots == (utc(2024, 1, 15, 18, 0),) and ev.next_due == utc(2024, 1, 15, 18, 0)


def test_bad_arguments_raise() -> None:
    """A naive now or an unknown default_catch_up is a programming error."""
    with pytest.raises(ValueError, match="timezone-aware"):
        evaluate(task("daily"), datetime(2024, 1, 15), BER)
    with pytest.raises(ValueError, match="none, once, all"):
        evaluate(task("daily"), NOW, BER, default_catch_up="sometimes")


# --- evaluation: one-time tasks -----------------------------------------------------

ONE_TIME = [
    # (due, attempts, last_run, now, due?, slot or next_due)
    (None, 0, None, ber(2024, 1, 15, 10, 7, 30), True, utc(2024, 1, 15, 9, 7)),
    (N(2024, 1, 15, 12), 0, None, ber(2024, 1, 15, 11, 59), False, utc(2024, 1, 15, 11)),
    (N(2024, 1, 15, 12), 0, None, ber(2024, 1, 15, 12, 0), True, utc(2024, 1, 15, 11)),
    (utc(2024, 1, 15, 12), 0, None, ber(2024, 1, 15, 12, 59), False, utc(2024, 1, 15, 12)),
    # retry backoff: last_run + 30m * 2**(attempts - 1)
    (None, 1, N(2024, 1, 15, 10), ber(2024, 1, 15, 10, 29), False, ber(2024, 1, 15, 10, 30)),
    (None, 1, N(2024, 1, 15, 10), ber(2024, 1, 15, 10, 30), True, ber(2024, 1, 15, 10, 30)),
    (None, 2, N(2024, 1, 15, 10), ber(2024, 1, 15, 10, 45), False, ber(2024, 1, 15, 11, 0)),
    (None, 1, None, ber(2024, 1, 15, 10, 30), True, ber(2024, 1, 15, 10, 30)),
    # the later of the due time and the retry time
    (N(2024, 1, 15, 12), 1, N(2024, 1, 15, 10), ber(2024, 1, 15, 11), False, ber(2024, 1, 15, 12)),
    (N(2024, 1, 15, 9), 2, N(2024, 1, 15, 10), ber(2024, 1, 15, 10), False, ber(2024, 1, 15, 11)),
    # a due time inside the spring-forward gap is due at the transition
    (N(2024, 3, 31, 2, 30), 0, None, ber(2024, 3, 31, 1, 59), False, ber(2024, 3, 31, 3, 0)),
    (N(2024, 3, 31, 2, 30), 0, None, ber(2024, 3, 31, 3, 0), True, ber(2024, 3, 31, 3, 0)),
]  # fmt: skip


@pytest.mark.parametrize(("due", "attempts", "last_run", "now", "is_due", "when"), ONE_TIME)
def test_one_time_tasks(
    due: datetime | None,
    attempts: int,
    last_run: datetime | None,
    now: datetime,
    is_due: bool,
    when: datetime,
) -> None:
    """One-time tasks run at their due time (or now), with exponential retry backoff."""
    t = task(kind=TaskKind.ONE_TIME, due=due, attempts=attempts, last_run=last_run)
    ev = evaluate(t, now, BER)
    assert ev.due is is_due
    assert ev.state is (State.DUE if is_due else State.SCHEDULED)
    assert ev.next_due == when.astimezone(UTC)
    assert ev.slots == ((when.astimezone(UTC),) if is_due else ())


def test_one_time_slot_without_due_is_first_seen() -> None:
    """Without a due time the slot is first_seen, so repeated evaluations agree."""
    seen = utc(2024, 1, 15, 8, 3, 12)
    ev = evaluate(task(kind=TaskKind.ONE_TIME), NOW, BER, first_seen=seen)
    assert ev.due and ev.slots == (seen,)


@pytest.mark.parametrize(
    ("attempts", "base", "delay"),
    [
        (1, timedelta(minutes=30), timedelta(minutes=30)),
        (2, timedelta(minutes=30), timedelta(hours=1)),
        (3, timedelta(minutes=30), timedelta(hours=2)),
        (6, timedelta(hours=1), timedelta(hours=24)),  # 32 h, capped
        (9, timedelta(minutes=30), timedelta(hours=24)),  # 128 h, capped
    ],
)
def test_retry_backoff_doubles_and_caps_at_a_day(
    attempts: int, base: timedelta, delay: timedelta
) -> None:
    """A failed one-time task waits retry_base * 2**(attempts-1), at most 24 hours."""
    last = datetime(2024, 1, 15, 10)
    t = task(kind=TaskKind.ONE_TIME, attempts=attempts, last_run=last)
    ev = evaluate(t, at(BER, 2024, 1, 15, 10, 1), BER, retry_base=base, max_attempts=10)
    assert not ev.due
    assert ev.next_due == resolve_local(last + delay, BER).astimezone(UTC)
    assert f"retry {attempts + 1} of 10" in ev.reason


# --- evaluation: recurring tasks ----------------------------------------------------

NEVER_RUN = [
    # (schedule, now, first_seen, due?, slot or next_due)
    ("daily at 18:00", ber(2024, 1, 15, 18, 0, 5), None, True, ber(2024, 1, 15, 18)),
    ("daily at 18:00", ber(2024, 1, 15, 18, 30), None, True, ber(2024, 1, 15, 18)),
    ("daily at 18:00", ber(2024, 1, 15, 18, 31), None, False, ber(2024, 1, 16, 18)),
    ("daily at 18:00", ber(2024, 1, 15, 17, 59), None, False, ber(2024, 1, 15, 18)),
    ("daily at 18:00", ber(2024, 1, 15, 19), ber(2024, 1, 15, 17), True, ber(2024, 1, 15, 18)),
    ("daily at 18:00", ber(2024, 1, 15, 19), ber(2024, 1, 15, 18, 30), False, ber(2024, 1, 16, 18)),
    ("daily at 18:00", ber(2024, 1, 15, 18, 9), ber(2024, 1, 15, 18), True, ber(2024, 1, 15, 18)),
    ("weekly on Monday at 09:00", at(NYC, 2024, 1, 17, 9), None, False, at(NYC, 2024, 1, 22, 9)),
    # an interval task that never ran is due now, for its current slot
    ("every 4 hours", at(NYC, 2024, 1, 15, 10, 30), None, True, at(NYC, 2024, 1, 15, 8)),
    # one that does not divide a day counts from now, its first appearance
    ("every 7h", at(LHI, 2024, 1, 15, 10, 30), None, True, at(LHI, 2024, 1, 15, 10, 30)),
]  # fmt: skip


@pytest.mark.parametrize(("schedule", "now", "first_seen", "is_due", "when"), NEVER_RUN)
def test_never_run(
    schedule: str, now: datetime, first_seen: datetime | None, is_due: bool, when: datetime
) -> None:
    """Never run: a cron is due within the window or after first_seen; an interval at once."""
    tz = now.tzinfo
    assert isinstance(tz, tzinfo)
    ev = evaluate(task(schedule), now, tz, first_seen=first_seen)
    assert ev.due is is_due
    assert ev.next_due == when.astimezone(UTC)
    assert ev.slots == ((when.astimezone(UTC),) if is_due else ())


DOWNTIME = at(BER, 2024, 1, 15, 19, 0)  # last run Friday 18:00, back on Monday 19:00
LAST_RUN = datetime(2024, 1, 12, 18, 0)
DAYS_18 = [at(BER, 2024, 1, d, 18) for d in (13, 14, 15)]

CATCH_UP = [
    # (catch-up, now, due?, slots, next_due, reason)
    ("once", DOWNTIME, True, DAYS_18[-1:], DAYS_18[-1],
     "due: slot 18:00; catch-up of 3 missed, runs once (catch-up once)"),
    ("all", DOWNTIME, True, DAYS_18, DAYS_18[-1],
     "due: catch-up of 3 missed up to 18:00, runs each (catch-up all)"),
    ("none", DOWNTIME, False, [], at(BER, 2024, 1, 16, 18),
     "skipped 3 missed slots (catch-up none); next at 2024-01-16 18:00"),
    ("none", at(BER, 2024, 1, 15, 18, 10), True, DAYS_18[-1:], DAYS_18[-1],
     "due: slot 18:00; older missed slots skipped (catch-up none)"),
]  # fmt: skip


@pytest.mark.parametrize(("policy", "now", "is_due", "slots", "upcoming", "reason"), CATCH_UP)
def test_catch_up_after_days_of_downtime(
    policy: str,
    now: datetime,
    is_due: bool,
    slots: list[datetime],
    upcoming: datetime,
    reason: str,
) -> None:
    """Missed slots run once (latest), all (oldest first) or none (only within the window)."""
    ev = evaluate(task("daily at 18:00", last_run=LAST_RUN), now, BER, default_catch_up=policy)
    assert ev.due is is_due
    assert list(ev.slots) == [s.astimezone(UTC) for s in slots]
    assert ev.next_due == upcoming.astimezone(UTC)
    assert ev.reason == reason


def test_task_catch_up_field_overrides_the_default() -> None:
    """The task's own Catch up field wins over default_catch_up."""
    t = task("daily at 18:00", last_run=LAST_RUN, catch_up=CatchUp.ALL)
    assert len(evaluate(t, DOWNTIME, BER, default_catch_up="none").slots) == 3


def test_ledger_slot_counts_as_covered() -> None:
    """since is the later of Last run and the ledger's last_slot."""
    t = task("daily at 18:00", last_run=LAST_RUN)
    ev = evaluate(t, DOWNTIME, BER, last_slot=at(BER, 2024, 1, 14, 18), default_catch_up="all")
    assert ev.slots == (utc(2024, 1, 15, 17),)
    ev = evaluate(t, DOWNTIME, BER, last_slot=at(BER, 2024, 1, 15, 18))
    assert not ev.due and ev.reason == "next at 2024-01-16 18:00"


def test_catch_up_all_is_capped() -> None:
    """catch-up all runs at most the latest ALL_CAP slots, oldest first, and says so."""
    t = task("every 1 hour", last_run=datetime(2024, 1, 1, 0, 0), catch_up=CatchUp.ALL)
    ev = evaluate(t, at(ZUTC, 2024, 1, 15, 12, 30), ZUTC)
    assert len(ev.slots) == ALL_CAP
    assert ev.slots[-1] == utc(2024, 1, 15, 12)
    assert ev.slots[0] == utc(2024, 1, 15, 12) - timedelta(hours=ALL_CAP - 1)
    assert "runs the latest 100, older ones skipped" in ev.reason


def test_interval_downtime_counts_missed_slots() -> None:
    """An interval task after downtime runs once, for its latest slot."""
    t = task("every 4 hours", last_run=datetime(2024, 1, 10, 8, 0))
    ev = evaluate(t, at(NYC, 2024, 1, 15, 10, 30), NYC)
    assert ev.slots == (at(NYC, 2024, 1, 15, 8).astimezone(UTC),)
    assert "catch-up of 30 missed, runs once" in ev.reason


def test_run_just_after_the_slot_covers_it() -> None:
    """A Last run a little after the slot means the slot is done until the next one."""
    t = task("daily at 18:00", last_run=datetime(2024, 1, 15, 18, 0, 40))
    ev = evaluate(t, at(BER, 2024, 1, 15, 18, 20), BER)
    assert not ev.due and ev.next_due == utc(2024, 1, 16, 17)


# --- DST: each clock time runs once -------------------------------------------------


def _simulate(t: Task, tz: tzinfo, start: datetime, hours: int) -> list[datetime]:
    """Run a heartbeat every 5 minutes from `start`, feeding the ledger back; the slots run."""
    ran: list[datetime] = []
    now = start.astimezone(UTC)
    for _ in range(hours * 12):
        ev = evaluate(t, now, tz, last_slot=ran[-1] if ran else None, window=timedelta(minutes=5))
        ran.extend(ev.slots if ev.due else ())
        now += timedelta(minutes=5)
    return ran


DST_DAYS = [
    (BER, "daily at 02:30", at(BER, 2024, 3, 30, 22), utc(2024, 3, 31, 1, 0)),  # gap
    (BER, "daily at 02:30", at(BER, 2024, 10, 26, 22), utc(2024, 10, 27, 0, 30)),  # fold
    (NYC, "daily at 02:15", at(NYC, 2024, 3, 9, 22), utc(2024, 3, 10, 7, 0)),
    (NYC, "daily at 01:30", at(NYC, 2024, 11, 2, 22), utc(2024, 11, 3, 5, 30)),
    (LHI, "daily at 02:15", at(LHI, 2024, 10, 5, 22), utc(2024, 10, 5, 15, 30)),
    (LHI, "daily at 01:45", at(LHI, 2024, 4, 6, 22), utc(2024, 4, 6, 14, 45)),
    (ZUTC, "daily at 02:30", at(ZUTC, 2024, 3, 30, 22), utc(2024, 3, 31, 2, 30)),
]


@pytest.mark.parametrize(("tz", "schedule", "start", "slot"), DST_DAYS)
def test_a_clock_time_runs_once_on_dst_days(
    tz: tzinfo, schedule: str, start: datetime, slot: datetime
) -> None:
    """A time in a spring-forward gap runs once at the transition; a repeated time runs once."""
    t = task(schedule, last_run=(start - timedelta(hours=2)).replace(tzinfo=None))
    assert _simulate(t, tz, start, hours=12) == [slot]


def test_hourly_runs_in_both_copies_of_the_repeated_hour() -> None:
    """A wildcard-hour schedule runs in both passes of the fall-back hour, as Debian cron does."""
    t = task("hourly", last_run=datetime(2024, 10, 27, 0, 0))
    ran = _simulate(t, BER, at(BER, 2024, 10, 27, 0, 30), hours=4)
    # 01:00 CEST, 02:00 CEST, 02:00 CET, 03:00 CET
    assert ran == [
        utc(2024, 10, 26, 23),
        utc(2024, 10, 27, 0),
        utc(2024, 10, 27, 1),
        utc(2024, 10, 27, 2),
    ]


# --- properties ---------------------------------------------------------------------

SCHEDULES = [
    "daily at 02:30",
    "daily at 01:45 and 13:00",
    "hourly",
    "weekdays at 02:15",
    "every Monday and Thursday at 10:00",
    "monthly on the 1st at 00:00",
    "monthly on the last day at 23:30",
    "cron */7 2 * * *",
    "every 30m",
    "every 4 hours",
    "every 7h",
    "every 2 days",
]

instants = st.datetimes(datetime(2023, 1, 1), datetime(2026, 12, 31)).map(
    lambda d: d.replace(tzinfo=UTC)
)


@settings(max_examples=300, deadline=None)
@given(
    schedule=st.sampled_from(SCHEDULES),
    tz=st.sampled_from(ZONES),
    now=instants,
    last_run=st.none() | st.timedeltas(timedelta(0), timedelta(days=40)),
    policy=st.sampled_from(["none", "once", "all"]),
)
def test_next_due_is_after_now_when_not_due(
    schedule: str, tz: tzinfo, now: datetime, last_run: timedelta | None, policy: str
) -> None:
    """For any recurring task and any now: due with slots <= now, or next_due > now."""
    ran = None if last_run is None else (now - last_run).astimezone(tz).replace(tzinfo=None)
    ev: Evaluation = evaluate(task(schedule, last_run=ran), now, tz, default_catch_up=policy)
    if ev.due:
        assert ev.slots and all(s <= now for s in ev.slots)
        assert list(ev.slots) == sorted(set(ev.slots))
    else:
        assert ev.next_due is not None and ev.next_due > now


@settings(max_examples=200, deadline=None)
@given(
    minutes=st.sampled_from([15, 30, 60, 90, 120, 240, 420, 1440, 2880]),
    tz=st.sampled_from(ZONES),
    start=instants,
)
def test_interval_slots_are_n_apart_in_utc(minutes: int, tz: tzinfo, start: datetime) -> None:
    """Interval slots are N apart in UTC, except where a DST change moves the local grid."""
    step = timedelta(minutes=minutes)
    rec = parse_recurrence(f"every {minutes}m")
    slots = list(islice(slots_after(rec, start, tz), 60))
    assert slots[0] > start

    def on_grid(slot: datetime) -> bool:
        local = slot.astimezone(tz)
        return (local.hour * 60 + local.minute) % minutes == 0 and local.second == 0

    for a, b in pairwise(slots):
        assert a < b
        if (24 * 60) % minutes:  # aligned to the epoch: always N apart
            assert b - a == step
        elif a.astimezone(tz).utcoffset() == b.astimezone(tz).utcoffset() and on_grid(a):
            assert b - a == step  # aligned to local midnight, away from a transition
