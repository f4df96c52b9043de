"""The audit routine end to end: a task failing three nights running, named by the audit.

The failures are real runs (a `Run:` command that fails every night), the
audit is the routine as `localhb routines add audit` writes it, and the
scripted model reads `run_history`'s real answer and builds its message from
the patterns in it: nothing of the pattern is written into the script.
Also here: run_history's patterns, breaker, paused tasks and bounds over a
seeded ledger, and who is offered the tool.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import tomli_w

from localhb.cli import main
from localhb.config import load_config
from localhb.cycle.history_view import (
    breaker_from_runs,
    breaker_state,
    history_reader,
    paused_in_file,
)
from localhb.state.history import HistoryQuery, history_report, patterns
from localhb.state.records import RunEnd
from localhb.state.store import Store, memory_store, open_store
from tests.receivers import HTTPReceiver, http_receiver
from tests.scripted_llm import Recorded, ScriptedLLM, tool_message

BERLIN = ZoneInfo("Europe/Berlin")
BACKUP = """# Tasks

## Pending

### Nightly backup
- Recurring: daily at 03:00
- Notify: never
- Run: echo "tar: /backup: No space left on device" >&2; exit 2

## Completed
"""


@pytest.fixture
def receiver() -> Iterator[HTTPReceiver]:
    with http_receiver() as rec:
        yield rec


def make_home(tmp_path: Path, server: ScriptedLLM, hook: str | None = None) -> Path:
    home = tmp_path / "home"
    (home / "workspace").mkdir(parents=True)
    (home / "workspace" / "HEARTBEAT.md").write_text(BACKUP)
    config: dict[str, Any] = {
        "heartbeat": {"timezone": "Europe/Berlin"},
        "llm": {"base_url": server.base_url, "model": "m", "max_retries": 0},
    }
    if hook is not None:
        # A cooldown of 48h: the nights are 24h apart, so the same state is not sent twice.
        notify = {"timeout": "2s", "retries": 1, "cooldown": "48h", "targets": {"owner": hook}}
        config["notify"] = notify
    (home / "config.toml").write_text(tomli_w.dumps(config))
    return home


def tool_answer(request: Recorded, name: str) -> dict[str, Any]:
    """The JSON a tool answered, as the model was sent it (inside its untrusted fence)."""
    sent = [m for m in request.messages if m.get("role") == "tool"]
    assert sent, f"no {name} answer in the request"
    lines = str(sent[-1]["content"]).splitlines()
    assert lines[0].startswith(f'<tool_output tool="{name}"'), lines[0]
    return dict(json.loads("\n".join(lines[1:-1])))


def auditor(server: ScriptedLLM) -> None:
    """One audit run of a model that does what the routine says: call run_history, then
    report partial naming the patterns it found (and the tasks failing in a row), else ok.
    It calls run_history as the routine's text asks first: with no arguments (24 hours)."""
    server.respond(lambda _: tool_message("run_history", {}))

    def verdict(request: Recorded) -> dict[str, Any]:
        report = tool_answer(request, "run_history")
        found = [p for p in report["patterns"] if "self-audit" not in p]
        if not found:
            return tool_message("complete_task", {"status": "ok", "summary": "all is well"})
        in_a_row = ", ".join(
            f"{task} {n} in a row" for task, n in report.get("consecutive_failures", {}).items()
        )
        message = "; ".join(found) + (f" (failing: {in_a_row})" if in_a_row else "")
        args = {"status": "partial", "summary": found[0][:150], "message": message}
        return tool_message("complete_task", args, "call_1")

    server.respond(verdict)


def cycle(home: Path, now: str, capsys: pytest.CaptureFixture[str]) -> str:
    code = main(["--home", str(home), "daemon", "heartbeat", "--now", now])
    out, err = capsys.readouterr()
    assert code in (0, 1), err  # 1: a task failed, as the backup does
    return out


