"""HEARTBEAT.md -> `Document`: sections, tasks and diagnostics. Never raises on content.

The document keeps every original line, so an unchanged document renders back
byte for byte; edits (see `localhb.format.edit`) splice lines and touch nothing else.
Tasks are read only from Pending and Completed sections; everything else,
and anything inside code, HTML comments or quotes, is kept and never run.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from typing import Protocol

from localhb.core.moments import parse_when as parse_when
from localhb.format.blocks import parse_blocks, split_lines
from localhb.format.checks import CheckSpec, CheckSyntaxError, parse_check
from localhb.format.document import Document as Document
from localhb.format.document import SectionInfo as SectionInfo
from localhb.format.document import section_name as section_name
from localhb.format.document import slug as slug
from localhb.format.model import (
    DEFAULT_COMPLETED_SECTIONS,
    DEFAULT_PENDING_SECTIONS,
    TOOL_FAMILIES,
    CatchUp,
    Field,
    Form,
    Priority,
    Section,
    Severity,
    Task,
    TaskKind,
)
from localhb.format.notify import SettingError, parse_setting
from localhb.format.recurrence import Recurrence, RecurrenceError, parse_recurrence
from localhb.format.task_clock import task_clock
from localhb.format.titles import schedule_hint as schedule_hint
from localhb.format.titles import shown_schedule, title_problem
from localhb.format.titles import title_schedule as title_schedule
from localhb.format.walk import Walker

__all__ = [
    "KEYS",
    "Document",
    "SectionInfo",
    "parse",
    "parse_when",
    "schedule_hint",
    "section_name",
    "slug",
    "title_schedule",
]

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
    "timezone": "timezone",
    "time zone": "timezone",
    "tz": "timezone",
    "active hours": "active hours",
}

_LAST = re.compile(r"^(?P<when>.+?)\s*(?:\((?P<status>[^)]*)\))?\s*$")
_ID = re.compile(r"^[\w][\w.-]*$")
_FALSE = {"", "no", "false", "0", "off", "none"}


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
    # The collector is left alone: it is the whole process's (the daemon's API and
    # delivery threads run during a parse). bench/bench_parse.py --gc measures what
    # pausing it would save: nothing at 1,000 tasks, a little at 10,000 (past the cap).
    builder.walk(parse_blocks(lines))
    return Document(
        lines=tuple(lines),
        tasks=tuple(builder.finish_tasks()),
        sections=tuple(builder.sections),
        diagnostics=tuple(sorted(builder.diags, key=lambda d: d.line)),
        pending_sections=pending,
        completed_sections=completed,
    )


class _Builder(Walker):
    keys = KEYS

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
                    if found is not None and recurrence is found:
                        recurrence = shown_schedule(raw_title, found)  # never "at 00:00"

        clock = task_clock(by_key, recurrence, lambda f, m, h: bad(f, m, h))
        recurrence = clock.recurrence

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
                zone=clock.zone,
                window=clock.window,
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
