"""Health files: names, fields, sanitising, legacy reading, overdue detection, `localhb health`."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from localhb.cli import main
from localhb.format.parser import parse
from localhb.state.health import (
    METRIC_KEYS,
    SUMMARY_LIMIT,
    HealthEntry,
    HealthRecord,
    assess,
    health_filename,
    record_from_result,
    safe_name,
    scan_health,
    validate_health,
    write_health,
)
from localhb.state.ledger import Ledger
from localhb.state.records import RunEnd
from localhb.timing.schedule import parse_active_hours

T0 = datetime(2024, 1, 15, 14, 0, tzinfo=UTC)
CYCLE = timedelta(minutes=30)

DOC = """## Pending

### Hourly Check
- Recurring: every 1h

### Daily Summary
- Recurring: daily at 18:00

### Weekdays
- Recurring: cron 0 9 * * 1-5

### Each Beat
- Recurring: every heartbeat

### Fix Printer
- Due: 2024-01-15 14:00

### Paused Job
- Recurring: every 1h
- Paused: by me

### From The File
- Recurring: every 1h
- Last run: 2024-01-15 13:30 (ok)

## Completed

### Old Thing
- Due: 2024-01-01 10:00
"""
TASKS = parse(DOC).tasks


def record(**kw: Any) -> HealthRecord:
    values: dict[str, Any] = {
        "task_id": "daily-summary",
        "status": "ok",
        "started_at": T0,
        "completed_at": T0 + timedelta(minutes=2, seconds=3),
        "summary": "Wrote the summary.",
    }
    values.update(kw)
    return HealthRecord(**values)


# --- writing ------------------------------------------------------------------------------


def test_file_name_and_latest_copy(tmp_path: Path) -> None:
    """A run writes <YYYY-MM-DD>_<task>_<HHMM>.json (UTC start) and <task>_latest.json."""
    berlin = datetime(2024, 1, 15, 15, 7, tzinfo=ZoneInfo("Europe/Berlin"))
    path = write_health(tmp_path / "health", record(started_at=berlin, completed_at=berlin))
    assert path.name == "2024-01-15_daily-summary_1407.json"
    latest = tmp_path / "health" / "daily-summary_latest.json"
    assert latest.read_text() == path.read_text()
    assert sorted(p.name for p in (tmp_path / "health").iterdir()) == [
        "2024-01-15_daily-summary_1407.json",
        "daily-summary_latest.json",
    ]  # no temp files left behind


def test_written_fields_are_complete_and_valid(tmp_path: Path) -> None:
    """Every required field is present and non-null, times end in Z, metrics are complete."""
    rec = record(prompt_tokens=120, completion_tokens=30, steps=4, tool_calls=2)
    data = json.loads(write_health(tmp_path, rec).read_text())
    assert validate_health(data) == []
    assert data["started_at"] == "2024-01-15T14:00:00Z"
    assert data["completed_at"] == "2024-01-15T14:02:03Z"
    assert data["warnings"] == [] and data["errors"] == []
    assert data["metrics"] == {
        "prompt_tokens": 120,
        "completion_tokens": 30,
        "steps": 4,
        "tool_calls": 2,
        "duration_seconds": 123.0,
    }
    assert all(data[k] is not None for k in data)


def test_summary_is_one_short_line(tmp_path: Path) -> None:
    """Newlines, control characters and length are cleaned; an empty summary gets a default."""
    messy = "line one\nline\ttwo\x1b[31m red\x00 " + "word " * 100
    data = record(summary=messy).to_dict()
    assert len(data["summary"]) < SUMMARY_LIMIT
    assert "\n" not in data["summary"] and "\x1b" not in data["summary"]
    assert data["summary"].startswith("line one line two [31m red")
    assert validate_health(data) == []
    assert record(summary="  \n ").to_dict()["summary"] == "ok: no summary given"
    assert record(status="timeout", summary="").to_dict()["summary"].startswith("timed out")


@pytest.mark.parametrize(
    ("state", "reason"), [("timeout", "timed out"), ("abandoned", "abandoned")]
)
def test_ledger_only_states_become_error_with_a_reason(state: str, reason: str) -> None:
    """A ledger timeout/abandoned run is written as status error, explained in errors."""
    data = record(status=state, errors=("tool x failed",)).to_dict()
    assert data["status"] == "error"
    assert data["errors"][0].startswith(reason)
    assert data["errors"][1] == "tool x failed"
    assert validate_health(data) == []


def test_record_refuses_naive_times_and_unknown_status() -> None:
    """A HealthRecord needs aware times and a known status."""
    with pytest.raises(ValueError, match="aware"):
        record(started_at=datetime(2024, 1, 15, 14, 0))
    with pytest.raises(ValueError, match="status"):
        record(status="GREEN")


def test_record_from_an_agent_result() -> None:
    """record_from_result reads a result's to_dict(): tokens, steps, calls, errors."""
    result = {
        "prompt_tokens": 50,
        "completion_tokens": 7,
        "steps": 2,
        "tool_calls": [{"name": "a"}, {"name": "b"}, {"name": "c"}],
        "tool_errors": 1,
        "errors": ["shell: exit 1"],
        "seconds": 4.25,
        "failure": None,
    }
    ok = record_from_result("t", "partial", "mostly", T0, T0, result).to_dict()
    assert ok["status"] == "partial" and ok["errors"] == []
    assert ok["warnings"] == ["shell: exit 1", "1 tool call(s) did not succeed"]
    assert ok["metrics"]["tool_calls"] == 3 and ok["metrics"]["duration_seconds"] == 4.25
    crash = record_from_result("t", "error", "crashed", T0, T0, {"error": "crashed: Boom"})
    assert crash.to_dict()["errors"] == ["crashed: Boom"]
    assert validate_health(ok) == [] and validate_health(crash.to_dict()) == []


