"""`localhb tasks`: NEXT DUE is when it really runs (never past), REASON says why, columns align."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from localhb.cli import main
from localhb.core.textwidth import clip, ljust, width

FILE = """## Pending

### Decade
- Recurring: every 3650d

### Report
- Recurring: daily at 14:00

### Backup
- Recurring: daily at 03:00
- Last run: 2026-03-07 03:00 (ok)

### Tomorrow
- Due: 2026-03-11 09:30
"""


def tasks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], at: str, *extra: str, body: str = FILE
) -> str:
    f = tmp_path / "HB.md"
    f.write_text(body, encoding="utf-8")
    cfg = tmp_path / "c.toml"
    if not cfg.exists():
        cfg.write_text('[heartbeat]\ntimezone = "Europe/Berlin"\n')
    argv = ["--home", str(tmp_path), "--config", str(cfg), "tasks", "--file", str(f)]
    assert main([*argv, "--at", at, *extra]) == 0
    return capsys.readouterr().out


def rows(out: str) -> dict[str, str]:
    return {line.split()[0]: line for line in out.splitlines()[1:-1]}


def column(out: str, task_id: str, name: str) -> str:
    """One cell of the (ASCII) table, cut at the header's column offsets."""
    header = out.splitlines()[0]
    start = header.index(name)
    names = header.replace("NEXT DUE", "NEXT_DUE").split()
    nxt = names.index(name.replace(" ", "_")) + 1
    end = header.index(names[nxt].replace("_", " ")) if nxt < len(names) else None
    return rows(out)[task_id][start:end].strip()


def test_next_due_is_never_in_the_past(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`every 3650d` never run shows `now`, never a slot from 2019; JSON agrees."""
    out = tasks(tmp_path, capsys, "2026-03-10 14:05")
    assert "2019" not in out and "2016" not in out
    assert column(out, "decade", "NEXT DUE") == "now"
    data = json.loads(tasks(tmp_path, capsys, "2026-03-10 14:05", "--json"))
    assert data[0]["next_due"] == "2026-03-10T14:05:00+01:00"  # the first run's slot: now
    for r in data:
        assert r["next_due"] is None or r["next_due"] >= "2026-03-10T14:05" or r["due_now"]


def test_reason_column(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """REASON: first run, slot 14:00, catch-up of 3 missed, a date when not today, invalid."""
    out = tasks(tmp_path, capsys, "2026-03-10 14:05")
    assert out.splitlines()[0].split()[-1] == "REASON"
    r = rows(out)
    assert "first run" in r["decade"]
    assert "slot 14:00" in r["report"] and "now" in r["report"]
    assert "catch-up of 3 missed" in r["backup"]
    assert column(out, "tomorrow", "NEXT DUE") == "2026-03-11 09:30"
    assert column(out, "report", "NEXT DUE") == "now"


def test_invalid_tasks_and_file_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An invalid task says so; while the file has errors nothing shows as due now."""
    body = FILE + "\n### Every Check\n- Description: unreadable schedule title\n"
    out = tasks(tmp_path, capsys, "2026-03-10 14:05", body=body)
    assert column(out, "every-check", "REASON").startswith("invalid: line 16")
    assert column(out, "every-check", "NEXT DUE") == "-"
    assert "once, now" not in out
    assert "(due now)" not in out
    assert "held: the file has 1 error(s)" in column(out, "report", "REASON")


def test_active_hours_hold_a_due_task(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Outside active hours a due task shows when they open, and says it is held."""
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        '[heartbeat]\ntimezone = "Europe/Berlin"\n'
        'active_hours = { start = "09:00", end = "22:00" }\n'
    )
    out = tasks(tmp_path, capsys, "2026-03-10 23:10")
    assert column(out, "decade", "NEXT DUE") == "2026-03-11 09:00"
    assert column(out, "decade", "REASON").startswith("held by active hours until 09:00")
    assert "(due now)" not in out
    data = {r["id"]: r for r in json.loads(tasks(tmp_path, capsys, "2026-03-10 23:10", "--json"))}
    assert data["decade"]["held_until"] == "2026-03-11T09:00:00+01:00"
    assert data["decade"]["due_now"] is False
    # a future slot outside the hours moves to the opening too
    assert column(out, "backup", "NEXT DUE") == "2026-03-11 09:00"


def test_columns_align_by_display_width(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """CJK and emoji ids keep every column at the same display offset."""
    body = (
        "## Pending\n\n### 日报汇总\n- Recurring: daily at 22:05\n\n"
        "### ✅ Done check 🚀\n- Recurring: every 4h\n\n### plain\n- Recurring: hourly\n"
    )
    out = tasks(tmp_path, capsys, "2026-03-10 14:05", body=body)
    lines = out.splitlines()[:4]
    offsets = set()
    for line in lines:
        word = "TYPE" if line.startswith("ID") else "recurring"
        offsets.add(width(line[: line.index(word)]))
    assert len(offsets) == 1


@pytest.mark.parametrize(
    ("text", "cells"),
    [("abc", 3), ("日报", 4), ("✅", 2), ("☀\ufe0f", 2), ("e\u0301", 1), ("👨\u200d👩\u200d👧", 2)],
)
def test_display_width(text: str, cells: int) -> None:
    """Wide, emoji, combining and joined characters take the cells a terminal draws."""
    assert width(text) == cells
    assert width(ljust(text, 8)) == 8


def test_clip_by_width() -> None:
    """Clipping counts cells, not characters, and marks the cut."""
    assert clip("日报日报日报", 7) == "日报日…"
    assert width(clip("日报日报日报", 7)) <= 7
    assert clip("short", 10) == "short"


WINDOWS = """## Pending

### Poll
- Recurring: every 10m
- Active hours: 09:00-17:00

### Night
- Recurring: every 1h
- Active hours: 23:00-06:00

### Decade
- Recurring: every 3650d
- Active hours: 09:00-17:00
"""


def test_task_windows_are_applied(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A task's own active hours move NEXT DUE to its window; windows that never meet say so;
    a ten-year interval held outside its window is no crash."""
    (tmp_path / "c.toml").write_text(
        '[heartbeat]\ntimezone = "Europe/Berlin"\n'
        'active_hours = { start = "08:00", end = "22:00" }\n'
    )
    out = tasks(tmp_path, capsys, "2026-03-10 20:00", body=WINDOWS)
    assert column(out, "poll", "NEXT DUE") == "2026-03-11 09:00"
    assert column(out, "poll", "REASON").startswith("held by its active hours 09:00-17:00")
    assert column(out, "night", "NEXT DUE") == "-"
    assert column(out, "night", "REASON").startswith("never: its active hours")
    assert "decade" in rows(out)
