"""A newcomer's first hour: hints that work when followed, reading one run, live cycles."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from localhb.cli import main
from localhb.cli.runs_cmd import format_runs
from localhb.daemon.state import read_pid
from localhb.state.ledger import RunRow
from tests.scripted_llm import ScriptedLLM, scripted_llm
from tests.test_daemon import cli as daemon_cli
from tests.test_daemon import reap, write_home

__all__ = ["reap", "scripted_llm"]

ROOT = Path(__file__).resolve().parents[1]

HEARTBEAT = """# Heartbeat

## Pending

### Daily Summary
- Description: Summarize the day

### Backup Photos
- Condition: a new photo is in inbox/
- Description: Copy the photos to backup/

<!--
### Weekly Review
- Recurring: weekly on monday at 09:00
- Description: Review the week
-->

## Completed
"""


@pytest.fixture
def home(tmp_path: Path, scripted_llm: ScriptedLLM) -> Path:
    home = tmp_path / "lhb"
    (home / "workspace").mkdir(parents=True)
    (home / "workspace" / "HEARTBEAT.md").write_text(HEARTBEAT)
    (home / "config.toml").write_text(
        f'[heartbeat]\ntimezone = "UTC"\n[llm]\nbase_url = "{scripted_llm.base_url}"\n'
        'model = "m"\nmax_retries = 0\nretry_backoff = 0.01\n'
    )
    return home


def lhb(home: Path, *args: str) -> int:
    return main(["--home", str(home), *args])


# -- unknown ids -----------------------------------------------------------------
def test_run_names_a_commented_example_and_how_to_enable_it(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An id that matches an example inside <!-- --> says so, with its line, and exits 2."""
    assert lhb(home, "run", "weekly-review") == 2
    err = capsys.readouterr().err.splitlines()
    path = home / "workspace" / "HEARTBEAT.md"
    assert err[0] == f"localhb: error: {path}: no task with id 'weekly-review'"
    assert err[1].startswith(f"{path}:13: 'Weekly Review' is an example inside an HTML comment")
    assert "move it below the `-->` line" in err[1]


