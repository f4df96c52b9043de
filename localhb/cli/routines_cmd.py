"""`localhb routines list | add NAME [--at SCHEDULE]`: the routines localhb ships.

A routine is an ordinary task in HEARTBEAT.md (see docs/routines.md): `add`
appends it under ## Pending through the same compare-and-swap edit as
`localhb add`, and refuses (exit 2) a routine that is already in the file.
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime
from pathlib import Path

EXIT_OK = 0


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "routines",
        help="list or add the routines localhb ships (memory distillation, self-audit)",
        description="The routines localhb ships, as tasks you can read, reschedule, edit or "
        "delete like any other: `list` shows them, `add NAME` appends one under ## Pending.",
    )
    sub = p.add_subparsers(dest="routines_command", metavar="COMMAND", required=True)
    ls = sub.add_parser("list", help="the shipped routines, their default schedule and use")
    ls.add_argument("--json", action="store_true", help="print JSON")
    ls.set_defaults(handler=handle_list)
    add = sub.add_parser(
        "add",
        help="append a routine's task under ## Pending",
        description="Append a routine's task under ## Pending (exit 2 when it is there already).",
    )
    add.add_argument("name", metavar="NAME", help="distill or audit")
    add.add_argument(
        "--at", metavar="SCHEDULE", help='instead of the default, e.g. "daily at 03:30"'
    )
    add.add_argument("--file", type=Path, help="the HEARTBEAT.md (default: [heartbeat] file)")
    add.set_defaults(handler=handle_add)


def handle_list(args: argparse.Namespace) -> int:
    from localhb.config import load_config
    from localhb.core.errors import HeartbeatFileError
    from localhb.cycle.routines import ROUTINES, present

    config = load_config(args.config, home=args.home)
    try:
        there = present(config)
    except HeartbeatFileError:
        there = {}
    rows = [
        {
            "name": r.name,
            "schedule": r.schedule,
            "tools": r.tools,
            "check": r.check,
            "what": r.summary,
            "in_file_as": there.get(r.name),
        }
        for r in ROUTINES.values()
    ]
    if args.json:
        print(json.dumps(rows, indent=2))
        return EXIT_OK
    for row in rows:
        where = f"in the file as {row['in_file_as']!r}" if row["in_file_as"] else "not added"
        print(f"{row['name']:<8} {row['schedule']:<15} {where}")
        print(f"         {row['what']}")
    print("add one with `localhb routines add NAME [--at SCHEDULE]`")
    return EXIT_OK


def handle_add(args: argparse.Namespace) -> int:
    from localhb.config import load_config
    from localhb.cycle.routines import add_routine

    config = load_config(args.config, home=args.home)
    tz = config.tz()
    added = add_routine(config, args.name, datetime.now(tz), schedule=args.at, path=args.file)
    print(f"added to {added.path}:")
    print(added.text.rstrip("\r\n"))
    print(f"next run: {added.describe(tz)}")
    for w in added.warnings:
        print(f"warning: {w}")
    return EXIT_OK