def test_audit_names_a_task_failing_three_nights_running(
    tmp_path: Path,
    server: ScriptedLLM,
    receiver: HTTPReceiver,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Done when (issue 16): after a task failed three nights running, the audit's message
    names the pattern; quiet hours in between cost 0 tokens; the owner is told."""
    home = make_home(tmp_path, server, f"json://{receiver.base}/hook")
    assert main(["--home", str(home), "routines", "add", "audit"]) == 0
    capsys.readouterr()
    for night in ("2030-01-07", "2030-01-08", "2030-01-09"):
        before = len(server.requests)
        auditor(server)
        out = cycle(home, f"{night} 03:05", capsys)
        assert "nightly-backup: error - exit 2: tar: /backup: No space left on device" in out
        assert "self-audit:" in out, out
        assert len(server.requests) == before + 2  # run_history, then complete_task
        quiet = len(server.requests)
        out = cycle(home, f"{night} 04:05", capsys)  # nothing failed since: no model
        assert "self-audit (check): skipped - check not met: no new failures" in out, out
        assert len(server.requests) == quiet
    assert server.unexpected == []
    config = load_config(None, home=home)
    with open_store(config) as store:
        audits = [r for r in store.runs("self-audit") if r.status != "not met"]
    latest = audits[0]
    assert latest.status == "partial"
    message = json.loads(latest.result_json or "{}")["message"]
    assert "task nightly-backup failed at 03:xx on 3 days" in message
    assert "2030-01-07, 2030-01-08, 2030-01-09" in message
    assert "No space left on device" in message
    assert "nightly-backup 3 in a row" in message
    # The first night had nothing to name yet: a single failure is no pattern.
    assert [r.status for r in reversed(audits)] == ["ok", "partial", "partial"]
    # The owner is told once per state: on the second night, when there first was a
    # pattern; the third night's message is the same state (numbers folded), so not again.
    told = [r.json() for r in receiver.requests if r.path == "/hook"]
    assert len(told) == 1, told
    assert told[0]["title"].startswith("Self-audit")
    assert "task nightly-backup failed at 03:xx on 2 days" in told[0]["message"]
    assert "No space left on device" in told[0]["message"]


def test_run_history_is_offered_only_to_tasks_that_name_it(
    tmp_path: Path, server: ScriptedLLM, capsys: pytest.CaptureFixture[str]
) -> None:
    """A task without `- Tools: history` is not offered run_history; `[agent] tools` cannot
    offer it to every task."""
    home = make_home(tmp_path, server)
    path = home / "workspace" / "HEARTBEAT.md"
    path.write_text(
        "## Pending\n\n### Plants\n- Recurring: daily at 11:00\n- Description: water\n\n"
        "### Look\n- Recurring: daily at 11:00\n- Tools: files, history\n- Description: look\n"
    )
    server.complete("ok", "watered").complete("ok", "looked")
    assert main(["--home", str(home), "daemon", "heartbeat", "--now", "2030-01-10 11:05"]) == 0
    offered = [{t["function"]["name"] for t in r.body["tools"]} for r in server.requests[-2:]]
    assert "run_history" not in offered[0] and "read_file" in offered[0]
    assert "run_history" in offered[1] and "run_command" not in offered[1]
    config = home / "config.toml"
    config.write_text(config.read_text() + '\n[agent]\ntools = ["files", "history"]\n')
    capsys.readouterr()
    assert main(["--home", str(home), "validate"]) == 2
    err = capsys.readouterr().err
    assert "[agent] tools" in err and "'history' is offered only to tasks that name it" in err
    assert "Traceback" not in err


# --- run_history over a seeded ledger ---------------------------------------------------


def finish(
    store: Store,
    task: str,
    at: datetime,
    status: str,
    *,
    error: str = "",
    tokens: int = 0,
    failure: str | None = None,
    calls: list[dict[str, str]] | None = None,
) -> None:
    run = store.claim(task, at, "task", at, timedelta(minutes=5), 1)
    assert run is not None
    data: dict[str, Any] = {"summary": error or "fine", "tool_calls": calls or []}
    if error:
        data["error"] = error
    if failure:
        data["failure"] = failure
    end = RunEnd.from_result(status, data, summary=error or "fine")
    end = replace(end, result_json=json.dumps(data), prompt_tokens=tokens, completion_tokens=0)
    store.finish(run, end, at + timedelta(minutes=1))


def test_patterns_name_each_kind() -> None:
    """Same tool error, same task error, same hour, setup errors and growing token use."""
    store = memory_store()
    t0 = datetime(2030, 1, 6, 2, 0, tzinfo=UTC)  # 03:00 in Berlin
    for day in range(3):
        at = t0 + timedelta(days=day)
        finish(store, "backup", at, "error", error=f"exit 2: disk full on sda{day}")
        calls = [{"name": "http_request", "outcome": "error", "detail": f"HTTP 503 at {day}"}]
        finish(store, "feeds", at + timedelta(hours=5), "ok", calls=calls)
        finish(
            store,
            "digest",
            at + timedelta(hours=6),
            "error",
            failure="setup",
            error="the endpoint refused the key",
        )
    for i, spent in enumerate((100, 110, 300, 320)):
        finish(store, "report", t0 + timedelta(hours=10 + i), "ok", tokens=spent)
    found = patterns(store.runs(None, limit=100), BERLIN)
    text = "\n".join(found)
    assert "tool http_request failed the same way in 3 runs: HTTP 503 at" in text
    assert "task backup failed the same way in 3 runs: exit 2: disk full on sda" in text
    assert "task backup failed at 03:xx on 3 days (2030-01-06, 2030-01-07, 2030-01-08)" in text
    assert "3 runs failed on a setup error: the endpoint refused the key" in text
    assert "task report uses more tokens: 105 per run earlier, 310 lately" in text
    # A setup error says nothing about the task: it is not also a "same way" task error.
    assert "task digest failed the same way" not in text


class KeptBreakers:
    """A store that keeps breakers across cycles (as state.db `breakers` does): the
    memory ledger, with `breakers()` answering the open rows given."""

    def __init__(self, store: Store, rows: list[dict[str, Any]]) -> None:
        self._store, self._rows = store, rows

    def breakers(self) -> list[dict[str, Any]]:
        return self._rows

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def test_breaker_state_from_the_runs_and_from_kept_breakers() -> None:
    """Read from the runs and the `endpoint` skip counter; a store that keeps breakers
    across cycles says from its open rows whether it is open now."""
    now = datetime(2030, 1, 10, 12, 0, tzinfo=UTC)
    since = now - timedelta(hours=24)
    store = memory_store()
    assert breaker_from_runs([], since, BERLIN)["state"] == "closed"
    finish(
        store,
        "digest",
        now - timedelta(hours=2),
        "error",
        failure="setup",
        error="401 from the endpoint: bad key",
    )
    store.record_skip("endpoint", now - timedelta(hours=2))
    state = breaker_from_runs(store.runs(None), since, BERLIN)
    assert state["state"] == "open in the latest model run"
    assert state["last_opened"]["task"] == "digest"
    assert "401" in state["last_opened"]["reason"]
    finish(store, "digest", now - timedelta(hours=1), "ok", tokens=50)
    state = breaker_from_runs(store.runs(None), since, BERLIN)
    assert state["state"] == "closed" and state["setup_failures"] == 1

    row = {
        "scope": "endpoint",
        "kind": "config",
        "reason": "401 from the endpoint",
        "fingerprint": "f00d",
        "failures": 3,
        "retry_at": "2030-01-10T13:00:00+00:00",
    }
    kept = KeptBreakers(store, [row])
    state = breaker_state(kept, kept.runs(None), since, BERLIN)
    assert state["kept"] == "across cycles" and state["state"] == "open"
    assert state["open"] == [{k: v for k, v in row.items() if k != "fingerprint"}]
    assert state["runs_kept_back"]["count"] == 1
    assert state["setup_failures"] == 1  # the runs still tell their part
    closed = KeptBreakers(store, [])
    state = breaker_state(closed, closed.runs(None), since, BERLIN)
    assert state["state"] == "closed" and "open" not in state


def test_history_reader_shows_paused_tasks_and_the_breaker(tmp_path: Path) -> None:
    """The report lists the file's paused tasks and the breaker's state, redacted."""
    home = tmp_path / "home"
    (home / "workspace").mkdir(parents=True)
    (home / "workspace" / "HEARTBEAT.md").write_text(
        BACKUP.replace(
            "- Notify: never\n", "- Paused: after 3 failures (sk-abcdefghijklmnop1234)\n"
        )
    )
    (home / "config.toml").write_text("")
    config = load_config(None, home=home)
    now = datetime(2030, 1, 10, 12, 0, tzinfo=UTC)
    store = memory_store()
    finish(store, "nightly-backup", now - timedelta(hours=9), "error", error="exit 2")
    read = history_reader(
        store,
        lambda: now,
        lambda s: s.replace("sk-abcdefghijklmnop1234", "[REDACTED]"),
        paused_in_file(config),
    )
    text = read({"hours": 24, "tz": BERLIN})
    report = json.loads(text)
    assert report["paused"] == {"nightly-backup": "after 3 failures ([REDACTED])"}
    assert report["breaker"]["state"] == "closed"
    assert "sk-abcdefghijklmnop1234" not in text
    assert HistoryQuery(limit=0).bounded().limit == 1


def test_new_failures_counts_a_run_that_ended_after_the_audit_began() -> None:
    """A failure that started before the audit's last run but ended during it (a second
    worker) still opens the next audit's gate."""
    from localhb.cycle.history_view import new_failures_for

    store = memory_store()
    t0 = datetime(2030, 1, 10, 3, 0, tzinfo=UTC)
    slow = store.claim("backup", t0, "task", t0, timedelta(minutes=30), 1)
    assert slow is not None
    finish(store, "self-audit", t0 + timedelta(minutes=1), "ok")
    assert new_failures_for(store, "self-audit")() == 0
    store.finish(
        slow, RunEnd.from_result("error", {"error": "disk full"}), t0 + timedelta(minutes=9)
    )
    assert new_failures_for(store, "self-audit")() == 1


