"""`localhb mcp list`: each configured MCP server, whether it starts, and its tools.

Exit 0 when every server starts (or none is configured); 1 when one does not;
2 on a config error.
"""

from __future__ import annotations

import argparse
import json
import shlex
from typing import Any

EXIT_OK = 0
EXIT_FAILED = 1


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "mcp",
        help="MCP tool servers: `mcp list` starts each configured server and lists its tools",
        description="Work with the [[mcp.servers]] of config.toml.",
    )
    sub = p.add_subparsers(dest="mcp_command", metavar="SUBCOMMAND", required=True)
    q = sub.add_parser(
        "list",
        help="start each configured server, list its tools as the agent sees them, stop it",
        description="Start each [[mcp.servers]] entry (within its timeout), print whether it "
        "started and its tools as the agent is offered them (`<server>__<tool>`), then stop "
        "it. Exit 0 when all start, 1 when one does not, 2 on a config error.",
    )
    q.add_argument("--json", action="store_true", help="print JSON instead of text")
    q.set_defaults(handler=handle_list)


def handle_list(args: argparse.Namespace) -> int:
    from localhb.cli.common import load

    config = load(args)
    rows = survey(config)
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
    elif not rows:
        print("no MCP servers configured (add [[mcp.servers]] to config.toml)")
    else:
        for r in rows:
            where = r["url"] or shlex.join([r["command"], *r["args"]])
            state = "starts" if r["ok"] else f"does NOT start: {r['error']}"
            print(f"{r['name']} ({r['transport']}: {where}): {state}")
            for t in r["tools"]:
                print(f"  {t['name']}  {t['description']}")
    return EXIT_OK if all(r["ok"] for r in rows) else EXIT_FAILED


def survey(config: Any) -> list[dict[str, Any]]:
    """Start every configured server once, list its tools, stop them all."""
    if not config.mcp.servers:
        return []
    from localhb.agent.mcp import MCPHub
    from localhb.core.results import one_line

    config.agent.workspace.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    with MCPHub(config.mcp.servers, cwd=str(config.agent.workspace)) as hub:
        for s in config.mcp.servers:
            tools, problems = hub.tools([s.name])
            rows.append(
                {
                    "name": s.name,
                    "transport": s.transport,
                    "command": s.command or "",
                    "args": list(s.args),
                    "url": s.url,
                    "ok": not problems,
                    "error": hub.failure(s.name + "__") if problems else None,
                    "tools": [
                        {"name": t.name, "description": one_line(t.description, 100)} for t in tools
                    ],
                }
            )
    return rows
