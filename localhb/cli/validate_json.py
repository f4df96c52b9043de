"""`localhb validate --json`: the problems of a HEARTBEAT.md as one JSON object.

The shape (documented in docs/cli.md, "JSON output", and tested against it):

    {"file": str, "ok": bool, "errors": int, "warnings": int,
     "diagnostics": [{"line": int, "severity": "error"|"warning"|"note",
                      "message": str, "hint": str}],
     "tasks": [{"id": str, "title": str, "type": str, "section": str, "line": int}],
     "commented": [{"id": str, "title": str, "line": int}]}

`ok` is false exactly when `errors` is above 0 (then the exit code is 2);
`commented` lists the examples sitting inside an HTML comment, which are not tasks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from localhb.format.model import Severity

if TYPE_CHECKING:
    from localhb.format.parser import Document


def report(doc: Document, path: str) -> dict[str, Any]:
    from localhb.format.suggest import commented_tasks

    return {
        "file": path,
        "ok": not doc.errors,
        "errors": len(doc.errors),
        "warnings": sum(1 for d in doc.diagnostics if d.severity is Severity.WARNING),
        "diagnostics": [
            {"line": d.line, "severity": d.severity.value, "message": d.message, "hint": d.hint}
            for d in doc.diagnostics
        ],
        "tasks": [
            {
                "id": t.id,
                "title": t.title,
                "type": t.kind.value,
                "section": t.section.value,
                "line": t.line,
            }
            for t in doc.tasks
        ],
        "commented": [{"id": c.id, "title": c.title, "line": c.line} for c in commented_tasks(doc)],
    }
