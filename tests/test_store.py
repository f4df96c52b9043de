"""The Store seam: one typed RunEnd read by the ledger and the health file; the memory store."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from localhb.state.health import record_from_end, validate_health
from localhb.state.records import RunEnd, Trigger
from localhb.state.store import memory_store

T0 = datetime(2025, 1, 15, 13, 0, tzinfo=UTC)
LEASE = timedelta(minutes=10)


def test_run_end_reads_a_result_once() -> None:
    """from_result reads tokens, calls, seconds and every error, the main one first."""
    end = RunEnd.from_result(
        "error",
        {
            "status": "error",
            "summary": "gave up",
            "prompt_tokens": 10,
            "tool_calls": [{}, {}],
            "tool_errors": 1,
            "errors": ["shell: exit 1"],
            "failure": "max_steps",
            "seconds": 2.5,
        },
    )
    assert (end.state, end.status, end.summary) == ("error", "error", "gave up")
    assert (end.prompt_tokens, end.tool_calls, end.tool_errors, end.seconds) == (10, 2, 1, 2.5)
    assert end.error == "max_steps"
    assert end.errors == ("stopped: max_steps", "shell: exit 1")
    assert end.result is not None and end.result["summary"] == "gave up"
    assert RunEnd.from_result("ok").result_json is None


def test_ledger_columns_and_health_record_share_the_end() -> None:
    """What the store recorded and what the health file says come from one value."""
    end = RunEnd.from_result("partial", {"summary": "half", "steps": 3, "errors": ["slow"]})
    with memory_store() as store:
        run = store.claim("t", T0, "task", T0, LEASE, 1)
        assert run is not None
        row = store.finish(run, end, T0 + timedelta(seconds=5))
    health = record_from_end("t", end, T0, T0 + timedelta(seconds=5)).to_dict()
    assert validate_health(health) == []
    assert (row.summary, row.steps, row.error) == (health["summary"], 3, "slow")
    assert health["warnings"] == ["slow"] and health["metrics"]["steps"] == row.steps
    assert json.loads(row.result_json or "{}")["summary"] == "half"


def test_memory_store_keeps_the_ledger_rules() -> None:
    """The in-memory store refuses a second claim of a slot and remembers history."""
    with memory_store(host="here") as store:
        run = store.claim("t", T0, "task", T0, LEASE, 1)
        assert run is not None and store.claim("t", T0, "task", T0, LEASE, 2) is None
        store.finish(run, RunEnd.from_result("error"), T0 + timedelta(minutes=1))
        assert store.history()["t"].consecutive_failures == 1
        assert store.history()["t"].last_slot == T0


def test_manual_runs_are_not_part_of_the_schedule() -> None:
    """A manual run is recorded with its trigger but changes no snapshot or history."""
    with memory_store() as store:
        store.see_tasks(["t"], T0)
        before = store.history()
        run = store.claim("t", T0, "task", T0, LEASE, 1, trigger=Trigger.MANUAL)
        assert run is not None
        store.finish(run, RunEnd.from_result("error"), T0 + timedelta(minutes=1))
        assert store.history() == before
        assert store.finished_run("t", T0, "task", 1) is None  # never mistaken for the slot's run
        (row,) = store.runs()
        assert row.trigger == "manual" and row.state == "error"


def test_abandon_stale_asks_the_injected_pid_alive() -> None:
    """A run whose process is gone (as pid_alive says) is abandoned; its slot is due again."""
    with memory_store(host="here") as store:
        run = store.claim("t", T0, "task", T0, LEASE, 4242)
        assert run is not None
        asked: list[tuple[int, str]] = []

        def alive(pid: int, host: str) -> bool:
            asked.append((pid, host))
            return False

        gone = store.abandon_stale(T0 + timedelta(minutes=1), alive)
        assert [r.id for r in gone] == [run.id] and asked == [(4242, "here")]
        assert store.history()["t"].last_slot is None
