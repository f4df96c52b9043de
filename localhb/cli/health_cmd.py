"""`localhb health`: each task's last status and age from the health files, and
which recurring tasks are overdue. For monitoring: exit 1 when a pending task's
latest run ended in error, a recurring task is overdue, or nothing can run
(HEARTBEAT.md missing or with errors, state.db unreadable, the last cycle
failed: see localhb.state.health_checks), else 0; 2 for usage or config errors.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timedelta, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from localhb.state.health import TaskHealth

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
_LIMITS = (32, 8, 16, 8, 70)


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "health",
        help="show each task's last status and age; flag errors and overdue tasks",
        description="Read the health files and list each task's last status and age, "
        "flagging recurring tasks with no run in two periods. Exit 1 when a pending "
        "task's last run ended in error, a task is overdue, or nothing can run "
        "(HEARTBEAT.md missing or with errors, state.db unreadable, the last cycle "
        "failed), else 0.",
    )
    p.add_argument("--file", type=Path, help="the HEARTBEAT.md (default: [heartbeat] file)")
    p.add_argument(
        "--now", metavar='"YYYY-MM-DD HH:MM"', help="evaluate as if it were this (local) time"
    )
    p.add_argument("--json", action="store_true", help="print a JSON object instead of a table")
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from localhb.cli.common import load, moment, read_document
    from localhb.core.errors import HeartbeatFileError, LedgerError
    from localhb.state.health import assess, scan_health
    from localhb.state.health_checks import heartbeat_failures, ledger_failures
    from localhb.state.store import existing_store

    config = load(args)
    tz = config.tz()
    now = moment(args.now, tz) if args.now else datetime.now(tz)

    scan = scan_health(config.health_dir)
    path: Path = args.file or config.heartbeat.file
    skipped: str | None = None
    doc_errors: tuple[Any, ...] = ()
    try:
        doc = read_document(path, config)
        tasks, doc_errors = doc.tasks, tuple(doc.errors)
    except HeartbeatFileError as exc:
        tasks, skipped = None, str(exc)
    setup = [*heartbeat_failures(path, skipped, doc_errors), *ledger_failures(config.state_db, tz)]

    known: dict[str, tuple[datetime | None, datetime | None]] = {}
    notes: list[str] = []
    try:
        with existing_store(config) as store:
            snapshots = store.snapshots() if store is not None else {}
        known = {k: (s.first_seen, s.last_run_at) for k, s in snapshots.items()}
    except LedgerError as exc:
        notes.append(f"ledger not used: {exc}")

    rows = assess(
        scan.latest(),
        tasks,
        now,
        tz,
        cycle=config.heartbeat.interval,
        active=config.heartbeat.active_hours,
        known=known,
    )
    failing = bool(setup) or any(r.failing for r in rows)
    failed_sends = _failed_sends(config, now)
    if args.json:
        out: dict[str, Any] = {
            "now": now.isoformat(),
            "ok": not failing,
            "health_dir": str(config.health_dir),
            "overdue_checked": skipped is None,
            "overdue_skipped_reason": skipped,
            "tasks": [_row_dict(r) for r in rows],
            "problems": [*scan.problems, *notes],
            "failed_deliveries": [d.to_dict() for d in failed_sends],
            "setup_ok": not setup,
            "setup_failures": [f.to_dict() for f in setup],
        }
        print(json.dumps(out, ensure_ascii=False, indent=2))
        return EXIT_FAILED if failing else EXIT_OK

    for problem in (*scan.problems, *notes):
        print(f"localhb: warning: {problem}", file=sys.stderr)
    for f in setup:
        print(f"FAILING: {f.reason}")
    if rows:
        print(format_health(rows, now, tz))
    else:
        print(f"no health files yet in {config.health_dir}")
    if skipped is not None:
        print(f"overdue checks skipped: cannot read HEARTBEAT.md: {skipped}")
    if failed_sends:
        targets = ", ".join(sorted({d.target for d in failed_sends}))
        print(
            f"notifications: {len(failed_sends)} failed in the last 24 h (to {targets}); "
            "runs keep their status (`localhb deliveries`)"
        )
    return EXIT_FAILED if failing else EXIT_OK


def _failed_sends(config: Any, now: datetime) -> list[Any]:
    """Notification deliveries that failed in the last 24 hours (none without a ledger)."""
    if not config.state_db.exists():
        return []
    from datetime import timedelta

    from localhb.core.errors import LedgerError
    from localhb.state.deliveries import DeliveryLog

    try:
        with DeliveryLog.open(config.state_db) as log:
            return log.failed_since(now - timedelta(hours=24))
    except LedgerError:
        return []


def _row_dict(r: TaskHealth) -> dict[str, Any]:
    return {
        "task_id": r.task_id,
        "status": r.status,
        "last_run_at": _z(r.last_at),
        "age_seconds": None if r.age is None else round(r.age.total_seconds()),
        "summary": r.summary,
        "errors": list(r.errors),
        "recurring": r.recurring,
        "period_seconds": None if r.period is None else round(r.period.total_seconds()),
        "due_by": _z(r.due_by),
        "overdue": r.overdue,
        "failing": r.failing,
        "note": r.note,
    }


def _z(dt: datetime | None) -> str | None:
    return None if dt is None else dt.isoformat().replace("+00:00", "Z")


def format_health(rows: list[TaskHealth], now: datetime, tz: tzinfo) -> str:
    """The table `localhb health` prints, with a count line; times in `tz`."""
    header = ("TASK", "STATUS", "LAST RUN", "AGE", "NOTE")
    body = []
    for r in rows:
        if r.overdue and r.due_by is not None:
            when = r.due_by.astimezone(tz).strftime("%Y-%m-%d %H:%M")
            note = f"OVERDUE since {when}" + (f" (every {age_text(r.period)})" if r.period else "")
        elif r.status == "error" and r.errors:
            note = r.errors[0]
        else:
            note = r.summary
        if r.note and not r.overdue:
            note = f"[{r.note}] {note}".strip()
        body.append(
            (
                r.task_id,
                r.status or "-",
                "-" if r.last_at is None else r.last_at.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
                "-" if r.age is None else age_text(r.age),
                note,
            )
        )
    cells = [tuple(_clip(c, w) for c, w in zip(row, _LIMITS, strict=True)) for row in body]
    widths = [max(len(r[i]) for r in [header, *cells]) for i in range(len(header))]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
        for row in [header, *cells]
    ]
    counts: dict[str, int] = {}
    for r in rows:
        counts[r.status or "never run"] = counts.get(r.status or "never run", 0) + 1
    overdue = sum(r.overdue for r in rows)
    parts = [f"{n} {k}" for k, n in sorted(counts.items())]
    if overdue:
        parts.append(f"{overdue} overdue")
    lines.append(
        f"{len(rows)} task(s): {', '.join(parts)} (as of {now.astimezone(tz):%Y-%m-%d %H:%M %Z})"
    )
    return "\n".join(lines)


def age_text(age: timedelta) -> str:
    """45s, 12m, 5h, 5h 02m, 3d, 3d 04h."""
    seconds = max(0, int(age.total_seconds()))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m"
    big, small, unit = (3600, 60, "h") if seconds < 86400 else (86400, 3600, "d")
    rest = seconds % big // small
    head = f"{seconds // big}{unit}"
    return head if rest == 0 else f"{head} {rest:02d}{'m' if unit == 'h' else 'h'}"


def _clip(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"
