"""Notifications from real heartbeat cycles: one message per change of state, resolve, pings."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from localhb.cli import main
from localhb.state.deliveries import DeliveryLog
from localhb.state.ledger import Ledger
from tests.receivers import HTTPReceiver, closed_port, http_receiver
from tests.scripted_llm import ScriptedLLM

TASK = """## Pending

### Check CI
- Recurring: every 1h
{extra}- Description: look at CI
"""


@pytest.fixture
def receiver() -> Iterator[HTTPReceiver]:
    """A loopback HTTP receiver for json:// targets and pings."""
    with http_receiver() as rec:
        yield rec


def make_home(
    tmp_path: Path, server: ScriptedLLM, url: str, extra: str = "", **notify: Any
) -> Path:
    home = tmp_path / "home"
    (home / "workspace").mkdir(parents=True)
    (home / "workspace" / "HEARTBEAT.md").write_text(TASK.format(extra=extra))
    config = {
        "heartbeat": {"timezone": "UTC", "max_consecutive_failures": 10},
        "llm": {"base_url": server.base_url, "model": "scripted", "max_retries": 0},
        "notify": {"timeout": "2s", "retries": 1, **notify, "targets": {"ops": url}},
    }
    (home / "config.toml").write_text(tomli_w.dumps(config))
    return home


def cycle(home: Path, now: str, capsys: pytest.CaptureFixture[str]) -> str:
    main(["--home", str(home), "daemon", "heartbeat", "--now", now])
    return capsys.readouterr().out


def messages(rec: HTTPReceiver) -> list[tuple[str, str]]:
    return [(r.json()["title"], r.json()["message"]) for r in rec.requests if r.path == "/hook"]


def test_one_message_per_state_then_resolved(
    tmp_path: Path, server: ScriptedLLM, receiver: HTTPReceiver, capsys: pytest.CaptureFixture[str]
) -> None:
    """Failing cycles notify once per state; recovery sends one "resolved"; ok stays quiet."""
    home = make_home(tmp_path, server, f"json://{receiver.base}/hook")
    server.complete("error", "3 failing checks")
    cycle(home, "2030-01-10 09:00", capsys)
    server.complete("error", "4 failing checks")
    cycle(home, "2030-01-10 10:00", capsys)
    server.complete("error", "deploy key expired")
    cycle(home, "2030-01-10 11:00", capsys)
    server.complete("ok", "all green")
    cycle(home, "2030-01-10 12:00", capsys)
    server.complete("ok", "all green")
    cycle(home, "2030-01-10 13:00", capsys)
    got = messages(receiver)
    assert [t for t, _ in got] == ["Check CI: error", "Check CI: error", "Check CI: resolved"]
    assert got[0][1].startswith("3 failing checks")
    assert got[1][1].startswith("deploy key expired")
    with DeliveryLog.open(home / "state.db") as dlog:
        statuses = [d.status for d in reversed(dlog.recent())]
    assert statuses == ["sent", "suppressed", "sent", "sent"]


def test_agent_message_is_sent_and_heartbeat_ok_never(
    tmp_path: Path, server: ScriptedLLM, receiver: HTTPReceiver, capsys: pytest.CaptureFixture[str]
) -> None:
    """An ok run with a message notifies with that message; an ok run without one does not."""
    home = make_home(tmp_path, server, f"json://{receiver.base}/hook")
    server.complete("ok", "checked", message="<think>hmm</think>PR #42 is ready to merge")
    cycle(home, "2030-01-10 09:00", capsys)
    server.complete("ok", "HEARTBEAT_OK")
    cycle(home, "2030-01-10 10:00", capsys)
    (msg,) = messages(receiver)
    assert msg[0] == "Check CI: ok"
    assert msg[1].startswith("PR #42 is ready to merge\n\ncheck-ci · 2030-01-10")
    assert "hmm" not in msg[1]


