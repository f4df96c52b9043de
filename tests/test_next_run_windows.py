"""A task's own window and zone: `localhb tasks`, `daemon status`, the daemon's wake and
`health` agree on when it really runs next (issue 10, per-task zone and window)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from localhb.cli import main
from localhb.config import load_config
from localhb.cycle.workspace import Workspace
from localhb.daemon.status import gather_status
from localhb.format.parser import parse
from localhb.state.health import assess
from localhb.timing.hours import ActiveHours
from localhb.timing.wake import next_wake

BERLIN = ZoneInfo("Europe/Berlin")

FILE = """## Pending
### Poll (every 10 minutes, 9AM-11PM)
### Hourly (every hour between 9am and 5pm)
### London (daily at 09:00 Europe/London)
### Keyed
- Recurring: every 2h
- Timezone: America/New_York
- Active hours: 09:00-17:00
### Beat
- Recurring: every heartbeat
- Active hours: 22:00-23:30
### Once
- Due: 2026-12-03 07:00
- Active hours: 10:00-12:00
### Cond
- Condition: the CI is green
- Active hours: 13:00-14:00
### Late
- Recurring: every 30m
- Active hours: 22:30-02:00
### Never
- Recurring: every 1h
- Active hours: 01:00-03:00
### Rule
- Recurring: RRULE:FREQ=MONTHLY;BYDAY=1MO;BYHOUR=10;BYMINUTE=0
### Interval
- Recurring: every 3 days
- Last run: 2026-12-01 10:00 (ok)
"""

CONFIG = """[heartbeat]
interval = "30m"
timezone = "Europe/Berlin"
active_hours = { start = "08:00", end = "23:00" }
[llm]
model = "m"
"""


def home(tmp_path: Path) -> Path:
    (tmp_path / "workspace").mkdir(exist_ok=True)
    (tmp_path / "workspace" / "HEARTBEAT.md").write_text(FILE, encoding="utf-8")
    (tmp_path / "config.toml").write_text(CONFIG, encoding="utf-8")
    return tmp_path


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=BERLIN)


def tasks_json(root: Path, capsys: pytest.CaptureFixture[str], at: str) -> dict[str, dict]:
    assert main(["--home", str(root), "tasks", "--json", "--at", at]) == 0
    return {r["id"]: r for r in json.loads(capsys.readouterr().out)}


MOMENTS = ["2026-12-03 06:00", "2026-12-03 08:30", "2026-12-03 12:10", "2026-12-03 23:15"]


@pytest.mark.parametrize("at", MOMENTS)
def test_tasks_status_and_wake_agree(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], at: str
) -> None:
    """Every task's next run is the same in `tasks --json`, `daemon status` and the wake."""
    root = home(tmp_path)
    now = local(at)
    shown = tasks_json(root, capsys, at)
    config = load_config(home=root)
    upcoming = {u.task_id: u for u in Workspace.load(config).upcoming(now)}
    status = {u.task_id: u for u in gather_status(config, now, horizon=timedelta(days=40)).due}
    for task_id, row in shown.items():
        if row["next_due"] is None:
            assert task_id not in upcoming and task_id not in status, task_id
            continue
        when = datetime.fromisoformat(row["next_due"])
        assert upcoming[task_id].at == when, (task_id, row["reason"])
        assert status[task_id].at == when, task_id
        assert upcoming[task_id].due_now == row["due_now"], task_id
    assert shown["never"]["next_due"] is None
    assert "never" not in status  # once shown at the opening of the global hours


def test_held_by_both_windows_names_both(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """At 23:15 `every heartbeat, 22:00-23:30` is inside its own window but outside the
    global one: it runs at 22:00 the next day, and the reason names both windows."""
    shown = tasks_json(home(tmp_path), capsys, "2026-12-03 23:15")
    beat = shown["beat"]
    assert datetime.fromisoformat(beat["next_due"]) == local("2026-12-04 22:00")
    assert beat["reason"].startswith(
        "held by active hours and its active hours 22:00-23:30 until 22:00"
    )
    once = tasks_json(home(tmp_path), capsys, "2026-12-03 06:00")["once"]
    assert datetime.fromisoformat(once["next_due"]) == local("2026-12-03 10:00")
    assert "its active hours 10:00-12:00" in once["reason"]


def test_the_daemon_wakes_when_a_window_opens(tmp_path: Path) -> None:
    """A one-time task due at 07:00 with `Active hours: 10:00-12:00` wakes the daemon at
    10:00 (not 07:00, not 08:00); the zone of a task's own window is its own."""
    config = load_config(home=home(tmp_path))
    now = local("2026-12-03 08:00")
    items = Workspace.load(config).upcoming(now)
    once = next(u for u in items if u.task_id == "once")
    assert once.at == local("2026-12-03 10:00") and not once.due_now
    keyed = next(u for u in items if u.task_id == "keyed")
    assert keyed.at == local("2026-12-03 16:00")  # 10:00 in New York, on its 2h grid
    wake = next_wake(
        now,
        interval=timedelta(hours=6),
        last_cycle=now,
        tasks=items,
        active_hours=config.heartbeat.active_hours,
        tz=BERLIN,
    )
    assert wake.at == local("2026-12-03 09:00")  # poll and hourly open at 09:00


def test_health_counts_only_runs_inside_both_windows() -> None:
    """`every heartbeat` inside 22:00-23:30 that ran last night is not overdue at noon."""
    doc = parse(
        "## Pending\n### Beat\n- Recurring: every heartbeat\n- Active hours: 22:00-23:30\n"
        "- Last run: 2026-12-02 23:20 (ok)\n### Never\n- Recurring: every 1h\n"
        "- Active hours: 01:00-03:00\n- Last run: 2026-12-01 02:00 (ok)\n"
    )
    now = local("2026-12-03 12:00")
    found = assess(
        {}, doc.tasks, now, BERLIN, cycle=timedelta(minutes=30), active=ActiveHours(480, 1380)
    )
    beat, never = found
    assert not beat.overdue and beat.due_by == local("2026-12-03 22:30")
    assert not never.overdue and never.due_by is None  # its windows never meet
