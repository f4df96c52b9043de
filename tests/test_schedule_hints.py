"""Issue 10, defect 5 and the reading side: every hint keeps what was written, and what
localhb shows (tasks, validate --explain, migrate) never says 00:00 for an unsaid time."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from localhb.cli import main
from localhb.format.parser import parse
from localhb.format.recurrence import RecurrenceError, parse_recurrence

# (written, what the hint must keep, what it must never offer)
KEEPS = [
    ("every few days", '"every 3d"', "3h"),
    ("every few hours", '"every 3h"', 'try "'),
    ("every 2 months", '"cron: 0 9 1 */2 *"', "monthly on"),
    ("every 3 months", '"quarterly on the 1st at 09:00"', "monthly on"),
    ("every 5 months", "FREQ=MONTHLY;INTERVAL=5", "monthly on"),
    ("every 2 years", "FREQ=YEARLY;INTERVAL=2", "monthly"),
    ("every 6 heartbeats", '"every 3h"', 'try "'),
    ("every 6th heartbeat", '"every 3h"', "cron 0 9"),
    ("every 3-5 heartbeats", '"every 1h30m" to "every 2h30m"', '"every 3 heartbeats"'),
    ("every 3rd-5th heartbeat", '"every 1h30m" to "every 2h30m"', "cron 0 9"),
    ("every 30", '"every 30m", "every 30h"', 'try "'),
    ("every 0m", '"every 30m"', 'try "'),
    ("Monday", '"every monday at 09:00"', 'try "'),
    ("9:00", '"daily at 09:00"', 'try "'),
    ("weekly on Funday", "a day of the week", 'try "'),
    ("every 2 weeks on funday", "name days of the week", 'try "'),
    ("every 60 weeks on friday", "from 2 to 52", 'try "'),
    ("on the 40th of the month", "1 to 31", 'try "'),
    ("monthly on the 40th", "1 to 28", 'try "monthly on the 1st'),
    ("sometimes", '"every 3h"', 'try "'),
]


@pytest.mark.parametrize(("text", "keeps", "never"), KEEPS)
def test_hints_keep_what_was_written(text: str, keeps: str, never: str) -> None:
    """A hint that must invent a number, a day or a time gives it as an example (`e.g.`),
    never as `try "..."`, which a title's error turns into the fix to write."""
    with pytest.raises(RecurrenceError) as caught:
        parse_recurrence(text)
    assert keeps in caught.value.hint
    assert never not in caught.value.hint


@pytest.mark.parametrize(
    ("heading", "invented"),
    [
        ("### Report (every 2 months)", "- Recurring: monthly"),
        ("### Poll (every 30)", "- Recurring: every 30m"),
        ("### Sync (every few days)", "- Recurring: every 3h"),
        ("### Beat (every 6 heartbeats)", "- Recurring: every 3h"),
        ("### Sync (every 2 weeks on Funday)", "- Recurring: every 2 weeks on Friday"),
    ],
)
def test_title_fixes_never_invent(heading: str, invented: str) -> None:
    """The exact fix under a heading is offered only when it means what was written."""
    doc = parse(f"## Pending\n{heading}\n- Description: x\n")
    assert doc.errors
    assert all(invented not in d.hint for d in doc.diagnostics)


@pytest.mark.parametrize(
    ("text", "shown", "first"),
    [
        ("every two hours", "every 2h", None),
        ("every three days", "every 3d", None),
        ("every two weeks on friday at 9", "every 2 weeks on Fri at 09:00", None),
        ("every fifteen minutes, 9am-5pm", "every 15m, 09:00-17:00", None),
        ("last weekday of the month at 17:00", "monthly on the last weekday at 17:00", None),
        ("first business day of the month at 9am", "monthly on the first weekday at 09:00", None),
        ("monthly on the last weekday at 17:00", "monthly on the last weekday at 17:00", None),
        (
            "RRULE:FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1;BYHOUR=9",
            "monthly on the last weekday at 09:00",
            None,
        ),
    ],
)
def test_forms_the_hints_pointed_at_are_read(text: str, shown: str, first: None) -> None:
    """Number words in an interval and the first/last weekday of the month are read."""
    rec = parse_recurrence(text)
    assert rec.describe() == shown
    assert parse_recurrence(rec.describe()) == parse_recurrence(shown)