def test_idle_cycles_send_nothing(
    tmp_path: Path, server: ScriptedLLM, receiver: HTTPReceiver, capsys: pytest.CaptureFixture[str]
) -> None:
    """A cycle with nothing due sends no message and no ping."""
    home = make_home(
        tmp_path,
        server,
        f"json://{receiver.base}/hook",
        extra=f"- Ping: http://{receiver.base}/p\n",
    )
    server.complete("error", "broken")
    cycle(home, "2030-01-10 09:00", capsys)
    before = len(receiver.requests)
    assert cycle(home, "2030-01-10 09:10", capsys) == "HEARTBEAT_OK\n"
    assert len(receiver.requests) == before


def test_failing_target_is_recorded_and_run_status_unchanged(
    tmp_path: Path, server: ScriptedLLM, capsys: pytest.CaptureFixture[str]
) -> None:
    """A refused target: retried, recorded failed; the run is still ok in the ledger."""
    home = make_home(tmp_path, server, f"json://127.0.0.1:{closed_port()}/hook", retries=0)
    server.complete("partial", "needs a person", message="approve the deploy")
    out = cycle(home, "2030-01-10 09:00", capsys)
    assert "check-ci: partial" in out
    with Ledger.open(home / "state.db") as ledger:
        (run,) = ledger.runs()
    assert run.state == "partial"
    with DeliveryLog.open(home / "state.db") as dlog:
        (d,) = dlog.recent()
    assert (d.status, d.attempts, d.run_id) == ("failed", 1, run.id)
    assert main(["--home", str(home), "deliveries"]) == 0
    assert "failed" in capsys.readouterr().out
    assert main(["--home", str(home), "runs"]) == 0
    assert f"run {run.id}: notification to ops failed after 1 attempt(s)" in capsys.readouterr().out
    main(["--home", str(home), "runs", "--json"])
    (item,) = json.loads(capsys.readouterr().out)
    assert item["state"] == "partial" and item["failed_deliveries"][0]["target"] == "ops"
    main(["--home", str(home), "health", "--now", "2030-01-10 09:30"])
    assert "notifications: 1 failed in the last 24 h (to ops)" in capsys.readouterr().out


@pytest.mark.parametrize(("status", "last"), [("ok", "/ping"), ("error", "/ping/fail")])
def test_ping_order(
    tmp_path: Path,
    server: ScriptedLLM,
    receiver: HTTPReceiver,
    capsys: pytest.CaptureFixture[str],
    status: str,
    last: str,
) -> None:
    """`/start` when the run starts, then the success or `/fail` ping with the summary."""
    home = make_home(
        tmp_path,
        server,
        f"json://{receiver.base}/hook",
        extra=f"- Ping: http://{receiver.base}/ping\n",
    )
    server.complete(status, "the summary")
    cycle(home, "2030-01-10 09:00", capsys)
    pings = [r for r in receiver.requests if r.path.startswith("/ping")]
    assert [r.path for r in pings] == ["/ping/start", last]
    assert pings[1].body == b"the summary"


def test_ping_template(
    tmp_path: Path, server: ScriptedLLM, receiver: HTTPReceiver, capsys: pytest.CaptureFixture[str]
) -> None:
    """`[notify] ping_url_template` pings every task by id."""
    home = make_home(
        tmp_path,
        server,
        f"json://{receiver.base}/hook",
        ping_url_template=f"http://{receiver.base}/hc/{{task_id}}",
    )
    server.complete("ok", "fine")
    cycle(home, "2030-01-10 09:00", capsys)
    assert [r.path for r in receiver.requests] == ["/hc/check-ci/start", "/hc/check-ci"]


def test_invalid_file_alert_once_then_resolved(
    tmp_path: Path, server: ScriptedLLM, receiver: HTTPReceiver, capsys: pytest.CaptureFixture[str]
) -> None:
    """An invalid HEARTBEAT.md alerts once, not every cycle, and resolves when fixed."""
    home = make_home(tmp_path, server, f"json://{receiver.base}/hook")
    hb = home / "workspace" / "HEARTBEAT.md"
    good = hb.read_text()
    hb.write_text(good.replace("every 1h", "every 1h\n- Catch up: sometimes"))
    for now in ("2030-01-10 09:00", "2030-01-10 09:30"):
        main(["--home", str(home), "daemon", "heartbeat", "--now", now])
    hb.write_text(good.replace("every 1h", "every 1h\n- Notify: never"))
    server.complete("ok", "fine")
    cycle(home, "2030-01-10 10:00", capsys)
    capsys.readouterr()
    assert [t for t, _ in messages(receiver)] == [
        "HEARTBEAT.md invalid: alert",
        "HEARTBEAT.md: resolved",
    ]


