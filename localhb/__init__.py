"""localhb: run an AI agent on a schedule from a hand-edited HEARTBEAT.md.

The library surface: parse a file, evaluate its schedule, edit it surgically.
"""

from __future__ import annotations

__version__ = "0.1.0"

from localhb.edit import Edit, MoveToCompleted, RemoveField, SetChecked, SetField, apply_edits
from localhb.model import CatchUp, Diagnostic, Field, Priority, Section, Severity, Task, TaskKind
from localhb.parser import Document, parse
from localhb.recurrence import Recurrence, RecurrenceError, parse_recurrence
from localhb.schedule import ActiveHours, Evaluation, evaluate, is_active, next_active

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
