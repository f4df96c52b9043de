"""The command line: init, validate, tasks, exit codes and the light idle path."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from localhb.cli import main

SAMPLE = """## Pending

### Check CI Status
- Priority: high
- Due: 2024-01-15 14:00

### Daily Summary
- Recurring: daily at 18:00

## Completed
"""


@pytest.fixture
def home(tmp_path: Path) -> Path:
    h = tmp_path / "lhb"
    assert main(["--home", str(h), "init"]) == 0
    return h


def test_init_creates_and_never_overwrites(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """init creates config and HEARTBEAT.md, prints them, and keeps existing files."""
    h = tmp_path / "h"
    assert main(["init", "--home", str(h)]) == 0
    out = capsys.readouterr().out
    assert "created" in out and str(h / "config.toml") in out
    hb = h / "workspace" / "HEARTBEAT.md"
    hb.write_text("mine\n")
    assert main(["init", "--home", str(h)]) == 0
    assert "kept" in capsys.readouterr().out
    assert hb.read_text() == "mine\n"


def test_starter_file_is_clean_and_costs_nothing(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The starter HEARTBEAT.md validates clean; its one live task needs no model."""
    assert main(["--home", str(home), "validate"]) == 0
    assert "1 pending task(s), 0 error(s) - ok" in capsys.readouterr().out
    assert main(["--home", str(home), "tasks"]) == 0
    header, *rows, _ = capsys.readouterr().out.splitlines()
    at = header.index("TOKENS")
    assert [(row.split()[0], row[at : at + 6].strip()) for row in rows] == [("heartbeat-log", "0")]


def test_validate_reports_errors_with_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """validate prints path:line diagnostics and exits 2 on errors."""
    f = tmp_path / "HB.md"
    f.write_text("## Pending\n### A\n- Due: someday\n")
    assert main(["--home", str(tmp_path), "validate", str(f)]) == 2
    assert f"{f}:3: error: Due" in capsys.readouterr().out


def test_validate_warnings_exit_zero(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Warnings print but do not fail."""
    f = tmp_path / "HB.md"
    f.write_text("# Just notes\n")
    assert main(["--home", str(tmp_path), "validate", str(f)]) == 0
    assert "warning: no Pending section" in capsys.readouterr().out


def test_validate_explain(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--explain shows sections, tasks with their schedule, and examples left alone."""
    f = tmp_path / "HB.md"
    f.write_text(
        "## Every 30 Minutes\n- x\n## Pending\n<!--\n### Ex\n-->\n### Real (every 4 hours)\n"
    )
    assert main(["--home", str(tmp_path), "validate", "--explain", str(f)]) == 0
    out = capsys.readouterr().out
    assert "ignored" in out and "reads as a schedule (every 30m)" in out
    assert "recurring task 'real'" in out and "every 4h" in out
    assert "never read as a task" in out


def test_missing_file_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A missing HEARTBEAT.md is a one-line error naming the path, exit 2."""
    assert main(["--home", str(tmp_path), "validate"]) == 2
    err = capsys.readouterr().err
    assert "HEARTBEAT.md: file not found" in err and "Traceback" not in err


def test_not_utf8_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A file that is not UTF-8 names the line and exits 2."""
    f = tmp_path / "HB.md"
    f.write_bytes(b"## Pending\n### caf\xe9\n")
    assert main(["--home", str(tmp_path), "validate", str(f)]) == 2
    assert "line 2: not UTF-8" in capsys.readouterr().err


def test_bad_config_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A config error names file and key, without a traceback."""
    c = tmp_path / "c.toml"
    c.write_text("[heartbeat]\ninterval = 5x\n")
    assert main(["--config", str(c), "validate"]) == 2
    assert str(c) in capsys.readouterr().err


def test_tasks_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """tasks --json lists id, title, type, next_due with offset, priority and line."""
    f = tmp_path / "HB.md"
    f.write_text(SAMPLE)
    cfg = tmp_path / "c.toml"
    cfg.write_text('[heartbeat]\ntimezone = "Europe/Berlin"\n')
    argv = ["--config", str(cfg), "tasks", "--file", str(f), "--at", "2024-01-15 12:00", "--json"]
    assert main(argv) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["id"], r["type"], r["priority"], r["line"]) for r in rows] == [
        ("check-ci-status", "one-time", "high", 3),
        ("daily-summary", "recurring", "medium", 7),
    ]
    assert rows[0]["next_due"] == "2024-01-15T14:00:00+01:00"
    assert rows[1]["next_due"] == "2024-01-15T18:00:00+01:00"
    assert rows[0]["title"] == "Check CI Status"


def test_tasks_table_at(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """tasks --at evaluates as if it were that time."""
    f = tmp_path / "HB.md"
    f.write_text(SAMPLE)
    assert (
        main(["--home", str(tmp_path), "tasks", "--file", str(f), "--at", "2024-01-15 14:30"]) == 0
    )
    out = capsys.readouterr().out
    assert "check-ci-status" in out and "due now" in out
    assert "daily at 18:00" in out


def test_tasks_bad_at(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A malformed --at is a usage error."""
    f = tmp_path / "HB.md"
    f.write_text(SAMPLE)
    assert main(["--home", str(tmp_path), "tasks", "--file", str(f), "--at", "tomorrow"]) == 2


def test_idle_path_imports_no_openai_or_httpx(tmp_path: Path) -> None:
    """validate and tasks never import openai or httpx."""
    f = tmp_path / "HB.md"
    f.write_text(SAMPLE)
    code = (
        "import sys; from localhb.cli import main;"
        f"main(['--home', {str(tmp_path)!r}, 'validate', {str(f)!r}]);"
        f"main(['--home', {str(tmp_path)!r}, 'tasks', '--file', {str(f)!r}]);"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('openai', 'httpx')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
    ).stdout
    assert out.strip().splitlines()[-1] == "[]"


def test_version_and_help() -> None:
    """--version and --help work on every command."""
    for argv in (
        ["--version"],
        ["--help"],
        ["validate", "--help"],
        ["tasks", "--help"],
        ["init", "--help"],
    ):
        with pytest.raises(SystemExit) as done:
            main(argv)
        assert done.value.code == 0
