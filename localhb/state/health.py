"""Health files: one small JSON file per task run, for dashboards and watchdogs.

    $LOCALHB_HOME/health/<YYYY-MM-DD>_<task-id>_<HHMM>.json   one per run (UTC start)
    $LOCALHB_HOME/health/<task-id>_latest.json                 a copy of the newest

Each holds `task_id`, `status` (ok | partial | skipped | error), `started_at`,
`completed_at` (ISO 8601, `Z`), `summary` (one line, < 200 characters),
`warnings`, `errors` and `metrics`; none is ever null. Writes are atomic.

Reading is lenient (legacy GREEN/YELLOW/RED read as ok/partial/error, odd
files become problems, never exceptions) and `assess()` decides, without
reading the clock, which recurring tasks are overdue.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

from localhb.core.results import FAILED_STATES, STATUS_VALUES
from localhb.state.records import RunEnd

if TYPE_CHECKING:
    from localhb.format.model import Task
    from localhb.state.ledger import RunRow
    from localhb.timing.schedule import ActiveHours

__all__ = [
    "CANONICAL",
    "LEGACY",
    "METRIC_KEYS",
    "SUMMARY_LIMIT",
    "HealthEntry",
    "HealthRecord",
    "HealthScan",
    "TaskHealth",
    "assess",
    "health_filename",
    "latest_filename",
    "record_from_end",
    "record_from_result",
    "safe_name",
    "scan_health",
    "validate_health",
    "write_health",
]

CANONICAL = STATUS_VALUES
LEGACY = {"GREEN": "ok", "YELLOW": "partial", "RED": "error"}
"""Statuses of old files, read (never written) with this equivalence."""
REQUIRED = (
    "task_id",
    "status",
    "started_at",
    "completed_at",
    "summary",
    "warnings",
    "errors",
    "metrics",
)
METRIC_KEYS = ("prompt_tokens", "completion_tokens", "steps", "tool_calls", "duration_seconds")
SUMMARY_LIMIT = 200
"""A summary is shorter than this many characters."""
ENTRY_LIMIT = 500  # one warning or error, in characters
ENTRIES_MAX = 20  # warnings or errors kept per file
NAME_BYTES = 120  # the task part of a file name, in UTF-8 bytes
_EXPLAINED = {
    "timeout": "timed out: the run reached its time limit and was stopped",
    "abandoned": "abandoned: the run's process ended or stopped answering before it finished",
}
_STAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?Z$")
_DATED_NAME = re.compile(r"^(\d{4}-\d{2}-\d{2})_(.+)_(\d{4})\.json$")
_DATED = re.compile(r"^(\d{4}-\d{2}-\d{2})_.+_(\d{2})(\d{2})\.json$")


# --- writing ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HealthRecord:
    """One run, from plain values. `status` may also be a ledger `timeout` or
    `abandoned`: those are written as `error` with an explaining error entry."""

    task_id: str
    status: str
    started_at: datetime
    completed_at: datetime
    summary: str = ""
    warnings: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()
    prompt_tokens: int = 0
    completion_tokens: int = 0
    steps: int = 0
    tool_calls: int = 0
    duration: float | None = None  # seconds; None: completed_at - started_at
    extra_metrics: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.task_id.strip():
            raise ValueError("task_id must not be empty")
        if self.status not in CANONICAL and self.status not in _EXPLAINED:
            known = ", ".join((*CANONICAL, *_EXPLAINED))
            raise ValueError(f"status must be one of {known}, got {self.status!r}")
        for name in ("started_at", "completed_at"):
            value = getattr(self, name)
            if value.tzinfo is None or value.utcoffset() is None:
                raise ValueError(f"{name} must be timezone-aware, got {value!r}")

    @classmethod
    def from_run(
        cls, run: RunRow, *, warnings: Sequence[str] = (), errors: Sequence[str] = ()
    ) -> HealthRecord:
        """The record of a finished ledger run (its error, if any, listed first)."""
        if run.completed_at is None:
            raise ValueError(f"run {run.id} of {run.task_id} has not finished ({run.state})")
        errs = [run.error] if run.error and run.state in FAILED_STATES else []
        return cls(
            task_id=run.task_id,
            status=run.state,
            started_at=run.started_at,
            completed_at=run.completed_at,
            summary=run.summary or "",
            warnings=tuple(warnings),
            errors=(*errs, *errors),
            prompt_tokens=run.prompt_tokens,
            completion_tokens=run.completion_tokens,
            steps=run.steps,
            tool_calls=run.tool_calls,
            duration=run.duration,
            extra_metrics={"attempt": run.attempt},
        )

    def to_dict(self) -> dict[str, Any]:
        """The file's JSON object: canonical status, Z times, sanitised text."""
        status = "error" if self.status in _EXPLAINED else self.status
        errors = [_one_line(e, ENTRY_LIMIT) for e in self.errors if e.strip()]
        if self.status in _EXPLAINED:
            errors.insert(0, _EXPLAINED[self.status])
        warnings = [_one_line(w, ENTRY_LIMIT) for w in self.warnings if w.strip()]
        started = self.started_at.astimezone(UTC)
        completed = max(self.completed_at.astimezone(UTC), started)
        duration = self.duration
        if duration is None or duration < 0:
            duration = (completed - started).total_seconds()
        summary = _one_line(self.summary, SUMMARY_LIMIT) or _EXPLAINED.get(
            self.status, f"{self.status}: no summary given"
        )
        metrics: dict[str, Any] = {
            **{k: v for k, v in self.extra_metrics.items() if v is not None},
            "prompt_tokens": max(0, self.prompt_tokens),
            "completion_tokens": max(0, self.completion_tokens),
            "steps": max(0, self.steps),
            "tool_calls": max(0, self.tool_calls),
            "duration_seconds": round(duration, 3),
        }
        return {
            "task_id": self.task_id,
            "status": status,
            "started_at": _z(started),
            "completed_at": _z(completed),
            "summary": summary,
            "warnings": warnings[:ENTRIES_MAX],
            "errors": errors[:ENTRIES_MAX],
            "metrics": metrics,
        }


