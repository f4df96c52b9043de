"""The routines localhb ships: its own upkeep, as ordinary tasks in the owner's file.

A routine is never hidden code. `localhb routines add NAME` appends its task
under `## Pending` through the same compare-and-swap path as `localhb add`;
from then on the owner reads, reschedules, edits or deletes it like any other
task. A routine's task carries `- Routine: NAME`, which is how a second `add`
knows it is already there (the title may be renamed freely).

    distill   daily at 02:00: distil the daily memory logs into MEMORY.md
    audit     hourly: look through the run history for patterns; 0 tokens
              (the model is never called) when nothing failed since its last run
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from localhb.core.errors import AddRefused
from localhb.format.add import NewTask
from localhb.format.recurrence import RecurrenceError, parse_recurrence

if TYPE_CHECKING:
    from localhb.config import Config
    from localhb.cycle.adding import Added

ROUTINE_KEY = "Routine"


@dataclass(frozen=True, slots=True)
class Routine:
    """One shipped routine: its task's title, default schedule and lines."""

    name: str
    title: str
    schedule: str
    summary: str
    tools: str
    description: str
    check: str | None = None

    def new_task(self, schedule: str | None = None) -> NewTask:
        """The task to add, on `schedule` (checked) or the default one."""
        every = " ".join((schedule or self.schedule).split())
        try:
            parse_recurrence(every)
        except RecurrenceError as exc:
            hint = f" ({exc.hint})" if exc.hint else ""
            raise AddRefused(f"--at: {exc.message}{hint}") from None
        extra = [(ROUTINE_KEY, self.name), ("Tools", self.tools)]
        if self.check:
            extra.append(("Check", self.check))
        return NewTask(
            title=self.title,
            recurring=every,
            description=self.description,
            extra=tuple(extra),
        )


DISTILL = Routine(
    name="distill",
    title="Memory distillation",
    schedule="daily at 02:00",
    summary="distil the daily memory logs (memory/YYYY-MM-DD.md) into MEMORY.md; uses the model",
    tools="files, memory, distill",
    description=(
        "A localhb routine. Read the daily memory logs in memory/ (memory/YYYY-MM-DD.md) "
        "written since this task's Last run (all of them on the first run) and the current "
        "MEMORY.md. Then call memory_rewrite once with the new MEMORY.md: a short, "
        "deduplicated list of facts under headings, covering what the owner's tasks keep "
        "finding, standing decisions, and what later runs should know. Keep facts that "
        "still hold, merge duplicates, drop one-off noise. Never write secrets, keys, "
        "tokens or passwords. Never delete or edit the daily logs. Finish with "
        "complete_task: ok and a one-line summary of what changed."
    ),
)
AUDIT = Routine(
    name="audit",
    title="Self-audit",
    schedule="hourly",
    summary=(
        "look through localhb's run history for recurring failures; uses the model only "
        "when something failed since its last run (else 0 tokens)"
    ),
    tools="history",
    check="new failures",
    description=(
        "A localhb routine. Call run_history (the last 24 hours; more if needed) and look "
        "for patterns: the same tool error across runs, a task failing at the same hour, "
        "repeated setup errors (key, endpoint, model), growing token use, tasks failing "
        "in a row. Change no task and no file. If all is well, finish with complete_task "
        "status ok and no message. If something needs a person, finish with status "
        "partial and a message for the owner naming the pattern, the task ids, since "
        "when, and what to check."
    ),
)
ROUTINES: dict[str, Routine] = {r.name: r for r in (DISTILL, AUDIT)}


def routine(name: str) -> Routine:
    """The routine called `name`; AddRefused lists the known ones."""
    found = ROUTINES.get(name.strip().lower())
    if found is None:
        raise AddRefused(f"no routine {name!r}; the routines are: {', '.join(ROUTINES)}")
    return found


def present(config: Config, path: Path | None = None) -> dict[str, str]:
    """Routine name -> the id of its task, for routines already in the file."""
    from localhb.cycle.adding import read_document

    doc = read_document(config, path)
    found: dict[str, str] = {}
    for task in doc.tasks:
        f = task.field(ROUTINE_KEY.lower())
        if f is not None and f.value.strip().lower() in ROUTINES:
            found.setdefault(f.value.strip().lower(), task.id)
    return found


def add_routine(
    config: Config,
    name: str,
    now: datetime,
    *,
    schedule: str | None = None,
    path: Path | None = None,
) -> Added:
    """Append routine `name`'s task under Pending; AddRefused when it is there already."""
    from localhb.cycle.adding import add_task

    r = routine(name)
    there = present(config, path)
    if r.name in there:
        raise AddRefused(
            f"routine {r.name!r} is already in the file as task {there[r.name]!r}; edit "
            "that task to change it (or delete it and add the routine again)"
        )
    new = r.new_task(schedule)
    added = add_task(config, new, now, path=path)
    outside = outside_active_hours(config, new.recurring or "", now)
    if outside:
        added = replace(added, warnings=(*added.warnings, outside))
    return added


def outside_active_hours(config: Config, every: str, now: datetime) -> str | None:
    """A warning when none of the schedule's next slots fall inside `[heartbeat]
    active_hours` (distill's 02:00 with 09:00-22:00): the routine runs late every time."""
    from itertools import islice

    from localhb.timing.hours import is_active
    from localhb.timing.slots import slots_after

    hours = config.heartbeat.active_hours
    if hours is None:
        return None
    tz = config.tz()
    slots = list(islice(slots_after(parse_recurrence(every), now, tz), 8))
    if not slots or any(is_active(s, hours, tz) for s in slots):
        return None
    return (
        f"{every} falls outside [heartbeat] active_hours, so it runs each time they open "
        "instead; to choose its time, edit its `- Recurring:` line (or delete the task and "
        'add the routine again with --at, e.g. --at "daily at 21:30")'
    )
