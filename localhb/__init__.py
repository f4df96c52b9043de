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
    "ActiveHours": "localhb.timing.schedule",
    "CatchUp": "localhb.format.model",
    "Diagnostic": "localhb.format.model",
    "Document": "localhb.format.parser",
    "Edit": "localhb.format.edit",
    "Evaluation": "localhb.timing.schedule",
    "Field": "localhb.format.model",
    "MoveToCompleted": "localhb.format.edit",
    "Priority": "localhb.format.model",
    "Recurrence": "localhb.format.recurrence",
    "RecurrenceError": "localhb.format.recurrence",
    "RemoveField": "localhb.format.edit",
    "Section": "localhb.format.model",
    "SetChecked": "localhb.format.edit",
    "SetField": "localhb.format.edit",
    "Severity": "localhb.format.model",
    "Task": "localhb.format.model",
    "TaskKind": "localhb.format.model",
    "apply_edits": "localhb.format.edit",
    "evaluate": "localhb.timing.schedule",
    "is_active": "localhb.timing.schedule",
    "next_active": "localhb.timing.schedule",
    "parse": "localhb.format.parser",
    "parse_recurrence": "localhb.format.recurrence",
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
    from localhb.format.edit import (
        Edit,
        MoveToCompleted,
        RemoveField,
        SetChecked,
        SetField,
        apply_edits,
    )
    from localhb.format.model import (
        CatchUp,
        Diagnostic,
        Field,
        Priority,
        Section,
        Severity,
        Task,
        TaskKind,
    )
    from localhb.format.parser import Document, parse
    from localhb.format.recurrence import Recurrence, RecurrenceError, parse_recurrence
    from localhb.timing.schedule import ActiveHours, Evaluation, evaluate, is_active, next_active


def __getattr__(name: str) -> object:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'localhb' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value
