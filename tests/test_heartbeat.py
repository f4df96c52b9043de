"""`localhb daemon heartbeat` end to end, against the scripted OpenAI-compatible server."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from localhb.cli import main
from localhb.format.blocks import split_lines
from localhb.format.parser import parse
from localhb.state.health import validate_health
from localhb.state.ledger import Ledger
from tests.scripted_llm import ScriptedLLM

ROOT = Path(__file__).resolve().parents[1]

ONE_DUE = """# Heartbeat Tasks

## Pending

### Check CI Status
- Priority: high
- Due: 2024-01-15 14:00
- Description: Check if the CI pipeline passed for PR #42

### Daily Summary
- Recurring: daily at 18:00
- Description: Summarize today's work

## Completed

### Review Documentation
- Completed: 2024-01-14 16:30
- Notes: Updated README
"""


def make_home(tmp_path: Path, server: ScriptedLLM, text: str, **heartbeat: Any) -> Path:
    home = tmp_path / "home"
    workspace = home / "workspace"
    workspace.mkdir(parents=True)
    (workspace / "HEARTBEAT.md").write_bytes(text.encode("utf-8"))
    config = {
        "heartbeat": {"timezone": "UTC", **heartbeat},
        "llm": {
            "base_url": server.base_url,
            "model": "scripted",
            "request_timeout": 10,
            "max_retries": 1,
            "retry_backoff": 0.01,
        },
    }
    (home / "config.toml").write_text(tomli_w.dumps(config), encoding="utf-8")
    return home


def hb_file(home: Path) -> Path:
    return home / "workspace" / "HEARTBEAT.md"


Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]) -> Run:
    def call(home: Path, *args: str) -> tuple[int, str, str]:
        code = main(["--home", str(home), "daemon", "heartbeat", *args])
        out, err = capsys.readouterr()
        return code, out, err

    return call


def spawn(home: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "localhb", "--home", str(home), "daemon", "heartbeat", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def wait_for(condition: Callable[[], bool], what: str, limit: float = 30.0) -> None:
    """Wait for an event (not for time): poll `condition` until it holds."""
    done = threading.Event()
    for _ in range(int(limit / 0.01)):
        if condition():
            return
        done.wait(0.01)
    raise AssertionError(f"timed out waiting for {what}")


def run_while_editing(
    run: Run, home: Path, server: ScriptedLLM, edit: Callable[[Path], None]
) -> tuple[int, str, str]:
    """Run a cycle whose task answers after 1 s, and `edit` the file while it waits."""
    server.call("complete_task", {"status": "ok", "summary": "green"}, delay=1.0)
    result: list[tuple[int, str, str]] = []
    worker = threading.Thread(target=lambda: result.append(run(home, "--now", "2024-01-15 14:05")))
    worker.start()
    wait_for(lambda: len(server.requests) == 1, "the model request")
    edit(hb_file(home))
    worker.join()
    return result[0]


def test_idle_cycle_is_ok_and_silent(tmp_path: Path, server: ScriptedLLM, run: Run) -> None:
    """Nothing due: HEARTBEAT_OK, no request to the model, the file byte-identical."""
    home = make_home(tmp_path, server, ONE_DUE.replace("2024-01-15", "2099-01-15"))
    before = hb_file(home).read_bytes()
    code, out, _ = run(home, "--now", "2024-01-15 12:00")
    assert (code, out) == (0, "HEARTBEAT_OK\n")
    assert server.requests == []
    assert hb_file(home).read_bytes() == before


def test_starter_home_is_idle(tmp_path: Path, run: Run, capsys: pytest.CaptureFixture[str]) -> None:
    """A fresh `init` home runs its one live, model-free starter task, then answers
    HEARTBEAT_OK: the commented agent examples never run."""
    home = tmp_path / "fresh"
    assert main(["--home", str(home), "init"]) == 0
    capsys.readouterr()
    code, out, _ = run(home)
    assert (code, out) == (0, "heartbeat-log: ok - exit 0\n")
    code, out, _ = run(home)
    assert (code, out) == (0, "HEARTBEAT_OK\n")


def test_due_task_runs_and_only_its_lines_change(
    tmp_path: Path, server: ScriptedLLM, run: Run
) -> None:
    """A due task runs; the file changes only in its lines and its new place in Completed."""
    home = make_home(tmp_path, server, ONE_DUE)
    server.complete("ok", "CI is green for PR #42")
    code, out, err = run(home, "--now", "2024-01-15 14:05")
    assert code == 0, err
    assert out == "check-ci-status: ok - CI is green for PR #42\n"
    after = hb_file(home).read_text(encoding="utf-8")
    assert after == (
        "# Heartbeat Tasks\n\n## Pending\n\n"
        "### Daily Summary\n- Recurring: daily at 18:00\n- Description: Summarize today's work\n\n"
        "## Completed\n\n### Review Documentation\n- Completed: 2024-01-14 16:30\n"
        "- Notes: Updated README\n\n"
        "### Check CI Status\n- Priority: high\n- Due: 2024-01-15 14:00\n"
        "- Description: Check if the CI pipeline passed for PR #42\n"
        "- Completed: 2024-01-15 14:05\n- Notes: CI is green for PR #42\n"
    )
    # the model saw this task alone, never the whole file
    sent = json.dumps(server.requests[0].messages)
    assert "Check CI Status" in sent and "Daily Summary" not in sent
    health = sorted((home / "health").glob("2024-01-15_check-ci-status_*.json"))
    assert len(health) == 1
    record = json.loads(health[0].read_text())
    assert validate_health(record) == []
    assert record["status"] == "ok" and record["started_at"].startswith("2024-01-15T14:05")
    latest = json.loads((home / "health" / "check-ci-status_latest.json").read_text())
    assert latest == record
    memory = (home / "workspace" / "memory" / "2024-01-15.md").read_text()
    assert "check-ci-status" in memory and "CI is green" in memory
    with Ledger.open(home / "state.db") as ledger:
        rows = ledger.runs()
    assert [(r.task_id, r.state) for r in rows] == [("check-ci-status", "ok")]
    # the next cycle has nothing left to do
    assert run(home, "--now", "2024-01-15 14:30")[1] == "HEARTBEAT_OK\n"
    assert len(server.requests) == 1


def test_error_is_retried_then_given_up(tmp_path: Path, server: ScriptedLLM, run: Run) -> None:
    """A failing one-time task records attempts, backs off, and moves to Completed at the cap."""
    text = "## Pending\n### Flaky\n- Description: try it\n## Completed\n"
    home = make_home(tmp_path, server, text, max_attempts=2, retry_backoff="30m")
    server.complete("error", "upstream down")
    code, out, _ = run(home, "--now", "2024-01-15 10:00")
    assert (code, out) == (1, "flaky: error - upstream down\n")
    doc = parse(hb_file(home).read_text())
    task = doc.task("flaky")
    assert task is not None and task.attempts == 1
    assert task.field("last error") is not None
    assert run(home, "--now", "2024-01-15 10:10")[1] == "HEARTBEAT_OK\n"  # backing off
    server.complete("error", "still down")
    assert run(home, "--now", "2024-01-15 10:31")[0] == 1
    final = hb_file(home).read_text()
    assert "## Completed\n### Flaky" in final and "- Status: error" in final
    assert "gave up after 2 attempts" in final


def test_recurring_task_notes_last_run_and_pauses(
    tmp_path: Path, server: ScriptedLLM, run: Run
) -> None:
    """A recurring task stays pending with Last run; repeated failures pause it."""
    text = "## Pending\n### Tick\n- Recurring: every 30m\n"
    home = make_home(tmp_path, server, text, max_consecutive_failures=2)
    server.complete("ok", "fine")
    assert run(home, "--now", "2024-01-15 10:00")[0] == 0
    assert "- Last run: 2024-01-15 10:00 (ok)\n" in hb_file(home).read_text()
    server.complete("error", "broke")
    assert run(home, "--now", "2024-01-15 10:30")[0] == 1
    server.complete("error", "broke again")
    assert run(home, "--now", "2024-01-15 11:00")[0] == 1
    text = hb_file(home).read_text()
    assert "- Paused: 2 failures in a row" in text
    assert run(home, "--now", "2024-01-15 11:30")[1] == "HEARTBEAT_OK\n"
    assert len(server.requests) == 3


def test_condition_not_met_then_met(tmp_path: Path, server: ScriptedLLM, run: Run) -> None:
    """A conditional task is checked each cycle and runs once its condition holds."""
    text = "## Pending\n### Merge PR\n- Condition: CI is green\n- Description: merge it\n"
    home = make_home(tmp_path, server, text)
    server.report(False, "CI still running")
    code, out, _ = run(home, "--now", "2024-01-15 10:00")
    assert code == 0
    assert out == "merge-pr (check): skipped - condition not met: CI still running\n"
    assert "- Last checked: 2024-01-15 10:00 (not met)" in hb_file(home).read_text()
    server.report(True, "CI green").complete("ok", "merged")
    code, out, _ = run(home, "--now", "2024-01-15 10:30")
    assert (code, out) == (0, "merge-pr: ok - merged\n")
    assert "## Completed\n### Merge PR" in hb_file(home).read_text()


def test_hand_edit_during_run_survives(tmp_path: Path, server: ScriptedLLM, run: Run) -> None:
    """An edit made while a task runs is kept; the result is applied onto the new text."""
    home = make_home(tmp_path, server, ONE_DUE)
    path = hb_file(home)

    def edit(path: Path) -> None:
        edited = path.read_text().replace(
            "Summarize today's work", "Summarize today's work, briefly"
        )
        edited = edited.replace("## Completed", "### New Task\n- Due: 2099-01-01\n\n## Completed")
        path.write_text(edited)

    assert run_while_editing(run, home, server, edit)[0] == 0
    final = path.read_text()
    assert "Summarize today's work, briefly" in final
    assert "### New Task\n- Due: 2099-01-01\n" in final
    assert final.count("### Check CI Status") == 1
    assert final.index("## Completed") < final.index("### Check CI Status")


def test_task_deleted_during_run_is_not_brought_back(
    tmp_path: Path, server: ScriptedLLM, run: Run
) -> None:
    """A task deleted while it ran is not restored; its result stays in the ledger."""
    home = make_home(tmp_path, server, ONE_DUE)
    path = hb_file(home)
    lines = split_lines(path.read_text())
    edited = "".join(lines[:4] + lines[8:])  # the user deletes Check CI Status
    _, _, err = run_while_editing(run, home, server, lambda p: p.write_text(edited))
    assert path.read_text() == edited
    assert "removed or renamed in HEARTBEAT.md while it ran" in err
    with Ledger.open(home / "state.db") as ledger:
        assert [r.state for r in ledger.runs("check-ci-status")] == ["ok"]


def test_two_processes_run_the_task_once(tmp_path: Path, server: ScriptedLLM) -> None:
    """Two heartbeat processes started together run a due task exactly once."""
    home = make_home(tmp_path, server, ONE_DUE)
    server.call("complete_task", {"status": "ok", "summary": "green"}, delay=0.5)
    procs = [spawn(home, "--now", "2024-01-15 14:05") for _ in range(2)]
    outs = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    assert len(server.requests) == 1
    text = hb_file(home).read_text()
    assert text.count("### Check CI Status") == 1
    joined = "".join(o for o, _ in outs)
    assert "check-ci-status: ok - green" in joined


def test_sigkill_mid_run_is_abandoned_then_rerun(
    tmp_path: Path, server: ScriptedLLM, run: Run
) -> None:
    """A cycle killed mid-run leaves the file intact; the next marks it abandoned and reruns."""
    home = make_home(tmp_path, server, ONE_DUE)
    before = hb_file(home).read_bytes()
    server.call("complete_task", {"status": "ok", "summary": "never seen"}, delay=60)
    proc = spawn(home, "--now", "2024-01-15 14:05")
    wait_for(lambda: len(server.requests) == 1, "the model request")
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    assert hb_file(home).read_bytes() == before
    server.replies.clear()
    server.complete("ok", "second time lucky")
    code, out, _ = run(home, "--now", "2024-01-15 14:10")
    assert (code, out) == (0, "check-ci-status: ok - second time lucky\n")
    with Ledger.open(home / "state.db") as ledger:
        states = sorted(r.state for r in ledger.runs("check-ci-status"))
    assert states == ["abandoned", "ok"]
    assert parse(hb_file(home).read_text()).render() == hb_file(home).read_text()


def test_malformed_file_is_exit_2_untouched(tmp_path: Path, server: ScriptedLLM, run: Run) -> None:
    """A file with errors runs nothing, stays byte-identical and exits 2 with line numbers."""
    text = ONE_DUE.replace("- Due: 2024-01-15 14:00", "- Due: the day after tomorrow")
    home = make_home(tmp_path, server, text)
    before = hb_file(home).read_bytes()
    code, out, err = run(home, "--now", "2024-01-15 14:05")
    assert code == 2 and out == ""
    assert "HEARTBEAT.md:7: error: Due" in err and "Traceback" not in err
    assert hb_file(home).read_bytes() == before and server.requests == []
    hb_file(home).write_bytes(b"## Pending\n### caf\xe9\n")
    assert run(home)[0] == 2


def test_bad_config_is_exit_2(tmp_path: Path, server: ScriptedLLM, run: Run) -> None:
    """A broken config exits 2 naming the key; the file is untouched."""
    home = make_home(tmp_path, server, ONE_DUE)
    (home / "config.toml").write_text('[heartbeat]\ninterval = "often"\n')
    before = hb_file(home).read_bytes()
    code, _, err = run(home)
    assert code == 2 and "[heartbeat] interval" in err
    assert hb_file(home).read_bytes() == before


def test_inactive_hours_skip(tmp_path: Path, server: ScriptedLLM, run: Run) -> None:
    """Outside active hours the cycle prints why, records it and exits 0."""
    home = make_home(tmp_path, server, ONE_DUE, active_hours={"start": "09:00", "end": "17:00"})
    code, out, _ = run(home, "--now", "2024-01-15 20:00")
    assert code == 0 and out.startswith("outside active hours (09:00-17:00 UTC)")
    assert "next window opens 2024-01-16 09:00" in out
    with Ledger.open(home / "state.db") as ledger:
        assert ledger.skip_counts()["inactive_hours"].count == 1


def test_dry_run_calls_nothing(tmp_path: Path, server: ScriptedLLM, run: Run) -> None:
    """--dry-run lists what would run and changes nothing."""
    home = make_home(tmp_path, server, ONE_DUE)
    before = hb_file(home).read_bytes()
    code, out, _ = run(home, "--now", "2024-01-15 18:00", "--dry-run")
    assert code == 0
    assert "would run check-ci-status" in out and "would run daily-summary" in out
    assert server.requests == [] and hb_file(home).read_bytes() == before
    assert not (home / "state.db").exists()


def test_recurring_across_dst_and_downtime(tmp_path: Path, server: ScriptedLLM, run: Run) -> None:
    """daily at 02:30 in Berlin: runs at 03:00 on spring-forward day, once after days down."""
    text = "## Pending\n### Nightly\n- Recurring: daily at 02:30\n"
    home = make_home(tmp_path, server, text, timezone="Europe/Berlin")

    def cycle(now: str) -> str:
        before = len(server.requests)
        server.complete("ok", f"ran at {now}")
        out = run(home, "--now", now)[1]
        if len(server.requests) == before:
            server.replies.clear()
        return out

    assert cycle("2025-03-29 02:31") == "nightly: ok - ran at 2025-03-29 02:31\n"
    assert cycle("2025-03-30 01:50") == "HEARTBEAT_OK\n"
    # 02:30 does not exist on 2025-03-30: the slot fires at the transition, 03:00
    assert cycle("2025-03-30 03:00") == "nightly: ok - ran at 2025-03-30 03:00\n"
    assert cycle("2025-03-30 03:20") == "HEARTBEAT_OK\n"
    # down from the 31st to the 3rd: four slots missed, one run (catch-up once)
    assert cycle("2025-04-03 09:00") == "nightly: ok - ran at 2025-04-03 09:00\n"
    assert cycle("2025-04-03 09:30") == "HEARTBEAT_OK\n"
    assert len(server.requests) == 3
    # fall back: 02:30 happens twice on 2025-10-26 and runs once
    assert cycle("2025-10-26T02:31+02:00").startswith("nightly: ok")
    assert cycle("2025-10-26T02:31+01:00") == "HEARTBEAT_OK\n"


# -- regressions found in review ----------------------------------------------


def test_readded_one_time_task_runs_again(tmp_path: Path, server: ScriptedLLM, run: Run) -> None:
    """A one-time task written again after it completed is a new task and runs."""
    text = "## Pending\n- [ ] Send the status mail\n## Completed\n"
    home = make_home(tmp_path, server, text)
    server.complete("ok", "sent")
    assert run(home, "--now", "2024-01-15 10:00")[0] == 0
    path = hb_file(home)
    path.write_text(
        path.read_text().replace("## Pending\n", "## Pending\n- [ ] Send the status mail\n")
    )
    server.complete("ok", "sent again")
    code, out, _ = run(home, "--now", "2024-01-15 10:30")
    assert (code, out) == (0, "send-the-status-mail: ok - sent again\n")


def test_task_edited_during_run_gets_its_result(
    tmp_path: Path, server: ScriptedLLM, run: Run
) -> None:
    """A task whose text was edited while it ran still gets its result, on the new text."""
    home = make_home(tmp_path, server, ONE_DUE)
    path = hb_file(home)
    run_while_editing(
        run, home, server, lambda p: p.write_text(p.read_text().replace("#42", "#43"))
    )
    final = path.read_text()
    assert "## Completed" in final and final.index("## Completed") < final.index("PR #43")
    assert "- Notes: green" in final
    assert run(home, "--now", "2024-01-15 14:30")[1] == "HEARTBEAT_OK\n"


def test_finished_run_missing_from_file_is_recorded_not_rerun(
    tmp_path: Path, server: ScriptedLLM, run: Run
) -> None:
    """A run that ended but never reached the file (a crash) is written, not run twice."""
    home = make_home(tmp_path, server, ONE_DUE)
    before = hb_file(home).read_bytes()
    server.complete("ok", "CI green")
    assert run(home, "--now", "2024-01-15 14:05")[0] == 0
    hb_file(home).write_bytes(before)  # as if the process died before writing the file
    code, out, _ = run(home, "--now", "2024-01-15 14:10")
    assert (code, out) == (0, "check-ci-status: ok - CI green\n")
    assert len(server.requests) == 1
    assert "- Notes: CI green" in hb_file(home).read_text()


def test_unreadable_system_prompt_uses_no_attempt(
    tmp_path: Path, server: ScriptedLLM, run: Run
) -> None:
    """A config problem found at run time is exit 2 before any task is claimed or charged."""
    home = make_home(tmp_path, server, ONE_DUE)
    with (home / "config.toml").open("a") as fh:
        fh.write('system_prompt = "missing.md"\n')  # lands in [llm], the last table
    before = hb_file(home).read_bytes()
    code, _, err = run(home, "--now", "2024-01-15 14:05")
    assert code == 2 and "[llm] system_prompt" in err
    assert hb_file(home).read_bytes() == before and server.requests == []
    with Ledger.open(home / "state.db") as ledger:
        assert ledger.runs() == []


def test_symlinked_file_stays_a_symlink(tmp_path: Path, server: ScriptedLLM, run: Run) -> None:
    """Writing a symlinked HEARTBEAT.md updates its target and keeps the link."""
    home = make_home(tmp_path, server, ONE_DUE)
    vault = tmp_path / "vault.md"
    hb_file(home).rename(vault)
    hb_file(home).symlink_to(vault)
    server.complete("ok", "green")
    assert run(home, "--now", "2024-01-15 14:05")[0] == 0
    assert hb_file(home).is_symlink()
    assert "- Notes: green" in vault.read_text()


def test_crash_text_is_redacted(tmp_path: Path, server: ScriptedLLM) -> None:
    """A task crash's message and traceback never carry a secret into file, ledger or log."""
    from localhb.config import load_config
    from localhb.cycle.execute import LLMAgent, crash_end

    home = make_home(tmp_path, server, ONE_DUE)
    secret = "sk-live-0123456789abcdef0123"
    agent = LLMAgent(load_config(home=home), client=None, env={"OPENAI_API_KEY": secret})
    task = parse(ONE_DUE).task("check-ci-status")
    assert task is not None
    outcome, end = crash_end(task, RuntimeError(f"boom with {secret}"), agent.redact)
    assert "boom with" in outcome.summary and end.result is not None
    assert secret not in outcome.summary and secret not in json.dumps(end.result)
    assert secret not in json.dumps([end.summary, end.error, *end.errors])


