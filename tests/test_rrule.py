"""RFC 5545 RRULE input and the dateutil backend: what parses, what is refused, where slots fall."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta, tzinfo
from itertools import islice, pairwise
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from localhb.format.recurrence import RecurrenceError, parse_recurrence
from localhb.timing.schedule import slots_after, slots_until

BER = ZoneInfo("Europe/Berlin")
NYC = ZoneInfo("America/New_York")
LHI = ZoneInfo("Australia/Lord_Howe")
ZUTC = ZoneInfo("UTC")
ROOT = Path(__file__).resolve().parents[1]


def wall(tz: tzinfo, *parts: int, fold: int = 0) -> datetime:
    """An aware wall-clock time as a UTC instant."""
    return datetime(*parts, tzinfo=tz, fold=fold).astimezone(UTC)  # type: ignore[misc]


ACCEPTED = [
    (
        "RRULE:FREQ=MONTHLY;BYDAY=1MO;BYHOUR=10;BYMINUTE=0",
        "FREQ=MONTHLY;BYDAY=1MO;BYHOUR=10;BYMINUTE=0;BYSECOND=0",
        "monthly on the first Monday at 10:00",
    ),
    (
        "rrule:freq=monthly;byday=-1fr;byhour=17",
        "FREQ=MONTHLY;BYDAY=-1FR;BYHOUR=17;BYMINUTE=0;BYSECOND=0",
        "monthly on the last Friday at 17:00",
    ),
    (
        "RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=FR;BYHOUR=9;BYMINUTE=30",
        "FREQ=WEEKLY;INTERVAL=2;BYDAY=FR;BYHOUR=9;BYMINUTE=30;BYSECOND=0",
        "every 2 weeks on Fri at 09:30",
    ),
    (
        "FREQ=YEARLY;BYMONTH=11;BYDAY=4TH;BYHOUR=8",
        "FREQ=YEARLY;BYMONTH=11;BYDAY=4TH;BYHOUR=8;BYMINUTE=0;BYSECOND=0",
        "yearly on the fourth Thursday of November at 08:00",
    ),
    (
        "RRULE:FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1;BYHOUR=18;BYMINUTE=0",
        "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1;BYHOUR=18;BYMINUTE=0;BYSECOND=0",
        "monthly on the last weekday at 18:00",
    ),
    (
        "RRULE:FREQ=HOURLY;INTERVAL=3",
        "FREQ=HOURLY;INTERVAL=3;BYMINUTE=0;BYSECOND=0",
        "RRULE:FREQ=HOURLY;INTERVAL=3;BYMINUTE=0;BYSECOND=0",
    ),
]


@pytest.mark.parametrize(("text", "body", "shown"), ACCEPTED)
def test_rrule_input_is_kept_canonical_and_described(text: str, body: str, shown: str) -> None:
    """A pasted rule is stored in canonical form, shown in English where it can be, and
    what is shown reads back to the same rule."""
    rec = parse_recurrence(text)
    assert rec.rrules == (body,)
    assert rec.describe() == shown
    assert parse_recurrence(rec.describe()).rrules == rec.rrules


REFUSED = [
    ("RRULE:FREQ=MONTHLY;BYDAY=1MO", "takes its time from DTSTART", "BYHOUR=9"),
    ("RRULE:FREQ=MONTHLY;BYHOUR=9", "takes its day from DTSTART", "BYMONTHDAY=1"),
    ("RRULE:FREQ=WEEKLY;BYHOUR=9", "takes its day from DTSTART", "BYDAY=MO"),
    ("RRULE:FREQ=YEARLY;BYHOUR=9", "takes its month from DTSTART", "BYMONTH=1"),
    ("RRULE:FREQ=DAILY;COUNT=5;BYHOUR=9", "COUNT needs", "remove COUNT"),
    ("RRULE:FREQ=DAILY;UNTIL=20301231;BYHOUR=9", "UNTIL needs", "remove UNTIL"),
    ("RRULE:FREQ=FORTNIGHTLY;BYHOUR=9", "FREQ=FORTNIGHTLY is not one of", "RRULE:FREQ="),
    ("RRULE:FREQ=MONTHLY;BYDAY=XX;BYHOUR=9", "invalid 'BYDAY'", "RRULE:FREQ="),
    ("RRULE:FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30;BYHOUR=9", "never fires", "BYMONTHDAY"),
    ("RRULE:FREQ=HOURLY;INTERVAL=2;BYHOUR=3", "generates an empty set", "RRULE:FREQ="),
    ("RRULE:FREQ=DAILY;BYHOUR=9;BYSECOND=30", "seconds other than 0", "BYSECOND=0"),
    ("RRULE:FREQ=MINUTELY;BYMONTH=1", "more than localhb reads", "FREQ=DAILY"),
    ("RRULE:FREQ=DAILY;BYHOUR=9;X-NAME=1", "is not a part localhb reads", "BY..."),
    ("DTSTART:20260105T090000 RRULE:FREQ=DAILY", "DTSTART is not read", "BYHOUR"),
]


@pytest.mark.parametrize(("text", "message", "hint"), REFUSED)
def test_rrule_refusals_name_the_part_and_keep_the_meaning(
    text: str, message: str, hint: str
) -> None:
    """What RFC 5545 would take from a DTSTART is asked for, never guessed."""
    with pytest.raises(RecurrenceError) as err:
        parse_recurrence(text)
    assert message in err.value.message
    assert hint in err.value.hint


FIRST_MONDAY = "RRULE:FREQ=MONTHLY;BYDAY=1MO;BYHOUR=10;BYMINUTE=0"
# (rule, zone, after, the next three slots as wall times in that zone)
WALKS = [
    (FIRST_MONDAY, BER, (2026, 1, 1), [(2026, 1, 5, 10), (2026, 2, 2, 10), (2026, 3, 2, 10)]),
    (FIRST_MONDAY, NYC, (2026, 10, 6), [(2026, 11, 2, 10), (2026, 12, 7, 10), (2027, 1, 4, 10)]),
    (FIRST_MONDAY, LHI, (2026, 9, 8), [(2026, 10, 5, 10), (2026, 11, 2, 10), (2026, 12, 7, 10)]),
    (FIRST_MONDAY, ZUTC, (2026, 12, 8), [(2027, 1, 4, 10), (2027, 2, 1, 10), (2027, 3, 1, 10)]),
    # DST days: Berlin springs forward on the last Sunday of March at 02:00.
    (
        "RRULE:FREQ=MONTHLY;BYDAY=-1SU;BYHOUR=2;BYMINUTE=30",
        BER,
        (2026, 2, 23),
        [(2026, 3, 29, 3, 0), (2026, 4, 26, 2, 30), (2026, 5, 31, 2, 30)],
    ),
    # New York: second Sunday of March (gap 02:00-03:00), first Sunday of November.
    (
        "RRULE:FREQ=MONTHLY;BYDAY=2SU;BYHOUR=2;BYMINUTE=30",
        NYC,
        (2026, 2, 9),
        [(2026, 3, 8, 3, 0), (2026, 4, 12, 2, 30), (2026, 5, 10, 2, 30)],
    ),
    # Lord Howe: first Sunday of October, 02:00 -> 02:30 (a 30-minute gap).
    (
        "RRULE:FREQ=MONTHLY;BYDAY=1SU;BYHOUR=2;BYMINUTE=15",
        LHI,
        (2026, 9, 7),
        [(2026, 10, 4, 2, 30), (2026, 11, 1, 2, 15), (2026, 12, 6, 2, 15)],
    ),
]


@pytest.mark.parametrize(("text", "tz", "after", "walls"), WALKS)
def test_rrule_slots_forward_and_back(
    text: str, tz: tzinfo, after: tuple[int, ...], walls: list[tuple[int, ...]]
) -> None:
    """The next slots of a rule in each zone, and walking back from the last finds them again."""
    rec = parse_recurrence(text)
    start = wall(tz, *after)
    expected = [wall(tz, *w) for w in walls]
    assert list(islice(slots_after(rec, start, tz), 3)) == expected
    back = list(islice(slots_until(rec, expected[-1], tz), 3))
    assert back == list(reversed(expected))


@pytest.mark.parametrize(
    ("tz", "day", "clock"),
    [
        (BER, (2026, 10, 25), (2, 30)),  # Berlin falls back 03:00 -> 02:00
        (NYC, (2026, 11, 1), (1, 30)),  # New York falls back 02:00 -> 01:00
        (LHI, (2026, 4, 5), (1, 45)),  # Lord Howe falls back 02:00 -> 01:30
    ],
)
def test_a_repeated_time_runs_once_the_first_time(
    tz: tzinfo, day: tuple[int, int, int], clock: tuple[int, int]
) -> None:
    """A rule time inside the repeated hour of a fall-back night runs once, at its first pass."""
    y, m, d = day
    rule = f"RRULE:FREQ=DAILY;BYHOUR={clock[0]};BYMINUTE={clock[1]}"
    rec = parse_recurrence(rule)
    night = list(islice(slots_after(rec, wall(tz, y, m, d) - timedelta(hours=12), tz), 2))
    assert night[0] == wall(tz, y, m, d, *clock, fold=0)
    after = datetime(y, m, d) + timedelta(days=1)
    assert night[1] == wall(tz, after.year, after.month, after.day, *clock)


SAME_POLICY = [
    ("cron: 30 2 * * *", "RRULE:FREQ=DAILY;BYHOUR=2;BYMINUTE=30"),
    ("cron: 15 2 * * 0", "RRULE:FREQ=WEEKLY;BYDAY=SU;BYHOUR=2;BYMINUTE=15"),
    ("cron: 45 1 * * *", "RRULE:FREQ=DAILY;BYHOUR=1;BYMINUTE=45"),
    ("cron: 0 9 1 * *", "RRULE:FREQ=MONTHLY;BYMONTHDAY=1;BYHOUR=9;BYMINUTE=0"),
]


@pytest.mark.parametrize(("cron", "rule"), SAME_POLICY)
@pytest.mark.parametrize(
    "tz", [BER, NYC, LHI, ZUTC], ids=["berlin", "new-york", "lord-howe", "utc"]
)
def test_cron_and_rrule_backends_keep_one_dst_policy(cron: str, rule: str, tz: tzinfo) -> None:
    """The same schedule written for cronsim and for dateutil has the same slots through a
    year of DST changes in every zone: one policy over both backends."""
    a, b = parse_recurrence(cron), parse_recurrence(rule)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    assert list(islice(slots_after(a, start, tz), 400)) == list(
        islice(slots_after(b, start, tz), 400)
    )
    end = datetime(2027, 1, 1, tzinfo=UTC)
    assert list(islice(slots_until(a, end, tz), 400)) == list(islice(slots_until(b, end, tz), 400))


def test_every_2_weeks_counts_weeks_from_1970_01_05() -> None:
    """INTERVAL=2 is every other week counted from the week of Monday 1970-01-05, wherever the
    walk starts (the same Fridays forward, back, and from a year later)."""
    rec = parse_recurrence("RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=FR;BYHOUR=9;BYMINUTE=0")
    fridays = list(islice(slots_after(rec, wall(BER, 2026, 1, 1), BER), 30))
    days = [f.astimezone(BER).date() for f in fridays]
    assert all((b - a).days == 14 for a, b in pairwise(days))
    assert all(f.astimezone(BER).hour == 9 for f in fridays)
    weeks = (days[0] - datetime(1970, 1, 9).date()).days // 7
    assert weeks % 2 == 0
    later = list(islice(slots_after(rec, fridays[10], BER), 5))
    assert later == fridays[11:16]
    assert list(islice(slots_until(rec, fridays[20], BER), 3)) == fridays[20:17:-1]


def test_idle_heartbeat_never_imports_dateutil(tmp_path: Path) -> None:
    """A full heartbeat cycle over cron and interval tasks (no rrule) leaves dateutil unloaded."""
    home = tmp_path / "hb"
    home.mkdir()
    (home / "HEARTBEAT.md").write_text(
        "## Pending\n### Daily\n- Recurring: daily at 18:00\n- Run: true\n"
        "### Often\n- Recurring: every other hour\n- Run: true\n",
        encoding="utf-8",
    )
    code = (
        "import sys; from localhb.entry import main; sys.argv = ['localhb', '--home', "
        f"{str(home)!r}, 'daemon', 'heartbeat', '--now', '2030-01-10 10:30']; main();"
        "print(sorted(m for m in sys.modules if m.startswith('dateutil')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert out.stdout.splitlines()[-1] == "[]", out.stderr
