"""Issue 10 D4: an interval counts from the last run's slot, one run per slot, never from 1970."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest

from localhb.format.model import Section, Task, TaskKind
from localhb.format.parser import parse
from localhb.timing.schedule import evaluate

ZONES = [
    ZoneInfo("Europe/Berlin"),
    ZoneInfo("America/New_York"),
    ZoneInfo("Australia/Lord_Howe"),
    UTC,
]


def task(schedule: str, last_run: datetime | None = None) -> Task:
    line = f"\n- Last run: {last_run:%Y-%m-%d %H:%M} (ok)" if last_run else ""
    doc = parse(f"## Pending\n\n### T\n- Recurring: {schedule}{line}\n")
    (t,) = doc.pending()
    assert t.kind is TaskKind.RECURRING and t.section is Section.PENDING
    return t


CASES = [("every 2 weeks", 14), ("every 3 days", 3), ("every 80 days", 80), ("every 7h", 7 / 24)]


@pytest.mark.parametrize("tz", ZONES, ids=str)
@pytest.mark.parametrize(("schedule", "days"), CASES)
def test_next_due_is_n_after_the_ledger_slot(schedule: str, days: float, tz: tzinfo) -> None:
    """With the last run just done, the next slot is exactly N after that run's slot."""
    slot = datetime(2026, 3, 10, 9, 17, tzinfo=tz).astimezone(UTC)
    now = slot + timedelta(minutes=2)
    ev = evaluate(task(schedule), now, tz, last_slot=slot, first_seen=slot - timedelta(days=400))
    assert not ev.due
    assert ev.next_due == slot + timedelta(days=days)


@pytest.mark.parametrize("tz", ZONES, ids=str)
@pytest.mark.parametrize(("schedule", "days"), CASES)
def test_next_due_is_n_after_the_files_last_run(schedule: str, days: float, tz: tzinfo) -> None:
    """Without a ledger, the file's `Last run` is the anchor."""
    ran = datetime(2026, 3, 10, 9, 17)
    now = ran.replace(tzinfo=tz) + timedelta(minutes=5)
    ev = evaluate(task(schedule, last_run=ran), now, tz)
    assert not ev.due
    assert ev.next_due == ran.replace(tzinfo=tz).astimezone(UTC) + timedelta(days=days)


def test_first_run_is_when_the_task_first_appears() -> None:
    """Never run: due at once, for the slot when it was first seen; the next is N later."""
    seen = datetime(2026, 3, 10, 9, 17, tzinfo=UTC)
    now = seen + timedelta(minutes=3)
    ev = evaluate(task("every 3 days"), now, UTC, first_seen=seen)
    assert ev.due and ev.slots == (seen,) and ev.reason.startswith("due: first run")
    after = evaluate(task("every 3 days"), now, UTC, first_seen=seen, last_slot=seen)
    assert not after.due and after.next_due == seen + timedelta(days=3)


def test_ten_year_interval_is_never_due_in_the_past() -> None:
    """`every 3650d` never run shows now, not a 2019 slot; after its run, ten years on."""
    now = datetime(2026, 12, 3, 0, 20, 40, tzinfo=UTC)
    ev = evaluate(task("every 3650d"), now, UTC)
    assert ev.due and ev.next_due == datetime(2026, 12, 3, 0, 20, tzinfo=UTC)
    ran = evaluate(task("every 3650d"), now, UTC, last_slot=ev.slots[0])
    assert not ran.due and ran.next_due == ev.slots[0] + timedelta(days=3650)
    assert ran.next_due is not None and ran.next_due.year == 2036


def test_catch_up_keeps_the_phase() -> None:
    """Missed slots of `every 3 days` after downtime: one run, for the latest; same grid after."""
    slot = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)
    now = slot + timedelta(days=10, hours=1)
    ev = evaluate(task("every 3 days"), now, UTC, last_slot=slot)
    assert ev.due and ev.slots == (slot + timedelta(days=9),)
    assert "catch-up of 3 missed" in ev.reason
    again = evaluate(task("every 3 days"), now, UTC, last_slot=ev.slots[0])
    assert not again.due and again.next_due == slot + timedelta(days=12)


@pytest.mark.parametrize("tz", ZONES, ids=str)
def test_one_run_per_slot(tz: tzinfo) -> None:
    """Cycles every 5 minutes for four days run `every 7h` once per slot, 7 h apart."""
    t = task("every 7h")
    start = datetime(2026, 3, 27, 22, 3, tzinfo=tz).astimezone(UTC)  # across Berlin's DST
    ran: list[datetime] = []
    now = start
    while now < start + timedelta(days=4):
        ev = evaluate(t, now, tz, last_slot=ran[-1] if ran else None, first_seen=start)
        ran.extend(ev.slots if ev.due else ())
        now += timedelta(minutes=5)
    assert ran[0] == start
    assert len(ran) == len(set(ran)) == 14
    assert all(b - a == timedelta(hours=7) for a, b in pairwise(ran))


def test_a_late_run_does_not_drift() -> None:
    """A run that starts late (file Last run 10:03) keeps the ledger slot 10:00 as anchor."""
    slot = datetime(2026, 1, 1, 10, 0, tzinfo=UTC)
    t = task("every 3 days", last_run=datetime(2026, 1, 1, 10, 3))
    ev = evaluate(t, slot + timedelta(hours=1), UTC, last_slot=slot)
    assert ev.next_due == slot + timedelta(days=3)


def test_a_rare_interval_outside_its_window_ends_at_the_calendar() -> None:
    """`every 3650d` held by its own window: no slot ever falls inside, and no OverflowError."""
    doc = parse("## Pending\n\n### T\n- Recurring: every 3650d\n- Active hours: 09:00-17:00\n")
    (t,) = doc.pending()
    ev = evaluate(t, datetime(2026, 3, 10, 19, 0, tzinfo=UTC), UTC)
    assert not ev.due


def test_a_held_interval_keeps_its_anchor() -> None:
    """`every 7h` held by its own window waits for the next slot counted from the last run,
    not one counted from 1970."""
    doc = parse("## Pending\n\n### T\n- Recurring: every 7h\n- Active hours: 09:00-17:00\n")
    (t,) = doc.pending()
    ran = datetime(2026, 3, 10, 9, 5, tzinfo=UTC)  # ran at 09:05; next 16:05 inside, then 23:05
    ev = evaluate(t, datetime(2026, 3, 11, 0, 0, tzinfo=UTC), UTC, last_slot=ran)
    assert ev.next_due is not None
    assert (ev.next_due - ran) % timedelta(hours=7) == timedelta(0)
