"""`schedule_task`: the agent adds tasks through the `localhb add` path, guarded and limited."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from localhb.cli import main
from localhb.format.parser import parse
from tests.scripted_llm import ScriptedLLM

DUE = """## Pending

### Check CI Status
- Due: 2024-01-15 14:00
- Description: Check CI{extra}

## Completed
"""


def home_with(
    tmp_path: Path, server: ScriptedLLM, *, extra: str = "", schedule: dict[str, Any] | None = None
) -> Path:
    home = tmp_path / "home"
    (home / "workspace").mkdir(parents=True)
    (home / "workspace" / "HEARTBEAT.md").write_text(DUE.format(extra=extra))
    config: dict[str, Any] = {
        "heartbeat": {"timezone": "America/New_York"},
        "llm": {"base_url": server.base_url, "model": "m", "max_retries": 0},
    }
    if schedule is not None:
        config["tools"] = {"schedule": schedule}
    (home / "config.toml").write_text(tomli_w.dumps(config))
    return home


def cycle(home: Path, capsys: pytest.CaptureFixture[str]) -> str:
    code = main(["--home", str(home), "daemon", "heartbeat", "--now", "2024-01-15 14:05"])
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


def tool_names(server: ScriptedLLM) -> list[str]:
    return [t["function"]["name"] for t in server.requests[0].body.get("tools", [])]


def tool_replies(server: ScriptedLLM) -> list[str]:
    last = server.requests[-1].messages
    wrapped = [m["content"] for m in last if m.get("role") == "tool"]
    return [w.split("\n", 1)[1].rsplit("\n</tool_output>", 1)[0] for w in wrapped]


def text(home: Path) -> str:
    return (home / "workspace" / "HEARTBEAT.md").read_text()


def test_scheduled_runs_have_no_schedule_task_by_default(
    tmp_path: Path, server: ScriptedLLM, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without `[tools.schedule] enabled = true` a scheduled run is not offered the tool."""
    home = home_with(tmp_path, server)
    server.complete()
    cycle(home, capsys)
    assert "schedule_task" not in tool_names(server)


def test_enabled_agent_adds_a_reminder_that_validates(
    tmp_path: Path, server: ScriptedLLM, capsys: pytest.CaptureFixture[str]
) -> None:
    """'Remind me in 2 hours' becomes a one-time task due in 2 hours, marked Added by."""
    home = home_with(tmp_path, server, schedule={"enabled": True})
    server.call("schedule_task", {"title": "Call mom", "due": "in 2 hours"}).complete()
    cycle(home, capsys)
    assert "schedule_task" in tool_names(server)
    doc = parse(text(home))
    assert not doc.errors
    task = doc.task("call-mom")
    assert task is not None and task.section.value == "pending"
    assert (
        task.text
        == "### Call mom\n- Due: 2024-01-15 16:05\n- Added by: check-ci-status, 2024-01-15 14:05\n"
    )
    (reply,) = tool_replies(server)
    assert "added task 'call-mom'" in reply and "next run: 2024-01-15 16:05 EST" in reply
    assert main(["--home", str(home), "validate"]) == 0


def test_wake_prompt_task_has_the_tool_even_when_disabled(
    tmp_path: Path, server: ScriptedLLM, capsys: pytest.CaptureFixture[str]
) -> None:
    """A task a wake prompt added (`Added by: api, ...`) may always schedule."""
    home = home_with(tmp_path, server, extra="\n- Added by: api, 2024-01-15 14:00")
    server.call("schedule_task", {"title": "Later", "due": "tomorrow at 9"}).complete()
    cycle(home, capsys)
    assert "schedule_task" in tool_names(server)
    assert "### Later\n- Due: 2024-01-16 09:00\n" in text(home)


def test_at_most_max_per_run(
    tmp_path: Path, server: ScriptedLLM, capsys: pytest.CaptureFixture[str]
) -> None:
    """The call past `max_per_run` is refused and adds nothing."""
    home = home_with(tmp_path, server, schedule={"enabled": True, "max_per_run": 1})
    server.calls(("schedule_task", {"title": "One"}), ("schedule_task", {"title": "Two"}))
    server.complete()
    cycle(home, capsys)
    first, second = tool_replies(server)
    assert first.startswith("added task 'one'")
    assert second.startswith("refused: at most 1 task(s)")
    assert "### One" in text(home) and "### Two" not in text(home)


@pytest.mark.parametrize(
    ("every", "allowed"),
    [
        ("every 5m", False),
        ("every 15 minutes", True),
        ("cron */10 * * * *", False),
        ("daily at 09:00 and 09:05", False),
        ("weekdays at 08:00", True),
    ],
)
def test_no_recurrence_more_frequent_than_min_interval(
    tmp_path: Path,
    server: ScriptedLLM,
    capsys: pytest.CaptureFixture[str],
    every: str,
    allowed: bool,
) -> None:
    """A recurrence whose shortest gap is under `min_interval` (15 min) is refused."""
    home = home_with(tmp_path, server, schedule={"enabled": True})
    server.call("schedule_task", {"title": "Poll", "every": every}).complete()
    cycle(home, capsys)
    (reply,) = tool_replies(server)
    assert reply.startswith("added task") is allowed, reply
    assert ("### Poll" in text(home)) is allowed


def test_agent_added_task_may_not_add_within_a_day(
    tmp_path: Path, server: ScriptedLLM, capsys: pytest.CaptureFixture[str]
) -> None:
    """A task the agent itself added less than a day ago cannot add tasks: no loops."""
    home = home_with(
        tmp_path,
        server,
        extra="\n- Added by: daily-review, 2024-01-15 09:00",
        schedule={"enabled": True},
    )
    server.call("schedule_task", {"title": "Again"}).complete()
    cycle(home, capsys)
    (reply,) = tool_replies(server)
    assert reply.startswith("refused: this task was itself added by the agent")
    assert "### Again" not in text(home)


def test_agent_added_task_older_than_a_day_may_add(
    tmp_path: Path, server: ScriptedLLM, capsys: pytest.CaptureFixture[str]
) -> None:
    """The self-replication guard lapses after a day."""
    home = home_with(
        tmp_path,
        server,
        extra="\n- Added by: daily-review, 2024-01-14 09:00",
        schedule={"enabled": True},
    )
    server.call("schedule_task", {"title": "Again"}).complete()
    cycle(home, capsys)
    assert "### Again" in text(home)


def test_bad_arguments_come_back_as_a_sentence(
    tmp_path: Path, server: ScriptedLLM, capsys: pytest.CaptureFixture[str]
) -> None:
    """A time the code cannot compute is told to the model, naming the field; the file is kept."""
    home = home_with(tmp_path, server, schedule={"enabled": True})
    server.call("schedule_task", {"title": "X", "due": "whenever"}).complete()
    cycle(home, capsys)
    (reply,) = tool_replies(server)
    assert reply.startswith("error: due: cannot read 'whenever'")
    assert "### X" not in text(home)
    assert json.dumps(reply)
