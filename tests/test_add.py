"""`localhb add` and the shared add path: tasks appended under Pending, surgically and safely."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from localhb.cli import main
from localhb.config import Config, config_from_mapping
from localhb.core.errors import AddRefused
from localhb.cycle.adding import AddRequest, add_task, prepare
from localhb.format.parser import parse
from localhb.state.files import Snapshot, read_heartbeat

NY = ZoneInfo("America/New_York")
NOW = datetime(2026, 12, 1, 10, 0, tzinfo=NY)


def setup(tmp_path: Path, text: str) -> tuple[Config, Path]:
    home = tmp_path / "hb"
    (home / "workspace").mkdir(parents=True)
    path = home / "workspace" / "HEARTBEAT.md"
    path.write_bytes(text.encode())
    cfg = config_from_mapping({"heartbeat": {"timezone": "America/New_York"}}, home=home)
    return cfg, path


def test_appends_after_the_last_pending_task(tmp_path: Path) -> None:
    """The new block goes after Pending's last task; every other byte stays where it was."""
    text = "# Tasks\n\n## Pending\n### Old\n- Due: 2030-01-01 09:00\n\n## Completed\n### Done\n"
    cfg, path = setup(tmp_path, text)
    added = add_task(cfg, prepare(AddRequest("Call the bank", due="in 2 hours"), NOW, NY), NOW)
    assert path.read_text() == (
        "# Tasks\n\n## Pending\n### Old\n- Due: 2030-01-01 09:00\n\n"
        "### Call the bank\n- Due: 2026-12-01 12:00\n\n## Completed\n### Done\n"
    )
    assert added.task.id == "call-the-bank"
    assert added.next_due == datetime(2026, 12, 1, 12, 0, tzinfo=NY)


def test_creates_pending_before_completed(tmp_path: Path) -> None:
    """A file without a Pending section gets one, before its Completed section."""
    cfg, path = setup(tmp_path, "# Notes\nsome prose\n\n## Completed\n")
    add_task(cfg, prepare(AddRequest("Water plants", every="daily at 08:00"), NOW, NY), NOW)
    assert path.read_text() == (
        "# Notes\nsome prose\n\n## Pending\n\n### Water plants\n- Recurring: daily at 08:00\n\n"
        "## Completed\n"
    )


def test_creates_pending_at_the_end_and_keeps_crlf(tmp_path: Path) -> None:
    """With no sections at all, `## Pending` is appended, in the file's own line endings."""
    cfg, path = setup(tmp_path, "# Notes\r\nprose")
    add_task(cfg, prepare(AddRequest("Ping", condition="the site is down"), NOW, NY), NOW)
    assert path.read_bytes() == (
        b"# Notes\r\nprose\r\n\r\n## Pending\r\n\r\n### Ping\r\n- Condition: the site is down\r\n"
    )


def test_every_field_is_written_and_validates(tmp_path: Path) -> None:
    """All fields land as `- Key: value` lines that the parser reads back."""
    cfg, path = setup(tmp_path, "## Pending\n")
    req = AddRequest(
        "Standup",
        every="weekdays at 08:00",
        description="post the\nnotes",
        priority="high",
        notify="ops@example.com",
    )
    add_task(cfg, prepare(req, NOW, NY, added_by="api, 2026-12-01 10:00"), NOW)
    doc = parse(path.read_text())
    assert not doc.errors
    (task,) = doc.pending()
    assert task.recurrence is not None and task.priority.value == "high"
    assert task.description == "post the notes"
    assert task.field("notify") is not None and task.field("added by") is not None


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (AddRequest(""), "title"),
        (AddRequest("x", due="yesterday"), "due"),
        (AddRequest("x", every="every blue moon"), "every"),
        (AddRequest("x", priority="urgentest"), "priority"),
        (AddRequest("x", due="in 2 hours", every="daily"), "due, every"),
        (AddRequest("x", run="  "), "run"),
        (AddRequest("x", run="echo a\necho b"), "run"),
    ],
)
def test_bad_requests_name_the_field(tmp_path: Path, request_: AddRequest, field: str) -> None:
    """A request validate would reject is refused with the field named."""
    with pytest.raises(AddRefused) as info:
        prepare(request_, NOW, NY)
    assert str(info.value).startswith(field + ":")


def test_run_option_writes_a_command_task(tmp_path: Path) -> None:
    """`add --run` writes a `- Run:` task (a cron line moved in): no model, 0 tokens."""
    cfg, path = setup(tmp_path, "## Pending\n\n## Completed\n")
    request = AddRequest("Disk space", every="every 1h", run="df -h . | tail -1")
    added = add_task(cfg, prepare(request, NOW, NY), NOW)
    assert added.text == "### Disk space\n- Recurring: every 1h\n- Run: df -h . | tail -1\n"
    task = parse(path.read_text()).task("disk-space")
    assert task is not None and task.run == "df -h . | tail -1" and not task.uses_model


def test_duplicate_title_is_refused_and_file_untouched(tmp_path: Path) -> None:
    """A second task with the same id would fail validate: refused, not a byte written."""
    text = "## Pending\n### Call the bank\n"
    cfg, path = setup(tmp_path, text)
    with pytest.raises(AddRefused, match="two tasks have the id"):
        add_task(cfg, prepare(AddRequest("Call the bank"), NOW, NY), NOW)
    assert path.read_text() == text


