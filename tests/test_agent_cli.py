"""`localhb run TASK_ID`: live trace, exit codes, and HEARTBEAT.md left alone."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from localhb.cli import main
from localhb.cli.run_cmd import TracePrinter
from localhb.core.results import EventKind, TraceEvent
from tests.scripted_llm import ScriptedLLM, scripted_llm

__all__ = ["scripted_llm"]

HEARTBEAT = """# Heartbeat

## Pending

### Tidy notes
- Priority: high
- Description: Tidy notes.md

### Merge PR
- Condition: ci.txt says green
- Description: Merge the PR
"""


@pytest.fixture
def home(tmp_path: Path, scripted_llm: ScriptedLLM) -> Path:
    home = tmp_path / "lhb"
    (home / "workspace").mkdir(parents=True)
    (home / "workspace" / "HEARTBEAT.md").write_text(HEARTBEAT)
    (home / "config.toml").write_text(
        f'[llm]\nbase_url = "{scripted_llm.base_url}"\nmodel = "m"\n'
        "max_retries = 0\nretry_backoff = 0.01\n"
    )
    return home


def run(home: Path, *args: str) -> int:
    return main(["--home", str(home), "run", *args])


def test_run_prints_a_trace_and_exits_0(
    home: Path, scripted_llm: ScriptedLLM, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each tool call prints with short arguments and outcome, then the result."""
    heartbeat = home / "workspace" / "HEARTBEAT.md"
    before = heartbeat.read_bytes()
    scripted_llm.call("read_file", {"path": "missing.md"}).call("list_dir", {})
    scripted_llm.complete("partial", "tidied half", notes="the rest needs a person")
    assert run(home, "tidy-notes") == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("> running tidy-notes (Tidy notes) with m at http://127.0.0.1:")
    assert out[1] == "   1 read_file(path='missing.md') -> ERROR: no such file: missing.md"
    assert out[2] == "   2 list_dir() -> ok"
    assert out[3].startswith("   3 complete_task(status='partial', summary='tidied half', ")
    assert out[4:6] == ["= partial: tidied half", "  the rest needs a person"]
    assert out[6].startswith("  (3 steps, 3 tool calls, ")
    assert heartbeat.read_bytes() == before


def test_run_error_exits_1(
    home: Path, scripted_llm: ScriptedLLM, capsys: pytest.CaptureFixture[str]
) -> None:
    """A task ending in error exits 1; --json prints the result too."""
    scripted_llm.error(500, "boom")
    assert run(home, "tidy-notes", "--json") == 1
    out = capsys.readouterr().out
    assert "= error: HTTP 500" in out
    data = json.loads(out[out.index("{") :])
    assert data["status"] == "error" and data["failure"] == "llm"


def test_unknown_task_exits_2_listing_ids(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An unknown id exits 2 and lists the ids the file has."""
    assert run(home, "nope") == 2
    err = capsys.readouterr().err
    assert "no task with id 'nope'" in err and "known ids: tidy-notes, merge-pr" in err


def test_missing_key_exits_2_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A remote endpoint without a key is a one-line error naming the variable."""
    home = tmp_path / "lhb"
    (home / "workspace").mkdir(parents=True)
    (home / "workspace" / "HEARTBEAT.md").write_text(HEARTBEAT)
    (home / "config.toml").write_text('[llm]\nbase_url = "https://api.example.com/v1"\n')
    assert run(home, "tidy-notes") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "localhb: error: no API key: set OPENAI_API_KEY (needed for https://api.example.com/v1)"
    ]


def test_check_first_when_asked(
    home: Path, scripted_llm: ScriptedLLM, capsys: pytest.CaptureFixture[str]
) -> None:
    """With --check a conditional task runs only when its condition is met."""
    scripted_llm.report(False, "no ci.txt")
    assert run(home, "merge-pr", "--check") == 0
    assert "= condition not met, task not run: no ci.txt" in capsys.readouterr().out
    scripted_llm.report(True, "green").complete("ok", "merged")
    assert run(home, "merge-pr", "--check") == 0
    out = capsys.readouterr().out
    assert "= condition met: green" in out and "= ok: merged" in out


def test_trace_lines() -> None:
    """Retries and model remarks print as their own lines; finish events print nothing."""
    fmt = TracePrinter.format
    assert fmt(TraceEvent(EventKind.RETRY, "t", text="retry 1/3 in 1s: HTTP 429")) == (
        "  ~ retry 1/3 in 1s: HTTP 429"
    )
    assert fmt(TraceEvent(EventKind.MODEL, "t", text="Let me look.")) == "  . model: Let me look."
    slow = TraceEvent(EventKind.TOOL, "t", 2, "command='make'", "run_command", "ok", "", 2.5)
    assert fmt(slow) == "   2 run_command(command='make') -> ok 2.5s"
    assert fmt(TraceEvent(EventKind.FINISH, "t", outcome="ok")) == ""


def test_a_manual_run_is_recorded_but_changes_no_schedule(
    home: Path, scripted_llm: ScriptedLLM, capsys: pytest.CaptureFixture[str]
) -> None:
    """`run ID` is in `runs --json` with trigger manual and a health file; file and
    schedule stay as they were, and the output says so in one line."""
    heartbeat = home / "workspace" / "HEARTBEAT.md"
    before = heartbeat.read_bytes()
    assert main(["--home", str(home), "tasks", "--json"]) == 0
    schedule = json.loads(capsys.readouterr().out)
    scripted_llm.complete("ok", "tidied")
    assert run(home, "tidy-notes") == 0
    out = capsys.readouterr().out.splitlines()
    recorded = [line for line in out if line.startswith("recorded as manual run")]
    assert recorded == [
        "recorded as manual run 1 (`localhb runs`); HEARTBEAT.md and the schedule unchanged"
    ]
    assert main(["--home", str(home), "runs", "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert (row["task_id"], row["trigger"], row["state"]) == ("tidy-notes", "manual", "ok")
    health = json.loads((home / "health" / "tidy-notes_latest.json").read_text())
    assert health["status"] == "ok" and health["summary"] == "tidied"
    assert heartbeat.read_bytes() == before
    assert main(["--home", str(home), "tasks", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == schedule
    assert main(["--home", str(home), "runs"]) == 0
    assert "tidy-notes [manual]" in capsys.readouterr().out
