"""`validate --explain`: how localhb reads a file, line by line, in words.

Pure: it turns a parsed Document into lines of text; the CLI prints them.
"""

from __future__ import annotations

from collections import Counter

from localhb.format.blocks import content
from localhb.format.model import Form, Section, Severity, Task, TaskKind
from localhb.format.parser import Document

_WIDTH = 34


def _source(doc: Document, line0: int) -> str:
    text = content(doc.lines[line0]).lstrip("\ufeff").strip() if line0 < len(doc.lines) else ""
    return text if len(text) <= _WIDTH else text[: _WIDTH - 1] + "…"


def _task_words(task: Task) -> str:
    form = "checkbox" if task.form is Form.CHECKBOX else "heading"
    words = f"{task.kind.value} task {task.id!r} ({form}): {task.schedule_text}"
    if task.run is not None:
        words += f", runs `{task.run}`"
    if not task.uses_model:
        words += ", never uses the model (0 tokens)"
    elif task.check is not None:
        words += ", checks in code first (0 tokens), then uses the model (tokens) when met"
    else:
        words += ", uses the model (tokens)"
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
    rows: dict[int, list[tuple[int, str]]] = {}  # line0 -> [(order, text)]
    for s in doc.sections:
        if s.role is Section.PENDING:
            why = "Pending section: tasks here run when due"
        elif s.role is Section.COMPLETED:
            why = "Completed section: history, never run"
        elif s.level == 1:
            why = "title (not a section localhb reads)"
        else:
            why = "ignored section (not a Pending or Completed name)"
        rows.setdefault(s.start, []).append((0, why))
    for t in doc.tasks:
        words = _task_words(t) if t.section is Section.PENDING else f"done: {t.id!r}"
        rows.setdefault(t.start, []).append((1, words))
    head: list[str] = []
    for d in doc.diagnostics:
        text = f"{d.severity}: {d.message}"
        if d.line == 0:
            head.append(f"  file: {text}")
            if d.hint:
                head.append(f"        hint: {d.hint}")
            continue
        rows.setdefault(d.line - 1, []).append((2, text))
        if d.hint:
            rows[d.line - 1].append((2, f"  hint: {d.hint}"))

    out = [f"{path}: how localhb reads this file", *head]
    pad = " " * (_WIDTH + 9)
    for line0 in sorted(rows):
        texts = [text for _, text in sorted(rows[line0], key=lambda r: r[0])]
        out.append(f"{line0 + 1:>5}  {_source(doc, line0):<{_WIDTH}}  {texts[0]}")
        out += [f"{pad}{text}" for text in texts[1:]]

    pending = [t for t in doc.tasks if t.section is Section.PENDING]
    runnable = [t for t in pending if not t.problem and not t.checked]
    kinds = Counter(t.kind for t in runnable)
    sev = Counter(d.severity for d in doc.diagnostics)
    out.append("")
    out.append(
        f"summary: {len(runnable)} task(s) localhb may run "
        f"({kinds[TaskKind.ONE_TIME]} one-time, {kinds[TaskKind.RECURRING]} recurring, "
        f"{kinds[TaskKind.CONDITIONAL]} conditional); "
        f"{sum(1 for t in runnable if t.uses_model)} use the model, "
        f"{sum(1 for t in runnable if not t.uses_model)} never do (0 tokens); "
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
