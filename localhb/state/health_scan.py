"""Health files, read: a lenient scan of the directory (`scan_health`) and, without
reading the clock, which recurring tasks are overdue (`assess`). Re-exported by
`localhb.state.health`."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING

from localhb.state.breakers import BREAKER_FILE
from localhb.state.health_format import (
    CANONICAL,
    DATED,
    DATED_NAME,
    LEGACY,
    SUMMARY_LIMIT,
    one_line_within,
)

if TYPE_CHECKING:
    from localhb.format.model import Task
    from localhb.timing.schedule import ActiveHours


# --- reading ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HealthEntry:
    """One health file as read. `status` is canonical (legacy values mapped)."""

    task_id: str
    status: str
    raw_status: str
    started_at: datetime | None
    completed_at: datetime | None
    summary: str
    errors: tuple[str, ...]
    path: Path

    @property
    def when(self) -> datetime:
        """When the run ended (or, failing that, started)."""
        moment = self.completed_at or self.started_at
        assert moment is not None  # scan_health keeps no entry without a time
        return moment


@dataclass(frozen=True, slots=True)
class HealthScan:
    """Everything a health directory holds; `problems` are `path: message` lines."""

    entries: tuple[HealthEntry, ...]
    problems: tuple[str, ...]

    def latest(self) -> dict[str, HealthEntry]:
        """Each task's newest entry, by end time."""
        out: dict[str, HealthEntry] = {}
        for e in self.entries:
            best = out.get(e.task_id)
            if best is None or e.when > best.when:
                out[e.task_id] = e
        return out


def _read_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        dt = datetime.fromisoformat(value.strip().replace("z", "Z"))
    except ValueError:
        return None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def _entry(path: Path, obj: object) -> tuple[HealthEntry | None, list[str]]:
    if not isinstance(obj, dict):
        return None, ["not a JSON object"]
    notes: list[str] = []
    task_id = obj.get("task_id")
    if not isinstance(task_id, str) or not task_id.strip():
        return None, [f"no task_id (got {task_id!r})"]
    raw = obj.get("status")
    raw_status = raw.strip() if isinstance(raw, str) else repr(raw)
    if raw_status.lower() in CANONICAL:
        status = raw_status.lower()
    elif raw_status.upper() in LEGACY:
        status = LEGACY[raw_status.upper()]
    else:
        status = "error"
        notes.append(f"unknown status {raw_status}, counted as error")
    started, completed = _read_time(obj.get("started_at")), _read_time(obj.get("completed_at"))
    if started is None and completed is None:
        m = DATED.match(path.name)
        if m is None:
            return None, [*notes, "no usable started_at or completed_at"]
        started = datetime.fromisoformat(f"{m[1]}T{m[2]}:{m[3]}:00+00:00")
        notes.append("no timestamps; used the time in the file name")
    summary = obj.get("summary")
    errors = obj.get("errors")
    entry = HealthEntry(
        task_id=task_id,
        status=status,
        raw_status=raw_status,
        started_at=started,
        completed_at=completed,
        summary=one_line_within(summary, SUMMARY_LIMIT) if isinstance(summary, str) else "",
        errors=tuple(str(e) for e in errors) if isinstance(errors, list) else (),
        path=path,
    )
    return entry, notes


def scan_health(directory: Path) -> HealthScan:
    """Read a health directory (nothing if it is missing); never raises on content.

    Of the dated `<date>_<task>_<HHMM>.json` files only each task's newest is
    read (the next one if it is unreadable), so years of runs stay fast; every
    other `*.json` (`_latest` copies, older naming schemes) is read too, except
    `breaker.json` (the endpoint breaker's state, localhb.state.breakers).
    """
    entries: list[HealthEntry] = []
    problems: list[str] = []
    try:
        paths = sorted(
            p
            for p in directory.iterdir()
            if p.suffix == ".json" and p.name != BREAKER_FILE and p.is_file()
        )
    except FileNotFoundError:
        return HealthScan((), ())
    except OSError as exc:
        return HealthScan((), (f"{directory}: cannot list: {exc.strerror}",))

    def read(path: Path) -> bool:
        try:
            obj = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            problems.append(f"{path}: unreadable: {exc}")
            return False
        entry, notes = _entry(path, obj)
        problems.extend(f"{path}: {n}" for n in notes)
        if entry is not None:
            entries.append(entry)
        return entry is not None

    dated: dict[str, list[tuple[str, Path]]] = {}
    for path in paths:
        m = DATED_NAME.match(path.name)
        if m is None:
            read(path)
        else:
            dated.setdefault(m[2], []).append((m[1] + m[3], path))
    for runs in dated.values():
        for _, path in sorted(runs, reverse=True):
            if read(path):
                break
    return HealthScan(tuple(entries), tuple(problems))


