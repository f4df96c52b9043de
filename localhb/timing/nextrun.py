"""When a task will really run next, and why, as `localhb tasks` shows it. Pure.

`Evaluation.next_due` is the slot a task is due for, which for a due task
lies in the past (`every 3650d` never run: a slot from 2019). What a person
wants is the next moment a cycle will run it: now when it is due and the
active hours are open, else when they open; a future slot, moved to the
opening of the active hours when it falls outside them. Never a past time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

from localhb.timing.schedule import ActiveHours, Evaluation, State, is_active, next_active

__all__ = ["NextRun", "next_run"]


@dataclass(frozen=True, slots=True)
class NextRun:
    """`at`: the next run (UTC, never before `now`; None: never by itself).

    `held_until` is set when active hours hold the run back; `reason` is the
    short why for the REASON column (first run, slot 14:00, catch-up of 3
    missed, held by active hours until 09:00, invalid: ...)."""

    at: datetime | None
    held_until: datetime | None
    reason: str


def _show(instant: datetime, tz: tzinfo, now: datetime) -> str:
    """HH:MM within the next 24 hours (NEXT DUE has the date), else the date too."""
    local = instant.astimezone(tz)
    soon = timedelta(0) <= instant - now < timedelta(hours=24)
    return local.strftime("%H:%M" if soon else "%Y-%m-%d %H:%M")


def next_run(
    ev: Evaluation,
    now: datetime,
    tz: tzinfo,
    active: ActiveHours | None,
    *,
    recurring: bool,
    file_errors: int = 0,
) -> NextRun:
    """The next run of a task judged `ev` at `now`, with active hours applied.

    `file_errors`: the file's error count; while it has any, nothing runs."""
    now = now.astimezone(UTC)
    if ev.state is State.INVALID:
        return NextRun(None, None, ev.reason if ev.reason.startswith("invalid") else "invalid")
    if file_errors and (ev.due or ev.next_due is not None):
        return NextRun(None, None, f"held: the file has {file_errors} error(s), nothing runs")
    if ev.due:
        why = ev.reason.removeprefix("due: ").removeprefix("checking: ")
        if ev.state is State.CHECKING:
            why = "checks its condition"
        if is_active(now, active, tz):
            return NextRun(now, None, why)
        opens = next_active(now, active, tz).astimezone(UTC)
        return NextRun(opens, opens, f"held by active hours until {_show(opens, tz, now)}; {why}")
    if ev.next_due is None:
        return NextRun(None, None, ev.reason)
    at = max(ev.next_due, now)
    local = at.astimezone(tz)
    today = local.date() == now.astimezone(tz).date()
    slot = local.strftime("%H:%M" if today else "%Y-%m-%d %H:%M")
    why = ev.reason
    if why.startswith("next at "):
        why = f"slot {slot}" if recurring else f"due at {slot}"
    if is_active(at, active, tz):
        return NextRun(at, None, why)
    opens = next_active(at, active, tz).astimezone(UTC)
    return NextRun(opens, opens, f"{why}, held by active hours until {_show(opens, tz, now)}")