def test_record_from_a_ledger_run(tmp_path: Path) -> None:
    """from_run maps a finished ledger run onto a valid health record."""
    with Ledger.open(tmp_path / "state.db") as led:
        run = led.claim("backup", T0, "task", T0, timedelta(minutes=10), 1)
        assert run is not None
        end = RunEnd.from_result("timeout", {"prompt_tokens": 9, "failure": "slow"})
        row = led.finish(run, end, T0 + timedelta(minutes=10))
    data = HealthRecord.from_run(row).to_dict()
    assert data["status"] == "error" and data["errors"][1] == "slow"
    assert data["metrics"]["prompt_tokens"] == 9 and data["metrics"]["duration_seconds"] == 600
    assert validate_health(data) == []


@pytest.mark.parametrize(
    ("task_id", "readable"),
    [
        ("daily-summary", "daily-summary"),
        ("ünïcode-tâsk", "ünïcode-tâsk"),
        ("日報_まとめ", "日報_まとめ"),
        ("v1.2-release", "v1.2-release"),
        ("a/b", "a-b-"),
        ("../../etc/passwd", "etc-passwd-"),
        ("..", "task-"),
        ("a..b", "a.b-"),
        (".hidden", "hidden-"),
        ("two words: yes?", "two-words-yes-"),
    ],
)
def test_safe_names(task_id: str, readable: str) -> None:
    """File names keep letters of any script; anything unsafe is replaced and hashed."""
    name = safe_name(task_id)
    assert name.startswith(readable)
    assert "/" not in name and ".." not in name and not name.startswith(".")
    if readable != task_id:
        assert len(name) == len(readable) + 8  # the id's hash keeps names distinct


def test_safe_names_stay_distinct_and_short() -> None:
    """Ids that clean up the same get different names; long ids are cut to a safe length."""
    assert safe_name("a/b") != safe_name("a:b")
    long_id = "ß" * 300
    assert len(safe_name(long_id).encode()) <= 130
    assert health_filename("a/b", T0) == f"2024-01-15_{safe_name('a/b')}_1400.json"


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"task_id": None}, "task_id: null"),
        ({"status": "GREEN"}, "status"),
        ({"started_at": "2024-01-15T14:00:00+00:00"}, "started_at"),
        ({"completed_at": "2024-01-15T13:00:00Z"}, "before started_at"),
        ({"summary": "two\nlines"}, "one non-empty line"),
        ({"summary": "x" * 200}, "under 200"),
        ({"warnings": [1]}, "warnings"),
        ({"metrics": {"steps": 1}}, "metrics.prompt_tokens"),
        ({"errors": None}, "errors: null"),
    ],
)
def test_validator_catches_schema_breaks(change: dict[str, Any], problem: str) -> None:
    """validate_health names each broken rule of the schema."""
    data = {**record().to_dict(), **change}
    problems = validate_health(data)
    assert any(problem in p for p in problems), problems


def test_validator_requires_every_field() -> None:
    """A missing field or a non-object is reported."""
    assert validate_health([]) == ["expected a JSON object, got list"]
    data = record().to_dict()
    del data["metrics"]
    assert validate_health(data) == ["metrics: missing"]


