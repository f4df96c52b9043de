"""HEARTBEAT.md -> `Document`: sections, tasks and diagnostics. Never raises on content.

The document keeps every original line, so an unchanged document renders back
byte for byte; edits (see `localhb.format.edit`) splice lines and touch nothing else.
Tasks are read only from Pending and Completed sections; everything else,
and anything inside code, HTML comments or quotes, is kept and never run.
"""

from __future__ import annotations

import gc
import re
import threading
import unicodedata
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol

from localhb.core.moments import parse_when as parse_when
from localhb.format.blocks import Block, content, is_blank, parse_blocks, split_lines
from localhb.format.checks import CheckSpec, CheckSyntaxError, parse_check
from localhb.format.model import (
    DEFAULT_COMPLETED_SECTIONS,
    DEFAULT_PENDING_SECTIONS,
    TOOL_FAMILIES,
    CatchUp,
    Diagnostic,
    Field,
    FieldStyle,
    Form,
    Priority,
    Section,
    Severity,
    Task,
    TaskKind,
)
from localhb.format.notify import SettingError, parse_setting
from localhb.format.recurrence import (
    Recurrence,
    RecurrenceError,
    parse_recurrence,
    schedule_error_in_parentheses,
)
from localhb.format.titles import schedule_hint as schedule_hint
from localhb.format.titles import title_problem
from localhb.format.titles import title_schedule as title_schedule

# Canonical keys and the spellings accepted for them.
KEYS: dict[str, str] = {
    "id": "id",
    "priority": "priority",
    "due": "due",
    "deadline": "due",
    "recurring": "recurring",
    "recurrence": "recurring",
    "schedule": "recurring",
    "condition": "condition",
    "check": "check",
    "run": "run",
    "description": "description",
    "completed": "completed",
    "notes": "notes",
    "last run": "last run",
    "attempts": "attempts",
    "last error": "last error",
    "status": "status",
    "paused": "paused",
    "last checked": "last checked",
    "catch up": "catch up",
    "catch-up": "catch up",
    "catchup": "catch up",
    "tools": "tools",
    "notify": "notify",
    "notifications": "notify",
    "ping": "ping",
}

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
_LAST = re.compile(r"^(?P<when>.+?)\s*(?:\((?P<status>[^)]*)\))?\s*$")
_ID = re.compile(r"^[\w][\w.-]*$")
_FALSE = {"", "no", "false", "0", "off", "none"}


@dataclass(frozen=True, slots=True)
class SectionInfo:
    """A heading-delimited section and what localhb makes of it."""

    title: str
    name: str
    role: Section | None
    start: int
    end: int
    level: int

    @property
    def line(self) -> int:
        return self.start + 1


@dataclass(frozen=True, slots=True)
class Document:
    """A parsed HEARTBEAT.md. `lines` keep their endings; BOM included."""

    lines: tuple[str, ...]
    tasks: tuple[Task, ...]
    sections: tuple[SectionInfo, ...]
    diagnostics: tuple[Diagnostic, ...]
    pending_sections: tuple[str, ...] = DEFAULT_PENDING_SECTIONS
    completed_sections: tuple[str, ...] = DEFAULT_COMPLETED_SECTIONS

    def render(self) -> str:
        return "".join(self.lines)

    @property
    def newline(self) -> str:
        """The file's most common line ending (LF when it has none)."""
        counts = {"\n": 0, "\r\n": 0, "\r": 0}
        for line in self.lines:
            ending = line[len(line.rstrip("\r\n")) :]
            if ending in counts:
                counts[ending] += 1
        return max(("\n", "\r\n", "\r"), key=lambda e: counts[e])

    @property
    def errors(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if d.severity is Severity.ERROR)

    def task(self, task_id: str) -> Task | None:
        """The pending task with this id, else a completed one, else None."""
        found = None
        for t in self.tasks:
            if t.id == task_id:
                if t.section is Section.PENDING:
                    return t
                found = found or t
        return found

    def pending(self) -> tuple[Task, ...]:
        return tuple(t for t in self.tasks if t.section is Section.PENDING)

    def section_of(self, line: int) -> SectionInfo | None:
        for s in self.sections:
            if s.start <= line < s.end:
                return s
        return None


_MARKUP = re.compile(r"[*_`~]")
_TRAILING_GROUP = re.compile(r"\s*[(（][^)）]*[)）]\s*$")
_NUMBERING = re.compile(r"^\s*\d+[.)]\s+")
_NOT_NAME = re.compile(r"[^\w '-]|_")


