"""Bad input on the command line (issue 11, D6-D13): one line naming the place, exit 2,
never a traceback or a hang; and output into a closed pipe never breaks a command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from localhb.cli import main
from localhb.core.bounded import MAX_HEARTBEAT_BYTES

HB = "## Pending\n### A\n- Recurring: {schedule}\n- Description: x\n## Completed\n"
COMMANDS = (["validate"], ["tasks"], ["health"], ["daemon", "heartbeat"])


@pytest.fixture
def home(tmp_path: Path) -> Path:
    h = tmp_path / "lhb"
    assert main(["--home", str(h), "init"]) == 0
    return h


def one_error_line(err: str) -> str:
    """The one `localhb: error:` line of stderr (and no traceback)."""
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("localhb")]
    assert len(lines) == 1, err
    return lines[0]


def localhb(*args: str, timeout: float = 60, **kw: object) -> subprocess.CompletedProcess[str]:
    """The real console script in a child process (a hang fails by the timeout)."""
    code = "import sys; from localhb.entry import main; sys.exit(main())"
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=kw.pop("capture_output", True),  # type: ignore[arg-type]
        text=True,
        timeout=timeout,
        **kw,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("schedule", ["every 1000000000 days", "every 999999999 days"])
@pytest.mark.parametrize("command", COMMANDS)
def test_huge_intervals_are_a_diagnostic_in_every_command(
    home: Path, capsys: pytest.CaptureFixture[str], schedule: str, command: list[str]
) -> None:
    """D6: an interval past ten years is a line-numbered error in validate, tasks,
    health and daemon heartbeat, never an OverflowError (`tasks` lists the file and
    its errors, exit 0; health fails, exit 1; the others exit 2)."""
    (home / "workspace" / "HEARTBEAT.md").write_text(HB.format(schedule=schedule))
    code = main(["--home", str(home), *command])
    out, err = capsys.readouterr()
    expected = {"tasks": 0, "health": 1}.get(command[0], 2)  # health: a failing check
    assert code == expected and "Traceback" not in err
    assert "HEARTBEAT.md:3: error: Recurring:" in out + err
    assert "longer than the longest interval" in out + err


@pytest.mark.parametrize(
    "value", ["inf", "nan", "123456789012345678901234567890", '"99999999999999999h"']
)
@pytest.mark.parametrize("command", COMMANDS)
def test_absurd_interval_fails_every_command_with_exit_2(
    home: Path, capsys: pytest.CaptureFixture[str], value: str, command: list[str]
) -> None:
    """D7: interval = inf / nan / 30 digits / "99999999999999999h" is exit 2 (what
    systemd's RestartPreventExitStatus=2 expects) with one line naming the key."""
    (home / "config.toml").write_text(f"[heartbeat]\ninterval = {value}\n")
    assert main(["--home", str(home), *command]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert "config.toml: [heartbeat] interval:" in line


def test_deeply_nested_config_is_a_config_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """D8: 5,000 levels of [[[...]]] is a ConfigError naming the file, not a RecursionError."""
    path = tmp_path / "deep.toml"
    path.write_text("x = " + "[" * 5000 + "]" * 5000 + "\n")
    assert main(["--config", str(path), "tasks"]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert line == f"localhb: error: {path}: not valid TOML: arrays or tables nested too deep"


@pytest.mark.parametrize(
    "argv",
    [
        ["runs", "--limit", "99999999999999999999999"],
        ["deliveries", "--limit", "99999999999999999999999"],
        ["usage", "--days", "99999999999999999999999"],
    ],
)
def test_huge_counts_are_usage_errors(
    home: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    """D9: a 23-digit --limit/--days is refused by argparse (exit 2) naming the option,
    not an OverflowError from SQLite."""
    assert main(["--home", str(home), "daemon", "heartbeat"]) == 0  # a ledger with a run
    capsys.readouterr()
    with pytest.raises(SystemExit) as caught:
        main(["--home", str(home), *argv])
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {argv[-2]}: must be at most 1,000,000" in err and "Traceback" not in err


@pytest.mark.parametrize("command", [["tasks"], ["init"], ["daemon", "heartbeat"], ["runs"]])
def test_home_that_is_a_file_names_home(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    """D9: --home naming a regular file says so about --home, not "Not a directory"."""
    afile = tmp_path / "afile"
    afile.write_text("")
    assert main(["--home", str(afile), *command]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert line.startswith(f"localhb: error: --home {afile}: not a directory")


def test_localhb_home_that_is_a_file_names_the_variable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same for $LOCALHB_HOME."""
    afile = tmp_path / "afile"
    afile.write_text("")
    monkeypatch.setenv("LOCALHB_HOME", str(afile))
    assert main(["tasks"]) == 2
    assert "$LOCALHB_HOME" in one_error_line(capsys.readouterr().err)


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux /proc")
@pytest.mark.parametrize("command", [["daemon", "heartbeat"], ["init"], ["tasks"]])
def test_home_in_proc_is_one_line(capsys: pytest.CaptureFixture[str], command: list[str]) -> None:
    """D9: --home /proc (a directory nothing can be created in) is one line naming it."""
    assert main(["--home", "/proc", *command]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert "/proc/" in line and "--home /proc" in line


def test_fifo_heartbeat_is_refused_not_waited_on(home: Path) -> None:
    """D10: a FIFO as HEARTBEAT.md is refused by validate, tasks and the cycle (whose
    idle fast path reads the file too), at once, exit 2."""
    hb = home / "workspace" / "HEARTBEAT.md"
    assert main(["--home", str(home), "daemon", "heartbeat"]) == 0  # writes the idle cache
    assert main(["--home", str(home), "daemon", "heartbeat"]) == 0  # ... idle now
    hb.unlink()
    os.mkfifo(hb)
    for command in (["validate"], ["tasks"], ["daemon", "heartbeat"]):
        done = localhb("--home", str(home), *command, timeout=30)
        assert done.returncode == 2, done.stderr
        line = one_error_line(done.stderr)
        assert line == f"localhb: error: {hb}: is a FIFO (named pipe); only regular files are read"


def test_fifo_config_is_refused_not_waited_on(tmp_path: Path, home: Path) -> None:
    """D10: a FIFO as --config, or as <home>/config.toml, is a config error at once."""
    fifo = tmp_path / "fifo.toml"
    os.mkfifo(fifo)
    done = localhb("--config", str(fifo), "tasks", timeout=30)
    assert done.returncode == 2
    assert f"{fifo}: is a FIFO (named pipe)" in one_error_line(done.stderr)
    (home / "config.toml").unlink()
    os.mkfifo(home / "config.toml")
    done = localhb("--home", str(home), "daemon", "heartbeat", timeout=30)
    assert done.returncode == 2 and "config.toml: is a FIFO" in one_error_line(done.stderr)


def test_huge_nested_heartbeat_fails_fast(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """D11: 25 MB of 5,000 nested list levels is refused before parsing, naming the limit."""
    import tracemalloc

    hb = home / "workspace" / "HEARTBEAT.md"
    nested = "".join("  " * i + "- x\n" for i in range(5000))
    hb.write_text("## Pending\n### A\n- Recurring: daily at 09:00\n" + nested)
    assert hb.stat().st_size > 25_000_000
    tracemalloc.start()
    try:
        code = main(["--home", str(home), "validate"])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert code == 2
    line = one_error_line(capsys.readouterr().err)
    assert line == f"localhb: error: {hb}: is 23.9 MiB; the limit is 1.0 MiB"
    assert peak < 5 * 1024 * 1024  # not a byte of it was read


def test_deep_nesting_within_the_size_limit_names_the_line(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """D11: a small file nested past the depth limit is refused naming its line."""
    hb = home / "workspace" / "HEARTBEAT.md"
    hb.write_text("## Pending\n### A\n- Recurring: daily at 09:00\n" + "- " * 200 + "x\n")
    assert hb.stat().st_size < MAX_HEARTBEAT_BYTES
    for command in (["validate"], ["tasks"], ["daemon", "heartbeat"]):
        assert main(["--home", str(home), *command]) == 2
        line = one_error_line(capsys.readouterr().err)
        assert line == (
            f"localhb: error: {hb}: line 4: lists or quotes nested 200 levels deep; the limit is 16"
        )


def test_a_large_config_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """D11: config.toml over 1 MiB is refused naming the file and the limit."""
    path = tmp_path / "big.toml"
    path.write_text("# padding\n" * 200_000)
    assert main(["--config", str(path), "tasks"]) == 2
    assert "the limit is 1.0 MiB" in one_error_line(capsys.readouterr().err)


COMMANDS_INTO_A_CLOSED_PIPE = [
    ["--help"],
    ["tasks"],
    ["tasks", "--json"],
    ["validate", "--explain"],
    ["runs"],
    ["runs", "--json"],
    ["health"],
    ["daemon", "status"],
    ["routines", "list"],
    ["completion", "bash"],
    ["usage"],
]


def closed_pipe() -> int:
    """The write end of a pipe whose reader is gone (what `| head` leaves)."""
    read, write = os.pipe()
    os.close(read)
    return write


@pytest.mark.parametrize("command", COMMANDS_INTO_A_CLOSED_PIPE)
def test_output_into_a_closed_pipe_is_quiet(home: Path, command: list[str]) -> None:
    """`localhb ... | head`: no BrokenPipe traceback, and not an error exit."""
    assert main(["--home", str(home), "daemon", "heartbeat"]) == 0
    out = closed_pipe()
    try:
        done = localhb(
            "--home", str(home), *command, stdout=out, capture_output=False, stderr=subprocess.PIPE
        )
    finally:
        os.close(out)
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr
    assert done.returncode in (0, 141), done.stderr


def test_a_cycle_into_a_closed_pipe_still_records_its_runs(home: Path) -> None:
    """`daemon heartbeat 2>&1 | head -1`: progress lines into a closed pipe do not
    crash the run; it is recorded ok and the file gets its Last run line."""
    out = closed_pipe()
    try:
        done = localhb(
            "--home", str(home), "daemon", "heartbeat", stdout=out, stderr=out, capture_output=False
        )
    finally:
        os.close(out)
    assert done.returncode == 0
    runs = localhb("--home", str(home), "runs", "--json")
    rows = json.loads(runs.stdout)
    assert [(r["task_id"], r["status"]) for r in rows] == [("heartbeat-log", "ok")]
    assert "- Last run:" in (home / "workspace" / "HEARTBEAT.md").read_text()
