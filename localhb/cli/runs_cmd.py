"""`localhb runs`: the run history from the ledger (state.db), newest first.

Exit 0 (also when there is no state.db yet: "no runs yet"); 2 when the
config or the database is unusable.
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any

from localhb.cli.common import count, duration_text

if TYPE_CHECKING:
    from localhb.state.deliveries import Delivery
    from localhb.state.ledger import RunRow

EXIT_OK = 0
_TASK_MIN = 10
"""A task id keeps at least this many characters (plus its marker)."""
_SUMMARY_MIN = 8


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "runs",
        help="show the run history (newest first) from the ledger",
        description="Print the latest runs recorded in state.db, newest first: start "
        "time (local), task, slot, state, status, duration, tokens and summary, fitted to "
        "the terminal's width. `localhb runs show RUN_ID|TASK_ID` prints one run's trace. "
        'Prints "no runs yet" when nothing has run. Exits 0, or 2 on a config or '
        "ledger error.",
    )
    p.add_argument("--task", metavar="ID", help="only the runs of this task")
    p.add_argument(
        "--limit", type=count, default=50, metavar="N", help="at most N runs (default 50)"
    )
    p.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    p.set_defaults(handler=handle)
    from localhb.cli.runs_show import add_parser as add_show

    actions = p.add_subparsers(dest="runs_command", metavar="ACTION", required=False)
    add_show(actions)


def handle(args: argparse.Namespace) -> int:
    from localhb.cli.common import load
    from localhb.state.store import existing_store

    config = load(args)
    rows: list[RunRow] = []
    with existing_store(config) as store:
        if store is not None:
            rows = store.runs(args.task, args.limit)
    failed = _failed_deliveries(config, [r.id for r in rows])
    if args.json:
        out = []
        for r in rows:
            item = r.to_dict()
            item["failed_deliveries"] = [
                {"target": d.target, "attempts": d.attempts, "error": d.error}
                for d in failed.get(r.id, [])
            ]
            out.append(item)
        print(json.dumps(out, ensure_ascii=False, indent=2))
        return EXIT_OK
    if not rows:
        print(f"no runs of {args.task} yet" if args.task else "no runs yet")
        return EXIT_OK
    print(format_runs(rows, config.tz()))
    for run_id, items in failed.items():
        for d in items:
            print(
                f"run {run_id}: notification to {d.target} failed after {d.attempts} "
                f"attempt(s): {d.error or 'no answer'} (the run's status stands; "
                "`localhb deliveries`)"
            )
    return EXIT_OK


def _failed_deliveries(config: Any, run_ids: list[int]) -> dict[int, list[Delivery]]:
    """Failed notification deliveries of these runs (none when there is no ledger)."""
    if not run_ids or not config.state_db.exists():
        return {}
    from localhb.state.deliveries import DeliveryLog

    with DeliveryLog.open(config.state_db) as log:
        return log.failed_for_runs(run_ids)


def format_runs(rows: list[RunRow], tz: tzinfo, width: int | None = None) -> str:
    """The table `localhb runs` prints; times in `tz`.

    The table fits `width` columns (the terminal's, by default): the summary
    gives way first, then the task id; the `(check)`, `[manual]` and `#2` markers are never cut.
    A slot on the day its run started shows as its time alone.
    """
    if width is None:
        width = terminal_width()
    header = ("STARTED", "TASK", "SLOT", "STATE", "STATUS", "TOOK", "TOKENS", "SUMMARY")
    body = [
        [
            r.started_at.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
            r.task_id,
            _slot(r.slot, tz, r.started_at) + (f" #{r.attempt}" if r.attempt > 1 else ""),
            r.state,
            r.status or "-",
            "-" if r.duration is None else duration_text(r.duration),
            str(r.prompt_tokens + r.completion_tokens or "-"),
            " ".join((r.summary or r.error or "").split()),
        ]
        for r in rows
    ]
    marks = [
        ("" if r.kind == "task" else f" ({r.kind})")
        + ("" if r.trigger == "schedule" else f" [{r.trigger}]")
        for r in rows
    ]
    fixed = [max(len(header[i]), *(len(b[i]) for b in body)) for i in (0, 2, 3, 4, 5, 6)]
    room = width - sum(fixed) - 2 * (len(header) - 1)
    task_need = max(len(header[1]), *(len(b[1]) + len(m) for b, m in zip(body, marks, strict=True)))
    summary_need = max(len(header[7]), *(len(b[7]) for b in body))
    task_w = min(task_need, max(room - min(summary_need, _SUMMARY_MIN), _TASK_MIN))
    summary_w = max(room - task_w, _SUMMARY_MIN)
    for b, mark in zip(body, marks, strict=True):
        b[1] = _clip(b[1], max(task_w - len(mark), 1)) + mark
        b[7] = _clip(b[7], summary_w)
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
        for row in [header, *body]
    )


def terminal_width() -> int:
    """$COLUMNS, else the terminal's width, else 120 (output to a pipe or file)."""
    import shutil

    return shutil.get_terminal_size((120, 24)).columns


def _slot(slot: str, tz: tzinfo, started: datetime) -> str:
    """The slot in `tz`; only its time when it falls on the day the run started."""
    try:
        at = datetime.fromisoformat(slot)
    except ValueError:
        return slot
    if at.tzinfo is None:
        return slot
    local = at.astimezone(tz)
    same_day = local.date() == started.astimezone(tz).date()
    return local.strftime("%H:%M" if same_day else "%Y-%m-%d %H:%M")


def _clip(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"
