"""Condition checks: read-only tools, report_condition, the condition model."""

from __future__ import annotations

from pathlib import Path

from localhb.agent.loop import check_condition, run_task
from localhb.core.results import Failure, Status
from tests.scripted_llm import ScriptedLLM, make_config, make_task, scripted_llm

__all__ = ["scripted_llm"]

TASK = make_task(
    "merge-pr",
    "Merge PR when tests pass",
    "- Condition: ci.txt says green\n- Description: Merge the PR",
    condition="ci.txt says green",
)


def tool_names(scripted: ScriptedLLM, index: int = 0) -> set[str]:
    return {t["function"]["name"] for t in scripted.requests[index].body["tools"]}


def test_condition_met(scripted_llm: ScriptedLLM, tmp_path: Path) -> None:
    """The check reads what it needs and reports met, with evidence."""
    config = make_config(tmp_path, scripted_llm)
    (config.agent.workspace / "ci.txt").write_text("green\n")
    scripted_llm.call("read_file", {"path": "ci.txt"}).report(True, "ci.txt says green")
    check = check_condition(TASK, config)
    assert (check.met, check.evidence, check.error, check.outcome) == (
        True,
        "ci.txt says green",
        None,
        "met",
    )
    assert [c.name for c in check.stats.tool_calls] == ["read_file", "report_condition"]
    assert "report_condition" in scripted_llm.requests[0].messages[0]["content"]
    assert "Condition: ci.txt says green" in scripted_llm.requests[0].messages[1]["content"]


def test_condition_not_met(scripted_llm: ScriptedLLM, tmp_path: Path) -> None:
    """A check that finds the condition false reports not met, and that is no error."""
    config = make_config(tmp_path, scripted_llm)
    scripted_llm.report(False, "ci.txt is missing")
    check = check_condition(TASK, config)
    assert (check.met, check.outcome, check.error) == (False, "not met", None)
    assert check.to_dict()["evidence"] == "ci.txt is missing"


def test_check_then_run_are_separate_calls(scripted_llm: ScriptedLLM, tmp_path: Path) -> None:
    """The runner sequences them: a met check, then the task with the full toolbox."""
    config = make_config(tmp_path, scripted_llm)
    scripted_llm.report(True).complete("ok", "merged")
    assert check_condition(TASK, config).met
    assert run_task(TASK, config).status is Status.OK
    assert "write_file" not in tool_names(scripted_llm, 0)
    assert "write_file" in tool_names(scripted_llm, 1)


def test_check_has_only_read_only_tools(scripted_llm: ScriptedLLM, tmp_path: Path) -> None:
    """The check offers reading tools only; a write attempt is an unknown tool."""
    config = make_config(tmp_path, scripted_llm)
    scripted_llm.call("write_file", {"path": "x", "content": "y"}).report(False)
    check = check_condition(TASK, config)
    assert tool_names(scripted_llm) == {
        "read_file",
        "list_dir",
        "memory_search",
        "http_request",
        "run_command",
        "report_condition",
    }
    http = next(
        t for t in scripted_llm.requests[0].body["tools"] if t["function"]["name"] == "http_request"
    )
    assert http["function"]["parameters"]["properties"]["method"]["enum"] == ["GET", "HEAD"]
    assert check.stats.tool_calls[0].outcome == "invalid"
    assert not (config.agent.workspace / "x").exists()


def test_check_runs_read_only_commands_only(scripted_llm: ScriptedLLM, tmp_path: Path) -> None:
    """In a check, df runs; a write, or anything with shell operators, is refused."""
    config = make_config(tmp_path, scripted_llm)
    scripted_llm.calls(
        ("run_command", {"command": "ls"}),
        ("run_command", {"command": "touch made.txt"}),
        ("run_command", {"command": "ls; touch made.txt"}),
    ).report(False)
    check = check_condition(TASK, config)
    assert [c.outcome for c in check.stats.tool_calls[:3]] == ["ok", "refused", "refused"]
    assert not (config.agent.workspace / "made.txt").exists()


def test_check_uses_the_condition_model(scripted_llm: ScriptedLLM, tmp_path: Path) -> None:
    """[llm] condition_model is used for checks, the main model for the task."""
    config = make_config(tmp_path, scripted_llm, llm={"condition_model": "small-model"})
    scripted_llm.report(True).complete()
    check = check_condition(TASK, config)
    run_task(TASK, config)
    assert check.stats.model == "small-model"
    assert [r.body["model"] for r in scripted_llm.requests] == ["small-model", "scripted-model"]


def test_check_answering_in_text_is_reminded(scripted_llm: ScriptedLLM, tmp_path: Path) -> None:
    """A text answer gets one reminder to call report_condition; then it is an error."""
    config = make_config(tmp_path, scripted_llm)
    scripted_llm.text("Yes, it is green.").report(True, "green")
    assert check_condition(TASK, config).met
    scripted_llm.text("Yes.").text("Still yes.")
    check = check_condition(TASK, config)
    assert (check.met, check.outcome) == (False, "error")
    assert check.stats.failure is Failure.TEXT_ONLY
    assert check.error == "the model answered in text and never called report_condition"


def test_failed_check_is_an_error_not_met(scripted_llm: ScriptedLLM, tmp_path: Path) -> None:
    """When the endpoint fails, the check is an error and the condition counts as not met."""
    config = make_config(tmp_path, scripted_llm, llm={"max_retries": 0})
    scripted_llm.error(503, "overloaded")
    check = check_condition(TASK, config)
    assert (check.met, check.outcome) == (False, "error")
    assert "HTTP 503" in (check.error or "")


def test_check_is_cheap(scripted_llm: ScriptedLLM, tmp_path: Path) -> None:
    """A check stops after a few turns even when max_steps allows more."""
    config = make_config(tmp_path, scripted_llm, agent={"max_steps": 50})
    for n in range(8):
        scripted_llm.call("list_dir", {"path": f"d{n}"})
    check = check_condition(TASK, config)
    assert check.stats.failure is Failure.MAX_STEPS and check.stats.steps == 8
