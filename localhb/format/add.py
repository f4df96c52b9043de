"""Adding a task to a parsed HEARTBEAT.md: one block appended under Pending, nothing else moved.

Pure: `insert_task` returns the new text and never writes. The task is a
`### Title` heading with `- Key: value` lines, placed after the last line of
content of the first Pending section; a file without one gets a `## Pending`
section (before its Completed section, else at the end). Values must already
be absolute (the caller turns "in 2 hours" into a date).
"""

from __future__ import annotations

from dataclasses import dataclass

from localhb.format.blocks import content, is_blank
from localhb.format.edit import one_line
from localhb.format.model import Form, Section
from localhb.format.parser import Document, SectionInfo

__all__ = ["NewTask", "insert_task", "task_lines"]


@dataclass(frozen=True, slots=True)
class NewTask:
    """A task to add, as the lines it will be written with (`None`: no such line)."""

    title: str
    due: str | None = None
    recurring: str | None = None
    condition: str | None = None
    description: str | None = None
    priority: str | None = None
    notify: str | None = None
    added_by: str | None = None
    extra: tuple[tuple[str, str], ...] = ()  # more `- Key: value` lines, after Condition

    def fields(self) -> list[tuple[str, str]]:
        pairs: list[tuple[str, str | None]] = [
            ("Priority", self.priority),
            ("Due", self.due),
            ("Recurring", self.recurring),
            ("Condition", self.condition),
            *self.extra,
            ("Description", self.description),
            ("Notify", self.notify),
            ("Added by", self.added_by),
        ]
        return [(k, one_line(v)) for k, v in pairs if v is not None and one_line(v)]


def task_lines(new: NewTask, level: int, nl: str) -> list[str]:
    """The task's block: its heading line and one line per field."""
    lines = ["#" * level + " " + one_line(new.title) + nl]
    lines += [f"- {key}: {value}{nl}" for key, value in new.fields()]
    return lines


def insert_task(doc: Document, new: NewTask) -> str:
    """The text of `doc` with `new` appended to its Pending section (see `_target`)."""
    lines = list(doc.lines)
    nl = doc.newline
    if lines and content(lines[-1]) == lines[-1]:
        lines[-1] += nl  # the last line gets an ending so nothing joins onto it
    sec = _target(doc)
    if sec is not None:
        at = sec.end
        while at > sec.start + 1 and is_blank(lines[at - 1]):
            at -= 1
        heads = [
            t for t in doc.pending() if t.form is Form.HEADING and sec.start < t.start < sec.end
        ]
        level = _level(lines[heads[-1].start]) if heads else sec.level + 1
        block = task_lines(new, level, nl)
        if at > sec.start + 1:
            block.insert(0, nl)
        if at < len(lines) and not is_blank(lines[at]):
            block.append(nl)
        lines[at:at] = block
        return "".join(lines)
    completed = [s for s in doc.sections if s.role is Section.COMPLETED]
    level = completed[0].level if completed else 2
    section = ["#" * level + " Pending" + nl, nl, *task_lines(new, level + 1, nl)]
    if completed:
        at = completed[0].start
        lines[at:at] = [*section, nl]
        return "".join(lines)
    if lines and not is_blank(lines[-1]):
        lines.append(nl)
    return "".join(lines + section)


def _target(doc: Document) -> SectionInfo | None:
    """The section of the last pending task, else one named Pending, else the first pending one."""
    pending = [s for s in doc.sections if s.role is Section.PENDING]
    tasks = doc.pending()
    if tasks:
        sec = doc.section_of(tasks[-1].start)
        if sec is not None and sec.role is Section.PENDING:
            return sec
    named = [s for s in pending if s.name == "pending"]
    choices = named or pending
    return choices[0] if choices else None


def _level(line: str) -> int:
    return max(1, min(6, len(line) - len(line.lstrip("#"))))
