"""schedule_task: the agent adds a task to HEARTBEAT.md (it never edits or deletes one).

The handler only checks and forwards: the adding itself (relative times,
validation, the compare-and-swap write) and the guards and limits are the
`Scheduler` the run was given, the same path as `localhb add`. A run given no
scheduler has no such tool.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from localhb.agent.tools.base import Tool, ToolContext, obj
from localhb.core.errors import ToolError

_TEXT = {"type": "string"}


def _schedule(ctx: ToolContext, args: Mapping[str, Any]) -> str:
    if ctx.scheduler is None:
        raise ToolError("refused: this run may not add tasks", tool="schedule_task", refused=True)
    return ctx.scheduler(args)


SCHEDULE_TASK = Tool(
    "schedule_task",
    "Add a new task to HEARTBEAT.md (for reminders and follow-ups the owner asked for). "
    "Give at most one of due, every or condition; with none it runs on the next cycle. "
    "Returns the task as written and when it will next run: tell the owner.",
    obj(
        ("title",),
        title={"type": "string", "description": "A short title; it becomes the task's heading."},
        due={
            "type": "string",
            "description": 'When, once: "in 2 hours", "tomorrow at 9", "next Monday at 10:00" '
            'or "2026-12-24 09:00" (the owner\'s time zone).',
        },
        every={"type": "string", "description": 'A recurrence: "weekdays at 08:00", "every 4h".'},
        condition={"type": "string", "description": "Run when this holds (checked each cycle)."},
        description={"type": "string", "description": "What to do when it runs."},
        priority={"type": "string", "enum": ["high", "medium", "low"]},
        notify={"type": "string", "description": "Who to tell when it finishes."},
    ),
    _schedule,
)
