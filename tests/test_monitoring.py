"""Monitoring that tells the truth (issue 11): setup errors are cycle rows that health
and `daemon status` show; `daemon start` refuses without a key; status names the
task running now; `daemon stop` says what it waits for."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import tomli_w

from localhb.cli import main
from localhb.config import load_config
from localhb.daemon.state import find_daemon, read_pid
from localhb.state.ledger import Ledger

ROOT = Path(__file__).resolve().parents[1]
MODEL_TASK = "## Pending\n### Ask\n- Recurring: every 1h\n- Description: say hi\n## Completed\n"
RUN_TASK = "## Pending\n### Log\n- Recurring: every 1h\n- Run: date >> log.txt\n## Completed\n"
CLOUD = "https://api.openai.com/v1"


def make_home(tmp_path: Path, text: str, *, base_url: str = CLOUD, **heartbeat: object) -> Path:
    home = tmp_path / "hb"
    (home / "workspace").mkdir(parents=True)
    (home / "workspace" / "HEARTBEAT.md").write_text(text)
    config = {
        "heartbeat": {"timezone": "UTC", **heartbeat},
        "llm": {"base_url": base_url, "model": "m", "max_retries": 0},
    }
    (home / "config.toml").write_text(tomli_w.dumps(config))
    return home


def test_a_missing_key_is_a_cycle_error_that_health_reports(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`daemon heartbeat` with no key for a model task records an error cycle with
    its reason; `health` then fails (exit 1) naming it, in text and --json."""
    home = make_home(tmp_path, MODEL_TASK)
    assert main(["--home", str(home), "daemon", "heartbeat"]) == 2
    assert "no API key" in capsys.readouterr().err
    with Ledger.open(home / "state.db") as led:
        cycle = led.last_cycle()
        assert cycle is not None and cycle.outcome == "error"
        assert cycle.detail.startswith("setup: no API key: set OPENAI_API_KEY")
        assert led.runs() == []  # nothing was claimed
    assert main(["--home", str(home), "health"]) == 1
    out = capsys.readouterr().out
    assert "FAILING: the last cycle" in out and "failed: setup: no API key" in out
    assert main(["--home", str(home), "health", "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    checks = {f["check"]: f["reason"] for f in data["setup_failures"]}
    assert "setup: no API key" in checks["last_cycle_error"]


def test_status_shows_a_failing_cycle_first_and_under_recent_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The setup error is on status's first line and listed under recent errors."""
    home = make_home(tmp_path, MODEL_TASK)
    assert main(["--home", str(home), "daemon", "heartbeat"]) == 2
    capsys.readouterr()
    assert main(["--home", str(home), "daemon", "status"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("localhb daemon: not running - FAILING: the last cycle failed:")
    assert "setup: no API key" in lines[0]
    at = lines.index("recent errors:")
    assert "(cycle)  error: setup: no API key" in lines[at + 1]
    assert main(["--home", str(home), "daemon", "status", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["last_cycle_failed"].startswith("setup: no API key")
    assert [c["detail"][:17] for c in data["cycle_errors"]] == ["setup: no API key"]


def test_a_good_cycle_clears_the_first_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once a cycle succeeds the first line is plain again; the old error stays listed."""
    home = make_home(tmp_path, MODEL_TASK)
    assert main(["--home", str(home), "daemon", "heartbeat"]) == 2
    (home / "workspace" / "HEARTBEAT.md").write_text(RUN_TASK)
    assert main(["--home", str(home), "daemon", "heartbeat"]) == 0
    capsys.readouterr()
    assert main(["--home", str(home), "daemon", "status"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "localhb daemon: not running"
    assert "(cycle)  error: setup: no API key" in out


def test_an_unreachable_endpoint_is_on_the_first_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A run that met a refused connection (a setup error) makes status's first line
    say the endpoint cannot be used; the error is under recent errors too."""
    import socket

    with socket.socket() as s:  # a loopback port with nothing listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    home = make_home(tmp_path, MODEL_TASK, base_url=f"http://127.0.0.1:{port}/v1")
    assert main(["--home", str(home), "daemon", "heartbeat"]) == 1
    capsys.readouterr()
    assert main(["--home", str(home), "daemon", "status"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(
        f"localhb daemon: not running - FAILING: the endpoint cannot be used: ask: cannot "
        f"reach http://127.0.0.1:{port}/v1"
    )
    assert any("  ask  error: cannot reach" in line for line in lines)


@pytest.mark.parametrize("foreground", [False, True])
def test_start_refuses_without_a_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], foreground: bool
) -> None:
    """`daemon start` with a model task and no key exits 2 naming the key and the task."""
    home = make_home(tmp_path, MODEL_TASK)
    argv = ["--home", str(home), "daemon", "start", *(["--foreground"] if foreground else [])]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("localhb: error: no API key: set OPENAI_API_KEY")
    assert "(task ask needs the model); the daemon does not start" in err
    assert read_pid(home) is None and find_daemon(home) is None


def test_start_check_needs_a_key_only_for_model_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only `Run:` tasks: no key needed; a key file that is empty is a problem too."""
    from localhb.cli.daemon_cmd import endpoint_problem

    home = make_home(tmp_path, RUN_TASK)
    assert endpoint_problem(load_config(home=home)) is None
    (home / "workspace" / "HEARTBEAT.md").write_text(MODEL_TASK)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    assert endpoint_problem(load_config(home=home)) is None
    monkeypatch.delenv("OPENAI_API_KEY")
    empty = tmp_path / "key"
    empty.write_text("")
    text = (home / "config.toml").read_text() + f'api_key_file = "{empty}"\n'
    (home / "config.toml").write_text(text)
    problem = endpoint_problem(load_config(home=home))
    assert problem is not None and "is empty" in problem


def test_status_names_the_task_running_now(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A run in progress is shown with its task, run id and how long it has run."""
    from localhb.cli.daemon_cmd import running_tasks
    from localhb.cli.daemon_status import status_lines as _status_lines
    from localhb.daemon.status import gather_status

    home = make_home(tmp_path, MODEL_TASK)
    now = datetime(2030, 1, 15, 12, 0, tzinfo=UTC)
    with Ledger.open(home / "state.db") as led:
        run = led.claim("ask", now, "task", now - timedelta(minutes=5), timedelta(hours=1), 4242)
    assert run is not None
    status = gather_status(load_config(home=home), now)
    lines = _status_lines(status, UTC)
    assert f"running now: ask (task, run {run.id}, for 5m, since 11:55:00)" in lines
    data = status.to_dict(UTC)
    assert [(r["task_id"], r["seconds"], r["pid"]) for r in data["running_now"]] == [
        ("ask", 300, 4242)
    ]
    assert running_tasks(home / "state.db", 4242, now) == [f"ask (run {run.id}, for 5m)"]
    assert running_tasks(home / "state.db", 999, now) == []


def test_stop_says_which_task_it_waits_for(tmp_path: Path) -> None:
    """`daemon stop` while a task runs names it and the grace it waits for."""
    text = "## Pending\n### Slow\n- Run: sleep 30\n## Completed\n"
    home = make_home(tmp_path, text, interval="1h", shutdown_grace="1s")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, "-m", "localhb", "--home", str(home), "daemon", *args]
        return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60)

    started = cli("start")
    assert started.returncode == 0, started.stderr
    try:
        pause = threading.Event()
        for _ in range(3000):  # until the ledger says the task runs
            if (home / "state.db").exists():
                with Ledger.open(home / "state.db") as led:
                    if led.running():
                        break
            pause.wait(0.01)
        stopped = cli("stop")
    finally:
        running = find_daemon(home)
        if running is not None and running.pid != os.getpid():
            os.kill(running.pid, signal.SIGKILL)
    assert stopped.returncode == 0, stopped.stderr
    first, last = stopped.stdout.splitlines()[0], stopped.stdout.splitlines()[-1]
    assert first.startswith("stopping the daemon (pid ")
    assert "waiting up to 1s ([heartbeat] shutdown_grace) for slow (run 1, for " in first
    assert last.startswith("daemon stopped (pid ")