def test_paused_task_alerts(
    tmp_path: Path, server: ScriptedLLM, receiver: HTTPReceiver, capsys: pytest.CaptureFixture[str]
) -> None:
    """A recurring task paused after repeated failures sends one "paused" alert."""
    home = make_home(tmp_path, server, f"json://{receiver.base}/hook")
    cfg = home / "config.toml"
    cfg.write_text(
        cfg.read_text().replace("max_consecutive_failures = 10", "max_consecutive_failures = 2")
    )
    for hour in (9, 10):
        server.complete("error", "broken")
        cycle(home, f"2030-01-10 {hour:02d}:00", capsys)
    titles = [t for t, _ in messages(receiver)]
    assert titles == ["Check CI: error", "Check CI paused: alert"]


def test_idle_cycle_with_targets_loads_no_apprise(tmp_path: Path) -> None:
    """A full idle cycle with targets and pings configured imports neither apprise nor openai."""
    import os
    import subprocess
    import sys

    home = tmp_path / "home"
    (home / "workspace").mkdir(parents=True)
    (home / "workspace" / "HEARTBEAT.md").write_text(
        "## Pending\n\n### Later\n- Due: 2099-01-10 12:00\n- Notify: ops always\n"
    )
    (home / "config.toml").write_text(
        '[heartbeat]\ntimezone = "UTC"\n[notify]\n'
        'ping_url_template = "http://127.0.0.1:1/{task_id}"\n'
        '[notify.targets]\nops = "json://127.0.0.1:1/hook"\n'
    )
    code = (
        "import sys; from localhb.cli import main; "
        f"rc = main(['--home', {str(home)!r}, 'daemon', 'heartbeat']); "
        "print(rc, sorted({m.split('.')[0] for m in sys.modules} & {'apprise', 'openai'}))"
    )
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(root)},
    ).stdout.splitlines()
    assert out == ["HEARTBEAT_OK", "0 []"]


def test_overdue_task_alerts_once_then_resolves(
    tmp_path: Path, server: ScriptedLLM, receiver: HTTPReceiver
) -> None:
    """A recurring task that has not run for two periods alerts once; a run resolves it."""
    from datetime import UTC, datetime, timedelta

    from localhb.config import load_config
    from localhb.cycle.events import CycleFinished, CycleReport
    from localhb.cycle.notifying import NotifyObserver
    from localhb.state.records import RunEnd

    home = make_home(tmp_path, server, f"json://{receiver.base}/hook")
    config = load_config(home=home)
    t0 = datetime(2030, 1, 10, 9, 0, tzinfo=UTC)
    with Ledger.open(config.state_db) as ledger:
        ledger.see_tasks(["check-ci"], t0)

    def cycle_end(at: datetime) -> None:
        NotifyObserver(config, UTC, clock=lambda: at)(CycleFinished(at, at, CycleReport("idle")))

    cycle_end(t0 + timedelta(hours=1))  # not yet overdue
    cycle_end(t0 + timedelta(hours=5))
    cycle_end(t0 + timedelta(hours=6))  # still overdue: the same state, not sent again
    with Ledger.open(config.state_db) as ledger:
        run = ledger.claim(
            "check-ci",
            t0 + timedelta(hours=7),
            "task",
            t0 + timedelta(hours=7),
            timedelta(minutes=5),
            1,
        )
        assert run is not None
        ledger.finish(run, RunEnd("ok", "ok", "fine"), t0 + timedelta(hours=7, minutes=1))
    cycle_end(t0 + timedelta(hours=7, minutes=2))
    assert [t for t, _ in messages(receiver)] == [
        "Check CI overdue: alert",
        "Check CI overdue: resolved",
    ]