# --- overdue ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TaskHealth:
    """One task's line in `localhb health`.

    `last_at` is the end of its latest known run (health files, the ledger,
    or the file's `Last run:`); `due_by` is when it turns overdue. `tracked`
    is False for a task HEARTBEAT.md no longer has pending: its old error
    is shown but does not fail the check.
    """

    task_id: str
    status: str | None
    last_at: datetime | None
    age: timedelta | None
    summary: str
    errors: tuple[str, ...]
    tracked: bool
    recurring: bool
    period: timedelta | None
    due_by: datetime | None
    overdue: bool
    note: str

    @property
    def failing(self) -> bool:
        """Overdue, or its latest run ended in error while it is still pending."""
        return self.overdue or (self.tracked and self.status == "error")


def _opportunities(
    task: Task, after: datetime, tz: tzinfo, cycle: timedelta, active: ActiveHours | None
) -> Iterator[datetime]:
    """The distinct moments after `after` at which the task is expected to run.

    A slot outside the active hours or the task's own window runs when both
    next open (as `localhb tasks` says); several slots that wait for the same
    opening are one opportunity. None at all when the windows never meet.
    """
    from localhb.timing.nextrun import first_open, task_windows
    from localhb.timing.schedule import slots_after

    rec = task.recurrence
    assert rec is not None
    windows = task_windows(task, tz, active)
    last: datetime | None = None
    if rec.every_cycle:
        moment: datetime | None = after
        while moment is not None:
            moment, _ = first_open(moment + cycle, windows)
            if moment is not None:
                yield moment
        return
    for slot in islice(slots_after(rec, after, tz, anchor=after), 5000):  # N after the run
        moment, _ = first_open(slot, windows)
        if moment is None:
            return
        if moment != last:
            yield moment
            last = moment


def _period(task: Task, now: datetime, tz: tzinfo, cycle: timedelta) -> timedelta | None:
    """The usual gap between runs: interval, cycle, or between two cron fires."""
    from localhb.timing.schedule import slots_after

    rec = task.recurrence
    if rec is None:
        return None
    if rec.every_cycle:
        return cycle
    if rec.interval is not None:
        return rec.interval
    fires = list(islice(slots_after(rec, now, tz), 2))
    return fires[1] - fires[0] if len(fires) == 2 else None


def assess(
    latest: Mapping[str, HealthEntry],
    tasks: Sequence[Task] | None,
    now: datetime,
    tz: tzinfo,
    *,
    cycle: timedelta,
    active: ActiveHours | None = None,
    known: Mapping[str, tuple[datetime | None, datetime | None]] | None = None,
) -> list[TaskHealth]:
    """One line per task (pending tasks first, in file order): status, age, overdue.

    `tasks` are all tasks of HEARTBEAT.md (None: it could not be read, so no
    overdue checks and every error counts); `known` maps task ids to the
    ledger's (first_seen, last_run_at). A pending recurring task is overdue
    when the second time it was expected to run after its last run (or after
    it was first seen) is more than one heartbeat interval past: two periods
    without a run. Slots outside the active hours count from when they open.
    """
    from localhb.format.model import Section
    from localhb.timing.schedule import resolve_local

    now = now.astimezone(UTC)
    known = known or {}
    pending = {t.id: t for t in tasks or () if t.section is Section.PENDING}
    in_file = {t.id for t in tasks or ()}
    ids = list(dict.fromkeys([*pending, *sorted(latest)]))
    out: list[TaskHealth] = []
    for task_id in ids:
        entry = latest.get(task_id)
        task = pending.get(task_id)
        first_seen, ledger_last = known.get(task_id, (None, None))
        file_last = None
        if task is not None and task.last_run is not None:
            file_last = resolve_local(task.last_run, tz).astimezone(UTC)
        candidates = [t for t in (entry.when if entry else None, ledger_last, file_last) if t]
        last_at = max(candidates) if candidates else None
        recurring = task is not None and task.recurrence is not None
        period = due_by = None
        overdue = False
        if tasks is None:
            note = ""
        elif task is None:
            note = "completed" if task_id in in_file else "not in HEARTBEAT.md"
        elif task.recurrence is None:
            note = task.kind.value
        elif task.paused is not None:
            note = "paused"
        else:
            period = _period(task, now, tz, cycle)
            since = last_at or first_seen
            note = "" if last_at else "never run"
            if since is None:
                note = "never run; not yet seen by the ledger"
            else:
                moments = list(islice(_opportunities(task, since, tz, cycle, active), 2))
                if len(moments) == 2:
                    grace = timedelta(0) if task.recurrence.every_cycle else cycle
                    due_by = moments[1] + grace
                    overdue = now > due_by
        out.append(
            TaskHealth(
                task_id=task_id,
                status=entry.status if entry else None,
                last_at=last_at,
                age=(now - last_at) if last_at else None,
                summary=entry.summary if entry else "",
                errors=entry.errors if entry else (),
                tracked=tasks is None or task is not None,
                recurring=recurring,
                period=period,
                due_by=due_by,
                overdue=overdue,
                note=note,
            )
        )
    return out
