"""`execute`: one piece of work claimed, run by the agent, recorded once, and observed."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from localhb.agent.commands import CheckVerdict
from localhb.config import Config
from localhb.core.results import ConditionResult, TaskResult
from localhb.cycle.events import Event, RunFinished, RunStarted
from localhb.cycle.execute import LLMAgent, Options, execute
from localhb.cycle.observers import HealthFiles, MemoryLog
from localhb.format.model import Task
from localhb.state.store import Store, Trigger, memory_store
from localhb.timing.plan import Work, WorkKind
from localhb.timing.schedule import Evaluation, State
from tests.scripted_llm import ScriptedLLM, make_config, make_task, scripted_llm

__all__ = ["scripted_llm"]

T0 = datetime(2025, 1, 15, 13, 0, tzinfo=UTC)


class Clock:
    """A clock that moves one second per look."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


class Crashing:
    """An agent whose every run raises, with a secret in the message."""

    def run_task(self, task: Task, guard: object = None) -> TaskResult:
        raise RuntimeError("boom sk-secret-value-123456")

    def check_condition(self, task: Task) -> ConditionResult:
        raise RuntimeError("boom sk-secret-value-123456")

    def evaluate_check(self, task: Task, previous: str | None) -> CheckVerdict:
        raise RuntimeError("boom sk-secret-value-123456")

    def redact(self, text: str) -> str:
        return text.replace("sk-secret-value-123456", "[REDACTED]")


def work(task: Task, kind: WorkKind = WorkKind.TASK) -> Work:
    return Work(task, T0, kind, Evaluation(True, State.DUE, (T0,), None, "due"))


@pytest.fixture
def config(tmp_path: Path, scripted_llm: ScriptedLLM) -> Config:
    return make_config(tmp_path, scripted_llm)


@pytest.fixture
def store() -> Store:
    return memory_store()


def test_a_run_is_claimed_recorded_and_observed(
    config: Config, store: Store, scripted_llm: ScriptedLLM
) -> None:
    """RunStarted then RunFinished, with the RunEnd the ledger stored."""
    scripted_llm.complete("partial", "tidied half", notes="more later")
    seen: list[Event] = []
    agent = LLMAgent.connect(config)
    done = execute(work(make_task()), store, agent, [seen.append], Options.of(config, Clock()))
    agent.close()
    assert done is not None and done.outcome.status == "partial" and done.result is not None
    assert [type(e) for e in seen] == [RunStarted, RunFinished]
    finished = seen[1]
    assert isinstance(finished, RunFinished) and finished.final
    assert finished.trigger is Trigger.SCHEDULE and finished.kind is WorkKind.TASK
    row = store.run(finished.run_id)
    assert row is not None and row.state == "partial" and row.summary == "tidied half"
    assert (row.notes, row.steps, row.prompt_tokens) == (
        finished.end.notes,
        finished.end.steps,
        finished.end.prompt_tokens,
    )
    assert done.runs == (row.id,)


def test_a_met_condition_runs_the_task_under_the_same_slot(
    config: Config, store: Store, scripted_llm: ScriptedLLM
) -> None:
    """A met check is a non-final run; the task's run follows and is final."""
    scripted_llm.report(True, "green").complete("ok", "merged")
    seen: list[Event] = []
    task = make_task("merge", "Merge", condition="CI is green")
    agent = LLMAgent.connect(config)
    done = execute(
        work(task, WorkKind.CHECK), store, agent, [seen.append], Options.of(config, Clock())
    )
    agent.close()
    assert done is not None and done.check is not None and done.result is not None
    ends = [e for e in seen if isinstance(e, RunFinished)]
    assert [(e.kind, e.final) for e in ends] == [(WorkKind.CHECK, False), (WorkKind.TASK, True)]
    assert [(r.kind, r.status) for r in store.runs("merge")] == [("task", "ok"), ("check", "met")]


def test_a_crash_is_that_runs_error_and_redacted(config: Config, store: Store) -> None:
    """An agent that raises ends the run as error; the secret is in no record."""
    seen: list[Event] = []
    done = execute(work(make_task()), store, Crashing(), [seen.append], Options.of(config, Clock()))
    assert done is not None and done.outcome.status == "error" and done.result is None
    (row,) = store.runs()
    assert row.state == "error" and row.error is not None and "RuntimeError: boom" in row.error
    assert "sk-secret" not in json.dumps(row.to_dict())
    end = next(e for e in seen if isinstance(e, RunFinished)).end
    assert end.state == "error" and "sk-secret" not in json.dumps(end.result)


def test_a_taken_slot_is_an_overlap(config: Config, store: Store) -> None:
    """When another process holds the slot, nothing runs and an overlap is counted."""
    assert store.claim("tidy-notes", T0, "task", T0, timedelta(hours=1), 1) is not None
    seen: list[Event] = []
    assert (
        execute(work(make_task()), store, Crashing(), [seen.append], Options.of(config, Clock()))
        is None
    )
    assert seen == [] and store.skip_counts()["overlap"].count == 1


def test_a_manual_run_leaves_the_schedule_alone(config: Config, store: Store) -> None:
    """trigger manual: recorded with its trigger; the task's snapshot is untouched."""
    options = Options.of(config, Clock(), trigger=Trigger.MANUAL)
    done = execute(work(make_task()), store, Crashing(), [], options)
    assert done is not None
    (row,) = store.runs()
    assert row.trigger == "manual" and row.to_dict()["trigger"] == "manual"
    assert store.snapshots() == {} and store.history() == {}


def test_one_observer_failing_does_not_stop_the_others(config: Config, store: Store) -> None:
    """An observer that raises is logged; the next one still gets the event."""
    seen: list[Event] = []

    def broken(event: Event) -> None:
        raise OSError("disk full")

    execute(
        work(make_task()), store, Crashing(), [broken, seen.append], Options.of(config, Clock())
    )
    assert [type(e) for e in seen] == [RunStarted, RunFinished]


def test_built_in_observers_write_health_and_memory(config: Config, store: Store) -> None:
    """The health file and the memory line come from the RunFinished event."""
    observers = [HealthFiles(config.health_dir), MemoryLog(config.agent.workspace / "memory", UTC)]
    execute(work(make_task()), store, Crashing(), observers, Options.of(config, Clock()))
    latest = json.loads((config.health_dir / "tidy-notes_latest.json").read_text())
    assert latest["status"] == "error" and latest["errors"][0].startswith("crashed: RuntimeError")
    (row,) = store.runs()
    assert latest["errors"][0] == row.error  # both read the same RunEnd
    memory = (config.agent.workspace / "memory" / "2025-01-15.md").read_text()
    assert "[tidy-notes] error - crashed: RuntimeError" in memory