def test_run_suggests_the_nearest_ids(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A near miss gets a did-you-mean, then the full list of ids."""
    assert lhb(home, "run", "daily-sumary") == 2
    err = capsys.readouterr().err.splitlines()
    assert err[1:] == [
        "did you mean 'daily-summary'?",
        "known ids: daily-summary, backup-photos",
    ]


def test_run_refuses_a_file_with_errors(
    home: Path, scripted_llm: ScriptedLLM, capsys: pytest.CaptureFixture[str]
) -> None:
    """A duplicate id is an error, and `run` runs nothing from such a file, like a cycle."""
    path = home / "workspace" / "HEARTBEAT.md"
    path.write_text(HEARTBEAT.replace("## Completed", "### Daily Summary\n- Description: y\n"))
    assert lhb(home, "run", "daily-summary") == 2
    err = capsys.readouterr().err
    assert "error" in err and "no task of it runs" in err
    assert scripted_llm.requests == []


# -- hints repeat the options in force ----------------------------------------------
def test_init_hint_keeps_the_home(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`init --home DIR` ends with a `tasks` command that names the same home, and it works."""
    target = tmp_path / "my home"
    assert main(["init", "--home", str(target)]) == 0
    last = capsys.readouterr().out.splitlines()[-1]
    hint = last.split("then `", 1)[1].rstrip("`")
    assert hint == f"localhb --home '{target}' tasks"
    done = subprocess.run(
        hint.replace("localhb", f"{sys.executable} -m localhb", 1),
        shell=True,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 0, done.stderr


def test_init_writes_the_config_it_was_given(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`init --config FILE` writes that file (not <home>/config.toml), so the hint it
    prints, which repeats `--config FILE`, works."""
    home, config = tmp_path / "home", tmp_path / "etc" / "localhb.toml"
    assert main(["init", "--home", str(home), "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert f"created  {config}" in out and config.is_file()
    assert not (home / "config.toml").exists()
    assert main(["--home", str(home), "--config", str(config), "tasks"]) == 0
    assert "heartbeat-log" in capsys.readouterr().out


def test_error_hints_keep_the_home(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The file-not-found hint names `init` with the --home the command was given."""
    assert main(["--home", str(tmp_path), "tasks"]) == 2
    assert f"run `localhb --home {tmp_path} init`" in capsys.readouterr().err


@pytest.mark.parametrize(
    "args",
    [
        ["tasks", "--home", "{home}"],
        ["tasks", "--json", "--home", "{home}", "--config", "{config}"],
        ["--home", "{elsewhere}", "tasks", "--home", "{home}"],
        ["validate", "--home", "{home}"],
        ["daemon", "status", "--home", "{home}"],
        ["runs", "--home", "{home}"],
        ["routines", "list", "--config", "{config}", "--home", "{home}"],
    ],
)
def test_global_options_after_the_command(
    home: Path, tmp_path: Path, args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """--home and --config work after the command too; the one after it wins."""
    values = {"home": str(home), "config": str(home / "config.toml"), "elsewhere": str(tmp_path)}
    assert main([a.format(**values) for a in args]) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    if "tasks" in args:
        assert "daily-summary" in out


def test_global_options_before_the_command_are_kept(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A --home given only before the command is not reset by the command's own option."""
    assert main(["--home", str(home), "tasks"]) == 0
    assert "daily-summary" in capsys.readouterr().out


def test_the_starter_file_runs_a_task_then_idles(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A fresh home's first cycle runs the live starter task with no model and no key,
    records it, writes its health file and edits the file; the second is HEARTBEAT_OK."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    home = tmp_path / "fresh"
    assert main(["init", "--home", str(home)]) == 0
    capsys.readouterr()
    assert main(["--home", str(home), "daemon", "heartbeat"]) == 0
    assert "heartbeat-log: ok" in capsys.readouterr().out
    workspace = home / "workspace"
    assert (workspace / "heartbeat-log.txt").read_text().strip()
    text = (workspace / "HEARTBEAT.md").read_text()
    assert "- Last run: " in text and "(ok)" in text
    assert list((home / "health").rglob("*heartbeat-log*"))
    assert main(["--home", str(home), "runs"]) == 0
    assert "heartbeat-log" in capsys.readouterr().out
    assert main(["--home", str(home), "daemon", "heartbeat"]) == 0
    assert capsys.readouterr().out.strip() == "HEARTBEAT_OK"


def test_a_failed_run_is_logged_at_error(tmp_path: Path) -> None:
    """`grep ERROR agent.log` finds a failed task; an ok one stays at INFO."""
    home = tmp_path / "lhb"
    (home / "workspace").mkdir(parents=True)
    (home / "workspace" / "HEARTBEAT.md").write_text(
        "## Pending\n### Broken\n- Run: exit 3\n### Fine\n- Run: true\n## Completed\n"
    )
    main(["--home", str(home), "daemon", "heartbeat"])
    lines = (home / "logs" / "agent.log").read_text().splitlines()
    assert [line for line in lines if " ERROR " in line and "broken: error" in line]
    assert [line for line in lines if " INFO " in line and "fine: ok" in line]


# -- validate --json ----------------------------------------------------------------
def test_validate_json(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """validate --json: diagnostics, tasks and commented examples, exit 2 on errors."""
    assert lhb(home, "validate", "--json") == 0
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] is True and data["errors"] == 0
    assert [t["id"] for t in data["tasks"]] == ["daily-summary", "backup-photos"]
    assert data["tasks"][1]["type"] == "conditional"
    assert data["commented"] == [{"id": "weekly-review", "title": "Weekly Review", "line": 13}]
    path = home / "workspace" / "HEARTBEAT.md"
    path.write_text("## Pending\n### A\n- Due: soon\n")
    assert lhb(home, "validate", "--json") == 2
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] is False and data["errors"] == 1
    assert data["diagnostics"][0]["severity"] == "error" and data["diagnostics"][0]["line"] == 3


def test_validate_json_shape_is_documented(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The keys docs/cli.md shows for validate --json are the keys it prints."""
    doc = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    start = doc.index("### `validate --json`")
    opening = doc.index("```json\n", start) + 8
    block = doc[opening : doc.index("\n```", opening)]
    documented = json.loads(block)
    assert lhb(home, "validate", "--json") == 0
    real = json.loads(capsys.readouterr().out)
    assert set(documented) == set(real)
    for key in ("diagnostics", "tasks", "commented"):
        assert set(documented[key][0]) <= {
            "line",
            "severity",
            "message",
            "hint",
            "id",
            "title",
            "type",
            "section",
        }
        if real[key]:
            assert set(documented[key][0]) == set(real[key][0])


# -- runs: the table fits, one run shows whole -------------------------------------------
def _row(id_: int, task: str, kind: str = "task", attempt: int = 1, summary: str = "") -> RunRow:
    at = datetime(2024, 1, 15, 15, 0, tzinfo=UTC)
    return RunRow(
        id=id_, task_id=task, slot=at.isoformat(), kind=kind, attempt=attempt, state="ok",
        status="ok", summary=summary, notes=None, started_at=at,
        completed_at=at + timedelta(seconds=75), lease_expires_at=None, pid=1, host="h",
        prompt_tokens=1000, completion_tokens=234, steps=3, tool_calls=2, duration=75.0,
        error=None, result_json=None,
    )  # fmt: skip


@pytest.mark.parametrize("width", [80, 100, 200])
def test_runs_table_fits_and_keeps_its_markers(width: int) -> None:
    """Each line fits the width; `(check)` and `#2` survive a long id and a long summary."""
    rows = [
        _row(2, "a-rather-long-task-identifier-that-goes-on", "check", summary="x" * 300),
        _row(1, "daily-summary", attempt=2, summary="wrote it all " * 20),
    ]
    lines = format_runs(rows, UTC, width=width).splitlines()
    assert all(len(line) <= width for line in lines), lines
    assert " (check)" in lines[1] and "  15:00 #2  " in lines[2]


def test_runs_table_in_the_docs_is_what_runs_prints() -> None:
    """The example table of ledger-and-health.md is format_runs' output for its rows."""
    doc = (ROOT / "docs" / "ledger-and-health.md").read_text(encoding="utf-8")
    start = doc.index("## `localhb runs`")
    block = doc[doc.index("```\nSTARTED", start) + 4 : doc.index("\n```", doc.index("STARTED"))]
    at = datetime(2024, 1, 15, 16, 0, tzinfo=UTC)
    check = _row(3, "backup", "check")
    running = dataclasses.replace(
        check, state="running", status=None, summary=None, completed_at=None, duration=None,
        prompt_tokens=0, completion_tokens=0, started_at=at, slot=at.isoformat(),
    )  # fmt: skip
    retry = _row(2, "daily-summary", attempt=2, summary="wrote it all")
    assert format_runs([running, retry], UTC, width=100) == block


def test_runs_show_prints_the_trace(
    home: Path, scripted_llm: ScriptedLLM, capsys: pytest.CaptureFixture[str]
) -> None:
    """`runs show ID` and `runs show TASK_ID` print the tool calls with output, result, cost."""
    (home / "workspace" / "notes.md").write_text("buy milk\n")
    scripted_llm.call("read_file", {"path": "notes.md"}).call("read_file", {"path": "gone.md"})
    scripted_llm.complete("ok", "summarized", notes="one note")
    scripted_llm.report(False, "inbox/ is empty")
    assert lhb(home, "daemon", "heartbeat", "--now", "2030-01-01 10:00") == 0
    capsys.readouterr()
    assert lhb(home, "runs", "show", "daily-summary") == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("run ") and "daily-summary, slot " in out[0]
    assert out[1] == "> daily-summary with m"
    assert out[2].startswith("   1 read_file(path='notes.md') -> ok")
    assert out[3] == "       | buy milk"
    assert out[4].startswith("   2 read_file(path='gone.md') -> ERROR")
    assert out[6:8] == ["= ok: summarized", "  one note"]
    assert out[-1].startswith("  (3 steps, 3 tool calls, ") and "tokens, " in out[-1]
    run_id = out[0].split()[1].rstrip(":")
    assert lhb(home, "runs", "show", run_id, "--json") == 0
    assert json.loads(capsys.readouterr().out)["result"]["summary"] == "summarized"
    assert lhb(home, "runs", "show", "backup-photos") == 0
    assert "= condition not met: inbox/ is empty" in capsys.readouterr().out


def test_runs_show_unknown(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An unknown run or task is a clear error, exit 2."""
    assert lhb(home, "runs", "show", "42") == 2
    assert capsys.readouterr().err.startswith("localhb: error: no run 42 in the ledger\n")


# -- daemon heartbeat says what it is doing ---------------------------------------------
def test_heartbeat_prints_a_line_as_each_task_starts(
    home: Path, scripted_llm: ScriptedLLM, capsys: pytest.CaptureFixture[str]
) -> None:
    """A start line per task on stderr (with -v the trace too); stdout keeps the results."""
    (home / "workspace" / "HEARTBEAT.md").write_text(HEARTBEAT.split("### Backup")[0])
    scripted_llm.call("list_dir", {}).complete("ok", "first")
    assert lhb(home, "daemon", "heartbeat", "--now", "2030-01-01 10:00") == 0
    out, err = capsys.readouterr()
    assert out == "daily-summary: ok - first\n"  # stdout: results only, for cron and scripts
    assert err.startswith("> running daily-summary (Daily Summary) with m at http://")
    assert err.count("\n") == 1
    (home / "workspace" / "HEARTBEAT.md").write_text(
        "## Pending\n### Tidy\n- Description: tidy up\n"
    )
    scripted_llm.call("list_dir", {}).complete("ok", "tidied")
    assert lhb(home, "daemon", "heartbeat", "-v", "--now", "2030-01-01 10:05") == 0
    out, err = capsys.readouterr()
    assert out == "tidy: ok - tidied\n"
    lines = err.splitlines()
    assert lines[0].startswith("> running tidy (Tidy) with m at")
    assert lines[1] == "  tidy:   1 list_dir() -> ok"
    assert lines[2].startswith("  tidy:   2 complete_task(status='ok'")


# -- completion ---------------------------------------------------------------------
def _complete(home: Path, *words: str) -> list[str]:
    script = subprocess.run(
        [sys.executable, "-m", "localhb", "completion", "bash"],
        capture_output=True, text=True, check=True, env={**os.environ, "PYTHONPATH": str(ROOT)},
    ).stdout  # fmt: skip
    bindir = home.parent / "bin"
    bindir.mkdir(exist_ok=True)
    shim = bindir / "localhb"
    shim.write_text(f'#!/bin/sh\nPYTHONPATH="{ROOT}" exec "{sys.executable}" -m localhb "$@"\n')
    shim.chmod(0o755)
    line = " ".join(f"'{w}'" for w in ["localhb", *words])
    probe = (
        f"{script}\nCOMP_WORDS=({line}); COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))\n"
        '_localhb; printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    env = {**os.environ, "PATH": f"{bindir}:{os.environ['PATH']}"}
    done = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    return [w for w in done.stdout.splitlines() if w]


def test_bash_completion_commands_options_and_task_ids(home: Path) -> None:
    """bash completes commands, actions, options, and task ids of the --home typed."""
    assert "daemon" in _complete(home, "")
    assert set(_complete(home, "daemon", "re")) == {"restart", "reload"}
    assert "--verbose" in _complete(home, "daemon", "heartbeat", "--")
    assert _complete(home, "--home", str(home), "run", "") == ["daily-summary", "backup-photos"]
    assert _complete(home, "--home", str(home), "runs", "show", "ba") == ["backup-photos"]
    assert _complete(home, "--home", str(home), "runs", "--task", "d") == ["daily-summary"]


@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_other_shells_get_a_script(shell: str, capsys: pytest.CaptureFixture[str]) -> None:
    """zsh and fish scripts name every command; they load when that shell is installed."""
    assert main(["completion", shell]) == 0
    script = capsys.readouterr().out
    for word in ("daemon", "restart", "reload", "completion", "--task-ids"):
        assert word in script
    exe = shutil.which(shell)
    if exe is None:
        pytest.skip(f"{shell} is not installed")
    assert subprocess.run([exe, "-n", "-c", script], capture_output=True).returncode == 0


def test_completion_task_ids_are_quiet_on_problems(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With no file at all the id list is empty and nothing is printed on stderr."""
    assert main(["--home", str(tmp_path / "none"), "completion", "--task-ids"]) == 0
    assert capsys.readouterr() == ("", "")


# -- a closed pipe is not a traceback ----------------------------------------------------
def test_closed_pipe_is_quiet(home: Path) -> None:
    """`localhb validate --explain | head -1` prints one line and no traceback."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    big = "## Pending\n" + "".join(f"### T{i}\n- Description: d\n" for i in range(3000))
    (home / "workspace" / "HEARTBEAT.md").write_text(big)
    cmd = f'"{sys.executable}" -m localhb --home "{home}" validate --explain | head -1'
    done = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, env=env)
    assert done.stdout.count("\n") == 1
    assert done.stderr == ""


# -- daemon reload and restart ------------------------------------------------------------
def test_reload_and_restart(tmp_path: Path, reap: list[Path]) -> None:
    """reload confirms from the daemon's log; a bad config is refused; restart gives a new pid."""
    home = write_home(tmp_path, interval="1h", shutdown_grace="1s")
    reap.append(home)
    none = daemon_cli(home, "reload")
    assert none.returncode == 1 and "no daemon is running for" in none.stderr
    assert daemon_cli(home, "start").returncode == 0
    first = read_pid(home)
    done = daemon_cli(home, "reload")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"daemon reloaded (pid {first}): reloaded from ")
    config = home / "config.toml"
    good = config.read_text()
    config.write_text(good + "\n[heartbeat.nope]\n")
    bad = daemon_cli(home, "reload")
    assert bad.returncode == 2 and bad.stderr.startswith("localhb: error: ")
    config.write_text(good)
    again = daemon_cli(home, "restart")
    assert again.returncode == 0, again.stderr
    assert (
        f"daemon stopped (pid {first})" in again.stdout and "daemon started (pid " in again.stdout
    )
    second = read_pid(home)
    assert second not in (None, first)
    assert daemon_cli(home, "stop").returncode == 0
    assert daemon_cli(home, "restart").returncode == 0  # starts one when none runs
    assert daemon_cli(home, "stop").returncode == 0


# -- docs that are true ----------------------------------------------------------------
def test_a_task_without_a_time_runs_within_seconds_of_the_edit(tmp_path: Path) -> None:
    """operations.md: under the daemon an undated task added while idle runs at the edit."""
    from tests.test_daemon import T0, FakeTime, cfg, drive

    home = write_home(tmp_path, interval="30m")
    fake = FakeTime()
    path = home / "workspace" / "HEARTBEAT.md"
    added = T0 + timedelta(minutes=5)
    fake.at(added, lambda: path.write_text("## Pending\n### New\n- Description: now\n"))
    seen, _, _ = drive(cfg(home), fake, T0 + timedelta(minutes=20))
    assert seen[:2] == [T0, added]  # not T0 + 30m, the next interval tick
    ops = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    assert "runs within seconds" in ops and "next interval tick" not in ops


def _doc_line(page: str, starts: str) -> str:
    text = (ROOT / page).read_text(encoding="utf-8")
    return next(line for line in text.splitlines() if line.startswith(starts))


@pytest.mark.parametrize(
    ("page", "target", "placeholder"),
    [
        ("docs/operations.md", "~/.config/systemd/user/localhb.service", "ExecStart="),
        ("docs/operations.md", "~/Library/LaunchAgents/com.localhb.daemon.plist", "<string>"),
    ],
)
def test_unit_install_lines_write_the_real_path(
    tmp_path: Path, page: str, target: str, placeholder: str
) -> None:
    """The documented sed lines put `command -v localhb` (venv or pipx) into the unit."""
    for where in ("venv/.venv/bin", ".local/bin"):  # a clone's virtualenv, or pipx
        bindir = tmp_path / where
        bindir.mkdir(parents=True)
        (bindir / "localhb").write_text("#!/bin/sh\n")
        (bindir / "localhb").chmod(0o755)
        line = _doc_line(page, 'sed "s|^ExecStart' if "systemd" in target else "sed -e")
        out = tmp_path / "unit"
        line = line.replace(target, str(out))
        env = {**os.environ, "PATH": f"{bindir}:/usr/bin:/bin", "HOME": str(tmp_path)}
        subprocess.run(["bash", "-c", line], cwd=ROOT, env=env, check=True)
        text = out.read_text()
        assert f"{placeholder}{bindir}/localhb" in text
        assert "YOU" not in text.split("-->", 1)[-1]
        exe = shutil.which("systemd-analyze")
        if "systemd" in target and exe is not None:
            unit = tmp_path / "localhb.service"
            unit.write_text(text)
            done = subprocess.run([exe, "verify", str(unit)], capture_output=True, text=True)
            assert done.returncode == 0, done.stderr
        (bindir / "localhb").unlink()
