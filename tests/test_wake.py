"""timing.wake, pure: the next wake, crash backoff, bounded sleeps and what is upcoming."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from localhb.format.parser import parse
from localhb.timing.plan import History, Policy
from localhb.timing.schedule import parse_active_hours
from localhb.timing.wake import Upcoming, crash_backoff, due_within, next_wake, sleep_for, upcoming

T0 = datetime(2024, 1, 15, 10, 0, tzinfo=UTC)


def at(text: str, tz: str = "UTC") -> datetime:
    """An aware instant from "YYYY-MM-DD HH:MM[:SS]" wall time in `tz`, as UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(tz)).astimezone(UTC)


def due(task_id: str, when: str, *, now: bool = False) -> Upcoming:
    return Upcoming(task_id, task_id, at(when), now, "")


WAKES: list[tuple[str, dict[str, Any], str, str]] = [
    ("at start, at once", {"last_cycle": None}, "2024-01-15 10:00", "start"),
    ("interval after the last cycle", {}, "2024-01-15 10:30", "interval"),
    ("a due slot before the tick", {"tasks": [due("a", "2024-01-15 10:14")]}, "10:14", "a due"),
    ("a slot after the tick waits", {"tasks": [due("a", "2024-01-15 11:00")]}, "10:30", "interval"),
    ("due now is not a wake", {"tasks": [due("a", "2024-01-15 10:00", now=True)]}, "10:30", "?"),
    (
        "a slot that fell due during the last cycle wakes at once",
        {"now": "2024-01-15 10:05", "tasks": [due("b", "2024-01-15 10:03", now=True)]},
        "10:05",
        "b due",
    ),
    (
        "a slot due before the last cycle began was that cycle's",
        {"now": "2024-01-15 10:05", "tasks": [due("b", "2024-01-15 09:59", now=True)]},
        "10:30",
        "interval",
    ),
    (
        "outside the window: its opening",
        {"now": "2024-01-15 20:00", "last_cycle": "2024-01-15 20:00", "hours": ("09:00", "17:00")},
        "2024-01-16 09:00",
        "active hours open",
    ),
    (
        "a tick in the closed window moves to the opening",
        {"now": "2024-01-15 16:50", "last_cycle": "2024-01-15 16:50", "hours": ("09:00", "17:00")},
        "2024-01-16 09:00",
        "active hours open",
    ),
    (
        "the opening beats a later tick",
        {"now": "2024-01-15 08:50", "last_cycle": "2024-01-15 08:50", "hours": ("09:00", "17:00")},
        "2024-01-15 09:00",
        "active hours open",
    ),
    (
        "a clock set back starts over from now",
        {"now": "2024-01-15 09:10", "last_cycle": "2024-01-15 10:00"},
        "2024-01-15 09:40",
        "interval",
    ),
    (
        "the window opens on local time across spring forward (Berlin)",
        {
            "now": "2025-03-29 17:30",
            "last_cycle": "2025-03-29 17:30",
            "hours": ("09:00", "17:00"),
            "tz": "Europe/Berlin",
        },
        "2025-03-30 09:00",
        "active hours open",
    ),
]


@pytest.mark.parametrize(("case", "given", "expect", "reason"), WAKES, ids=[w[0] for w in WAKES])
def test_next_wake_table(case: str, given: dict[str, Any], expect: str, reason: str) -> None:
    """The wake is the earliest of interval tick, future due slot and window opening."""
    tz = given.get("tz", "UTC")
    now = at(given.get("now", "2024-01-15 10:00"), tz)
    last = given.get("last_cycle", "2024-01-15 10:00")
    hours = given.get("hours")
    wake = next_wake(
        now,
        interval=timedelta(minutes=30),
        last_cycle=at(last, tz) if last else None,
        tasks=given.get("tasks", ()),
        active_hours=parse_active_hours(*hours) if hours else None,
        tz=ZoneInfo(tz),
    )
    full = expect if len(expect) > 5 else f"2024-01-15 {expect}"
    assert wake.at == at(full, tz)
    if reason != "?":
        assert wake.reason == reason


def test_crash_backoff_doubles_up_to_the_interval() -> None:
    """Crashes in a row wait 5 s, 10 s, 20 s ... never more than the interval."""
    got = [crash_backoff(n, timedelta(minutes=1)).total_seconds() for n in range(7)]
    assert got == [0, 5, 10, 20, 40, 60, 60]
    assert crash_backoff(500, timedelta(hours=1)) == timedelta(hours=1)


def test_sleep_for_is_a_bounded_chunk() -> None:
    """A sleep is at most one chunk and never past the wake."""
    wake = next_wake(T0, interval=timedelta(minutes=30), last_cycle=T0)
    assert sleep_for(T0, wake, 2.0) == 2.0
    assert sleep_for(wake.at - timedelta(seconds=0.5), wake, 2.0) == 0.5
    assert sleep_for(wake.at + timedelta(seconds=3), wake, 2.0) == 0.0


def test_upcoming_follows_the_ledger_history() -> None:
    """A slot the ledger has run is not due again; due_within keeps the next 24 h."""
    doc = parse(
        "## Pending\n### Daily\n- Recurring: daily at 09:00\n"
        "### Later\n- Due: 2024-01-17 09:00\n### Soon\n- Due: 2024-01-15 11:00\n"
    )
    now = at("2024-01-15 09:10")
    fresh = upcoming(doc, now, UTC, Policy(), {})
    assert [(u.task_id, u.at, u.due_now) for u in fresh] == [
        ("daily", at("2024-01-15 09:00"), True),
        ("soon", at("2024-01-15 11:00"), False),
        ("later", at("2024-01-17 09:00"), False),
    ]
    ran = {"daily": History(at("2024-01-14 09:00"), at("2024-01-15 09:00"), 0)}
    after = upcoming(doc, now, UTC, Policy(), ran)
    assert [(u.task_id, u.at, u.due_now) for u in after][:2] == [
        ("soon", at("2024-01-15 11:00"), False),
        ("daily", at("2024-01-16 09:00"), False),
    ]
    assert [u.task_id for u in due_within(after, now, timedelta(hours=24))] == ["soon", "daily"]
