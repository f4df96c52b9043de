"""docs/tools.md describes every tool the agent can be given, with every argument."""

from __future__ import annotations

from pathlib import Path

import pytest

from localhb.agent.tools import Tool, check_toolbox, task_toolbox
from localhb.config import config_from_mapping
from localhb.format.model import TOOL_FAMILIES

DOC = (Path(__file__).resolve().parents[1] / "docs" / "tools.md").read_text(encoding="utf-8")
TOOLS = config_from_mapping({}, home=Path("/nonexistent")).tools
EVERY = task_toolbox(TOOLS, TOOL_FAMILIES, scheduling=True)
ALL = {t.name: t for t in (*EVERY.tools, *check_toolbox(TOOLS).tools)}


@pytest.mark.parametrize("tool", ALL.values(), ids=list(ALL))
def test_tool_has_a_section_naming_its_arguments(tool: Tool) -> None:
    """Each tool has a `### name` section whose signature lists its arguments."""
    assert f"\n### {tool.name}\n" in DOC
    section = DOC.split(f"\n### {tool.name}\n", 1)[1].split("\n### ", 1)[0]
    for argument in tool.parameters["properties"]:
        assert argument in section, f"{tool.name}: {argument} not described"