def record_from_end(
    task_id: str, end: RunEnd, started_at: datetime, completed_at: datetime
) -> HealthRecord:
    """The record of a run that ended as `end` (the same value the ledger stored).

    Errors of a run that did not fail become warnings, with a count of the
    tool calls that did not succeed.
    """
    errors = list(end.errors)
    if end.state not in FAILED_STATES:
        warnings, errors = errors, []
    else:
        warnings = []
    if end.tool_errors:
        warnings.append(f"{end.tool_errors} tool call(s) did not succeed")
    return HealthRecord(
        task_id=task_id,
        status=end.state,
        started_at=started_at,
        completed_at=completed_at,
        summary=end.summary or "",
        warnings=tuple(warnings),
        errors=tuple(errors),
        prompt_tokens=end.prompt_tokens,
        completion_tokens=end.completion_tokens,
        steps=end.steps,
        tool_calls=end.tool_calls,
        duration=end.seconds,
        extra_metrics={"tool_errors": end.tool_errors} if end.tool_errors else {},
    )


def record_from_result(
    task_id: str,
    status: str,
    summary: str,
    started_at: datetime,
    completed_at: datetime,
    result: Mapping[str, Any],
) -> HealthRecord:
    """A record from a run's outcome and its result's `to_dict()` (see `RunEnd.from_result`)."""
    end = RunEnd.from_result(status, result, summary=summary)
    return record_from_end(task_id, end, started_at, completed_at)