# --- reading ------------------------------------------------------------------------------


def put(directory: Path, name: str, obj: Any) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / name).write_text(obj if isinstance(obj, str) else json.dumps(obj))


def legacy(task_id: str | None, status: Any, started: str, **kw: Any) -> dict[str, Any]:
    return {
        "task_id": task_id,
        "status": status,
        "started_at": started,
        "completed_at": started,
        "summary": "s",
        **kw,
    }


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        ("GREEN", "ok"),
        ("YELLOW", "partial"),
        ("RED", "error"),
        ("green", "ok"),
        ("Partial", "partial"),
    ],
)
def test_legacy_statuses_read_as_canonical(tmp_path: Path, raw: str, status: str) -> None:
    """GREEN/YELLOW/RED read as ok/partial/error; the raw value is kept."""
    put(tmp_path, "2024-01-15_t_1400.json", legacy("t", raw, "2024-01-15T14:00:00Z"))
    scan = scan_health(tmp_path)
    assert scan.problems == ()
    (entry,) = scan.entries
    assert (entry.status, entry.raw_status) == (status, raw)


def test_odd_files_become_problems_not_exceptions(tmp_path: Path) -> None:
    """Bad JSON, missing ids and unknown statuses are reported; usable files still count."""
    put(tmp_path, "broken.json", "{not json")
    put(tmp_path, "noid.json", legacy(None, "ok", "2024-01-15T14:00:00Z"))
    put(tmp_path, "2024-01-15_w_1400.json", legacy("w", "WEIRD", "2024-01-15T14:00:00Z"))
    put(tmp_path, "2024-01-15_n_0930.json", {"task_id": "n", "status": "ok", "started_at": None})
    put(tmp_path, "notes.txt", "ignored")
    scan = scan_health(tmp_path)
    assert len(scan.problems) == 4
    by_id = {e.task_id: e for e in scan.entries}
    assert by_id["w"].status == "error"  # an unknown status is counted as a failure
    assert by_id["n"].when == datetime(2024, 1, 15, 9, 30, tzinfo=UTC)  # from the file name
    assert scan_health(tmp_path / "missing") == scan_health(tmp_path / "missing2")


def test_latest_entry_per_task(tmp_path: Path) -> None:
    """The newest file of each task wins, whatever the names sort as."""
    for hhmm, status in [("0900", "error"), ("1400", "ok"), ("1100", "partial")]:
        started = f"2024-01-15T{hhmm[:2]}:{hhmm[2:]}:00Z"
        put(tmp_path, f"2024-01-15_t_{hhmm}.json", legacy("t", status, started))
    assert scan_health(tmp_path).latest()["t"].status == "ok"


def test_only_the_newest_dated_file_is_read(tmp_path: Path) -> None:
    """Older dated files are not opened; an unreadable newest one falls back to the next."""
    put(tmp_path, "2023-01-01_t_0000.json", "{old and broken, never read")
    put(tmp_path, "2024-01-15_t_0900.json", legacy("t", "RED", "2024-01-15T09:00:00Z"))
    put(tmp_path, "2024-01-15_t_1000.json", "{newest but broken")
    scan = scan_health(tmp_path)
    assert [e.status for e in scan.entries] == ["error"]
    assert len(scan.problems) == 1 and "2024-01-15_t_1000.json" in scan.problems[0]


# --- overdue ------------------------------------------------------------------------------


def entry(task_id: str, when: datetime, status: str = "ok") -> HealthEntry:
    return HealthEntry(task_id, status, status, when, when, "did it", (), Path("x.json"))


def check(task_id: str, last: datetime | None, now: datetime, tz: Any = UTC, **kw: Any) -> Any:
    latest = {task_id: entry(task_id, last)} if last else {}
    rows = assess(latest, TASKS, now, tz, cycle=CYCLE, **kw)
    (row,) = [r for r in rows if r.task_id == task_id]
    return row