def section_name(title: str) -> str:
    """A heading reduced to the words that name a section: `## ✅ Done (3)` -> `done`."""
    t = _MARKUP.sub("", title)
    t = _TRAILING_GROUP.sub("", t)
    t = _NUMBERING.sub("", t)
    t = _NOT_NAME.sub(" ", t)
    return " ".join(t.lower().split())


def slug(title: str) -> str:
    """A task id from a title: lower case words joined by `-`; any script."""
    t = unicodedata.normalize("NFKC", title).lower()
    t = re.sub(r"[\W_]+", "-", t).strip("-")
    if len(t) > 60:
        cut = t[:60]
        t = cut.rsplit("-", 1)[0] if "-" in cut[20:] else cut
    return t


_GC_LOCK = threading.Lock()
_gc_depth = 0
_gc_was_enabled = False


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while parsing, safely across threads.

    Parsing allocates many small objects and no garbage worth collecting;
    pausing the collector keeps time linear in the file's size (bench/
    bench_parse.py: 1.6x over bare mistune with the pause, 2.2x without).
    Parses in several threads share one pause, counted under a lock: the
    collector is switched back on when the last one ends, and only if it was
    on when the first began, so a caller's own `gc.disable()` is respected.
    """
    global _gc_depth, _gc_was_enabled
    with _GC_LOCK:
        if _gc_depth == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_depth += 1
    try:
        yield
    finally:
        with _GC_LOCK:
            _gc_depth -= 1
            if _gc_depth == 0 and _gc_was_enabled:
                gc.enable()


def parse(
    text: str,
    *,
    pending_sections: Iterable[str] = DEFAULT_PENDING_SECTIONS,
    completed_sections: Iterable[str] = DEFAULT_COMPLETED_SECTIONS,
    tool_names: Iterable[str] = (),
) -> Document:
    """Read a HEARTBEAT.md text. Problems become diagnostics, never exceptions.

    `tool_names` are the MCP servers `- Tools:` may name besides the families
    (`time`, or one tool of it: `time__get_current_time`)."""
    pending = tuple(" ".join(s.lower().split()) for s in pending_sections)
    completed = tuple(" ".join(s.lower().split()) for s in completed_sections)
    lines = split_lines(text)
    builder = _Builder(lines, pending, completed)
    builder.tool_names = frozenset(tool_names)
    with _collector_paused():
        builder.walk(parse_blocks(lines))
    return Document(
        lines=tuple(lines),
        tasks=tuple(builder.finish_tasks()),
        sections=tuple(builder.sections),
        diagnostics=tuple(sorted(builder.diags, key=lambda d: d.line)),
        pending_sections=pending,
        completed_sections=completed,
    )


class _Builder:
    def __init__(self, lines: list[str], pending: tuple[str, ...], completed: tuple[str, ...]):
        self.lines = lines
        self.pending = pending
        self.completed = completed
        self.tasks: list[Task] = []
        self.sections: list[SectionInfo] = []
        self.diags: list[Diagnostic] = []
        self.tool_names: frozenset[str] = frozenset()

    # -- diagnostics -------------------------------------------------------
    def diag(self, line0: int, severity: Severity, message: str, hint: str = "") -> None:
        self.diags.append(Diagnostic(line0 + 1, severity, message, hint))

    # -- walking -----------------------------------------------------------
    def walk(self, blocks: list[Block]) -> None:
        n = len(self.lines)
        headings = [b for b in blocks if b.kind == "heading"]
        # Section boundaries: a section runs to the next heading of its level or higher.
        roles = [self.role(section_name(_heading_text(h))) for h in headings]
        inside: SectionInfo | None = None
        for i, h in enumerate(headings):
            if (
                inside is not None
                and h.level > inside.level
                and (roles[i] is None or inside.level > 1)
            ):
                continue  # a task heading, or a heading inside a task
            title = _heading_text(h)
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
                f"tasks go under a section named {names} (see [heartbeat] pending_sections)",
            )
        for b in blocks:
            self.note_opaque(b)

    def note_ignored(self, info: SectionInfo, blocks: list[Block]) -> None:
        """Say what an ignored section would be, when it looks like work to do."""
        rec, _ = title_schedule(info.title)
        if rec is not None:
            self.diag(
                info.start,
                Severity.NOTE,
                f"its title reads as a schedule ({rec.describe()}), but only tasks under a "
                "Pending section run",
                f"to run it, put `{'#' * (info.level + 1)} {info.title}` under `## Pending`",
            )
        elif (err := schedule_error_in_parentheses(info.title)) is not None:
            self.diag(
                info.start,
                Severity.NOTE,
                "its title mentions a schedule, but only tasks under a Pending section run",
                f"{err.message}; {err.hint}" if err.hint else err.message,
            )
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
                f"({_heading_text(head)!r}) as part of its text, not tasks of their own",
                "to make them tasks, put them before the section's first task heading",
            )
        fields = [
            f
            for b in body
            if b.kind == "list"
            for item in b.children
            if (f := self.field(item)) is not None
        ]
        self.add_task(info.role, Form.HEADING, _heading_text(head), head.start, end, fields, None)

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
            key=KEYS.get(canon, canon),
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
        problems: list[str] = []
        pending = section is Section.PENDING

        def bad(f: Field, message: str, hint: str = "", *, fatal: bool = True) -> None:
            if not pending:
                return
            self.diag(f.start, Severity.ERROR if fatal else Severity.WARNING, message, hint)
            if fatal:
                problems.append(f"line {f.line}: {message}")

        by_key: dict[str, Field] = {}
        for f in fields:
            if f.key in by_key and f.key in KEYS.values() and pending:
                self.diag(
                    f.start,
                    Severity.WARNING,
                    f"{f.label} is given twice; line {f.line} wins over line {by_key[f.key].line}",
                )
            by_key[f.key] = f

        recurrence: Recurrence | None = None
        title = raw_title
        if "recurring" in by_key:
            f = by_key["recurring"]
            try:
                recurrence = parse_recurrence(f.value)
            except RecurrenceError as exc:
                bad(f, f"{f.label}: {exc.message}", exc.hint)
        found, title = title_schedule(raw_title)
        scheduled = any(k in by_key for k in ("recurring", "due", "condition", "check"))
        if found is not None:
            recurrence = recurrence or found
        if pending and "recurring" not in by_key and (found is not None or not scheduled):
            trouble = title_problem(raw_title, found)
            if trouble is not None:
                severity = Severity.ERROR if trouble.fatal else Severity.WARNING
                self.diag(start, severity, trouble.message, trouble.hint)
                if trouble.fatal:
                    problems.append(f"line {start + 1}: {trouble.message}")

        due = None
        if "due" in by_key:
            f = by_key["due"]
            try:
                due = parse_when(f.value)
            except ValueError:
                bad(f, f"Due: cannot read {f.value!r} as a date", "write `YYYY-MM-DD HH:MM`")

        priority = Priority.MEDIUM
        if "priority" in by_key:
            f = by_key["priority"]
            word = (f.value.split() or [""])[0].strip("*_.,:;-").lower()
            word = {"urgent": "high", "critical": "high", "normal": "medium"}.get(word, word)
            if word in ("high", "medium", "low"):
                priority = Priority(word)
            else:
                bad(f, f"Priority: {f.value!r} is not high, medium or low", fatal=False)

        catch_up = None
        if "catch up" in by_key:
            f = by_key["catch up"]
            if f.value.strip().lower() in ("none", "once", "all"):
                catch_up = CatchUp(f.value.strip().lower())
            else:
                bad(f, f"Catch up: {f.value!r} is not none, once or all")

        attempts = 0
        if "attempts" in by_key:
            f = by_key["attempts"]
            try:
                attempts = max(0, int(f.value.strip()))
            except ValueError:
                bad(f, f"Attempts: {f.value!r} is not a whole number", fatal=False)

        tools: tuple[str, ...] | None = None
        if "tools" in by_key:
            f = by_key["tools"]
            words = [w.strip(" `*_.").lower() for w in re.split(r"[,;\s]+", f.value)]
            words = [w for w in words if w and w not in ("and", "none")]
            # Other words name MCP servers (`time`) or single MCP tools (`git__git_log`).
            unknown = [
                w
                for w in words
                if w not in TOOL_FAMILIES and w.partition("__")[0] not in self.tool_names
            ]
            if unknown:
                bad(
                    f,
                    f"Tools: {unknown[0]!r} is not a tool family"
                    + (" or MCP server" if self.tool_names else ""),
                    f"write some of: {', '.join(TOOL_FAMILIES)}"
                    + (f", {', '.join(sorted(self.tool_names))}" if self.tool_names else "")
                    + " (complete_task is always there; MCP servers come from [[mcp.servers]])",
                )
            else:
                tools = tuple(dict.fromkeys(words))

        last_run, last_status = self.stamp(by_key.get("last run"), bad)
        last_checked, _ = self.stamp(by_key.get("last checked"), bad)

        task_id = slug(title) or f"task-line-{start + 1}"
        if "id" in by_key:
            f = by_key["id"]
            if _ID.match(f.value.strip()):
                task_id = f.value.strip()
            else:
                bad(f, f"ID: {f.value!r} may hold only letters, digits, '.', '-' and '_'")

        if "notify" in by_key:
            f = by_key["notify"]
            try:
                parse_setting(f.value)
            except SettingError as exc:
                hint = "e.g. `ops`, `ops on error`, `on change`, `always`, `never`"
                bad(f, f"Notify: {exc}", hint, fatal=False)
        if "ping" in by_key and not re.match(r"^https?://\S+$", by_key["ping"].value.strip()):
            f = by_key["ping"]
            bad(f, f"Ping: {f.value!r} is not an http(s) URL", fatal=False)

        paused = by_key["paused"].value.strip() if "paused" in by_key else None
        if paused is not None and paused.lower() in _FALSE:
            paused = None
        condition = by_key["condition"].value.strip() if "condition" in by_key else None
        if condition == "":
            condition = None
        run = by_key["run"].value.strip() if "run" in by_key else None
        if run is not None and len(run) >= 2 and run[0] == run[-1] == "`":
            run = run[1:-1].strip()
        if run == "":
            bad(by_key["run"], "Run: names no command", "write `- Run: <shell command>`")
            run = None
        check: CheckSpec | None = None
        if "check" in by_key:
            f = by_key["check"]
            try:
                check = parse_check(f.value)
            except CheckSyntaxError as exc:
                bad(f, str(exc))
        kind = (
            TaskKind.CONDITIONAL
            if condition or (check is not None and recurrence is None)
            else TaskKind.RECURRING
            if recurrence is not None
            else TaskKind.ONE_TIME
        )
        if kind is TaskKind.RECURRING and due is not None and pending:
            self.diag(by_key["due"].start, Severity.WARNING, "Due is ignored on a recurring task")
        if not title and pending:
            self.diag(start, Severity.ERROR, "a task needs a title")
            problems.append("no title")

        self.tasks.append(
            Task(
                id=task_id,
                title=title,
                kind=kind,
                section=section,
                form=form,
                start=start,
                end=end,
                text="".join(self.lines[start:end]),
                fields=tuple(fields),
                style=self.style(form, start, fields),
                priority=priority,
                due=due,
                recurrence=recurrence,
                condition=condition,
                description=by_key["description"].value if "description" in by_key else None,
                catch_up=catch_up,
                checked=checked,
                paused=paused,
                last_run=last_run,
                last_status=last_status,
                last_checked=last_checked,
                attempts=attempts,
                tools=tools,
                problem="; ".join(problems) or None,
                run=run,
                check=check,
            )
        )

    def stamp(self, f: Field | None, bad: _Bad) -> tuple[datetime | None, str | None]:
        """A `Last run`-style value: `2024-01-15 18:00 (ok)`."""
        if f is None or not f.value.strip():
            return None, None
        m = _LAST.match(f.value.strip())
        assert m is not None
        try:
            when = parse_when(m.group("when"))
        except ValueError:
            bad(f, f"{f.label}: cannot read {f.value!r} as a time", fatal=False)
            return None, None
        return when, (m.group("status") or "").strip() or None

    def finish_tasks(self) -> list[Task]:
        """Flag pending tasks that share an identity; editing them would be ambiguous."""
        seen: dict[str, list[int]] = {}
        for i, t in enumerate(self.tasks):
            if t.section is Section.PENDING:
                seen.setdefault(t.id, []).append(i)
        for task_id, idx in seen.items():
            if len(idx) < 2:
                continue
            where = ", ".join(str(self.tasks[i].line) for i in idx)
            for i in idx:
                t = self.tasks[i]
                self.diag(
                    t.start,
                    Severity.ERROR,
                    f"two tasks have the id {task_id!r} (lines {where})",
                    "rename one, or give each an `- ID:` line",
                )
                message = f"duplicate id {task_id!r}"
                problem = f"{t.problem}; {message}" if t.problem else message
                self.tasks[i] = replace(t, problem=problem)
        return self.tasks


class _Bad(Protocol):
    def __call__(self, f: Field, message: str, hint: str = "", *, fatal: bool = True) -> None: ...


def _checkbox(line: str) -> re.Match[str] | None:
    """The `[ ]`/`[x]` of a list item line (matched after its marker), if it has one."""
    marker = _MARKER.match(line)
    return _CHECKBOX.match(line[marker.end() :]) if marker else None


def _heading_text(b: Block) -> str:
    return str(b.token.get("text", "")).strip()
