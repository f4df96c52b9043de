"""The task model: what a HEARTBEAT.md says, as frozen values.

Nothing here does I/O or reads the clock. Line numbers are 0-based, half-open
spans internally (`start`, `end`); `line` properties are 1-based for people.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from localhb.format.checks import CheckSpec
from localhb.format.recurrence import Recurrence
from localhb.format.recurrence_model import describe_extras

DEFAULT_PENDING_SECTIONS = (
    "pending",
    "pending tasks",
    "active",
    "active tasks",
    "current tasks",
    "open tasks",
    "tasks",
    "todo",
    "to do",
)
DEFAULT_COMPLETED_SECTIONS = ("completed", "completed tasks", "done", "finished")
# The tool families a task may be offered (`- Tools:`, `[agent] tools`);
# complete_task is always offered. `history` (run_history) and `distill`
# (memory_rewrite) are offered only to tasks that name them (the routines).
DEFAULT_TOOL_FAMILIES = ("files", "shell", "http", "memory", "schedule")
TOOL_FAMILIES = (*DEFAULT_TOOL_FAMILIES, "history", "distill")


class TaskKind(StrEnum):
    ONE_TIME = "one-time"
    RECURRING = "recurring"
    CONDITIONAL = "conditional"


class Priority(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"

    @property
    def rank(self) -> int:
        """0 for high, 1 for medium, 2 for low: sorts the most urgent first."""
        return ("high", "medium", "low").index(self.value)


class CatchUp(StrEnum):
    """What a recurring task does about slots that passed while nothing ran."""

    NONE = "none"
    ONCE = "once"
    ALL = "all"


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    NOTE = "note"


class Section(StrEnum):
    PENDING = "pending"
    COMPLETED = "completed"


class Form(StrEnum):
    """How the task is written: a `### Title` heading or a `- [ ] text` checkbox."""

    HEADING = "heading"
    CHECKBOX = "checkbox"


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """Something about the file worth telling its author, pinned to a line.

    `line` is 1-based; 0 means the file as a whole.
    """

    line: int
    severity: Severity
    message: str
    hint: str = ""

    def format(self, path: str) -> str:
        where = f"{path}:{self.line}" if self.line else path
        text = f"{where}: {self.severity}: {self.message}"
        if self.hint:
            text += f" (hint: {self.hint})"
        return text


@dataclass(frozen=True, slots=True)
class Field:
    """One `- Key: Value` bullet of a task.

    `key` is canonical (lower case, single spaces, no bold markers);
    `label` is the key as written. `value_start`/`value_end` are character
    offsets of the value inside the first line of the bullet (line `start`),
    so a value can be replaced without touching anything else on the line.
    """

    key: str
    label: str
    value: str
    start: int
    end: int
    value_start: int
    value_end: int

    @property
    def line(self) -> int:
        return self.start + 1


@dataclass(frozen=True, slots=True)
class FieldStyle:
    """How this task's fields are written, so added fields look the same."""

    indent: str = ""
    bullet: str = "-"
    bold: bool = False
    colon: str = ":"


@dataclass(frozen=True, slots=True)
class Task:
    """One task, as the file says it; schedules are evaluated elsewhere.

    `start`/`end` span the task's lines without trailing blank lines.
    `text` is that block verbatim: the context the agent is given.
    Naive datetimes (`due`, `last_run`, `last_checked`) are wall-clock times
    in the configured timezone; aware ones carried an explicit offset.
    `problem` is set when a value could not be understood: such a task is
    reported and never run (it is skipped rather than guessed).
    `run` is a `- Run:` command (the task needs no model); `check` a `- Check:`
    gate evaluated by code before anything else.
    """

    id: str
    title: str
    kind: TaskKind
    section: Section
    form: Form
    start: int
    end: int
    text: str
    fields: tuple[Field, ...] = ()
    style: FieldStyle = FieldStyle()
    priority: Priority = Priority.MEDIUM
    due: datetime | None = None
    recurrence: Recurrence | None = None
    condition: str | None = None
    description: str | None = None
    catch_up: CatchUp | None = None
    checked: bool | None = None
    paused: str | None = None
    last_run: datetime | None = None
    last_status: str | None = None
    last_checked: datetime | None = None
    attempts: int = 0
    tools: tuple[str, ...] | None = None  # `- Tools:` families; None: the configured ones
    problem: str | None = None
    run: str | None = None
    check: CheckSpec | None = None
    zone: str | None = None  # `- Timezone:` or the schedule's own zone; None: the configured one
    window: tuple[int, int] | None = None  # `- Active hours:` in minutes; None: all day

    @property
    def line(self) -> int:
        return self.start + 1

    def field(self, key: str) -> Field | None:
        """The last field with this canonical key, or None."""
        wanted = key.lower()
        found = None
        for f in self.fields:
            if f.key == wanted:
                found = f
        return found

    @property
    def uses_model(self) -> bool:
        """Whether running this task can spend tokens: False for a `Run:` task
        without a natural-language `Condition:`."""
        return self.run is None or self.condition is not None

    @property
    def schedule_text(self) -> str:
        """A one-line account of when this task runs, for people."""
        if self.recurrence is not None and self.kind is not TaskKind.CONDITIONAL:
            return self.recurrence.describe()
        extras = describe_extras(self.window, self.zone)
        if self.kind is TaskKind.CONDITIONAL:
            gates = [self.check.describe()] if self.check is not None else []
            gates += [self.condition] if self.condition else []
            return "when: " + " and ".join(gates) + extras
        if self.due is not None:
            return "once at " + self.due.strftime("%Y-%m-%d %H:%M") + extras
        return "none it can read" if self.problem else "once, now" + extras
