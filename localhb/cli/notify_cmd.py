"""`localhb notify test [TARGET]` and `localhb deliveries`: try targets, read the delivery ledger.

`notify test` sends one test message to each target (or the one named) and
prints what it answered: exit 0 when all were delivered, 1 when one failed,
2 for a config error or an unknown target. `deliveries` lists the latest rows
of the delivery ledger (exit 0; "no deliveries yet" when there are none).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from datetime import UTC, datetime

from localhb.cli.common import count

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
_LIMITS = (16, 24, 10, 9, 10, 3, 60)


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "notify",
        help="notification targets: send a test message",
        description="Work with the targets of [notify.targets] (docs/notifications.md).",
    )
    sub = p.add_subparsers(dest="notify_command", metavar="ACTION", required=True)
    t = sub.add_parser(
        "test",
        help="send a test message and print what the target answered",
        description="Send one test message to TARGET (default: every target) and print "
        "each target's answer. Exit 0 when all were delivered, 1 when one failed, 2 for "
        "a config error or an unknown target. The test is recorded in the delivery ledger.",
    )
    t.add_argument("target", nargs="?", metavar="TARGET", help="a name from [notify.targets]")
    t.set_defaults(handler=handle_test)

    d = subparsers.add_parser(
        "deliveries",
        help="list recent notification deliveries and their status",
        description="Print the latest rows of the delivery ledger, newest first: when, "
        "task or alert, target, kind, status (pending, sending, sent, suppressed, failed), "
        "attempts and the last error or answer. Exits 0, or 2 on a config or ledger error.",
    )
    d.add_argument(
        "--limit", type=count, default=50, metavar="N", help="at most N rows (default 50)"
    )
    d.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    d.set_defaults(handler=handle_deliveries)


def handle_test(args: argparse.Namespace) -> int:
    from localhb.cli.common import load
    from localhb.core.redact import Redactor
    from localhb.notify.delivery import Deliverer
    from localhb.state.deliveries import DeliveryLog, NewDelivery

    config = load(args)
    names = config.notify.names
    if not names:
        print(
            "localhb: error: no targets: add one to [notify.targets] in config.toml",
            file=sys.stderr,
        )
        return EXIT_USAGE
    if args.target is not None and args.target not in names:
        print(
            f"localhb: error: no target {args.target!r} (defined: {', '.join(names)})",
            file=sys.stderr,
        )
        return EXIT_USAGE
    chosen = [args.target] if args.target else list(names)
    now = datetime.now(UTC)
    redact = Redactor.from_env(os.environ)
    failed = 0
    with DeliveryLog.open(config.state_db) as log:
        rows = [
            NewDelivery(
                key="test",
                target=name,
                kind="test",
                outcome="test",
                signature="test",
                status="pending",
                title="localhb: test message",
                body=f"A test from localhb to target {name!r} at {now:%Y-%m-%d %H:%M} UTC.",
            )
            for name in chosen
        ]
        ids = log.add(rows, now)
        cfg = config.notify
        once = dataclasses.replace(cfg, retries=0)  # a test answers now, not after backoff
        deliverer = Deliverer(log, once, redact=redact)
        for row_id in ids:
            claimed = log.claim(row_id, datetime.now(UTC), os.getpid())
            if claimed is None:
                continue
            deliverer.attempt(claimed)
            done = log.get(row_id)
            assert done is not None
            ok = done.status == "sent"
            failed += not ok
            answer = done.answer if ok else done.error
            print(f"{done.target}: {'sent' if ok else 'FAILED'}: {answer or ''}".rstrip())
    return EXIT_FAILED if failed else EXIT_OK


def handle_deliveries(args: argparse.Namespace) -> int:
    from localhb.cli.common import load
    from localhb.state.deliveries import DeliveryLog

    config = load(args)
    if args.limit < 1:
        _error(f"--limit: must be at least 1, got {args.limit}")
        return EXIT_USAGE
    rows = []
    if config.state_db.exists():
        with DeliveryLog.open(config.state_db) as log:
            rows = log.recent(args.limit)
    if args.json:
        print(json.dumps([r.to_dict() for r in rows], ensure_ascii=False, indent=2))
        return EXIT_OK
    if not rows:
        print("no deliveries yet")
        return EXIT_OK
    tz = config.tz()
    header = ("WHEN", "ABOUT", "TARGET", "KIND", "STATUS", "TRY", "DETAIL")
    body = [
        (
            r.created_at.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
            r.key + (f" (run {r.run_id})" if r.run_id else ""),
            r.target,
            r.kind,
            r.status + (" (repeat)" if r.repeat else ""),
            str(r.attempts),
            (r.error if r.status == "failed" else r.title) or "",
        )
        for r in rows
    ]
    cells = [tuple(_clip(c, w) for c, w in zip(row, _LIMITS, strict=True)) for row in body]
    widths = [max(len(r[i]) for r in [header, *cells]) for i in range(len(header))]
    print(
        "\n".join(
            "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
            for row in [header, *cells]
        )
    )
    return EXIT_OK


def _clip(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _error(message: str) -> None:
    print(f"localhb: error: {message}", file=sys.stderr)
