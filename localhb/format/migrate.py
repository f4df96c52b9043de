"""`localhb migrate`: a HEARTBEAT.md written for another tool, proposed in localhb's form.

Pure: text in, text out. A section whose title reads as a schedule
(`## Every 30 Minutes (Ollama)`, `### Backup Check (every 4 hours)`,
`## 记忆维护（每次 heartbeat）`) but sits outside a Pending section never runs;
`migrate` moves each such section, whole, to the end of the Pending section
(one is added at the end of the file when there is none) as one `###` task:
its schedule stays in its title, its checkboxes and prose become the task's
text, deeper headings inside it are shifted down so they stay its text.

It never makes a task of anything the owner did not write as one: every
other line stays where it is, byte for byte (code, comments, examples).
A section is left alone, with the reason, when its schedule cannot be read,
when it gives no clock time (`(Daily)`: localhb will not guess 00:00), when
its text holds a line that would become a task key (`- Run: ...`), or when
moving it would add an error (a duplicate id). The result always parses
with no more errors than the original, and migrating it again changes
nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from localhb.format.blocks import is_blank, parse_blocks
from localhb.format.dayparts import has_clock_time
from localhb.format.model import (
    DEFAULT_COMPLETED_SECTIONS,
    DEFAULT_PENDING_SECTIONS,
    Diagnostic,
    Section,
)
from localhb.format.parser import KEYS, Document, SectionInfo, parse
from localhb.format.titles import title_problem, title_schedule

__all__ = ["Migration", "Skipped", "migrate", "with_migrate_notes"]

_SAFE_KEYS = frozenset({"description", "notes", "priority"})
"""Task keys a moved section's own bullets may hold: they only describe the task."""
_KNOWN = frozenset(KEYS.values())
_ATX = re.compile(r"^( {0,3})(#{1,6})(?=[ \t]|$)")


@dataclass(frozen=True, slots=True)
class Skipped:
    """A schedule-titled section left where it is; `line` is 1-based."""

    line: int
    title: str
    reason: str


@dataclass(frozen=True, slots=True)
class Migration:
    """The proposed text, the titles of the sections moved, and those left alone."""

    original: str
    text: str
    moved: tuple[str, ...]
    skipped: tuple[Skipped, ...]

    @property
    def changed(self) -> bool:
        return self.text != self.original


def _candidates(doc: Document) -> list[SectionInfo]:
    """Schedule-titled sections outside Pending and Completed, outermost first."""
    out: list[SectionInfo] = []
    for s in doc.sections:
        if s.role is not None or any(c.start <= s.start < c.end for c in out):
            continue
        rec, _ = title_schedule(s.title)
        if rec is not None:
            out.append(s)
    return out


def _why_not(s: SectionInfo) -> str | None:
    """Why the section's schedule cannot be moved as it is written, else None."""
    rec, _ = title_schedule(s.title)
    if rec is None:  # pragma: no cover - only candidates get here
        return "its title does not read as a schedule"
    trouble = title_problem(s.title, rec)
    if trouble is not None and trouble.fatal:
        return f"{trouble.message} ({trouble.hint})"
    if (rec.crons or rec.rrules) and not rec.literal_cron and not has_clock_time(rec.source):
        example = rec.describe().replace("00:00", "09:00")
        rule = rec.describe_rule().replace(" at 00:00", "")
        return (
            f"its schedule ({rule}) gives no clock time and migrate will not pick 00:00 "
            f"for it: write the time you mean in the title, e.g. `({example})`"
        )
    return None


def _pending_name(pending: tuple[str, ...]) -> str:
    name = pending[0] if pending else "pending"
    return name[:1].upper() + name[1:]


