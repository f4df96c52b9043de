"""The `- Timezone:` and `- Active hours:` keys of a task, merged with its schedule. Pure.

A key and the schedule's own zone or window ("daily at 09:00 UTC") must not
disagree; the result is carried by the task (`Task.zone`, `Task.window`)
and by its recurrence, so everything that walks the slots sees it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from localhb.format.model import Field
from localhb.format.recurrence_model import Recurrence, RecurrenceError, describe_extras
from localhb.format.zone_window import check_window, parse_window, zone_name

__all__ = ["TaskClock", "task_clock"]

Bad = Callable[[Field, str, str], None]


@dataclass(frozen=True, slots=True)
class TaskClock:
    recurrence: Recurrence | None
    zone: str | None
    window: tuple[int, int] | None


def task_clock(by_key: Mapping[str, Field], recurrence: Recurrence | None, bad: Bad) -> TaskClock:
    """The task's zone and window from its keys and schedule; problems go to `bad`."""
    zone = recurrence.zone if recurrence is not None else None
    window = recurrence.window if recurrence is not None else None
    f = by_key.get("timezone")
    if f is not None:
        try:
            named = zone_name(f.value.strip().strip("`"))
        except RecurrenceError as exc:
            bad(f, f"{f.label}: {exc.message}", exc.hint)
        else:
            if zone is not None and zone != named:
                bad(f, f"{f.label}: {named} disagrees with the schedule's zone {zone}",
                    "keep one of the two")  # fmt: skip
            zone = named
    f = by_key.get("active hours")
    if f is not None:
        try:
            hours = parse_window(f.value.strip().strip("`"), f" ({f.label})")
            if recurrence is not None:
                check_window(recurrence, hours, recurrence.source)
        except RecurrenceError as exc:
            bad(f, f"{f.label}: {exc.message}", exc.hint)
        else:
            if window is not None and window != hours:
                shown = describe_extras(window, None).removeprefix(", ")
                bad(f, f"{f.label}: disagrees with the schedule's window {shown}",
                    "keep one of the two")  # fmt: skip
            window = hours
    if recurrence is not None and (zone, window) != (recurrence.zone, recurrence.window):
        recurrence = replace(recurrence, zone=zone, window=window)
    return TaskClock(recurrence, zone, window)
