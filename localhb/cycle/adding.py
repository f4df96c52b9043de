"""Adding a task to HEARTBEAT.md: the one path `localhb add`, `schedule_task` and the API share.

    request ──check──> NewTask (relative times computed in the zone, grammar checked)
    read + parse ──> insert under Pending ──> re-parse: any new error refuses (AddRefused)
    compare-and-swap: write only if the file is still the text read, else start over

A refused task leaves the file untouched. A hand edit made meanwhile is
never lost: the task is added again onto the newer text.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from itertools import islice, pairwise
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from localhb.core.errors import AddRefused, HeartbeatFileError, ToolError
from localhb.format.add import NewTask, insert_task
from localhb.format.model import Diagnostic, Severity, Task, TaskKind
from localhb.format.parser import Document, parse
from localhb.format.recurrence import Recurrence, RecurrenceError, parse_recurrence
from localhb.state.files import (
    Snapshot,
    read_heartbeat,
    read_only,
    unchanged_since,
    write_atomic,
)
from localhb.timing.hours import ActiveHours
from localhb.timing.nextrun import NextRun, next_run
from localhb.timing.plan import History, Policy, judge
from localhb.timing.relative import WhenError, resolve_due
from localhb.timing.schedule import slots_after

if TYPE_CHECKING:
    from localhb.config import Config

WRITE_TRIES = 8
PRIORITIES = ("high", "medium", "low")
WAKE_SOURCE = "api"  # `Added by: api, ...`: a task a wake prompt added
SELF_REPLICATION_SPAN = timedelta(days=1)
_WRITING = threading.Lock()  # two adds in one process never race each other


@dataclass(frozen=True, slots=True)
class AddRequest:
    """A task as a person or the agent asks for it (times may be relative)."""

    title: str
    due: str | None = None
    every: str | None = None
    condition: str | None = None
    description: str | None = None
    priority: str | None = None
    notify: str | None = None
    run: str | None = None  # a `- Run:` command (the CLI only; the agent cannot add one)


@dataclass(frozen=True, slots=True)
class Added:
    """The task as written, and when it will next run."""

    task: Task
    text: str
    next_due: datetime | None
    path: Path
    warnings: tuple[str, ...] = field(default=())

    run: NextRun | None = None  # when a cycle will really run it (as `localhb tasks` says)
    due_now: bool = False  # due already: the next cycle runs (or checks) it

    def describe(self, tz: tzinfo) -> str:
        """`when`, for people: now, or the next run in the zone (and what holds it), or
        the schedule when it never runs by itself."""
        if self.due_now:
            if self.task.kind is TaskKind.CONDITIONAL:
                return "now: the next heartbeat cycle checks its condition"
            return "now: the next heartbeat cycle runs it"
        at = self.run.at if self.run is not None else self.next_due
        if at is None:
            reason = self.run.reason if self.run is not None else ""
            return f"{self.task.schedule_text} ({reason})" if reason else self.task.schedule_text
        shown = at.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z")
        if self.run is not None and self.run.held_until is not None:
            return f"{shown} ({self.run.reason})"
        return shown


Reader = Callable[[Path], Snapshot]


def prepare(
    request: AddRequest, now: datetime, tz: tzinfo, *, added_by: str | None = None
) -> NewTask:
    """Check the request and turn it into absolute lines; AddRefused names the field."""
    title = " ".join(request.title.split())
    if not title:
        raise AddRefused("title: a task needs a title")
    given = [
        n
        for n, v in (
            ("due", request.due),
            ("every", request.every),
            ("condition", request.condition),
        )
        if v is not None
    ]
    if len(given) > 1:
        raise AddRefused(f"{given[0]}, {given[1]}: give only one of due, every and condition")
    due = None
    if request.due is not None:
        try:
            due = resolve_due(request.due, now, tz).value
        except WhenError as exc:
            raise AddRefused(f"due: {exc.message} ({exc.hint})") from None
    every = None
    if request.every is not None:
        every = _schedule_text(request.every)
    condition = None
    if request.condition is not None:
        condition = " ".join(request.condition.split())
        if not condition:
            raise AddRefused("condition: is empty")
    extra: tuple[tuple[str, str], ...] = ()
    if request.run is not None:
        command = request.run.strip()
        if not command or "\n" in command:
            raise AddRefused("run: give the command as one non-empty line")
        extra = (("Run", command),)
    priority = None
    if request.priority is not None:
        priority = request.priority.strip().lower()
        if priority not in PRIORITIES:
            raise AddRefused(f"priority: {request.priority!r} is not high, medium or low")
    return NewTask(
        title=title,
        due=due,
        recurring=every,
        condition=condition,
        description=request.description,
        priority=priority,
        notify=request.notify,
        added_by=added_by,
        extra=extra,
    )


def _schedule_text(given: str) -> str:
    """`given` as a `Recurring:` value; `--every 3h` reads as "every 3h"."""
    every = " ".join(given.split())
    try:
        parse_recurrence(every)
    except RecurrenceError as exc:
        if not every.lower().startswith("every "):
            try:
                parse_recurrence(f"every {every}")
            except RecurrenceError:
                pass
            else:
                return f"every {every}"
        hint = f" ({exc.hint})" if exc.hint else ""
        raise AddRefused(f"every: {exc.message}{hint}") from None
    return every


def recurrence_of(new: NewTask) -> Recurrence | None:
    """The schedule the new task will have, for limits such as `min_interval`."""
    return parse_recurrence(new.recurring) if new.recurring else None


def added_by_value(source: str, now: datetime, tz: tzinfo) -> str:
    """`<source>, YYYY-MM-DD HH:MM`: who added a task and when, in the zone."""
    return f"{source}, {now.astimezone(tz):%Y-%m-%d %H:%M}"


def add_task(
    config: Config,
    new: NewTask,
    now: datetime,
    *,
    path: Path | None = None,
    read: Reader = read_heartbeat,
) -> Added:
    """Append `new` under Pending, atomically, without losing a concurrent edit."""
    hb = config.heartbeat
    target = path or hb.file
    tz = config.tz()
    for _ in range(WRITE_TRIES):
        snap = read(target)
        doc = _parse(snap.text, config)
        if doc.errors:
            raise AddRefused(
                f"{target} has errors; fix them first (`localhb validate` shows them)",
                diagnostics=doc.errors,
            )
        text = insert_task(doc, new)
        after = _parse(text, config)
        task = _the_new_task(doc, after)
        if after.errors or task is None:
            problems = after.errors or (Diagnostic(0, Severity.ERROR, "the task was not read"),)
            raise AddRefused(
                "validate would reject this task: "
                + "; ".join(dict.fromkeys(d.message for d in problems)),
                diagnostics=problems,
            )
        with _WRITING:
            if read_only(target):  # chmod 444: the person said hands off
                raise AddRefused(f"{target} is read-only; make it writable to add tasks")
            if not write_atomic(target, text, precheck=unchanged_since(snap)):
                continue  # edited meanwhile: add onto the file as it is now
        ev = judge(task, now, tz, Policy.of(hb), History())
        run = next_run(
            ev,
            now,
            tz,
            hb.active_hours,
            recurring=task.kind is TaskKind.RECURRING,
            task_window=ActiveHours(*task.window) if task.window else None,
            task_zone=ZoneInfo(task.zone) if task.zone else None,
        )
        warnings = tuple(
            d.message
            for d in after.diagnostics
            if d.severity is Severity.WARNING and task.start <= d.line - 1 < task.end
        )
        due_now = ev.due and run.at is not None and run.held_until is None
        next_due = run.at if run.at is not None and not due_now else ev.next_due
        return Added(task, task.text, next_due, target, warnings, run, bool(due_now))
    raise AddRefused(f"{target} kept changing while the task was being added; try again")


def read_document(config: Config, path: Path | None = None) -> Document:
    """The file at `path` (default `[heartbeat] file`), parsed with the configured sections."""
    return _parse(read_heartbeat(path or config.heartbeat.file).text, config)


def _parse(text: str, config: Config) -> Document:
    hb = config.heartbeat
    return parse(
        text,
        pending_sections=hb.pending_sections,
        completed_sections=hb.completed_sections,
        tool_names=[s.name for s in config.mcp.servers],
    )


def _the_new_task(before: Document, after: Document) -> Task | None:
    """The pending task `after` has that `before` did not (by position past the old ones)."""
    old = {(t.id, t.text) for t in before.pending()}
    fresh = [t for t in after.pending() if (t.id, t.text) not in old]
    return fresh[0] if len(fresh) == 1 else None


def within(added_by: str | None, now: datetime, tz: tzinfo, span: timedelta) -> bool:
    """True when an `Added by: <source>, <time>` value names a time less than `span` ago."""
    if not added_by or "," not in added_by:
        return False
    stamp = added_by.rsplit(",", 1)[1].strip()
    try:
        from localhb.core.moments import parse_when
        from localhb.timing.schedule import resolve_local

        when = resolve_local(parse_when(stamp), tz)
    except ValueError:
        return True  # unreadable: treat as recent, the safe side
    return now - when < span


def added_by_source(task: Task) -> str | None:
    """Who added the task, from its `Added by:` line (None: a person, by hand)."""
    f = task.field("added by")
    if f is None or not f.value.strip():
        return None
    return f.value.split(",", 1)[0].strip()


def shortest_gap(rec: Recurrence, now: datetime, tz: tzinfo, cycle: timedelta) -> timedelta:
    """The shortest time between two runs of `rec` (over its next 200 slots)."""
    if rec.every_cycle:
        return cycle
    if rec.interval is not None:
        return rec.interval
    slots = [s.astimezone(UTC) for s in islice(slots_after(rec, now, tz), 200)]
    gaps = [b - a for a, b in pairwise(slots)]
    return min(gaps) if gaps else timedelta.max


@dataclass
class AgentScheduler:
    """`schedule_task` for one run of `task`: the add path plus the guard and limits.

    - at most `[tools.schedule] max_per_run` tasks per run;
    - no recurrence more frequent than `min_interval`;
    - none at all when `task` was itself added by the agent within a day.
    """

    config: Config
    task: Task
    clock: Callable[[], datetime]
    added: int = 0

    def __call__(self, args: Mapping[str, Any]) -> str:
        limits = self.config.tools.schedule
        tz = self.config.tz()
        now = self.clock()
        source = added_by_source(self.task)
        stamp = self.task.field("added by")
        if source not in (None, WAKE_SOURCE) and within(
            stamp.value if stamp else None, now, tz, SELF_REPLICATION_SPAN
        ):
            raise _refuse(
                "this task was itself added by the agent less than a day ago, so it may "
                "not add tasks (no self-replicating loops)"
            )
        if self.added >= limits.max_per_run:
            raise _refuse(f"at most {limits.max_per_run} task(s) may be added in one run")
        known = {"title", "due", "every", "condition", "description", "priority", "notify"}
        request = AddRequest(**{k: v for k, v in args.items() if k in known})
        try:
            new = prepare(request, now, tz, added_by=added_by_value(self.task.id, now, tz))
            rec = recurrence_of(new)
            if rec is not None:
                gap = shortest_gap(rec, now, tz, self.config.heartbeat.interval)
                if gap < limits.min_interval:
                    raise _refuse(
                        f"every: runs as often as every {_minutes(gap)}; the least allowed "
                        f"gap is {_minutes(limits.min_interval)} ([tools.schedule] min_interval)"
                    )
            added = add_task(self.config, new, now)
        except (AddRefused, HeartbeatFileError) as exc:
            raise ToolError(str(exc), tool="schedule_task") from None
        self.added += 1
        return (
            f"added task {added.task.id!r} to HEARTBEAT.md:\n{added.text.rstrip()}\n"
            f"next run: {added.describe(tz)}"
        )


def scheduler_for(
    config: Config, task: Task, clock: Callable[[], datetime]
) -> AgentScheduler | None:
    """The run's scheduler: always for a wake prompt's task, else only when enabled."""
    if added_by_source(task) == WAKE_SOURCE or config.tools.schedule.enabled:
        return AgentScheduler(config, task, clock)
    return None


def _refuse(message: str) -> ToolError:
    return ToolError(f"refused: {message}", tool="schedule_task", refused=True)


def _minutes(span: timedelta) -> str:
    minutes = span.total_seconds() / 60
    return f"{minutes:g} min"
