"""`localhb tasks`: each pending task, its schedule, when it really runs next and why.

NEXT DUE is the next time a cycle will run the task (`now`, a time today, or
a date and time), never a past slot; active hours are applied; REASON says
why (first run, slot 14:00, catch-up of 3 missed, held by active hours until
09:00, invalid). Columns align by display width, so CJK and emoji ids keep
the table straight.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timedelta, tzinfo
from pathlib import Path

from localhb.cli.common import EXIT_OK, load, moment
from localhb.core.textwidth import clip, ljust, width

__all__ = ["cmd_tasks", "table"]

HEADER = ("ID", "TYPE", "SCHEDULE", "NEXT DUE", "TOKENS", "STATE", "REASON")
LIMITS = (32, 12, 34, 16, 6, 16, 60)


def cmd_tasks(args: argparse.Namespace) -> int:
    from localhb.cycle.workspace import Workspace
    from localhb.state.store import existing_store
    from localhb.timing.nextrun import task_next_run

    config = load(args)
    path: Path = args.file or config.heartbeat.file
    with existing_store(config) as store:  # the history as the next cycle would see it
        ws = Workspace.load(config, store, file=path)
    tz, doc = ws.tz, ws.doc
    now = moment(args.at, tz, "--at") if args.at else datetime.now(tz)
    rows: list[dict[str, object]] = []
    for task in doc.pending():
        ev = ws.judge(task, now)
        nxt = task_next_run(
            task, ev, now, tz, config.heartbeat.active_hours, file_errors=len(doc.errors)
        )
        due_now = ev.due and nxt.at is not None and nxt.held_until is None
        when = ev.next_due if due_now else nxt.at  # due now: the slot it runs for
        rows.append(
            {
                "id": task.id,
                "title": task.title,
                "type": task.kind.value,
                "schedule": task.schedule_text,
                "next_due": when.astimezone(tz).isoformat() if when else None,
                "due_now": due_now,
                "held_until": nxt.held_until.astimezone(tz).isoformat() if nxt.held_until else None,
                "slots": [s.astimezone(tz).isoformat() for s in ev.slots],
                "state": ev.state.value,
                "reason": nxt.reason,
                "priority": task.priority.value,
                "uses_model": task.uses_model,
                "line": task.line,
            }
        )
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return EXIT_OK
    if not rows:
        print(f"{path}: no pending tasks")
        return EXIT_OK
    print(table(rows, now, tz))
    for d in doc.errors:
        print(d.format(str(path)), file=sys.stderr)
    if doc.errors:
        print(
            "localhb: the file has errors: `daemon heartbeat` runs nothing from it until "
            "they are fixed",
            file=sys.stderr,
        )
    return EXIT_OK


def _when(value: object, now: datetime, tz: tzinfo) -> str:
    if not isinstance(value, str):
        return "-"
    local = datetime.fromisoformat(value).astimezone(tz)
    if abs(local - now) < timedelta(minutes=1):
        return "now"
    fmt = "%H:%M" if local.date() == now.astimezone(tz).date() else "%Y-%m-%d %H:%M"
    return local.strftime(fmt)


def table(rows: list[dict[str, object]], now: datetime, tz: tzinfo) -> str:
    """The rows as aligned columns (by display width), then the moment they are as of."""
    body = [
        (
            str(r["id"]),
            str(r["type"]),
            str(r["schedule"]),
            "now" if r["due_now"] else _when(r["next_due"], now, tz),
            "model" if r["uses_model"] else "0",
            str(r["state"]) + (" (due now)" if r["due_now"] else ""),
            str(r["reason"]),
        )
        for r in rows
    ]
    cells = [tuple(clip(c, w) for c, w in zip(row, LIMITS, strict=True)) for row in body]
    widths = [max(width(r[i]) for r in [HEADER, *cells]) for i in range(len(HEADER))]
    lines = [
        "  ".join(ljust(c, w) for c, w in zip(row, widths, strict=True)).rstrip()
        for row in [HEADER, *cells]
    ]
    lines.append(f"(as of {now.astimezone(tz).strftime('%Y-%m-%d %H:%M %Z')})")
    return "\n".join(lines)
