"""Relative times ("in 2 hours", "tomorrow at 9") computed by code, across DST changes."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from localhb.format.parser import parse_when
from localhb.timing.relative import WhenError, resolve_due
from localhb.timing.schedule import resolve_local

NY = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")


def at(text: str, tz: ZoneInfo) -> datetime:
    return resolve_local(datetime.fromisoformat(text), tz)


CASES = [
    # (zone, now (wall time in zone), text, Due value written)
    (NY, "2026-12-01 10:00", "in 2 hours", "2026-12-01 12:00"),
    (NY, "2026-12-01 10:00", "in 90 minutes", "2026-12-01 11:30"),
    (NY, "2026-12-01 10:00", "in 2h30m", "2026-12-01 12:30"),
    (NY, "2026-12-01 10:00", "in an hour", "2026-12-01 11:00"),
    (NY, "2026-12-01 10:00", "in 1 day and 2 hours", "2026-12-02 12:00"),
    (NY, "2026-12-01 10:00", "tomorrow at 9", "2026-12-02 09:00"),
    (NY, "2026-12-01 10:00", "today at 9pm", "2026-12-01 21:00"),
    (NY, "2026-12-01 10:00", "tomorrow noon", "2026-12-02 12:00"),
    (NY, "2026-12-01 10:00", "2026-12-24 09:00", "2026-12-24 09:00"),
    # Tuesday 2026-12-01: the next Monday is the 7th
    (NY, "2026-12-01 10:00", "next Monday at 10:00", "2026-12-07 10:00"),
    (NY, "2026-12-01 10:00", "friday 9am", "2026-12-04 09:00"),
    # On a Monday: "monday" is today while its time is ahead; "next monday" skips today
    (NY, "2026-11-02 09:00", "monday at 10:00", "2026-11-02 10:00"),
    (NY, "2026-11-02 09:00", "next monday at 10:00", "2026-11-09 10:00"),
    (NY, "2026-11-02 11:00", "monday at 10:00", "2026-11-09 10:00"),
    # Spring forward in New York (2026-03-08 02:00 EST -> 03:00 EDT)
    (NY, "2026-03-08 01:30", "in 1 hour", "2026-03-08 03:30"),
    (NY, "2026-03-07 02:30", "in 1 day", "2026-03-08 03:00"),
    (NY, "2026-03-07 12:00", "tomorrow at 2:30", "2026-03-08 03:00"),
    (NY, "2026-03-07 09:00", "in 1 day", "2026-03-08 09:00"),
    # Fall back in New York (2026-11-01 02:00 EDT -> 01:00 EST): 01:30 happens twice
    (NY, "2026-11-01 00:30", "in 1 hour", "2026-11-01 01:30"),
    (NY, "2026-11-01 00:30", "in 2 hours", "2026-11-01 01:30-05:00"),
    (NY, "2026-10-31 09:00", "in 1 day", "2026-11-01 09:00"),
    (NY, "2026-10-31 09:00", "in 24 hours", "2026-11-01 08:00"),
    # Berlin (2026-03-29 02:00 CET -> 03:00 CEST; 2026-10-25 03:00 CEST -> 02:00 CET)
    (BERLIN, "2026-03-29 01:30", "in 1 hour", "2026-03-29 03:30"),
    (BERLIN, "2026-03-28 20:00", "tomorrow at 2:15", "2026-03-29 03:00"),
    (BERLIN, "2026-10-25 01:30", "in 90 minutes", "2026-10-25 02:00+01:00"),
    (BERLIN, "2026-10-24 23:00", "next Sunday at 10:00", "2026-10-25 10:00"),
]


@pytest.mark.parametrize(("tz", "now", "text", "value"), CASES)
def test_relative_time_table(tz: ZoneInfo, now: str, text: str, value: str) -> None:
    """Each phrase becomes the absolute Due value the table gives, in the zone."""
    due = resolve_due(text, at(now, tz), tz)
    assert due.value == value


@pytest.mark.parametrize(("tz", "now", "text", "value"), CASES)
def test_written_value_reads_back_as_the_same_instant(
    tz: ZoneInfo, now: str, text: str, value: str
) -> None:
    """The Due value, read as the runner reads it, names exactly the computed instant."""
    due = resolve_due(text, at(now, tz), tz)
    read = resolve_local(parse_when(due.value), tz).astimezone(UTC)
    assert read == due.at.replace(second=0, microsecond=0).astimezone(UTC)


def test_elapsed_hours_across_spring_forward_are_real_hours() -> None:
    """'in 3 hours' over the spring gap is three hours of real time, not of wall clock."""
    now = at("2026-03-08 00:30", NY)
    due = resolve_due("in 3 hours", now, NY)
    assert (due.at.astimezone(UTC) - now.astimezone(UTC)).total_seconds() == 3 * 3600
    assert due.value == "2026-03-08 04:30"


@pytest.mark.parametrize(
    "text",
    [
        "yesterday",
        "tomorrow",
        "in 2 fortnights",
        "tomorrow at 25:00",
        "2020-01-01 09:00",
        "someday",
        "",
        "in",
        "next blursday at 9",
        "monday",
        "today at 13pm",
    ],
)
def test_unreadable_or_past_times_are_refused(text: str) -> None:
    """Nothing is guessed: an unreadable or past time raises WhenError with a hint."""
    with pytest.raises(WhenError) as info:
        resolve_due(text, at("2026-12-01 10:00", NY), NY)
    assert info.value.hint
