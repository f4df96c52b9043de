"""`localhb migrate`: schedule-titled sections become Pending tasks; nothing else moves."""

from __future__ import annotations

import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from localhb.cli import main
from localhb.format.migrate import migrate
from localhb.format.model import TaskKind
from localhb.format.parser import parse
from tests.conftest import CORPUS

OPENCLAW = """# HEARTBEAT.md

## Rules
- Reply HEARTBEAT_OK when nothing needs attention.
- [ ] not a task: a rule with a box

## Every 30 Minutes (Ollama)
- [ ] Check disk usage
- [ ] Check RAM usage

### Notes on disks
Look at /var first.

## Daily (Morning)
- [ ] Summarize yesterday

## Every 6 Hours (Claude)
- [ ] Full system health report

<!--
## Every Heartbeat
- [ ] an example, left alone
-->

## Deploy (every 2 hours)
- Run: ./deploy.sh

## Reference
Plain prose stays where it is.
"""


def test_sections_become_tasks_under_pending() -> None:
    """Each readable schedule-titled section is one ### task under a new ## Pending."""
    m = migrate(OPENCLAW)
    assert m.moved == ("Every 30 Minutes (Ollama)", "Every 6 Hours (Claude)")
    doc = parse(m.text)
    assert not doc.errors
    tasks = {t.id: t for t in doc.pending()}
    assert set(tasks) == {"every-30-minutes-ollama", "every-6-hours-claude"}
    disk = tasks["every-30-minutes-ollama"]
    assert disk.kind is TaskKind.RECURRING and disk.recurrence is not None
    assert disk.recurrence.describe() == "every 30m"
    assert "- [ ] Check disk usage" in disk.text and "#### Notes on disks" in disk.text
    # what follows a section's boxes (here a comment) is its text and moves with it, intact
    assert m.text.endswith(
        "- [ ] Full system health report\n\n<!--\n## Every Heartbeat\n"
        "- [ ] an example, left alone\n-->\n"
    )


def test_what_cannot_be_read_stays_with_a_reason() -> None:
    """No clock time, or a line that would become a task key: left in place, with why."""
    m = migrate(OPENCLAW)
    reasons = {s.title: s.reason for s in m.skipped}
    assert set(reasons) == {"Daily (Morning)", "Deploy (every 2 hours)"}
    assert "morning" in reasons["Daily (Morning)"]
    assert "`Run:`" in reasons["Deploy (every 2 hours)"]
    assert "## Daily (Morning)\n- [ ] Summarize yesterday\n" in m.text
    assert "## Deploy (every 2 hours)\n- Run: ./deploy.sh\n" in m.text


def test_no_line_is_lost_or_invented() -> None:
    """Every non-heading line of the original is in the result as often; comments untouched."""
    m = migrate(OPENCLAW)

    def body(text: str) -> Counter[str]:
        return Counter(x for x in text.splitlines() if x.strip() and not x.startswith("#"))

    assert body(m.text) == body(OPENCLAW)
    assert "<!--\n## Every Heartbeat\n- [ ] an example, left alone\n-->\n" in m.text
    assert "## Rules\n- Reply HEARTBEAT_OK" in m.text


def test_migrating_again_changes_nothing() -> None:
    """The migrated file is a fixed point."""
    once = migrate(OPENCLAW).text
    again = migrate(once)
    assert not again.changed and again.text == once


def test_an_existing_pending_section_gets_the_tasks() -> None:
    """With a Pending section, the tasks go at its end, before the next section."""
    text = "## Pending\n\n### Old\n- Due: 2030-01-01 09:00\n\n## Every Heartbeat\n- [ ] look\n"
    m = migrate(text)
    assert m.text.startswith(
        "## Pending\n\n### Old\n- Due: 2030-01-01 09:00\n\n### Every Heartbeat"
    )
    assert [t.id for t in parse(m.text).pending()] == ["old", "every-heartbeat"]


def test_line_endings_are_kept() -> None:
    """A CRLF file stays CRLF, new lines included."""
    text = OPENCLAW.replace("\n", "\r\n")
    m = migrate(text)
    assert "\n" not in m.text.replace("\r\n", "")
    assert "## Pending\r\n" in m.text


