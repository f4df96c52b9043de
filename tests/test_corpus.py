"""The 58 real HEARTBEAT.md files: never a crash, always byte-identical, no examples run."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from localhb.format.blocks import split_lines
from localhb.format.edit import MoveToCompleted, SetField, apply_edits
from localhb.format.explain import explain
from localhb.format.parser import parse
from tests.conftest import CORPUS

FILES = sorted(CORPUS.glob("[0-9]*.md")) if CORPUS.is_dir() else []
pytestmark = pytest.mark.skipif(not FILES, reason="../shared/corpus/heartbeat is absent")


def read(path: Path) -> str:
    return path.read_bytes().decode("utf-8")


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name[:40])
def test_corpus_file_round_trips(path: Path) -> None:
    """The file parses, renders back byte for byte, and --explain works."""
    text = read(path)
    doc = parse(text)
    assert doc.render() == text
    assert explain(doc, path.name)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name[:40])
def test_corpus_comments_and_fences_hold_no_tasks(path: Path) -> None:
    """No task starts inside an HTML comment or a code fence."""
    text = read(path)
    doc = parse(text)
    hidden: set[int] = set()
    inside, fence = False, ""
    for i, line in enumerate(doc.lines):
        s = line.strip()
        if fence:
            hidden.add(i)
            if s.startswith(fence):
                fence = ""
            continue
        if inside:
            hidden.add(i)
            inside = "-->" not in s
            continue
        m = re.match(r"^ {0,3}(`{3,}|~{3,})", line)
        if m:
            fence = m.group(1)
            hidden.add(i)
        elif s.startswith("<!--") and "-->" not in s[4:]:
            inside = True
            hidden.add(i)
    assert not [t.line for t in doc.tasks if t.start in hidden]


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name[:40])
def test_corpus_edits_stay_local(path: Path) -> None:
    """Editing each pending task changes only that task's lines and Completed."""
    text = read(path)
    doc = parse(text)
    for task in doc.pending():
        if task.problem:
            continue
        out = apply_edits(doc, [SetField(task.id, "Last run", "2026-01-01 10:00 (ok)")])
        before, after = split_lines(text), split_lines(out)
        assert after[: task.start] == before[: task.start]
        assert after[len(after) - len(before[task.end :]) :] == before[task.end :]
        moved = apply_edits(doc, [MoveToCompleted(task.id)])
        assert parse(moved).render() == moved


def test_corpus_totals() -> None:
    """Across the corpus only explicit Pending-section items become tasks."""
    pending = 0
    for path in FILES:
        doc = parse(read(path))
        for t in doc.pending():
            section = doc.section_of(t.start)
            assert section is not None and section.role is not None
            pending += 1
    assert pending < 40  # real files rarely use Pending sections; nothing is over-read
