"""Health files, written: the record of one run, its file names, atomic writes and
the format check (`validate_health`). The format is described in `localhb.state.health`,
which re-exports every public name here."""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from localhb.core.results import FAILED_STATES, STATUS_VALUES
from localhb.state.records import RunEnd

if TYPE_CHECKING:
    from localhb.state.ledger import RunRow

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
DATED_NAME = re.compile(r"^(\d{4}-\d{2}-\d{2})_(.+)_(\d{4})\.json$")
DATED = re.compile(r"^(\d{4}-\d{2}-\d{2})_.+_(\d{2})(\d{2})\.json$")


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
        errors = [one_line_within(e, ENTRY_LIMIT) for e in self.errors if e.strip()]
        if self.status in _EXPLAINED:
            errors.insert(0, _EXPLAINED[self.status])
        warnings = [one_line_within(w, ENTRY_LIMIT) for w in self.warnings if w.strip()]
        started = self.started_at.astimezone(UTC)
        completed = max(self.completed_at.astimezone(UTC), started)
        duration = self.duration
        if duration is None or duration < 0:
            duration = (completed - started).total_seconds()
        summary = one_line_within(self.summary, SUMMARY_LIMIT) or _EXPLAINED.get(
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


def one_line_within(text: str, limit: int) -> str:
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
        elif summary != one_line_within(summary, SUMMARY_LIMIT) or not summary:
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