def _z(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _one_line(text: str, limit: int) -> str:
    """Printable, single-spaced, one line, shorter than `limit` characters."""
    printable = "".join(" " if unicodedata.category(ch)[0] in "CZ" else ch for ch in text)
    flat = " ".join(printable.split())
    if len(flat) < limit:
        return flat
    return flat[: limit - 2].rstrip() + "…"


def safe_name(task_id: str) -> str:
    """The task id as a file-name part: readable, no `/`, no `..`, no leading dot.

    Letters and digits of any script, `_`, `-` and single `.` are kept (NFC);
    anything else becomes `-`. When that changed the id, or it is longer than
    120 UTF-8 bytes, 8 hex digits of the id's SHA-256 are appended so that two
    ids never share a file name.
    """
    nfc = unicodedata.normalize("NFC", task_id)
    name = re.sub(r"[^\w.-]+", "-", nfc)
    name = re.sub(r"\.{2,}", ".", name).strip(".-")
    cut = name.encode("utf-8")[:NAME_BYTES].decode("utf-8", "ignore").rstrip(".-")
    if cut == task_id and cut:
        return cut
    digest = hashlib.sha256(task_id.encode("utf-8")).hexdigest()[:8]
    return f"{cut}-{digest}" if cut else f"task-{digest}"


def health_filename(task_id: str, started_at: datetime) -> str:
    """`<YYYY-MM-DD>_<task-id>_<HHMM>.json`, the date and time of the start in UTC."""
    start = started_at.astimezone(UTC)
    return f"{start:%Y-%m-%d}_{safe_name(task_id)}_{start:%H%M}.json"


def latest_filename(task_id: str) -> str:
    return f"{safe_name(task_id)}_latest.json"


def write_health(directory: Path, record: HealthRecord) -> Path:
    """Write the run's dated file and the task's `_latest` copy, each atomically.

    Returns the dated file's path. Raises ValueError if the record cannot make
    a valid file (a bug in the caller), OSError if the disk refuses.
    """
    from localhb.state.files import write_atomic

    data = record.to_dict()
    problems = validate_health(data)
    if problems:
        raise ValueError(f"health record for {record.task_id!r}: " + "; ".join(problems))
    text = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / health_filename(record.task_id, record.started_at)
    write_atomic(path, text)
    write_atomic(directory / latest_filename(record.task_id), text)
    return path


def validate_health(obj: object) -> list[str]:
    """Every way `obj` breaks the health-file schema; empty when it is valid."""
    if not isinstance(obj, dict):
        return [f"expected a JSON object, got {type(obj).__name__}"]
    problems = [f"{key}: missing" for key in REQUIRED if key not in obj]
    problems += [f"{key}: null" for key in REQUIRED if key in obj and obj[key] is None]
    task_id = obj.get("task_id")
    if task_id is not None and not (isinstance(task_id, str) and task_id.strip()):
        problems.append(f"task_id: expected a non-empty string, got {task_id!r}")
    status = obj.get("status")
    if status is not None and status not in CANONICAL:
        problems.append(f"status: expected one of {', '.join(CANONICAL)}, got {status!r}")
    times = {}
    for key in ("started_at", "completed_at"):
        value = obj.get(key)
        if value is None:
            continue
        if not isinstance(value, str) or not _STAMP.match(value):
            problems.append(
                f"{key}: expected ISO 8601 UTC like 2026-05-02T01:55:00Z, got {value!r}"
            )
            continue
        try:
            times[key] = datetime.fromisoformat(value)
        except ValueError:
            problems.append(f"{key}: not a real date and time: {value!r}")
    if len(times) == 2 and times["completed_at"] < times["started_at"]:
        problems.append("completed_at: before started_at")
    summary = obj.get("summary")
    if summary is not None:
        if not isinstance(summary, str):
            problems.append(f"summary: expected a string, got {type(summary).__name__}")
        elif len(summary) >= SUMMARY_LIMIT:
            problems.append(f"summary: {len(summary)} characters, must be under {SUMMARY_LIMIT}")
        elif summary != _one_line(summary, SUMMARY_LIMIT) or not summary:
            problems.append("summary: must be one non-empty line of printable text")
    for key in ("warnings", "errors"):
        value = obj.get(key)
        if value is not None and not (
            isinstance(value, list) and all(isinstance(v, str) for v in value)
        ):
            problems.append(f"{key}: expected a list of strings")
    metrics = obj.get("metrics")
    if metrics is not None:
        if not isinstance(metrics, dict):
            problems.append("metrics: expected an object")
        else:
            for key in METRIC_KEYS:
                value = metrics.get(key)
                if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                    problems.append(f"metrics.{key}: expected a number >= 0, got {value!r}")
            problems += [f"metrics.{k}: null" for k, v in metrics.items() if v is None]
    return problems


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
        m = _DATED.match(path.name)
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
        summary=_one_line(summary, SUMMARY_LIMIT) if isinstance(summary, str) else "",
        errors=tuple(str(e) for e in errors) if isinstance(errors, list) else (),
        path=path,
    )
    return entry, notes


def scan_health(directory: Path) -> HealthScan:
    """Read a health directory (nothing if it is missing); never raises on content.

    Of the dated `<date>_<task>_<HHMM>.json` files only each task's newest is
    read (the next one if it is unreadable), so years of runs stay fast; every
    other `*.json` (`_latest` copies, older naming schemes) is read too.
    """
    entries: list[HealthEntry] = []
    problems: list[str] = []
    try:
        paths = sorted(p for p in directory.iterdir() if p.suffix == ".json" and p.is_file())
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
        m = _DATED_NAME.match(path.name)
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
