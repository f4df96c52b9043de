"""The toolboxes a task and a condition check get, and calling a tool safely.

`Toolbox.call` never raises for anything the model did: an unknown tool,
arguments that are not JSON or do not fit the schema, a refusal, or a handler
that fails are each an `Outcome` whose `content` tells the model what went
wrong. `complete_task` and `report_condition` have no handler: the agent loop
ends on them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from localhb.agent.tools.base import Tool, ToolContext, check_arguments, obj
from localhb.agent.tools.files import EDIT_FILE, LIST_DIR, READ_FILE, WRITE_FILE
from localhb.agent.tools.history import RUN_HISTORY
from localhb.agent.tools.http import HTTP_GET, HTTP_REQUEST
from localhb.agent.tools.memory import MEMORY_APPEND, MEMORY_REWRITE, MEMORY_SEARCH
from localhb.agent.tools.schedule import SCHEDULE_TASK
from localhb.agent.tools.shell import RUN_COMMAND, RUN_COMMAND_READ_ONLY
from localhb.config import ToolsConfig
from localhb.core.errors import ToolError
from localhb.core.results import STATUS_VALUES
from localhb.format.model import DEFAULT_TOOL_FAMILIES

COMPLETE_TASK = Tool(
    "complete_task",
    "Finish: call once, when done or stuck. The only way to end the task.",
    obj(
        ("status", "summary"),
        status={"type": "string", "enum": list(STATUS_VALUES)},
        summary={"type": "string", "description": "one line"},
        notes={"type": "string"},
        message={"type": "string", "description": "optional: what to tell the owner"},
    ),
)
REPORT_CONDITION = Tool(
    "report_condition",
    "Finish the check: say whether the task's condition holds now, and why.",
    obj(
        ("met", "evidence"),
        met={"type": "boolean"},
        evidence={"type": "string", "description": "One line: what you saw."},
    ),
)


class CallStatus(StrEnum):
    OK = "ok"
    ERROR = "error"  # the tool tried and failed
    REFUSED = "refused"  # a safety policy said no
    INVALID = "invalid"  # unknown tool or bad arguments


@dataclass(frozen=True, slots=True)
class Outcome:
    """What came of one tool call; `content` is what the model is told."""

    name: str
    status: CallStatus
    content: str
    arguments: Mapping[str, Any] = field(default_factory=dict)
    repaired: str = ""  # how malformed arguments were mended, when they were

    @property
    def ok(self) -> bool:
        return self.status is CallStatus.OK


@dataclass(frozen=True, slots=True)
class Toolbox:
    tools: tuple[Tool, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.tools)

    def schemas(self) -> list[dict[str, Any]]:
        return [t.schema() for t in self.tools]

    def get(self, name: str) -> Tool | None:
        return next((t for t in self.tools if t.name == name), None)

    def call(self, name: str, raw_arguments: str, ctx: ToolContext) -> Outcome:
        """Check and run one call. Control tools come back checked but not run."""
        tool = self.get(name)
        if tool is None:
            return Outcome(
                name,
                CallStatus.INVALID,
                f"error: there is no tool {name!r}; the tools are: {', '.join(self.names)}",
            )
        args, problem, repaired = parse_arguments(raw_arguments)
        if problem:
            return Outcome(name, CallStatus.INVALID, f"error: {problem}")
        outcome = self._run(tool, name, args, ctx)
        return replace(outcome, repaired=repaired) if repaired else outcome

    def _run(self, tool: Tool, name: str, args: dict[str, Any], ctx: ToolContext) -> Outcome:
        checked, problems = (
            check_arguments(tool.parameters, args) if tool.checked else (dict(args), [])
        )
        if problems:
            expected = json.dumps(tool.parameters.get("properties", {}), separators=(",", ":"))
            return Outcome(
                name,
                CallStatus.INVALID,
                f"error: invalid arguments for {name}: {'; '.join(problems)}. "
                f"Expected arguments: {expected}",
                args,
            )
        if tool.run is None:
            return Outcome(name, CallStatus.OK, "", checked)
        try:
            return Outcome(name, CallStatus.OK, tool.run(ctx, checked), checked)
        except ToolError as exc:
            status = CallStatus.REFUSED if exc.refused else CallStatus.ERROR
            text = str(exc) if exc.refused else f"error: {exc}"
            return Outcome(name, status, text, checked)
        except Exception as exc:  # any failure inside a tool is the model's to hear about
            return Outcome(
                name,
                CallStatus.ERROR,
                f"error: {name} failed: {type(exc).__name__}: {exc}",
                checked,
            )


def parse_arguments(raw: str) -> tuple[dict[str, Any], str, str]:
    """(the JSON object in `raw`, what is wrong, how it was repaired).

    "" counts as {}. Cheap mistakes (double encoding, single quotes, a stray
    `<|eot_id|>`, a missing brace) are mended first; the third value says how.
    """
    from localhb.agent.wire import repair_arguments

    if not raw.strip():
        return {}, "", ""
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        problem = (
            f"the arguments are not valid JSON ({exc.msg} at character {exc.pos}); "
            "send a single JSON object"
        )
    else:
        if isinstance(value, dict):
            return value, "", ""
        problem = f"the arguments must be a JSON object, not {type(value).__name__}"
    mended, how = repair_arguments(raw)
    if mended is None:
        return {}, problem, ""
    return mended, "", how


def task_toolbox(
    config: ToolsConfig,
    families: Sequence[str] = DEFAULT_TOOL_FAMILIES,
    *,
    scheduling: bool = False,
) -> Toolbox:
    """The tools of `families` a task may use (disabled ones left out), then complete_task.

    `schedule_task` (family "schedule") is there only when the run was given a scheduler.
    With "distill", "files" is read_file and list_dir only (no write_file, edit_file).
    """
    tools: list[Tool] = []
    if "files" in families and "distill" in families:
        # The distill routine reads the logs; MEMORY.md changes only through
        # memory_rewrite (which keeps a backup) and no daily log is overwritten.
        tools += [READ_FILE, LIST_DIR]
    elif "files" in families:
        tools += [READ_FILE, WRITE_FILE, EDIT_FILE, LIST_DIR]
    if "shell" in families and config.shell.enabled:
        tools.append(RUN_COMMAND)
    if "http" in families and config.http.enabled:
        tools.append(HTTP_REQUEST)
    if "memory" in families:
        tools += [MEMORY_SEARCH, MEMORY_APPEND]
    if scheduling and "schedule" in families:
        tools.append(SCHEDULE_TASK)
    if "history" in families:
        tools.append(RUN_HISTORY)
    if "distill" in families:
        tools.append(MEMORY_REWRITE)
    tools.append(COMPLETE_TASK)
    return Toolbox(tuple(tools))


def check_toolbox(config: ToolsConfig) -> Toolbox:
    """The read-only tools of a condition check."""
    tools = [READ_FILE, LIST_DIR, MEMORY_SEARCH]
    if config.http.enabled:
        tools.append(HTTP_GET)
    if config.shell.enabled and config.shell.read_only:
        tools.append(RUN_COMMAND_READ_ONLY)
    tools.append(REPORT_CONDITION)
    return Toolbox(tuple(tools))
