"""What to tell someone who asked for a task id the file does not have.

Two helps: the id may belong to an example that sits inside an HTML comment
(`<!-- ... -->`, as in the starter HEARTBEAT.md), which is never a task; or it
may be a near miss of a known id (did-you-mean).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass

from localhb.format.model import Section
from localhb.format.parser import Document, parse

_COMMENT = re.compile(r"<!--(.*?)-->", re.S)


@dataclass(frozen=True, slots=True)
class Commented:
    """A task that would exist if its comment were removed; `line` is 1-based."""

    id: str
    title: str
    line: int


def commented_tasks(doc: Document) -> tuple[Commented, ...]:
    """The tasks written inside HTML comments of a Pending section, in file order."""
    text = doc.render()
    found: list[Commented] = []
    pending = doc.pending_sections[0] if doc.pending_sections else "pending"
    for match in _COMMENT.finditer(text):
        first_line = text.count("\n", 0, match.start(1)) + 1
        info = doc.section_of(first_line - 1)
        if info is not None and info.role is not Section.PENDING:
            continue
        inner = parse(
            f"## {pending}\n{match.group(1)}",
            pending_sections=doc.pending_sections,
            completed_sections=doc.completed_sections,
        )
        for task in inner.tasks:
            found.append(Commented(task.id, task.title, first_line + task.line - 2))
    return tuple(found)


def nearest(wanted: str, known: Iterable[str], n: int = 3) -> list[str]:
    """The known ids closest to `wanted`, best first (none when nothing is close)."""
    ids = list(dict.fromkeys(known))
    close = difflib.get_close_matches(wanted, ids, n=n, cutoff=0.6)
    close += [i for i in ids if wanted and wanted in i and i not in close]
    return close[:n]


def unknown_task(wanted: str, doc: Document, path: str) -> list[str]:
    """The lines explaining that `wanted` is not a task of `doc`: the first is the error."""
    lines = [f"{path}: no task with id {wanted!r}"]
    example = next((c for c in commented_tasks(doc) if c.id == wanted), None)
    if example is not None:
        lines.append(
            f"{path}:{example.line}: {example.title!r} is an example inside an HTML comment "
            "(<!-- ... -->), so it is not a task: to enable it, move it below the `-->` line "
            "of the comment, still under ## Pending"
        )
        return lines
    known = [t.id for t in doc.tasks]
    close = nearest(wanted, known)
    if close:
        lines.append("did you mean " + " or ".join(repr(c) for c in close) + "?")
    lines.append("known ids: " + (", ".join(known) or "(none: the file has no tasks yet)"))
    return lines
