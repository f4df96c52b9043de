"""The Workspace: the file read and parsed with the configured sections, zone, policy, history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from localhb.config import Config, config_from_mapping
from localhb.core.errors import HeartbeatFileError
from localhb.cycle.workspace import Workspace
from localhb.state.records import RunEnd
from localhb.state.store import memory_store

T0 = datetime(2025, 1, 15, 13, 0, tzinfo=UTC)
TEXT = """# Tasks

## Todo

### Daily Summary
- Recurring: daily at 18:00
- Description: Summarize

## Done
"""


def config(tmp_path: Path, **heartbeat: object) -> Config:
    (tmp_path / "HEARTBEAT.md").write_text(TEXT)
    data = {
        "heartbeat": {
            "timezone": "Europe/Berlin",
            "file": str(tmp_path / "HEARTBEAT.md"),
            "pending_sections": ["Todo"],
            "completed_sections": ["Done"],
            "interval": "15m",
            **heartbeat,
        }
    }
    return config_from_mapping(data, home=tmp_path / "home", source=None)


def test_load_parses_with_the_configured_sections(tmp_path: Path) -> None:
    """Tasks under the configured Pending heading are pending; zone and policy come along."""
    ws = Workspace.load(config(tmp_path))
    assert [t.id for t in ws.doc.pending()] == ["daily-summary"]
    assert getattr(ws.tz, "key", None) == "Europe/Berlin"
    assert ws.policy.window == timedelta(minutes=15)
    assert ws.history == {} and ws.snapshot.text == TEXT
    assert ws.parse(TEXT).pending()[0].id == "daily-summary"


def test_history_comes_from_the_store(tmp_path: Path) -> None:
    """A finished slot in the store moves the next due time on."""
    cfg = config(tmp_path)
    slot = datetime(2025, 1, 15, 17, 0, tzinfo=UTC)  # 18:00 Berlin
    with memory_store() as store:
        store.see_tasks(["daily-summary"], T0 - timedelta(days=1))
        run = store.claim("daily-summary", slot, "task", slot, timedelta(hours=1), 1)
        assert run is not None
        store.finish(run, RunEnd.from_result("ok"), slot + timedelta(minutes=1))
        ws = Workspace.load(cfg, store)
    after = slot + timedelta(minutes=5)
    assert ws.history["daily-summary"].last_slot == slot
    assert ws.judge(ws.doc.pending()[0], after).next_due == slot + timedelta(days=1)
    assert [u.task_id for u in ws.upcoming(after)] == ["daily-summary"]
    assert ws.plan(after) == ([], [])
    assert ws.earliest_due(after) == slot + timedelta(days=1)


def test_an_unreadable_file_names_its_path(tmp_path: Path) -> None:
    """A missing file is a HeartbeatFileError naming it."""
    cfg = config(tmp_path)
    (tmp_path / "HEARTBEAT.md").unlink()
    with pytest.raises(HeartbeatFileError, match=r"HEARTBEAT\.md: file not found"):
        Workspace.load(cfg)
