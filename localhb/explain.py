"""`validate --explain`: how localhb reads a file, line by line, in words.

Pure: it turns a parsed Document into lines of text; the CLI prints them.
"""

from __future__ import annotations

from collections import Counter

from localhb.blocks import content
from localhb.model import Form, Section, Severity, Task, TaskKind
from localhb.parser import Document

_WIDTH = 34


def _source(doc: Document, line0: int) -> str:
    text = content(doc.lines[line0]).lstrip("\ufeff").strip() if line0 < len(doc.lines) else ""
    return text if len(text) <= _WIDTH else text[: _WIDTH - 1] + "…"


def _task_words(task: Task) -> str:
    form = "checkbox" if task.form is Form.CHECKBOX else "heading"
    words = f"{task.kind.value} task {task.id!r} ({form}): {task.schedule_text}"
    if task.priority.value != "medium":
        words += f", priority {task.priority.value}"
    if task.checked:
        words += ", already checked off: will not run"
    if task.paused:
        words += f", paused ({task.paused})"
    if task.problem:
        words += " -- SKIPPED, see below"
    return words


def explain(doc: Document, path: str) -> list[str]:
    """One line per section, task and diagnostic, in file order, then a summary."""
    rows: list[tuple[int, int, str]] = []  # (line0, order, text)
    for s in doc.sections:
        if s.role is Section.PENDING:
            why = "Pending: tasks here run when due"
        elif s.role is Section.COMPLETED:
            why = "Completed: history, never run"
        else:
            why = "ignored: not a Pending or Completed section"
        rows.append((s.start, 0, f"section {s.title!r} -> {why}"))
    for t in doc.tasks:
        if t.section is Section.PENDING:
            rows.append((t.start, 1, "  " + _task_words(t)))
        else:
            rows.append((t.start, 1, f"  done {t.id!r}"))
    for d in doc.diagnostics:
        hint = f"\n{'':>{_WIDTH + 10}}hint: {d.hint}" if d.hint else ""
        rows.append((max(d.line - 1, 0), 2, f"    {d.severity}: {d.message}{hint}"))

    out = [f"{path}: how localhb reads this file"]
    for line0, _, text in sorted(rows, key=lambda r: (r[0], r[1])):
        src = _source(doc, line0) if text.startswith(("section", "  ")) else ""
        out.append(f"{line0 + 1:>5}  {src:<{_WIDTH}}  {text.strip() if not src else text}")

    pending = [t for t in doc.tasks if t.section is Section.PENDING]
    runnable = [t for t in pending if not t.problem and not t.checked]
    kinds = Counter(t.kind for t in runnable)
    sev = Counter(d.severity for d in doc.diagnostics)
    out.append("")
    out.append(
        f"summary: {len(runnable)} task(s) localhb may run "
        f"({kinds[TaskKind.ONE_TIME]} one-time, {kinds[TaskKind.RECURRING]} recurring, "
        f"{kinds[TaskKind.CONDITIONAL]} conditional); "
        f"{len(pending) - len(runnable)} skipped or done; "
        f"{sev[Severity.ERROR]} error(s), {sev[Severity.WARNING]} warning(s)"
    )
    out.append(
        "sections that count as Pending: "
        + ", ".join(doc.pending_sections)
        + "; as Completed: "
        + ", ".join(doc.completed_sections)
        + " ([heartbeat] pending_sections / completed_sections)"
    )
    out.append("code blocks, HTML comments and quotes are never read as tasks")
    return out
