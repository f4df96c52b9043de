"""Small-model mode: which tool families a task is offered, and what that costs."""

from __future__ import annotations

from pathlib import Path

import pytest

from localhb.agent.loop import run_task
from localhb.config import config_from_mapping
from localhb.core.errors import ConfigError
from localhb.format.parser import parse
from tests.scripted_llm import ScriptedLLM, make_config, scripted_llm

__all__ = ["scripted_llm"]


def offered(server: ScriptedLLM) -> list[str]:
    return [t["function"]["name"] for t in server.requests[-1].body["tools"]]


def task_with(line: str):  # type: ignore[no-untyped-def]
    doc = parse(f"## Pending\n### Say Hello\n{line}- Description: Write hello.txt\n")
    return doc, doc.tasks[0]


def test_tools_line_chooses_families(scripted_llm: ScriptedLLM, tmp_path: Path) -> None:
    """`- Tools: shell` offers run_command and complete_task, nothing else."""
    _, task = task_with("- Tools: shell\n")
    assert task.tools == ("shell",)
    scripted_llm.complete()
    run_task(task, make_config(tmp_path, scripted_llm))
    assert offered(scripted_llm) == ["run_command", "complete_task"]


def test_agent_tools_config(scripted_llm: ScriptedLLM, tmp_path: Path) -> None:
    """[agent] tools picks the families for tasks without a `- Tools:` line."""
    _, task = task_with("")
    scripted_llm.complete()
    run_task(task, make_config(tmp_path, scripted_llm, agent={"tools": ["memory"]}))
    assert offered(scripted_llm) == ["memory_search", "memory_append", "complete_task"]


def test_tools_line_overrides_config(scripted_llm: ScriptedLLM, tmp_path: Path) -> None:
    """A task's `- Tools: files, memory` wins over [agent] tools."""
    _, task = task_with("- Tools: files, memory\n")
    scripted_llm.complete()
    run_task(task, make_config(tmp_path, scripted_llm, agent={"tools": ["shell"]}))
    assert "read_file" in offered(scripted_llm) and "run_command" not in offered(scripted_llm)


def test_calling_a_tool_not_offered_is_refused(scripted_llm: ScriptedLLM, tmp_path: Path) -> None:
    """With `- Tools: shell`, a write_file call is an unknown tool, told to the model."""
    _, task = task_with("- Tools: shell\n")
    scripted_llm.call("write_file", {"path": "a", "content": "b"}).complete()
    result = run_task(task, make_config(tmp_path, scripted_llm))
    assert result.stats.tool_calls[0].outcome == "invalid"
    assert not (tmp_path / "workspace" / "a").exists()


def test_unknown_family_in_the_file_is_a_diagnostic() -> None:
    """`- Tools: browser` is an error on its line, and the task is not run."""
    doc, task = task_with("- Tools: shell, browser\n")
    assert task.problem and "'browser' is not a tool family" in task.problem
    assert any("browser" in d.message and d.line == 3 for d in doc.errors)


def test_unknown_family_in_config_names_the_key(tmp_path: Path) -> None:
    """[agent] tools with an unknown family is a ConfigError naming the key."""
    with pytest.raises(ConfigError, match=r"\[agent\] tools.*unknown tool family 'web'"):
        config_from_mapping({"agent": {"tools": ["files", "web"]}}, home=tmp_path)


def test_compact_schemas(scripted_llm: ScriptedLLM, tmp_path: Path) -> None:
    """Schemas go out without additionalProperties: false or empty required lists."""
    _, task = task_with("")
    scripted_llm.complete()
    run_task(task, make_config(tmp_path, scripted_llm))
    for tool in scripted_llm.requests[-1].body["tools"]:
        params = tool["function"]["parameters"]
        assert params.get("additionalProperties") is not False
        assert params.get("required", ["x"]) != []