def test_a_duplicate_id_is_not_made() -> None:
    """A section whose task would clash with an existing id stays where it is."""
    text = (
        "## Pending\n\n### Every Heartbeat\n- Recurring: every 1h\n\n## Every Heartbeat\n- [ ] x\n"
    )
    m = migrate(text)
    assert not m.changed
    assert "error" in m.skipped[0].reason


def test_nothing_to_migrate() -> None:
    """A file in localhb's form (or without schedule titles) is unchanged."""
    text = "# Notes\n\n## Ideas\n- [ ] maybe\n"
    assert not migrate(text).changed


def test_cli_prints_a_diff_and_writes_only_with_write(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without --write: a unified diff, the file untouched; with it: replaced, .bak kept."""
    path = tmp_path / "HEARTBEAT.md"
    path.write_text(OPENCLAW)
    assert main(["--home", str(tmp_path), "migrate", str(path)]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith(f"--- {path}\n+++ {path}\n@@ ")
    assert "+## Pending" in captured.out and "-## Every 30 Minutes (Ollama)" in captured.out
    assert "left alone: 'Daily (Morning)'" in captured.err
    assert path.read_text() == OPENCLAW
    if shutil.which("patch"):
        copy = tmp_path / "copy.md"
        copy.write_text(OPENCLAW)
        subprocess.run(["patch", "-s", str(copy)], input=captured.out, text=True, check=True)
        assert copy.read_text() == migrate(OPENCLAW).text
    assert main(["--home", str(tmp_path), "migrate", str(path), "--write"]) == 0
    assert path.read_text() == migrate(OPENCLAW).text
    assert (tmp_path / "HEARTBEAT.md.bak").read_text() == OPENCLAW
    capsys.readouterr()
    assert main(["--home", str(tmp_path), "migrate", str(path)]) == 0
    out = capsys.readouterr()
    assert out.out == "" and "nothing to migrate" in out.err
    assert main(["--home", str(tmp_path), "validate", str(path)]) == 0


def test_cli_refuses_a_read_only_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A read-only file is left alone, exit 2."""
    path = tmp_path / "HEARTBEAT.md"
    path.write_text(OPENCLAW)
    path.chmod(0o444)
    assert main(["--home", str(tmp_path), "migrate", str(path), "--write"]) == 2
    assert "read-only" in capsys.readouterr().err
    assert path.read_text() == OPENCLAW


FILES = sorted(CORPUS.glob("[0-9]*.md")) if CORPUS.is_dir() else []


@pytest.mark.skipif(not FILES, reason="../shared/corpus/heartbeat is absent")
@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name[:40])
def test_corpus_migrates_to_a_valid_fixed_point(path: Path) -> None:
    """Each real file: the migrated text validates, round-trips, keeps every line, and
    migrating it again changes nothing."""
    text = path.read_bytes().decode("utf-8")
    m = migrate(text)
    doc = parse(m.text)
    assert not doc.errors, doc.errors
    assert doc.render() == m.text
    assert not migrate(m.text).changed
    before = parse(text)
    assert len(doc.pending()) == len(before.pending()) + len(m.moved)

    def body(t: str) -> Counter[str]:
        return Counter(x for x in t.splitlines() if x.strip() and not x.lstrip().startswith("#"))

    assert body(m.text) == body(text)


def test_explain_gives_one_hint_per_schedule_section_naming_migrate() -> None:
    """validate --explain: one note and one hint per schedule-titled section, never two
    that disagree, and the no-Pending warning points at migrate."""
    doc = parse(OPENCLAW)
    at_line = Counter(d.line for d in doc.diagnostics)
    heads = OPENCLAW.splitlines()
    first = heads.index("## Every 30 Minutes (Ollama)") + 1
    for line in (first, heads.index("## Every 6 Hours (Claude)") + 1):
        assert at_line[line] == 1
        (d,) = [d for d in doc.diagnostics if d.line == line]
        assert "`localhb migrate`" in d.hint and "rename the heading" not in d.hint
    assert "2 open checkbox(es) would be the task's text" in next(
        d.message for d in doc.diagnostics if d.line == first
    )
    (warning,) = [d for d in doc.diagnostics if d.line == 0]
    assert "4 section(s) here are titled with a schedule: `localhb migrate`" in warning.hint
