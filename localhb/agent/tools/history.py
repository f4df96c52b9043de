"""run_history: a read-only, bounded look at the ledger, for the audit routine.

Offered only to tasks that name the `history` family (`- Tools: history`). The
handler asks the run's `history` reader (wired by the cycle to the store, see
`localhb.state.history`) and returns its report: recent runs with status,
errors and failed tool calls, skip counters, tasks failing in a row, and the
patterns code found. The reader bounds the window and the count and redacts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from localhb.agent.tools.base import Tool, ToolContext, obj
from localhb.core.errors import ToolError

MAX_HOURS = 14 * 24
MAX_RUNS = 200


def _history_tool(ctx: ToolContext, args: Mapping[str, Any]) -> str:
    if ctx.history is None:
        raise ToolError("the run history is not available in this run", tool="run_history")
    return ctx.history(
        {
            "hours": float(args.get("hours", 24)),
            "limit": int(args.get("limit", 50)),
            "task": args.get("task") or None,
            "failures_only": bool(args.get("failures_only", False)),
            "tz": ctx.tz,
        }
    )


RUN_HISTORY = Tool(
    "run_history",
    "Read localhb's own run history (read-only): recent runs with status and errors, "
    "failed tool calls, skip counters, tasks failing in a row, and patterns found.",
    obj(
        (),
        hours={"type": "number", "minimum": 1, "maximum": MAX_HOURS, "description": "Default 24."},
        limit={"type": "integer", "minimum": 1, "maximum": MAX_RUNS, "description": "Default 50."},
        task={"type": "string", "description": "Only this task id."},
        failures_only={"type": "boolean", "description": "Only failed runs."},
    ),
    _history_tool,
)
