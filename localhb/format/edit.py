"""Surgical edits to a parsed HEARTBEAT.md: only the lines an edit must touch change.

Edits are values that name their task by identity, so the same list can be
applied again to a newer text of the file (after a hand edit) by re-parsing
it. `apply_edits` returns the new text; it never writes files.

- `SetField` replaces the value of an existing field in place (prefix, bold
  markers and line ending kept) or adds a line in the task's own field style.
- `RemoveField` deletes a field's lines.
- `SetChecked` flips `[ ]` / `[x]` on a checkbox task.
- `MoveToCompleted` lifts the task's lines out of its section and appends
  them to the Completed section, creating that section at the end if needed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

from localhb.core.errors import EditConflict
from localhb.core.redact import fold_controls
from localhb.format.blocks import content, is_blank
from localhb.format.model import Form, Section, Task
from localhb.format.parser import Document, SectionInfo


@dataclass(frozen=True, slots=True)
class SetField:
    task_id: str
    key: str
    value: str


@dataclass(frozen=True, slots=True)
class RemoveField:
    task_id: str
    key: str


@dataclass(frozen=True, slots=True)
class SetChecked:
    task_id: str
    checked: bool = True


@dataclass(frozen=True, slots=True)
class MoveToCompleted:
    task_id: str


Edit = SetField | RemoveField | SetChecked | MoveToCompleted

LABELS = {
    "id": "ID",
    "last run": "Last run",
    "last error": "Last error",
    "last checked": "Last checked",
    "catch up": "Catch up",
}
_BOX = re.compile(r"^([ \t]*(?:[*+-]|\d{1,9}[.)])[ \t]+)\[[ xX]\]")


class _New(str):
    """A line this edit wrote (as opposed to one kept from the file)."""

    __slots__ = ()


def one_line(value: str) -> str:
    """A value safe for a single `- Key: value` line: no breaks, controls escaped."""
    return fold_controls(" ".join(value.split()), keep_newlines=False)


def apply_edits(doc: Document, edits: Sequence[Edit]) -> str:
    """The text of `doc` with `edits` applied; EditConflict if a task is gone."""
    if not edits:
        return doc.render()
    lines = list(doc.lines)
    nl = doc.newline
    order: list[str] = []
    grouped: dict[str, list[Edit]] = {}
    for e in edits:
        if e.task_id not in grouped:
            order.append(e.task_id)
            grouped[e.task_id] = []
        grouped[e.task_id].append(e)

    splices: list[tuple[int, int, list[str]]] = []
    removals: list[tuple[int, int]] = []
    moved: list[tuple[Task, list[str], bool]] = []
    for task_id in order:
        task = doc.task(task_id)
        if task is None:
            raise EditConflict("no such task in the file", task_id=task_id)
        block = _BlockEditor(task, lines, nl)
        for e in grouped[task_id]:
            block.apply(e)
        if any(isinstance(e, MoveToCompleted) for e in grouped[task_id]):
            a, b, spaced = _removal(doc, task)
            removals.append((a, b))
            moved.append((task, block.lines, spaced))
        else:
            splices.append((task.start, task.end, block.lines))
    splices += [(a, b, []) for a, b in _merge(removals)]
    if moved:
        splices += _completed_insertions(doc, moved, nl)
    splices.sort(key=lambda s: (s[0], s[1]))
    for (_, b1, _), (a2, _, _) in pairwise(splices):
        if a2 < b1:  # never expected: each line belongs to at most one edit
            raise EditConflict("edits overlap", task_id=order[0])
    for a, b, new in reversed(splices):
        lines[a:b] = new
    return _join(
        lines, nl, ends_with_newline=bool(doc.lines) and doc.lines[-1] != content(doc.lines[-1])
    )


def _merge(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Overlapping or touching line ranges joined, so no line is removed twice."""
    merged: list[tuple[int, int]] = []
    for a, b in sorted(ranges):
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


def _join(lines: list[str], nl: str, *, ends_with_newline: bool) -> str:
    """Give every line but the last an ending; a written last line follows the file's habit."""
    for i in range(len(lines) - 1):
        if lines[i] == content(lines[i]):
            lines[i] = lines[i] + nl
    if lines and isinstance(lines[-1], _New) and not ends_with_newline:
        lines[-1] = content(lines[-1])
    return "".join(lines)


@dataclass(slots=True)
class _Place:
    """Where a field sits in the block being edited (lines relative to the block)."""

    key: str
    start: int
    end: int
    value_start: int
    value_end: int