class _Builder:
    """Builds the migrated text for a chosen set of sections."""

    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.lines = list(doc.lines)
        self.nl = doc.newline
        headings = [b for b in parse_blocks(self.lines) if b.kind == "heading"]
        self.headings = {b.start: b for b in headings}

    def task_lines(self, s: SectionInfo) -> list[str]:
        """The section as one `###` task: heading rewritten, deeper headings shifted."""
        shift = 3 - s.level
        out = [f"### {s.title}{self.nl}"]
        end = s.end
        while end > s.start + 1 and is_blank(self.lines[end - 1]):
            end -= 1
        head = self.headings.get(s.start)
        i = head.end if head is not None else s.start + 1
        while i < end:
            line = self.lines[i]
            block = self.headings.get(i)
            if block is not None:
                level = min(6, max(4, block.level + shift))
                text = str(block.token.get("text", "")).strip()
                ending = line[len(line.rstrip("\r\n")) :] or self.nl
                out.append(f"{'#' * level} {text}{ending}")
                i = max(block.end, i + 1)
                continue
            out.append(line)
            i += 1
        if out and not out[-1].endswith(("\n", "\r")):
            out[-1] += self.nl
        return out

    def build(self, chosen: list[SectionInfo]) -> str:
        if not chosen:
            return self.doc.render()
        moved: set[int] = set()
        for s in chosen:
            moved.update(range(s.start, s.end))
        block: list[str] = []
        for s in chosen:
            block += [self.nl, *self.task_lines(s)]
        pending = next((s for s in self.doc.sections if s.role is Section.PENDING), None)
        kept = [(i, line) for i, line in enumerate(self.lines) if i not in moved]
        at = pending.end if pending is not None else len(self.lines)
        before = [line for i, line in kept if i < at]
        after = [line for i, line in kept if i >= at]
        if before and not before[-1].endswith(("\n", "\r")):
            before[-1] += self.nl
        while before and is_blank(before[-1]):
            before.pop()
        if pending is None:
            heading = f"## {_pending_name(self.doc.pending_sections)}{self.nl}"
            block = ([self.nl] if before else []) + [heading, *block]
        elif after and not is_blank(block[-1]):
            block.append(self.nl)
        return "".join(before + block + after)


def migrate(
    text: str,
    *,
    pending_sections: Iterable[str] = DEFAULT_PENDING_SECTIONS,
    completed_sections: Iterable[str] = DEFAULT_COMPLETED_SECTIONS,
) -> Migration:
    """Propose `text` in localhb's form (see the module docstring)."""
    pending = tuple(pending_sections)
    completed = tuple(completed_sections)

    def read(t: str) -> Document:
        return parse(t, pending_sections=pending, completed_sections=completed)

    doc = read(text)
    builder = _Builder(doc)
    base_errors = len(doc.errors)
    chosen: list[SectionInfo] = []
    skipped: list[Skipped] = []
    for s in _candidates(doc):
        reason = _why_not(s)
        if reason is None:
            reason = _trial(builder, read, [*chosen, s], s, base_errors)
        if reason is None:
            chosen.append(s)
        else:
            skipped.append(Skipped(s.line, s.title, reason))
    return Migration(text, builder.build(chosen), tuple(s.title for s in chosen), tuple(skipped))


def _trial(
    builder: _Builder,
    read: Callable[[str], Document],
    chosen: list[SectionInfo],
    s: SectionInfo,
    base_errors: int,
) -> str | None:
    """Why moving `s` (with the sections already chosen) is refused, else None."""
    after = read(builder.build(chosen))
    tasks = [t for t in after.pending() if t.text.startswith(f"### {s.title}")]
    if not tasks:
        return "it would not read as a task there (the file ends inside a code block or comment)"
    task = tasks[-1]
    risky = sorted({f.label for f in task.fields if f.key in _KNOWN and f.key not in _SAFE_KEYS})
    if risky:
        return (
            f"its text has a `{risky[0]}:` line, which would become a task key: move it by hand "
            "if that is meant"
        )
    if task.problem is not None or len(after.errors) > base_errors:
        problem = task.problem or after.errors[-1].message
        return f"as a task it would be an error ({problem})"
    return None


_COUNT = re.compile(
    r"(\d+) section\(s\) here are titled with a schedule: `localhb migrate` proposes them as "
    r"tasks there"
)


def with_migrate_notes(doc: Document) -> Document:
    """`doc` whose notes on schedule-titled sections say what `localhb migrate` really
    does with each: a section it leaves alone says so, with the reason, instead of
    "`localhb migrate` moves it"; the no-Pending warning counts what it moves."""
    if not any("`localhb migrate`" in d.hint for d in doc.diagnostics):
        return doc
    m = migrate(
        doc.render(),
        pending_sections=doc.pending_sections,
        completed_sections=doc.completed_sections,
    )
    left = {s.line: s.reason for s in m.skipped}

    def count(_: re.Match[str]) -> str:
        text = f"{len(m.moved)} section(s) here are titled with a schedule `localhb migrate` "
        text += "proposes as tasks there"
        if left:
            text += f"; it leaves {len(left)} alone (`localhb validate --explain` says why)"
        return text

    notes: list[Diagnostic] = []
    for d in doc.diagnostics:
        if d.line in left and d.hint.startswith("`localhb migrate` moves it"):
            d = replace(d, hint=f"`localhb migrate` leaves it alone: {left[d.line]}")
        elif d.line == 0:
            d = replace(d, hint=_COUNT.sub(count, d.hint))
        notes.append(d)
    return replace(doc, diagnostics=tuple(notes))