def test_file_with_errors_is_refused(tmp_path: Path) -> None:
    """A file that already fails validate is not touched."""
    text = "## Pending\n### A\n- Due: someday\n"
    cfg, path = setup(tmp_path, text)
    with pytest.raises(AddRefused, match="has errors"):
        add_task(cfg, prepare(AddRequest("B"), NOW, NY), NOW)
    assert path.read_text() == text


def test_concurrent_hand_edit_is_kept(tmp_path: Path) -> None:
    """A hand edit landing between read and write is kept: the add is redone on top of it."""
    cfg, path = setup(tmp_path, "## Pending\n### A\n")
    reads: list[Snapshot] = []

    def read_then_edit(p: Path) -> Snapshot:
        snap = read_heartbeat(p)
        reads.append(snap)
        if len(reads) == 1:  # the owner saves the file just after localhb read it
            p.write_text("## Pending\n### A\n- Description: edited by hand\n### C\n")
        return snap

    add_task(cfg, prepare(AddRequest("B"), NOW, NY), NOW, read=read_then_edit)
    assert len(reads) == 2
    assert path.read_text() == "## Pending\n### A\n- Description: edited by hand\n### C\n\n### B\n"


def test_cli_add_prints_task_and_next_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`localhb add` prints the block as written and its next run; the file validates."""
    home = tmp_path / "h"
    assert main(["--home", str(home), "init"]) == 0
    capsys.readouterr()
    code = main(
        ["--home", str(home), "add", "Call mom", "--due", "in 2 hours", "--priority", "high"]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "### Call mom\n- Priority: high\n- Due: " in out
    assert "next run: " in out
    assert main(["--home", str(home), "validate"]) == 0


def test_cli_add_refusal_exits_2_and_leaves_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A refused add exits 2 with a one-line error naming the field; the file is byte-identical."""
    home = tmp_path / "h"
    main(["--home", str(home), "init"])
    path = home / "workspace" / "HEARTBEAT.md"
    before = path.read_bytes()
    capsys.readouterr()
    assert main(["--home", str(home), "add", "X", "--due", "last tuesday"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("localhb: error: due:") and err.count("\n") == 1
    assert path.read_bytes() == before


@pytest.mark.parametrize(
    ("request_", "shown"),
    [
        # never run, an interval task is due at once: the next cycle runs it
        (AddRequest("Standup", every="every 2h"), "now: the next heartbeat cycle runs it"),
        (AddRequest("Ping", every="3h"), "now: the next heartbeat cycle runs it"),
        (AddRequest("Look", condition="the site is down"), "now: the next heartbeat cycle checks"),
        # a calendar slot later today, and a due time: that moment, in the zone
        (AddRequest("Water", every="weekdays at 14:00"), "2026-12-01 14:00 EST"),
        (AddRequest("Bank", due="in 2 hours"), "2026-12-01 12:00 EST"),
        # a calendar slot earlier today is not caught up: tomorrow's
        (AddRequest("Early", every="daily at 08:00"), "2026-12-02 08:00 EST"),
    ],
)
def test_added_task_says_when_it_really_runs(
    tmp_path: Path, request_: AddRequest, shown: str
) -> None:
    """The next run `add` prints is the one `localhb tasks` shows: never a past slot
    (a new `every 2h` task is due now, not at 00:00 or 08:00 earlier today)."""
    cfg, _ = setup(tmp_path, "## Pending\n")
    added = add_task(cfg, prepare(request_, NOW, NY), NOW)
    assert added.describe(NY).startswith(shown)
    if not added.due_now:
        assert added.next_due is not None and added.next_due >= NOW


def test_added_task_held_by_active_hours_says_until_when(tmp_path: Path) -> None:
    """Outside `[heartbeat] active_hours` the next run is when they open, and says so."""
    home = tmp_path / "hb"
    (home / "workspace").mkdir(parents=True)
    (home / "workspace" / "HEARTBEAT.md").write_text("## Pending\n")
    cfg = config_from_mapping(
        {
            "heartbeat": {
                "timezone": "America/New_York",
                "active_hours": {"start": "18:00", "end": "22:00"},
            }
        },
        home=home,
    )
    added = add_task(cfg, prepare(AddRequest("Ping", every="every 2h"), NOW, NY), NOW)
    assert not added.due_now
    assert added.describe(NY).startswith("2026-12-01 18:00 EST (held by active hours until 18:00")


def test_every_without_the_word_every_is_read_as_an_interval(tmp_path: Path) -> None:
    """`--every 3h` is "every 3h" (the error's own hint); a bad one still names `every`."""
    cfg, path = setup(tmp_path, "## Pending\n")
    add_task(cfg, prepare(AddRequest("A", every="3h"), NOW, NY), NOW)
    assert "- Recurring: every 3h\n" in path.read_text()
    with pytest.raises(AddRefused, match=r"^every: "):
        prepare(AddRequest("B", every="3 fortnights"), NOW, NY)


def test_cli_add_of_a_new_interval_task_prints_now(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The reported bug: `add --every "every 2h"` printed `next run: 00:00`; it runs now."""
    home = tmp_path / "h"
    assert main(["--home", str(home), "init"]) == 0
    capsys.readouterr()
    assert main(["--home", str(home), "add", "Stretch", "--every", "every 2h"]) == 0
    out = capsys.readouterr().out
    assert "next run: now: the next heartbeat cycle runs it\n" in out
    assert main(["--home", str(home), "validate"]) == 0
