"""agent.tools.registry: which toolbox a run gets, and a call that never raises."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from localhb.agent.tools.base import Tool, ToolContext, obj
from localhb.agent.tools.http import HTTP_GET
from localhb.agent.tools.registry import (
    COMPLETE_TASK,
    REPORT_CONDITION,
    CallStatus,
    Toolbox,
    check_toolbox,
    parse_arguments,
    task_toolbox,
)
from localhb.agent.tools.shell import RUN_COMMAND_READ_ONLY
from localhb.config import Config
from localhb.core.errors import ToolError
from tests.scripted_llm import make_config, make_context


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return make_config(tmp_path, "http://127.0.0.1:9/v1")


def boom(ctx: ToolContext, args: object) -> str:
    raise RuntimeError("disk on fire")


def nope(ctx: ToolContext, args: object) -> str:
    raise ToolError("refused: not today", tool="nope", refused=True)


def echo(ctx: ToolContext, args: object) -> str:
    return json.dumps(args, sort_keys=True)


BOX = Toolbox(
    (
        Tool("echo", "echo", obj(("n",), n={"type": "integer"}), echo),
        Tool("boom", "fails", obj(), boom),
        Tool("nope", "refuses", obj(), nope),
        COMPLETE_TASK,
    )
)


def test_the_task_toolbox_follows_families_and_switches(config: Config) -> None:
    names = task_toolbox(config.tools).names
    assert names[-1] == "complete_task"
    assert {"read_file", "write_file", "edit_file", "list_dir", "memory_search"} <= set(names)
    assert "schedule_task" not in names
    assert "schedule_task" in task_toolbox(config.tools, scheduling=True).names
    only_files = task_toolbox(config.tools, ("files",)).names
    assert only_files == ("read_file", "write_file", "edit_file", "list_dir", "complete_task")
    assert "run_history" in task_toolbox(config.tools, ("history",)).names
    no_shell = replace(config.tools, shell=replace(config.tools.shell, enabled=False))
    assert "run_command" not in task_toolbox(no_shell).names


def test_a_condition_check_gets_read_only_tools(config: Config) -> None:
    names = check_toolbox(config.tools).names
    assert names[:3] == ("read_file", "list_dir", "memory_search")
    assert names[-1] == "report_condition"
    assert not {"write_file", "edit_file", "memory_append"} & set(names)
    box = check_toolbox(config.tools)
    assert box.get("run_command") is RUN_COMMAND_READ_ONLY  # same name, read-only commands
    assert box.get("http_request") is HTTP_GET
    assert REPORT_CONDITION.name in names


def test_calls_come_back_as_outcomes(config: Config) -> None:
    ctx = make_context(config)
    ok = BOX.call("echo", '{"n": "5"}', ctx)
    assert ok.status is CallStatus.OK and ok.ok and ok.content == '{"n": 5}'
    unknown = BOX.call("rm", "{}", ctx)
    assert unknown.status is CallStatus.INVALID and "there is no tool 'rm'" in unknown.content
    assert "echo, boom, nope, complete_task" in unknown.content
    bad = BOX.call("echo", '{"m": 1}', ctx)
    assert bad.status is CallStatus.INVALID and "invalid arguments for echo" in bad.content
    failed = BOX.call("boom", "", ctx)
    assert failed.status is CallStatus.ERROR
    assert failed.content == "error: boom failed: RuntimeError: disk on fire"
    no = BOX.call("nope", "{}", ctx)
    assert no.status is CallStatus.REFUSED and no.content == "refused: not today"
    done = BOX.call("complete_task", '{"status": "ok", "summary": "done"}', ctx)
    assert done.ok and done.content == "" and done.arguments["status"] == "ok"
    wrong = BOX.call("complete_task", '{"status": "great", "summary": "x"}', ctx)
    assert wrong.status is CallStatus.INVALID


def test_schemas_are_one_per_tool() -> None:
    schemas = BOX.schemas()
    assert len(schemas) == 4 and BOX.get("echo") is not None and BOX.get("x") is None


@pytest.mark.parametrize(
    ("raw", "value", "problem"),
    [
        ("", {}, ""),
        ('{"a": 1}', {"a": 1}, ""),
        ("[1, 2]", {}, "must be a JSON object, not list"),
        ("not json at all", {}, "not valid JSON"),
    ],
)
def test_parse_arguments(raw: str, value: dict[str, object], problem: str) -> None:
    got, why, how = parse_arguments(raw)
    assert got == value
    assert (problem in why) if problem else why == ""
    assert how == ""


def test_cheap_mistakes_are_mended_and_said_so(config: Config) -> None:
    got, why, how = parse_arguments('{"a": 1')
    assert got == {"a": 1} and why == "" and how
    out = BOX.call("echo", '{"n": 3', make_context(config))
    assert out.ok and out.repaired == how