@pytest.mark.parametrize(
    ("task_id", "last", "now", "overdue"),
    [
        # every 1h: slots on the hour; overdue half an hour after the second missed slot
        ("hourly-check", "2024-01-15 10:05", "2024-01-15 11:30", False),
        ("hourly-check", "2024-01-15 10:05", "2024-01-15 12:30", False),
        ("hourly-check", "2024-01-15 10:05", "2024-01-15 12:31", True),
        # daily at 18:00
        ("daily-summary", "2024-01-14 18:05", "2024-01-16 18:30", False),
        ("daily-summary", "2024-01-14 18:05", "2024-01-16 18:31", True),
        # weekdays at 09:00: a weekend is not two missed periods
        ("weekdays", "2024-01-12 09:05", "2024-01-15 10:00", False),
        ("weekdays", "2024-01-12 09:05", "2024-01-16 09:31", True),
        # every heartbeat (30m): two cycles without a run
        ("each-beat", "2024-01-15 10:00", "2024-01-15 11:00", False),
        ("each-beat", "2024-01-15 10:00", "2024-01-15 11:01", True),
        # across midnight
        ("hourly-check", "2024-01-15 23:10", "2024-01-16 01:30", False),
        ("hourly-check", "2024-01-15 23:10", "2024-01-16 01:31", True),
    ],
)
def test_overdue_table(task_id: str, last: str, now: str, overdue: bool) -> None:
    """A recurring task is overdue once two expected runs have passed without one."""
    at = datetime.fromisoformat(now).replace(tzinfo=UTC)
    row = check(task_id, datetime.fromisoformat(last).replace(tzinfo=UTC), at)
    assert row.overdue is overdue
    assert row.failing is overdue


@pytest.mark.parametrize(
    ("now", "overdue"),
    [("2024-04-01 16:30", False), ("2024-04-01 16:31", True)],
)
def test_overdue_across_a_dst_change(now: str, overdue: bool) -> None:
    """Daily at 18:00 Berlin across spring-forward: the fires are 18:00 local, 16:00 UTC."""
    last = datetime(2024, 3, 30, 17, 5, tzinfo=UTC)  # 18:05 CET, the day before the change
    at = datetime.fromisoformat(now).replace(tzinfo=UTC)
    row = check("daily-summary", last, at, tz=ZoneInfo("Europe/Berlin"))
    assert row.overdue is overdue
    assert row.due_by == datetime(2024, 4, 1, 16, 30, tzinfo=UTC)


def test_overdue_respects_active_hours() -> None:
    """Slots outside active hours count from the next opening, once."""
    active = parse_active_hours("09:00", "17:00")
    last = datetime(2024, 1, 15, 16, 30, tzinfo=UTC)
    night = check("hourly-check", last, datetime(2024, 1, 16, 8, 59, tzinfo=UTC), active=active)
    assert not night.overdue
    row = check("hourly-check", last, datetime(2024, 1, 16, 10, 31, tzinfo=UTC), active=active)
    assert row.overdue and row.due_by == datetime(2024, 1, 16, 10, 30, tzinfo=UTC)


def test_never_run_task_counts_from_first_seen() -> None:
    """Without any run, the ledger's first sighting starts the clock; without it, no flag."""
    now = datetime(2024, 1, 15, 14, 0, tzinfo=UTC)
    seen = {"hourly-check": (now - timedelta(hours=3), None)}
    assert check("hourly-check", None, now, known=seen).overdue
    row = check("hourly-check", None, now)
    assert not row.overdue and row.status is None and "never run" in row.note


def test_ledger_and_file_last_runs_count() -> None:
    """A ledger run (e.g. a condition check) or the file's Last run keeps a task fresh."""
    now = datetime(2024, 1, 15, 14, 0, tzinfo=UTC)
    old = now - timedelta(hours=5)
    fresh = {"hourly-check": (old, now - timedelta(minutes=10))}
    assert not check("hourly-check", old, now, known=fresh).overdue
    row = check("from-the-file", None, now)
    assert row.last_at == datetime(2024, 1, 15, 13, 30, tzinfo=UTC) and not row.overdue


def test_paused_and_one_time_tasks_are_never_overdue() -> None:
    """Only pending, unpaused recurring tasks are checked."""
    long_ago = T0 - timedelta(days=30)
    assert not check("paused-job", long_ago, T0).overdue
    assert check("fix-printer", long_ago, T0).note == "one-time"


def test_errors_count_only_for_pending_tasks() -> None:
    """An old error of a completed or removed task is shown but does not fail the check."""
    latest = {i: entry(i, T0, "error") for i in ("old-thing", "gone", "fix-printer")}
    rows = {r.task_id: r for r in assess(latest, TASKS, T0, UTC, cycle=CYCLE)}
    assert rows["fix-printer"].failing
    assert not rows["old-thing"].failing and rows["old-thing"].note == "completed"
    assert not rows["gone"].failing and rows["gone"].note == "not in HEARTBEAT.md"
    unread = {r.task_id: r for r in assess(latest, None, T0, UTC, cycle=CYCLE)}
    assert all(r.failing and not r.overdue for r in unread.values())


