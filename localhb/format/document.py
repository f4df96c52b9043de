"""The parsed HEARTBEAT.md: `Document` and `SectionInfo`, and how headings name things.

Pure values; `localhb.format.parser.parse` builds them.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from localhb.format.model import (
    DEFAULT_COMPLETED_SECTIONS,
    DEFAULT_PENDING_SECTIONS,
    Diagnostic,
    Section,
    Severity,
    Task,
)

__all__ = ["Document", "SectionInfo", "section_name", "slug"]


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
