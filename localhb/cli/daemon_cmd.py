"""`localhb daemon heartbeat`: one cycle, for cron or by hand."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from localhb.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE, load

HEARTBEAT_OK = "HEARTBEAT_OK"


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    daemon = sub.add_parser("daemon", help="heartbeat cycles: one now, or a background daemon")
    dsub = daemon.add_subparsers(dest="daemon_command", metavar="ACTION", required=True)
    p = dsub.add_parser(
        "heartbeat",
        help="run one heartbeat cycle now (for cron)",
        description="Run one cycle: active-hours gate, read, evaluate, run due tasks, update "
        "the file, record. Prints HEARTBEAT_OK when nothing is due, else one line per task. "
        "Exit 0 when all went well or idle, 1 when a task ended in error, 2 on a usage, "
        "config or file error (nothing changed).",
    )
    p.add_argument("--now", metavar='"YYYY-MM-DD HH:MM"', help="evaluate as if it were this time")
    p.add_argument("--dry-run", action="store_true", help="show what would run; call nothing")
    p.set_defaults(handler=cmd_heartbeat)


def parse_now(text: str, tz: object) -> datetime:
    """A --now value in the configured zone (or with its own offset)."""
    from datetime import tzinfo

    from localhb.parser import parse_when
    from localhb.schedule import resolve_local

    at = parse_when(text)
    assert isinstance(tz, tzinfo)
    return at if at.tzinfo else resolve_local(at, tz)


def fixed_clock(start: datetime) -> Callable[[], datetime]:
    """A clock that starts at `start` and advances with real time."""
    origin = time.monotonic()
    return lambda: start + timedelta(seconds=time.monotonic() - origin)


def cmd_heartbeat(args: argparse.Namespace) -> int:
    from localhb.logs import configure
    from localhb.runner import Runner, utc_now

    config = load(args)
    configure(config.log_dir)
    tz = config.tz()
    clock = utc_now
    start = None
    if args.now:
        try:
            start = parse_now(args.now, tz)
            clock = fixed_clock(start)
        except ValueError:
            print(
                f'localhb: error: --now: expected "YYYY-MM-DD HH:MM", got {args.now!r}',
                file=sys.stderr,
            )
            return EXIT_USAGE
    log = logging.getLogger("localhb")
    runner = Runner(config, clock=clock, on_event=_log_event)
    report = runner.cycle(now=start or clock(), dry_run=args.dry_run)
    if report.outcome == "idle":
        print(HEARTBEAT_OK)
        log.info("cycle: idle")
        return EXIT_OK
    if report.outcome in ("inactive", "locked"):
        print(report.message)
        return EXIT_OK
    if report.outcome == "dry-run":
        print("\n".join(report.planned))
        return EXIT_OK
    for line in report.results:
        kind = " (check)" if line.kind == "check" else ""
        print(f"{line.task_id}{kind}: {line.status} - {line.summary}")
    for warning in report.warnings:
        print(f"localhb: warning: {warning}", file=sys.stderr)
    return EXIT_FAILED if report.failed else EXIT_OK


def _log_event(event: object) -> None:
    from localhb.results import TraceEvent

    if isinstance(event, TraceEvent):
        logging.getLogger("localhb.trace").info(
            "%s [%s] %s %s %s",
            event.task_id,
            event.kind.value,
            event.tool,
            event.text,
            event.outcome,
        )