# --- localhb health -----------------------------------------------------------------------


@pytest.fixture
def home(tmp_path: Path) -> Path:
    h = tmp_path / "lhb"
    (h / "workspace").mkdir(parents=True)
    (h / "config.toml").write_text('[heartbeat]\ntimezone = "Europe/Berlin"\ninterval = "30m"\n')
    (h / "workspace" / "HEARTBEAT.md").write_text(
        "## Pending\n\n### Hourly Check\n- Recurring: every 1h\n\n"
        "### Daily Summary\n- Recurring: daily at 18:00\n"
    )
    return h


def health_cli(home: Path, *argv: str) -> int:
    """`localhb --home HOME health ...` through the real entry point."""
    return main(["--home", str(home), "health", *argv])


def write_runs(home: Path, *runs: tuple[str, str, datetime]) -> None:
    for task_id, status, started in runs:
        write_health(
            home / "health",
            record(
                task_id=task_id,
                status=status,
                started_at=started,
                completed_at=started + timedelta(minutes=1),
            ),
        )


def test_health_command_all_ok(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Fresh runs: each task's status, local last-run time and age; exit 0."""
    write_runs(home, ("hourly-check", "ok", T0), ("daily-summary", "partial", T0))
    assert health_cli(home, "--now", "2024-01-15 15:31") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["TASK", "STATUS", "LAST", "RUN", "AGE", "NOTE"]
    assert lines[1].split()[:5] == ["hourly-check", "ok", "2024-01-15", "15:01", "30m"]
    assert lines[2].split()[:2] == ["daily-summary", "partial"]
    assert lines[-1].startswith("2 task(s): 1 ok, 1 partial (as of 2024-01-15 15:31 CET)")


def test_health_command_exit_1_on_error(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A pending task whose last run ended in error fails the check, showing the error."""
    write_health(home / "health", record(task_id="hourly-check", status="timeout"))
    write_runs(home, ("daily-summary", "ok", T0))
    assert health_cli(home, "--now", "2024-01-15 15:10") == 1
    assert "timed out" in capsys.readouterr().out


def test_health_command_exit_1_when_overdue(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A recurring task with no run in two periods is flagged OVERDUE; exit 1."""
    write_runs(home, ("hourly-check", "ok", T0), ("daily-summary", "ok", T0))
    assert health_cli(home, "--now", "2024-01-15 17:31") == 1
    out = capsys.readouterr().out
    assert "OVERDUE since 2024-01-15 17:30 (every 1h)" in out
    assert "1 overdue" in out


def test_health_command_json(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--json gives every task with status, age, overdue and the overall verdict."""
    write_runs(home, ("hourly-check", "ok", T0))
    assert health_cli(home, "--now", "2024-01-15 17:31", "--json") == 1
    out = json.loads(capsys.readouterr().out)
    assert out["ok"] is False and out["overdue_checked"] is True
    rows = {r["task_id"]: r for r in out["tasks"]}
    assert rows["hourly-check"]["overdue"] and rows["hourly-check"]["age_seconds"] == 9000
    assert rows["hourly-check"]["last_run_at"] == "2024-01-15T14:01:00Z"
    assert rows["daily-summary"]["status"] is None and not rows["daily-summary"]["overdue"]


def test_health_command_without_heartbeat_file(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A missing HEARTBEAT.md fails the check (nothing can run), still lists the files
    and says overdue checks were skipped; --json names the failure."""
    (home / "workspace" / "HEARTBEAT.md").unlink()
    put(home / "health", "old.json", legacy("legacy-task", "GREEN", "2024-01-10T10:00:00Z"))
    assert health_cli(home, "--now", "2024-01-15 15:00") == 1
    out = capsys.readouterr().out
    assert "legacy-task" in out and " ok " in out
    assert "overdue checks skipped" in out
    assert "FAILING:" in out and "HEARTBEAT.md is missing: no task can run" in out
    assert health_cli(home, "--now", "2024-01-15 15:00", "--json") == 1
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] is False and data["setup_ok"] is False
    assert [f["check"] for f in data["setup_failures"]] == ["heartbeat_missing"]
    assert "is missing" in data["setup_failures"][0]["reason"]


def test_health_command_uses_ledger_first_seen(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A task the ledger has seen long ago but that never ran is overdue."""
    with Ledger.open(home / "state.db") as led:
        led.see_tasks(["hourly-check"], T0 - timedelta(hours=5))
    assert health_cli(home, "--now", "2024-01-15 15:00") == 1
    assert "OVERDUE" in capsys.readouterr().out


def test_health_command_nothing_yet(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """No health files and nothing seen: the tasks are listed as never run; exit 0."""
    (home / "workspace" / "HEARTBEAT.md").write_text("## Pending\n")
    assert health_cli(home, "--now", "2024-01-15 15:00") == 0
    assert "no health files yet" in capsys.readouterr().out
    assert not (home / "state.db").exists()


def test_health_command_bad_now(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A malformed --now is a usage error (exit 2)."""
    assert health_cli(home, "--now", "tomorrow-ish") == 2
    assert "--now" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (45, "45s"),
        (720, "12m"),
        (3600, "1h"),
        (18120, "5h 02m"),
        (86400 * 3, "3d"),
        (86400 * 3 + 4 * 3600 + 59, "3d 04h"),
    ],
)
def test_age_text(seconds: int, text: str) -> None:
    """Ages print in at most two units, dropping a zero second unit."""
    from localhb.cli.health_cmd import age_text

    assert age_text(timedelta(seconds=seconds)) == text


def test_metric_keys_are_documented() -> None:
    """docs/ledger-and-health.md names every metric key a health file carries."""
    doc = (Path(__file__).resolve().parents[1] / "docs" / "ledger-and-health.md").read_text()
    assert all(f"`{k}`" in doc for k in METRIC_KEYS)


def test_health_command_fails_on_heartbeat_errors(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A HEARTBEAT.md that validate rejects stops every task: health fails, naming the line,
    even though every task's last run was ok."""
    write_runs(home, ("hourly-check", "ok", T0), ("daily-summary", "ok", T0))
    (home / "workspace" / "HEARTBEAT.md").write_text(
        "## Pending\n\n### Hourly Check\n- Recurring: every 1h\n\n"
        "### Daily Summary\n- Recurring: daily at 18:00\n- Due: not-a-date\n"
    )
    assert main(["--home", str(home), "validate"]) != 0
    capsys.readouterr()
    assert health_cli(home, "--now", "2024-01-15 14:30") == 1
    out = capsys.readouterr().out
    assert "FAILING: HEARTBEAT.md has 1 error(s), so no task runs" in out
    assert "HEARTBEAT.md:8:" in out
    assert health_cli(home, "--now", "2024-01-15 14:30", "--json") == 1
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] is False
    assert [f["check"] for f in data["setup_failures"]] == ["heartbeat_errors"]
    assert "HEARTBEAT.md:8:" in data["setup_failures"][0]["reason"]


def test_health_command_fails_on_corrupt_ledger(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A state.db of garbage bytes fails the check with the reason, in text and --json."""
    write_runs(home, ("hourly-check", "ok", T0), ("daily-summary", "ok", T0))
    (home / "state.db").write_bytes(b"\x00garbage, not sqlite\xff" * 400)
    assert health_cli(home, "--now", "2024-01-15 14:30") == 1
    out = capsys.readouterr().out
    assert "FAILING: state.db cannot be read:" in out
    assert health_cli(home, "--now", "2024-01-15 14:30", "--json") == 1
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] is False and data["setup_ok"] is False
    assert [f["check"] for f in data["setup_failures"]] == ["ledger_unreadable"]


def test_health_command_fails_when_last_cycle_failed(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The ledger's newest cycle ended in error: health fails with its detail; a later
    good cycle clears it."""
    write_runs(home, ("hourly-check", "ok", T0), ("daily-summary", "ok", T0))
    with Ledger.open(home / "state.db") as led:
        led.record_cycle(T0, T0, "error", "1 error(s) in HEARTBEAT.md")
    assert health_cli(home, "--now", "2024-01-15 14:30", "--json") == 1
    data = json.loads(capsys.readouterr().out)
    assert data["setup_failures"] == [
        {
            "check": "last_cycle_error",
            "reason": "the last cycle (2024-01-15T14:00:00Z) failed: 1 error(s) in HEARTBEAT.md",
        }
    ]
    with Ledger.open(home / "state.db") as led:
        led.record_cycle(T0 + CYCLE, T0 + CYCLE, "idle", "")
    assert health_cli(home, "--now", "2024-01-15 14:30") == 0
    assert "FAILING" not in capsys.readouterr().out
