"""core.results: the run vocabulary (statuses, states, failures) and the frozen values."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta

import pytest

from localhb.core.results import (
    FAILED_STATES,
    NOTES_LIMIT,
    STATUS_VALUES,
    SUMMARY_LIMIT,
    TERMINAL_STATES,
    ConditionResult,
    Failure,
    RunState,
    RunStats,
    Status,
    TaskResult,
    ToolCallRecord,
    clip,
    one_line,
)

T0 = datetime(2024, 1, 15, 9, 0, tzinfo=UTC)


def stats(**kw: object) -> RunStats:
    base: dict[str, object] = {
        "model": "m",
        "prompt_tokens": 10,
        "completion_tokens": 5,
        "steps": 2,
        "tool_calls": (
            ToolCallRecord(1, "read_file", '{"path":"a"}', "ok", "", 0.1234),
            ToolCallRecord(2, "run_command", "{}", "refused", "denied", 0.0),
        ),
        "errors": (),
        "started_at": T0,
        "completed_at": T0 + timedelta(seconds=1.5),
    }
    base.update(kw)
    return RunStats(**base)  # type: ignore[arg-type]


def test_the_vocabulary_is_one_set() -> None:
    assert STATUS_VALUES == ("ok", "partial", "skipped", "error")
    assert {s.value for s in Status} <= {s.value for s in RunState}
    assert {"ok", "partial", "skipped", "error", "timeout", "abandoned"} == TERMINAL_STATES
    assert {"error", "timeout", "abandoned"} == FAILED_STATES and FAILED_STATES <= TERMINAL_STATES
    assert Failure.SETUP.is_setup and not Failure.LLM.is_setup


def test_run_stats_count_and_serialise() -> None:
    s = stats(failure=Failure.MAX_STEPS, fix="raise [agent] max_steps")
    assert s.seconds == 1.5 and s.tool_errors == 1
    d = s.to_dict()
    assert d["failure"] == "max_steps" and d["fix"] == "raise [agent] max_steps"
    assert d["started_at"] == "2024-01-15T09:00:00Z"
    assert d["tool_calls"][0]["seconds"] == 0.123
    assert d["tool_errors"] == 1 and d["seconds"] == 1.5
    assert "fix" not in stats().to_dict()
    json.dumps(d)  # JSON-friendly all the way down


def test_task_and_condition_results() -> None:
    ok = TaskResult("t", Status.PARTIAL, "half done", "", stats(), message="tell me")
    assert ok.ok and ok.to_dict()["status"] == "partial" and ok.to_dict()["message"] == "tell me"
    assert not TaskResult("t", Status.ERROR, "", "", stats()).ok
    assert ConditionResult("t", True, "green", None, stats()).outcome == "met"
    assert ConditionResult("t", False, "red", None, stats()).outcome == "not met"
    broken = ConditionResult("t", False, "", "endpoint down", stats())
    assert broken.outcome == "error" and broken.to_dict()["error"] == "endpoint down"
    with pytest.raises(dataclasses.FrozenInstanceError):
        ok.summary = "changed"  # type: ignore[misc]


def test_one_line_and_clip_bound_the_text() -> None:
    assert one_line("  a\n\tb   c ") == "a b c"
    long = one_line("word " * 100)
    assert len(long) < SUMMARY_LIMIT and long.endswith("…")
    assert "\x1b" not in one_line("red \x1b[31m text")
    assert clip("  short  ") == "short"
    cut = clip("x" * (NOTES_LIMIT + 10))
    assert len(cut) <= NOTES_LIMIT and cut.endswith("[... cut ...]")
    assert clip("line one\nline two") == "line one\nline two"
