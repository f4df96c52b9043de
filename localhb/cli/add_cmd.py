"""`localhb add TITLE`: append a task under ## Pending without opening an editor.

Relative times ("in 2 hours", "tomorrow at 9", "next Monday at 10:00") are
computed in the configured zone and written as absolute `Due:` values. The
edit is the runner's surgical compare-and-swap, so a concurrent hand edit is
kept. Exit 0 when added; 2 when refused (the file is left untouched).
"""

from __future__ import annotations

import argparse
from datetime import datetime
from pathlib import Path

EXIT_OK = 0


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "add",
        help="add a task under ## Pending (relative times become absolute Due values)",
        description="Append a task to HEARTBEAT.md under ## Pending (created if missing). "
        'Relative times such as "in 2 hours", "tomorrow at 9" or "next Monday at 10:00" '
        "are computed in the configured zone and written as absolute Due values. Prints "
        "the task as written and when it will next run. Exit 2, leaving the file "
        "untouched, for anything `localhb validate` would reject.",
    )
    p.add_argument("title", metavar="TITLE", help="the task's title (its heading)")
    when = p.add_mutually_exclusive_group()
    when.add_argument(
        "--due", metavar="WHEN", help='"in 2 hours", "tomorrow at 9", "2026-12-24 09:00", ...'
    )
    when.add_argument(
        "--every",
        metavar="SCHEDULE",
        help='a recurrence: "weekdays at 08:00", "every 2h" (or "2h")',
    )
    when.add_argument(
        "--condition", metavar="TEXT", help="run when this holds (checked each cycle)"
    )
    p.add_argument("--description", metavar="TEXT", help="what the agent should do")
    p.add_argument(
        "--run",
        metavar="COMMAND",
        help="a `- Run:` task: run this command, no model (a cron line moved in)",
    )
    p.add_argument("--priority", choices=("high", "medium", "low"), help="default: medium")
    p.add_argument("--notify", metavar="TARGETS", help="who to tell when it finishes")
    p.add_argument("--file", type=Path, help="the HEARTBEAT.md (default: [heartbeat] file)")
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from localhb.config import load_config
    from localhb.cycle.adding import AddRequest, add_task, prepare

    config = load_config(args.config, home=args.home)
    tz = config.tz()
    now = datetime.now(tz)
    request = AddRequest(
        title=args.title,
        due=args.due,
        every=args.every,
        condition=args.condition,
        description=args.description,
        priority=args.priority,
        notify=args.notify,
        run=args.run,
    )
    added = add_task(config, prepare(request, now, tz), now, path=args.file)
    print(f"added to {added.path}:")
    print(added.text.rstrip("\r\n"))
    print(f"next run: {added.describe(tz)}")
    for w in added.warnings:
        print(f"warning: {w}")
    return EXIT_OK
