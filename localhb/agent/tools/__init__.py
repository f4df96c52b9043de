"""The tools an agent may call, one module per family.

    base      Tool, ToolContext, argument checking, output caps
    paths     PathPolicy: the workspace and allowed directories, symlinks resolved
    files     read_file, write_file, edit_file, list_dir
    shell     run_command and the [tools.shell] policy (`judge`)
    http      http_request (GET/HEAD only in condition checks)
    memory    memory_search (FTS5, with a fallback) and memory_append
    registry  the task and check toolboxes; `Toolbox.call` never raises

Nothing here imports `openai`; `docs/tools.md` describes each tool.
"""

from __future__ import annotations

from localhb.agent.tools.base import Tool, ToolContext
from localhb.agent.tools.paths import PathPolicy
from localhb.agent.tools.registry import CallStatus, Outcome, Toolbox, check_toolbox, task_toolbox

__all__ = [
    "CallStatus",
    "Outcome",
    "PathPolicy",
    "Tool",
    "ToolContext",
    "Toolbox",
    "check_toolbox",
    "task_toolbox",
]