class _BlockEditor:
    """Field edits on one task's lines, keeping field positions up to date."""

    def __init__(self, task: Task, lines: list[str], nl: str) -> None:
        self.task = task
        self.nl = nl
        self.lines: list[str] = lines[task.start : task.end]
        self.fields = [
            _Place(f.key, f.start - task.start, f.end - task.start, f.value_start, f.value_end)
            for f in task.fields
        ]

    def apply(self, e: Edit) -> None:
        if isinstance(e, SetField):
            self.set(e.key.lower(), one_line(e.value))
        elif isinstance(e, RemoveField):
            self.remove(e.key.lower())
        elif isinstance(e, SetChecked):
            self.check(e.checked)

    def set(self, key: str, value: str) -> None:
        for f in reversed(self.fields):
            if f.key == key:
                line = self.lines[f.start]
                body = content(line)
                self.lines[f.start] = _New(
                    body[: f.value_start] + value + body[f.value_end :] + line[len(body) :]
                )
                f.value_end = f.value_start + len(value)
                return
        style = self.task.style
        label = LABELS.get(key, key.capitalize())
        name = f"**{label}**{style.colon} " if style.bold else f"{label}{style.colon} "
        prefix = f"{style.indent}{style.bullet} {name}"
        at = self._insert_at()
        new = [_New(prefix + value + self.nl)]
        if not self.fields and at < len(self.lines) and _is_text(self.lines[at]):
            # Keep the task's prose a paragraph of its own, not a continuation of the bullet.
            new.append(_New(self.nl))
        self.lines[at:at] = new
        self._shift(at, len(new))
        self.fields.append(_Place(key, at, at + 1, len(prefix), len(prefix) + len(value)))

    def remove(self, key: str) -> None:
        for f in sorted((f for f in self.fields if f.key == key), key=lambda f: -f.start):
            del self.lines[f.start : f.end]
            self.fields.remove(f)
            self._shift(f.start, f.start - f.end)

    def check(self, checked: bool) -> None:
        if self.task.form is not Form.CHECKBOX:
            return
        line = self.lines[0]
        m = _BOX.match(line)
        if m is not None:
            mark = "x" if checked else " "
            self.lines[0] = _New(line[: m.end(1)] + f"[{mark}]" + line[m.end() :])

    def _insert_at(self) -> int:
        if self.fields:
            return max(f.end for f in self.fields)
        return 1 if self.task.form is Form.HEADING else len(self.lines)

    def _shift(self, at: int, delta: int) -> None:
        for f in self.fields:
            if f.start >= at:
                f.start += delta
                f.end += delta


def _is_text(line: str) -> bool:
    """A line of prose (not blank, not a list item, heading, fence or HTML)."""
    stripped = line.strip()
    return bool(stripped) and not re.match(r"([*+-]|\d{1,9}[.)])(\s|$)|#|```|~~~|<", stripped)


def _removal(doc: Document, task: Task) -> tuple[int, int, bool]:
    """Lines to lift out for a move, and whether blank lines separated the task.

    A task followed by more content takes its trailing blank lines with it;
    the last task of a section takes its leading blank lines instead, so the
    gap before the next section stays as it was.
    """
    lines = doc.lines
    sec = doc.section_of(task.start)
    limit = sec.end if sec else len(lines)
    floor = sec.start + 1 if sec else 0
    after = task.end
    while after < limit and is_blank(lines[after]):
        after += 1
    if after < limit:
        return task.start, after, after > task.end
    before = task.start
    while before > floor and is_blank(lines[before - 1]):
        before -= 1
    return before, task.end, before < task.start or after > task.end


def _completed_insertions(
    doc: Document, moved: list[tuple[Task, list[str], bool]], nl: str
) -> list[tuple[int, int, list[str]]]:
    """Where the moved blocks go in the Completed section.

    Heading tasks go after the section's last line of content; checkbox tasks
    go after its own list, before its first task heading, so that they stay
    items of the section rather than text inside a completed heading task.
    """
    target = _completed_section(doc)
    if target is None:
        at = len(doc.lines)
        pending = doc.section_of(moved[0][0].start)
        level = pending.level if pending else 2
        new: list[str] = []
        if doc.lines and not is_blank(doc.lines[-1]):
            new.append(_New(nl))
        new.append(_New("#" * level + " Completed" + nl))
        ordered = sorted(moved, key=lambda m: m[0].form is Form.HEADING)
        return [(at, at, new + _blocks(ordered, nl))]
    end = _back_over_blanks(doc, target.end, target.start + 1)
    first_heading = min(
        (
            t.start
            for t in doc.tasks
            if t.form is Form.HEADING and target.start < t.start < target.end
        ),
        default=None,
    )
    direct = (
        end if first_heading is None else _back_over_blanks(doc, first_heading, target.start + 1)
    )
    boxes = [m for m in moved if m[0].form is Form.CHECKBOX]
    heads = [m for m in moved if m[0].form is Form.HEADING]
    out = []
    if boxes:
        out.append((direct, direct, _blocks(boxes, nl, spaced=False)))
    if heads:
        out.append((end, end, _blocks(heads, nl)))
    return out


def _back_over_blanks(doc: Document, at: int, floor: int) -> int:
    while at > floor and is_blank(doc.lines[at - 1]):
        at -= 1
    return at


def _blocks(
    moved: list[tuple[Task, list[str], bool]], nl: str, *, spaced: bool | None = None
) -> list[str]:
    out: list[str] = []
    for _, block, was_spaced in moved:
        if was_spaced if spaced is None else spaced:
            out.append(_New(nl))
        out.extend(_New(line) for line in block)
        if out[-1] == content(out[-1]):
            out[-1] = _New(out[-1] + nl)
    return out


def _completed_section(doc: Document) -> SectionInfo | None:
    """The Completed section to append to: the first one after a Pending one, else the first."""
    sections = [s for s in doc.sections if s.role is Section.COMPLETED]
    if not sections:
        return None
    pending = [s for s in doc.sections if s.role is Section.PENDING]
    if pending:
        later = [s for s in sections if s.start > pending[0].start]
        if later:
            return later[0]
    return sections[0]