def test_log_follows_rotation_by_another_process(tmp_path: Path) -> None:
    """A logger whose file was rotated elsewhere writes to the new agent.log, not .1."""
    import logging

    from localhb.state.logs import configure

    path = configure(tmp_path / "logs")
    log = logging.getLogger("localhb")
    log.info("before")
    path.rename(path.with_name("agent.log.1"))  # what another process's rollover does
    log.info("after")
    for handler in log.handlers:
        handler.flush()
    assert "after" in path.read_text() and "after" not in path.with_name("agent.log.1").read_text()
    configure(tmp_path / "other")  # release the handler


def test_url_credentials_never_recorded(tmp_path: Path, server: ScriptedLLM, run: Run) -> None:
    """A password in base_url is in no file of the home (ledger, log, health, HEARTBEAT.md,
    memory) and not on the terminal."""
    home = make_home(tmp_path, server, ONE_DUE)
    config = home / "config.toml"
    secret_url = server.base_url.replace("http://", "http://bob:hunter2pass@")
    config.write_text(config.read_text().replace(server.base_url, secret_url))
    server.error(500, "model crashed").error(500, "model crashed")
    code, out, err = run(home, "--now", "2024-01-15 14:05")
    assert code == 1 and "bob:hunter2pass" not in out + err
    assert "[REDACTED]@127.0.0.1" in hb_file(home).read_text()
    for path in home.rglob("*"):
        if path.is_file() and path.name != "config.toml":
            assert b"hunter2pass" not in path.read_bytes(), path


