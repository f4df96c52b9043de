"""`localhb doctor`: check the endpoint the way a newcomer needs it checked.

Prints one line per check (ok, warn, FAIL, skip) and a fix under each that
is not ok; `--json` prints the checks as a JSON list. Exit 0 when nothing
failed, 1 when a check failed, 2 for a config error.
"""

from __future__ import annotations

import argparse
import json
import os

EXIT_OK = 0
EXIT_FAILED = 1


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "doctor",
        help="check config, key, endpoint, model, tool calls and MCP servers; print fixes",
        description="Check what a run needs from the endpoint: the config and key, that the "
        "endpoint answers, that [llm] model is offered (/models), that one tiny request "
        "with one tool brings a tool call back, and for llama.cpp that the /props chat "
        "template supports tools; then start each [[mcp.servers]] entry and list its tools "
        "(or show why it does not start). Exit 0 when nothing failed, 1 when a check failed.",
    )
    p.add_argument("--json", action="store_true", help="print the checks as a JSON list")
    p.add_argument(
        "--timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help="per request (default: [llm] request_timeout)",
    )
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from localhb.agent.doctor import mcp_checks, run_checks, sandbox_check
    from localhb.cli.common import load

    config = load(args)
    timeout = args.timeout or config.llm.request_timeout
    checks = run_checks(config, os.environ, timeout=timeout)
    checks += [sandbox_check(config), *mcp_checks(config)]
    if args.json:
        print(json.dumps([c.to_dict() for c in checks], ensure_ascii=False, indent=2))
    else:
        for c in checks:
            mark = {"ok": "ok  ", "warn": "warn", "fail": "FAIL", "skip": "skip"}[c.status]
            print(f"{mark} {c.name:<9} {c.detail}")
            if c.fix and c.status != "ok":
                print(f"     {'':<9} fix: {c.fix}")
    failed = any(c.status == "fail" for c in checks)
    mcp = bool(config.mcp.servers)
    if not args.json:
        ready = "the endpoint and MCP servers look ready" if mcp else "the endpoint looks ready"
        print("doctor: " + ("problems found" if failed else ready))
    return EXIT_FAILED if failed else EXIT_OK


def suggestion(what: str) -> str:
    """What `localhb run` prints after a setup failure."""
    return f"localhb: a setup problem ({what}), not the task's: run `localhb doctor`"