def test_last_weekday_of_the_month_falls_on_a_weekday() -> None:
    """May 2026 ends on a Sunday: its last weekday is Friday the 29th (Berlin, DST)."""
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from localhb.timing.slots import slots_after

    berlin = ZoneInfo("Europe/Berlin")
    rec = parse_recurrence("last weekday of the month at 17:00")
    start = datetime(2026, 5, 1, tzinfo=UTC)
    got = [s.astimezone(berlin) for s in slots_after(rec, start, berlin)]
    walk = iter(got)
    firsts = [next(walk).strftime("%Y-%m-%d %H:%M %a") for _ in range(3)]
    assert firsts == ["2026-05-29 17:00 Fri", "2026-06-30 17:00 Tue", "2026-07-31 17:00 Fri"]


def test_an_unsaid_time_is_never_shown_as_midnight(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`### Daily (Morning)` is an error; `tasks` and `validate --explain` never show it
    as `daily at 00:00` (defect 3, on the reading side)."""
    f = tmp_path / "HB.md"
    f.write_text("## Pending\n### Daily (Morning)\n### Weekly (Monday)\n", encoding="utf-8")
    cfg = tmp_path / "c.toml"
    cfg.write_text('[heartbeat]\ntimezone = "UTC"\n')
    base = ["--home", str(tmp_path), "--config", str(cfg)]
    assert main([*base, "tasks", "--file", str(f), "--at", "2026-12-03 10:00"]) == 0
    out = capsys.readouterr().out
    assert "00:00" not in out
    assert "daily, no clock time" in out and "weekly on Mon, no clock time" in out
    assert main([*base, "validate", "--explain", str(f)]) == 2
    assert "00:00" not in capsys.readouterr().out


OPENCLAW = """# HEARTBEAT.md

## Every 4 Hours
- [ ] Review project status

## Daily (Morning)
- [ ] Summarize yesterday

## Report (every 2 hours)
- [ ] Send it
- Check: file exists ./x
"""


def test_validate_says_what_migrate_does_with_each_section(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """One recipe: a section migrate moves says "moves it"; one it leaves alone says so,
    with migrate's own reason, never "moves it" (and the file warning counts right)."""
    f = tmp_path / "HB.md"
    f.write_text(OPENCLAW, encoding="utf-8")
    cfg = tmp_path / "c.toml"
    cfg.write_text('[heartbeat]\ntimezone = "UTC"\n')
    base = ["--home", str(tmp_path), "--config", str(cfg)]
    assert main([*base, "validate", "--explain", str(f)]) == 0
    explained = capsys.readouterr().out
    assert main([*base, "migrate", str(f)]) == 0
    captured = capsys.readouterr()
    assert "+### Every 4 Hours" in captured.out and "+### Daily" not in captured.out
    lines = explained.splitlines()
    hints = {
        head: next(x for x in lines[i + 1 :] if "hint:" in x)
        for i, line in enumerate(lines)
        for head in ("## Every 4 Hours", "## Daily (Morning)", "## Report (every 2")
        if re.match(rf"\s*\d+\s+{re.escape(head)}", line)
    }
    assert "`localhb migrate` moves it" in hints["## Every 4 Hours"]
    assert "leaves it alone" in hints["## Daily (Morning)"]
    assert "no clock time" in hints["## Daily (Morning)"]
    assert "leaves it alone" in hints["## Report (every 2"]
    assert "`Check:` line" in hints["## Report (every 2"]
    assert "1 section(s) here are titled with a schedule" in explained
    assert "it leaves 2 alone" in explained
    for left in ("Daily (Morning)", "Report (every 2 hours)"):
        assert f"left alone: {left!r}" in captured.err