def test_control_characters_from_the_model_are_escaped(
    tmp_path: Path, server: ScriptedLLM, run: Run
) -> None:
    """NUL, ESC sequences and U+202E in a summary reach HEARTBEAT.md and the terminal escaped."""
    home = make_home(tmp_path, server, ONE_DUE)
    server.complete("error", "bad\x1b[2J\x1b]0;pwn\x07 \u202etxt.exe\x00 end")
    _, out, err = run(home, "--now", "2024-01-15 14:05")
    text = hb_file(home).read_text()
    for raw in ("\x1b", "\x07", "\u202e", "\x00"):
        assert raw not in text and raw not in out + err
    assert "bad\\x1b[2J" in text and "\\u202etxt.exe" in text


def test_a_third_observer_sees_every_lifecycle_event(tmp_path: Path, server: ScriptedLLM) -> None:
    """An observer added next to the built-ins gets run started/finished and cycle finished,
    while health files and the memory log are still written."""
    from datetime import UTC, datetime

    from localhb.config import load_config
    from localhb.cycle.events import CycleFinished, Event, RunFinished, RunStarted
    from localhb.cycle.observers import default_observers
    from localhb.cycle.runner import Runner

    home = make_home(tmp_path, server, ONE_DUE)
    config = load_config(home=home)
    seen: list[Event] = []
    runner = Runner(config, observers=[*default_observers(config), seen.append])
    server.complete("ok", "green")
    report = runner.cycle(now=datetime(2024, 1, 15, 14, 5, tzinfo=UTC))
    assert report.outcome == "ran"
    assert [type(e) for e in seen] == [RunStarted, RunFinished, CycleFinished]
    finished, cycle = seen[1], seen[2]
    assert isinstance(finished, RunFinished) and finished.task.id == "check-ci-status"
    assert finished.end.summary == "green" and finished.outcome.status == "ok"
    assert isinstance(cycle, CycleFinished) and cycle.report is report
    assert (home / "health" / "check-ci-status_latest.json").exists()
    (memory,) = (home / "workspace" / "memory").glob("*.md")  # dated by the run's real end
    assert "[check-ci-status] ok - green" in memory.read_text()


def test_the_runners_clock_reaches_the_agent(tmp_path: Path, server: ScriptedLLM) -> None:
    """A retry's wait goes through the runner's `sleep`, not a real sleep."""
    from datetime import UTC, datetime

    from localhb.config import load_config
    from localhb.cycle.runner import Runner

    home = make_home(tmp_path, server, ONE_DUE)
    slept: list[float] = []
    runner = Runner(load_config(home=home), sleep=slept.append)
    server.error(503, "busy").complete("ok", "green")
    report = runner.cycle(now=datetime(2024, 1, 15, 14, 5, tzinfo=UTC))
    assert [r.status for r in report.results] == ["ok"]
    assert len(slept) == 1 and slept[0] > 0
