"""Writing HEARTBEAT.md never loses a hand edit that lands while it is written (issue 11 D1),
and a read-only HEARTBEAT.md is left alone."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
import tomli_w

from localhb.cli import main
from localhb.config import load_config
from localhb.core.atomic import write_atomic
from localhb.cycle.runner import Runner
from localhb.state.files import read_heartbeat, unchanged_since

NOW = datetime(2024, 1, 15, 14, 5, tzinfo=UTC)
TASKS = """# Tasks

## Pending

### Log It
- Due: 2024-01-15 14:00
- Run: true
- Description: a command, no model

## Completed
"""
EDIT = ("- Description: a command, no model", "- Description: a command, no model, edited")


class Editor:
    """A second writer on its own thread, saving the file when told to (no sleeps):
    the hook that names a step hands over to it and waits until it has saved."""

    def __init__(self, path: Path, at: str, save: Callable[[Path], None]) -> None:
        self.path, self.at, self.save = path, at, save
        self.go, self.done = threading.Event(), threading.Event()
        self.steps: list[str] = []
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        if self.go.wait(30):
            self.save(self.path)
        self.done.set()

    def hook(self, step: str) -> None:
        self.steps.append(step)
        if step == self.at and not self.go.is_set():
            self.go.set()
            assert self.done.wait(30), "the editor did not save"

    def close(self) -> None:
        self.go.set()
        self.thread.join(30)


def renaming_save(path: Path) -> None:
    """How most editors save: a new file renamed over the old one."""
    text = path.read_text().replace(*EDIT)
    tmp = path.with_name(".editor.swp")
    tmp.write_text(text)
    os.replace(tmp, path)


def in_place_save(path: Path) -> None:
    """How some editors (and `>`) save: the same file truncated and rewritten."""
    text = path.read_text().replace(*EDIT)
    with open(path, "r+", encoding="utf-8") as fh:
        fh.truncate(0)
        fh.write(text)


def test_precheck_is_the_last_step_before_the_rename(tmp_path: Path) -> None:
    """A save after the temp file is written (before the rename) is seen: nothing replaced."""
    path = tmp_path / "ws" / "HEARTBEAT.md"
    path.parent.mkdir()
    path.write_text(TASKS)
    snap = read_heartbeat(path)
    editor = Editor(path, "written", renaming_save)
    try:
        wrote = write_atomic(path, "ours", precheck=unchanged_since(snap), hook=editor.hook)
    finally:
        editor.close()
    assert wrote is False and editor.steps == ["written"]
    assert path.read_text() == TASKS.replace(*EDIT)
    assert sorted(os.listdir(path.parent)) == ["HEARTBEAT.md"]  # no temp file left


@pytest.mark.parametrize("save", [renaming_save, in_place_save], ids=["rename", "in-place"])
def test_a_save_between_check_and_rename_is_put_back(
    tmp_path: Path, save: Callable[[Path], None]
) -> None:
    """A save landing after the check, right before the rename, is not replaced."""
    path = tmp_path / "ws" / "HEARTBEAT.md"
    path.parent.mkdir()
    path.write_text(TASKS)
    snap = read_heartbeat(path)
    editor = Editor(path, "checked", save)
    try:
        wrote = write_atomic(path, "ours", precheck=unchanged_since(snap), hook=editor.hook)
    finally:
        editor.close()
    assert wrote is False
    assert path.read_text() == TASKS.replace(*EDIT)
    assert sorted(os.listdir(path.parent)) == ["HEARTBEAT.md"]


def test_a_save_right_after_the_rename_is_reported(tmp_path: Path) -> None:
    """Verified after the rename: a file that no longer holds the new text is False."""
    path = tmp_path / "ws" / "HEARTBEAT.md"
    path.parent.mkdir()
    path.write_text(TASKS)
    snap = read_heartbeat(path)
    editor = Editor(path, "renamed", lambda p: p.write_text("theirs"))
    try:
        wrote = write_atomic(path, "ours", precheck=unchanged_since(snap), hook=editor.hook)
    finally:
        editor.close()
    assert wrote is False and path.read_text() == "theirs"


def test_no_precheck_writes_as_before(tmp_path: Path) -> None:
    """Without a precheck the writer replaces the file and says so."""
    path = tmp_path / "f"
    path.write_text("old")
    assert write_atomic(path, "new") is True and path.read_text() == "new"


def make_home(tmp_path: Path, text: str = TASKS) -> Path:
    home = tmp_path / "hb"
    (home / "workspace").mkdir(parents=True)
    (home / "workspace" / "HEARTBEAT.md").write_text(text)
    config = {"heartbeat": {"timezone": "UTC"}, "tools": {"shell": {"sandbox": "none"}}}
    (home / "config.toml").write_text(tomli_w.dumps(config))
    return home


@pytest.mark.parametrize("step", ["written", "checked", "renamed"])
@pytest.mark.parametrize("save", [renaming_save, in_place_save], ids=["rename", "in-place"])
def test_cycle_keeps_an_edit_saved_at_any_step(
    tmp_path: Path, step: str, save: Callable[[Path], None]
) -> None:
    """A cycle's write keeps a hand edit saved at any step, and re-applies its result onto it."""
    home = make_home(tmp_path)
    config = load_config(home=home)
    path = config.heartbeat.file
    editor = Editor(path, step, save)
    try:
        report = Runner(config, write_hook=editor.hook).cycle(now=NOW)
    finally:
        editor.close()
    assert [r.status for r in report.results] == ["ok"]
    text = path.read_text()
    assert EDIT[1] in text, "the hand edit was lost"
    assert "- Last run: 2024-01-15" in text or "## Completed\n\n### Log It" in text
    assert text.index("## Completed") < text.index("### Log It"), "the result was lost"
    assert not report.warnings


def test_read_only_heartbeat_is_reported_and_left_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`chmod 444 HEARTBEAT.md` means hands off: the cycle says so and never rewrites it."""
    home = make_home(tmp_path)
    path = home / "workspace" / "HEARTBEAT.md"
    path.chmod(0o444)
    before = (path.read_bytes(), path.stat().st_ino, path.stat().st_mtime_ns)
    code = main(["--home", str(home), "daemon", "heartbeat", "--now", "2024-01-15 14:05"])
    _, err = capsys.readouterr()
    assert code == 0
    assert (path.read_bytes(), path.stat().st_ino, path.stat().st_mtime_ns) == before
    assert "is read-only, so it was left as it is" in err
    assert path.stat().st_mode & 0o777 == 0o444


def test_adding_to_a_read_only_heartbeat_is_refused(tmp_path: Path) -> None:
    """Adding a task to a read-only file is refused, naming the file; nothing changes."""
    from localhb.core.errors import AddRefused
    from localhb.cycle.adding import add_task
    from localhb.cycle.routines import AUDIT

    home = make_home(tmp_path)
    config = load_config(home=home)
    path = config.heartbeat.file
    path.chmod(0o444)
    with pytest.raises(AddRefused, match="read-only"):
        add_task(config, AUDIT.new_task(), NOW)
    assert path.read_text() == TASKS
