"""When a task will really run next, and why, as `localhb tasks` shows it. Pure.

`Evaluation.next_due` is the slot a task is due for, which for a due task
lies in the past (`every 3650d` never run: a slot from 2019). What a person
wants is the next moment a cycle will run it: now when it is due and the
active hours are open, else when they open; a future slot, moved to the
opening of the active hours when it falls outside them. Never a past time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from localhb.timing.schedule import ActiveHours, Evaluation, State, is_active, next_active

if TYPE_CHECKING:
    from localhb.format.model import Task

__all__ = ["NextRun", "first_open", "next_run", "task_next_run"]


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


_NEXT_AT = re.compile(r"(?:^|; )next at [\d:\- ]+$")


def first_open(
    at: datetime, windows: list[tuple[ActiveHours | None, tzinfo, str]]
) -> tuple[datetime | None, str]:
    """The first moment at or after `at` inside every window, and which held it back
    (their names, joined by " and ", in the order they first did).

    None when the windows never open together (they do not overlap)."""
    held: list[str] = []
    for _ in range(16):
        moved = False
        for hours, zone, name in windows:
            if not is_active(at, hours, zone):
                at = next_active(at, hours, zone).astimezone(UTC)
                moved = True
                if name not in held:
                    held.append(name)
        if not moved:
            return at, " and ".join(held)
    return None, " and ".join(held)


def task_windows(
    task: Task, tz: tzinfo, active: ActiveHours | None
) -> list[tuple[ActiveHours | None, tzinfo, str]]:
    """`[heartbeat] active_hours` (in `tz`) and the task's own `- Active hours:` (in its zone)."""
    windows: list[tuple[ActiveHours | None, tzinfo, str]] = [(active, tz, "active hours")]
    if task.window is not None:
        own = ActiveHours(*task.window)
        shown = f"{own.start // 60:02d}:{own.start % 60:02d}-{own.end // 60:02d}:{own.end % 60:02d}"
        windows.append((own, ZoneInfo(task.zone) if task.zone else tz, f"its active hours {shown}"))
    return windows


def task_next_run(
    task: Task,
    ev: Evaluation,
    now: datetime,
    tz: tzinfo,
    active: ActiveHours | None,
    *,
    file_errors: int = 0,
) -> NextRun:
    """`next_run` for `task` judged `ev`: inside the global and the task's own window.

    `localhb tasks`, `daemon status` and the daemon's wake all ask this."""
    from localhb.format.model import TaskKind

    own = ActiveHours(*task.window) if task.window else None
    return next_run(
        ev,
        now,
        tz,
        active,
        recurring=task.kind is TaskKind.RECURRING,
        file_errors=file_errors,
        task_window=own,
        task_zone=ZoneInfo(task.zone) if task.zone else None,
    )


def next_run(
    ev: Evaluation,
    now: datetime,
    tz: tzinfo,
    active: ActiveHours | None,
    *,
    recurring: bool,
    file_errors: int = 0,
    task_window: ActiveHours | None = None,
    task_zone: tzinfo | None = None,
) -> NextRun:
    """The next run of a task judged `ev` at `now`, inside `[heartbeat] active_hours`
    (`active`, in `tz`) and the task's own `- Active hours:` (`task_window`, in
    `task_zone`, else `tz`).

    `file_errors`: the file's error count; while it has any, nothing runs."""
    now = now.astimezone(UTC)
    if ev.state is State.INVALID:
        return NextRun(None, None, ev.reason if ev.reason.startswith("invalid") else "invalid")
    if file_errors and (ev.due or ev.next_due is not None):
        return NextRun(None, None, f"held: the file has {file_errors} error(s), nothing runs")
    if ev.due:
        at = now
        why = ev.reason.removeprefix("due: ").removeprefix("checking: ")
        if ev.state is State.CHECKING:
            why = "checks its condition"
    elif ev.next_due is None:
        return NextRun(None, None, ev.reason)
    else:
        at = max(ev.next_due, now)
        local = at.astimezone(tz)
        today = local.date() == now.astimezone(tz).date()
        slot = local.strftime("%H:%M" if today else "%Y-%m-%d %H:%M")
        why = _NEXT_AT.sub("", ev.reason).strip()
        if not why:
            why = f"slot {slot}" if recurring else f"due at {slot}"
    windows: list[tuple[ActiveHours | None, tzinfo, str]] = [(active, tz, "active hours")]
    if task_window is not None:
        shown = f"{task_window.start // 60:02d}:{task_window.start % 60:02d}-"
        shown += f"{task_window.end // 60:02d}:{task_window.end % 60:02d}"
        windows.append((task_window, task_zone or tz, f"its active hours {shown}"))
    opened, held = first_open(at, windows)
    if opened is None:
        return NextRun(
            None, None, "never: its active hours and [heartbeat] active_hours do not overlap"
        )
    if opened == at:
        return NextRun(at, None, why)
    until = f"held by {held} until {_show(opened, tz, now)}"
    if why.startswith("held by"):  # the evaluation's own hold, said again with the time
        rest = why.partition("; ")[2]
        return NextRun(opened, opened, f"{until}; {rest}" if rest else until)
    return NextRun(opened, opened, f"{until}; {why}")