def test_new_failures_still_counts_what_a_failed_audit_never_looked_at() -> None:
    """An audit run that failed (endpoint down) looked at nothing: a failure before it
    is still new at the next audit, which must not skip the model."""
    from localhb.cycle.history_view import new_failures_for

    store = memory_store()
    t0 = datetime(2030, 1, 10, 10, 0, tzinfo=UTC)
    finish(store, "daily10", t0, "error", error="exit 1")
    finish(store, "self-audit", t0 + timedelta(minutes=2), "error", error="cannot reach")
    assert new_failures_for(store, "self-audit")() == 1
    finish(store, "self-audit", t0 + timedelta(hours=1), "ok")
    assert new_failures_for(store, "self-audit")() == 0


def test_patterns_look_back_a_week_whatever_window_lists_the_runs() -> None:
    """A task failing at 03:00 three nights is a pattern in a 24-hour call, whose runs
    list only tonight's."""
    store = memory_store()
    for night in (7, 8, 9):
        finish(store, "nightly", datetime(2030, 1, night, 3, 0, tzinfo=UTC), "error", error="full")
    now = datetime(2030, 1, 9, 3, 5, tzinfo=UTC)
    report = json.loads(history_report(store.runs(None), now=now, tz=UTC, query=HistoryQuery()))
    assert len(report["runs"]) == 1
    assert any("failed at 03:xx on 3 days" in p for p in report["patterns"]), report
    assert report["patterns_since"] == "2030-01-02 03:05"


def test_run_history_shows_a_breaker_kept_in_state_db() -> None:
    """With the breakers table (localhb.state.breakers), an open endpoint breaker is in
    run_history's answer as stored: open, why, by which task, when it is tried again."""
    pytest.importorskip("localhb.state.breakers")
    now = datetime(2030, 1, 10, 12, 0, tzinfo=UTC)
    store = memory_store()
    trip = getattr(store, "trip_breaker")  # noqa: B009 (only with the breakers table)
    trip("endpoint", "401 Unauthorized: bad key", now, fingerprint="f", tripped_by="digest")
    report = json.loads(history_reader(store, lambda: now, str)({"tz": BERLIN}))
    (row,) = report["breaker"]["open"]
    assert report["breaker"]["state"] == "open" and report["breaker"]["kept"] == "across cycles"
    assert row["reason"] == "401 Unauthorized: bad key" and row["tripped_by"] == "digest"
    assert "fingerprint" not in row
