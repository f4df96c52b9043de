"""localhb: run an AI agent on a schedule from a hand-edited HEARTBEAT.md.

The library surface: parse a file, evaluate its schedule, edit it surgically.
Names are imported on first use, so `import localhb` (and the idle heartbeat
path) stays light.
"""

from __future__ import annotations

from importlib import import_module

TYPE_CHECKING = False  # not typing's: `import typing` would slow every idle cycle

__version__ = "0.1.0"

_EXPORTS = {
    "ActiveHours": "localhb.schedule",
    "CatchUp": "localhb.model",
    "Diagnostic": "localhb.model",
    "Document": "localhb.parser",
    "Edit": "localhb.edit",
    "Evaluation": "localhb.schedule",
    "Field": "localhb.model",
    "MoveToCompleted": "localhb.edit",
    "Priority": "localhb.model",
    "Recurrence": "localhb.recurrence",
    "RecurrenceError": "localhb.recurrence",
    "RemoveField": "localhb.edit",
    "Section": "localhb.model",
    "SetChecked": "localhb.edit",
    "SetField": "localhb.edit",
    "Severity": "localhb.model",
    "Task": "localhb.model",
    "TaskKind": "localhb.model",
    "apply_edits": "localhb.edit",
    "evaluate": "localhb.schedule",
    "is_active": "localhb.schedule",
    "next_active": "localhb.schedule",
    "parse": "localhb.parser",
    "parse_recurrence": "localhb.recurrence",
}

__all__ = [
    "ActiveHours",
    "CatchUp",
    "Diagnostic",
    "Document",
    "Edit",
    "Evaluation",
    "Field",
    "MoveToCompleted",
    "Priority",
    "Recurrence",
    "RecurrenceError",
    "RemoveField",
    "Section",
    "SetChecked",
    "SetField",
    "Severity",
    "Task",
    "TaskKind",
    "__version__",
    "apply_edits",
    "evaluate",
    "is_active",
    "next_active",
    "parse",
    "parse_recurrence",
]

if TYPE_CHECKING:
    from localhb.edit import Edit, MoveToCompleted, RemoveField, SetChecked, SetField, apply_edits
    from localhb.model import (
        CatchUp,
        Diagnostic,
        Field,
        Priority,
        Section,
        Severity,
        Task,
        TaskKind,
    )
    from localhb.parser import Document, parse
    from localhb.recurrence import Recurrence, RecurrenceError, parse_recurrence
    from localhb.schedule import ActiveHours, Evaluation, evaluate, is_active, next_active


def __getattr__(name: str) -> object:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'localhb' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value
