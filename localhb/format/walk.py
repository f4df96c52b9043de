"""The walk over a file's blocks: sections, task headings and checkboxes, and fields.

`Walker` finds the sections (a section runs to the next heading of its level
or higher), notes what ignored sections and opaque blocks would be, and hands
each task candidate (title, lines, fields) to `add_task`, which
`localhb.format.parser` implements.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import ClassVar

from localhb.format.blocks import Block, content, is_blank
from localhb.format.document import SectionInfo, section_name
from localhb.format.model import Diagnostic, Field, FieldStyle, Form, Section, Severity, Task
from localhb.format.recurrence import schedule_error_in_parentheses
from localhb.format.titles import shown_schedule, title_schedule

__all__ = ["Walker", "heading_text"]

_MARKER = re.compile(r"^[ \t]*(?:[*+-]|\d{1,9}[.)])(?:[ \t]+|$)")
_CHECKBOX = re.compile(r"^\[([ xX])\](?:[ \t]+|$)")
_FIELD = re.compile(
    r"""(?:
        \*\*(?P<k1>[^*\n]{1,40}?)[ \t]*[:：][ \t]*\*\*      # **Key:** value
      | \*\*(?P<k2>[^*\n]{1,40}?)\*\*[ \t]*[:：]           # **Key**: value
      | __(?P<k3>[^_\n]{1,40}?)__[ \t]*[:：]               # __Key__: value
      | (?P<k4>[^\W\d_][\w \t'.&()-]{0,39}?)[ \t]*[:：](?!//)  # Key: value
    )[ \t]*""",
    re.VERBOSE,
)


class Walker:
    """Walks the blocks of a file into sections and task candidates; `add_task` builds each.

    `keys` maps the spellings of task keys to their canonical names."""

    keys: ClassVar[Mapping[str, str]] = {}

    def __init__(self, lines: list[str], pending: tuple[str, ...], completed: tuple[str, ...]):
        self.lines = lines
        self.pending = pending
        self.completed = completed
        self.tasks: list[Task] = []
        self.sections: list[SectionInfo] = []
        self.diags: list[Diagnostic] = []
        self.tool_names: frozenset[str] = frozenset()
        self.schedule_sections = 0  # ignored sections whose title reads as a schedule

    # -- diagnostics -------------------------------------------------------
    def diag(self, line0: int, severity: Severity, message: str, hint: str = "") -> None:
        self.diags.append(Diagnostic(line0 + 1, severity, message, hint))

    # -- walking -----------------------------------------------------------
    def walk(self, blocks: list[Block]) -> None:
        n = len(self.lines)
        headings = [b for b in blocks if b.kind == "heading"]
        # Section boundaries: a section runs to the next heading of its level or higher.
        roles = [self.role(section_name(heading_text(h))) for h in headings]
        inside: SectionInfo | None = None
        for i, h in enumerate(headings):
            if (
                inside is not None
                and h.level > inside.level
                and (roles[i] is None or inside.level > 1)
            ):
                continue  # a task heading, or a heading inside a task
            title = heading_text(h)
            end = next(
                (
                    x.start
                    for j, x in enumerate(headings[i + 1 :], i + 1)
                    if x.level <= h.level or (roles[j] is not None and h.level == 1)
                ),
                n,
            )
            info = SectionInfo(title, section_name(title), roles[i], h.start, end, h.level)
            self.sections.append(info)
            inside = info if roles[i] is not None else None
            if inside is not None:
                self.read_section(info, [b for b in blocks if h.start < b.start < end])
            else:
                self.note_ignored(info, [b for b in blocks if h.start < b.start < end])
        if not any(s.role is Section.PENDING for s in self.sections):
            names = ", ".join(f"`## {s.title()}`" for s in self.pending[:4])
            self.diag(
                -1,
                Severity.WARNING,
                "no Pending section: nothing in this file will run",
                f"tasks go under a section named {names} (see [heartbeat] pending_sections)"
                + (
                    f"; {self.schedule_sections} section(s) here are titled with a schedule: "
                    "`localhb migrate` proposes them as tasks there"
                    if self.schedule_sections
                    else ""
                ),
            )
        for b in blocks:
            self.note_opaque(b)

    def note_ignored(self, info: SectionInfo, blocks: list[Block]) -> None:
        """Say what an ignored section would be, when it looks like work to do.

        One note and one hint per section, never two that disagree: a
        schedule-titled section is one task-to-be (`localhb migrate` moves it,
        its checkboxes become the task's text), other boxes are a section name."""
        boxes = 0
        for b in blocks:
            if b.kind == "heading":
                break  # what follows belongs to a subsection, noted on its own
            if b.kind == "list":
                for item in b.children:
                    line = content(self.lines[item.start])
                    marker = _MARKER.match(line)
                    if marker and line[marker.end() :].startswith("[ ]"):
                        boxes += 1
        rec, _ = title_schedule(info.title)
        if rec is not None:
            self.schedule_sections += 1
            text = f", and its {boxes} open checkbox(es) would be the task's text" if boxes else ""
            self.diag(
                info.start,
                Severity.NOTE,
                f"its title reads as a schedule ({shown_schedule(info.title, rec).describe()}), "
                "but only tasks under a "
                f"Pending section run{text}",
                f"`localhb migrate` moves it under `## Pending` as `### {info.title}` "
                "(it prints the diff; --write applies it)",
            )
            return
        if (err := schedule_error_in_parentheses(info.title)) is not None:
            self.diag(
                info.start,
                Severity.NOTE,
                "its title mentions a schedule, but only tasks under a Pending section run",
                f"{err.message}; {err.hint}" if err.hint else err.message,
            )
            return
        if boxes:
            self.diag(
                info.start,
                Severity.NOTE,
                f"{boxes} open checkbox(es) here are not tasks: this is not a Pending section",
                "rename the heading (e.g. `## Pending`) or add its name to "
                "[heartbeat] pending_sections",
            )

    def role(self, name: str) -> Section | None:
        if name in self.pending:
            return Section.PENDING
        if name in self.completed:
            return Section.COMPLETED
        return None

    def note_opaque(self, b: Block) -> None:
        kind = {"block_code": "code block", "block_html": "HTML block", "block_quote": "quote"}
        if b.kind not in kind:
            return
        body = "".join(self.lines[b.start : b.end])
        if re.search(
            r"^\s*(#{2,6}\s|[-*+]\s+\[[ xX]\]|[-*+]\s+\**(due|recurring)\b)", body, re.M | re.I
        ):
            self.diag(
                b.start,
                Severity.NOTE,
                f"{kind[b.kind]} (lines {b.start + 1}-{b.end}) holds task-like text; "
                "it is an example and is never read as a task",
            )

    def read_section(self, info: SectionInfo, blocks: list[Block]) -> None:
        assert info.role is not None
        task_level = 0
        current: tuple[Block, list[Block]] | None = None
        for b in blocks:
            if b.kind == "heading" and (task_level == 0 or b.level <= task_level):
                task_level = task_level or b.level
                if b.level < task_level:  # deeper than the section, shallower than tasks
                    task_level = b.level
                if current is not None:
                    self.heading_task(info, current[0], current[1], b.start)
                current = (b, [])
                continue
            if b.kind == "list" and b.token.get("_unread") and info.role is Section.PENDING:
                self.diag(
                    b.start,
                    Severity.WARNING,
                    f"the list on lines {b.start + 1}-{b.end} could not be read item by item; "
                    "nothing in it runs",
                    "check its indentation: one space after `-`, nested items indented by 2",
                )
            if current is not None:
                current[1].append(b)
            elif b.kind == "list":
                for item in b.children:
                    self.checkbox_item(info, item)
        if current is not None:
            self.heading_task(info, current[0], current[1], info.end)

    # -- tasks -------------------------------------------------------------
    def heading_task(self, info: SectionInfo, head: Block, body: list[Block], stop: int) -> None:
        assert info.role is not None
        end = self.trim(head.start, stop)
        boxes = [
            item.start
            for b in body
            if b.kind == "list"
            for item in b.children
            if _checkbox(content(self.lines[item.start])) is not None
        ]
        if boxes and info.role is Section.PENDING:
            self.diag(
                boxes[0],
                Severity.NOTE,
                f"{len(boxes)} checkbox(es) here belong to the task above "
                f"({heading_text(head)!r}) as part of its text, not tasks of their own",
                "to make them tasks, put them before the section's first task heading",
            )
        fields = [
            f
            for b in body
            if b.kind == "list"
            for item in b.children
            if (f := self.field(item)) is not None
        ]
        self.add_task(info.role, Form.HEADING, heading_text(head), head.start, end, fields, None)

    def checkbox_item(self, info: SectionInfo, item: Block) -> None:
        assert info.role is not None
        line = content(self.lines[item.start])
        marker = _MARKER.match(line)
        rest = line[marker.end() :] if marker else ""
        box = _checkbox(line)
        if box is None:
            if info.role is Section.PENDING and rest.strip():
                self.diag(
                    item.start,
                    Severity.NOTE,
                    "a plain bullet is not a task",
                    "write it as `- [ ] ...` or under a `### Title` heading to run it",
                )
            return
        title = rest[box.end() :].strip()
        fields = [
            f
            for child in item.children
            if child.kind == "list"
            for sub in child.children
            if (f := self.field(sub)) is not None
        ]
        end = self.trim(item.start, item.end)
        self.add_task(info.role, Form.CHECKBOX, title, item.start, end, fields, box.group(1) != " ")

    def trim(self, start: int, stop: int) -> int:
        """`stop` moved back over blank lines, but never before `start + 1`."""
        end = stop
        while end > start + 1 and is_blank(self.lines[end - 1]):
            end -= 1
        return end

    def field(self, item: Block) -> Field | None:
        line = content(self.lines[item.start])
        marker = _MARKER.match(line)
        if marker is None:
            return None
        m = _FIELD.match(line, marker.end())
        if m is None:
            return None
        label = next(g for g in (m.group("k1"), m.group("k2"), m.group("k3"), m.group("k4")) if g)
        label = label.strip()
        if len(label.split()) > 5:
            return None
        canon = " ".join(label.lower().split())
        value_end = len(line.rstrip())
        value_start = min(m.end(), value_end)
        # The field owns its line and the indented lines under it; an unindented
        # (lazy) continuation is the author's prose and is never removed with it.
        end = item.start + 1
        for i in range(item.start + 1, item.end):
            text = self.lines[i]
            if is_blank(text):
                continue
            if text[:1] not in (" ", "\t"):
                break
            end = i + 1
        return Field(
            key=self.keys.get(canon, canon),
            label=label,
            value=line[value_start:value_end],
            start=item.start,
            end=end,
            value_start=value_start,
            value_end=value_end,
        )

    def style(self, form: Form, start: int, fields: list[Field]) -> FieldStyle:
        if fields:
            line = content(self.lines[fields[0].start])
            m = _MARKER.match(line)
            assert m is not None
            indent = line[: len(line) - len(line.lstrip(" \t"))]
            bullet = m.group(0).strip()
            after = line[m.end() : fields[0].value_start]
            colon = "：" if "：" in after else ":"
            return FieldStyle(indent, bullet, after.startswith(("**", "__")), colon)
        if form is Form.CHECKBOX:
            line = content(self.lines[start])
            m = _MARKER.match(line)
            width = len(m.group(0)) if m else 2
            return FieldStyle(" " * max(width, 2), "-", False, ":")
        return FieldStyle()

    def add_task(
        self,
        section: Section,
        form: Form,
        raw_title: str,
        start: int,
        end: int,
        fields: list[Field],
        checked: bool | None,
    ) -> None:
        """Read one task's title and fields (`localhb.format.parser` does)."""
        raise NotImplementedError


def _checkbox(line: str) -> re.Match[str] | None:
    """The `[ ]`/`[x]` of a list item line (matched after its marker), if it has one."""
    marker = _MARKER.match(line)
    return _CHECKBOX.match(line[marker.end() :]) if marker else None


def heading_text(b: Block) -> str:
    return str(b.token.get("text", "")).strip()
