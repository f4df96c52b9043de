"""`localhb runs`: the run history from the ledger (state.db), newest first.

Exit 0 (also when there is no state.db yet: "no runs yet"); 2 when the
config or the database is unusable.
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from localhb.state.ledger import RunRow

EXIT_OK = 0
_LIMITS = (16, 28, 16, 9, 9, 8, 7, 60)


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "runs",
        help="show the run history (newest first) from the ledger",
        description="Print the latest runs recorded in state.db, newest first: start "
        "time (local), task, slot, state, status, duration, tokens and summary. "
        'Prints "no runs yet" when nothing has run. Exits 0, or 2 on a config or '
        "ledger error.",
    )
    p.add_argument("--task", metavar="ID", help="only the runs of this task")
    p.add_argument(
        "--limit", type=_positive, default=50, metavar="N", help="at most N runs (default 50)"
    )
    p.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    p.set_defaults(handler=handle)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def handle(args: argparse.Namespace) -> int:
    from localhb.cli import load
    from localhb.state.ledger import Ledger

    config = load(args)
    rows: list[RunRow] = []
    if config.state_db.exists():
        with Ledger.open(config.state_db) as ledger:
            rows = ledger.runs(args.task, args.limit)
    if args.json:
        print(json.dumps([r.to_dict() for r in rows], ensure_ascii=False, indent=2))
        return EXIT_OK
    if not rows:
        print(f"no runs of {args.task} yet" if args.task else "no runs yet")
        return EXIT_OK
    print(format_runs(rows, config.tz()))
    return EXIT_OK


def format_runs(rows: list[RunRow], tz: tzinfo) -> str:
    """The table `localhb runs` prints; times in `tz`."""
    header = ("STARTED", "TASK", "SLOT", "STATE", "STATUS", "TOOK", "TOKENS", "SUMMARY")
    body = [
        (
            r.started_at.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
            r.task_id + ("" if r.kind == "task" else f" ({r.kind})"),
            _slot(r.slot, tz) + (f" #{r.attempt}" if r.attempt > 1 else ""),
            r.state,
            r.status or "-",
            "-" if r.duration is None else duration_text(r.duration),
            str(r.prompt_tokens + r.completion_tokens or "-"),
            r.summary or r.error or "",
        )
        for r in rows
    ]
    cells = [tuple(_clip(c, w) for c, w in zip(row, _LIMITS, strict=True)) for row in body]
    widths = [max(len(r[i]) for r in [header, *cells]) for i in range(len(header))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
        for row in [header, *cells]
    )


def _slot(slot: str, tz: tzinfo) -> str:
    try:
        at = datetime.fromisoformat(slot)
    except ValueError:
        return slot
    if at.tzinfo is None:
        return slot
    return at.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def duration_text(seconds: float) -> str:
    """12.3s, 4m05s, 2h03m, 3d04h."""
    if seconds < 60:
        return f"{seconds:.1f}s"
    whole = int(seconds)
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    if whole < 86400:
        return f"{whole // 3600}h{whole % 3600 // 60:02d}m"
    return f"{whole // 86400}d{whole % 86400 // 3600:02d}h"


def _clip(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"
