"""The endpoint circuit breaker within one cycle: a setup failure stops model work."""

from __future__ import annotations

import socket
from pathlib import Path

from localhb.format.parser import parse
from localhb.state.ledger import Ledger
from tests.scripted_llm import ScriptedLLM
from tests.test_budget import THREE
from tests.test_commands import set_config
from tests.test_heartbeat import Run, hb_file, make_home, run

__all__ = ["run"]  # fixtures


def _still_due(home: Path, task_id: str) -> None:
    task = parse(hb_file(home).read_text()).task(task_id)
    assert task is not None and task.field("last run") is None  # untouched: still due


def test_a_401_skips_the_other_agent_tasks_but_not_run_tasks(
    tmp_path: Path, server: ScriptedLLM, run: Run
) -> None:
    home = make_home(tmp_path, server, THREE)
    server.error(401, "Incorrect API key provided")
    code, out, err = run(home, "--now", "2024-01-15 10:00")
    assert code != 0, out  # alpha's setup error fails the cycle
    assert len(server.requests) == 1  # one model attempt, then no more
    lines = out.splitlines()
    assert lines[0].startswith("alpha: error - ")
    assert "Incorrect API key provided" in lines[0]
    assert lines[1] == "backup: ok - saved"
    assert lines[2].startswith("beta: skipped - endpoint down: ")
    assert "Incorrect API key provided" in lines[2]
    assert len(lines) == 3
    assert err.count("endpoint down") == 1
    assert "1 other agent task(s) skipped" in err
    _still_due(home, "beta")
    with Ledger.open(home / "state.db") as ledger:
        assert ledger.skip_counts()["endpoint"].count == 1
        states = sorted((r.task_id, r.state) for r in ledger.runs())
    assert [t for t, _ in states] == ["alpha", "backup"]  # beta was never claimed


def test_nothing_listening_trips_the_breaker(tmp_path: Path, server: ScriptedLLM, run: Run) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    home = make_home(tmp_path, server, THREE)
    set_config(home, llm={"base_url": f"http://127.0.0.1:{port}/v1", "max_retries": 0})
    code, out, err = run(home, "--now", "2024-01-15 10:00")
    lines = out.splitlines()
    assert code != 0
    assert lines[0].startswith("alpha: error - "), out
    assert lines[1] == "backup: ok - saved"
    assert lines[2].startswith("beta: skipped - endpoint down: ")
    assert err.count("endpoint down") == 1
    _still_due(home, "beta")
    assert server.requests == []
