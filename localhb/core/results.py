"""What an agent run reports: results, the trace events it emits, and the sink Protocol.

Frozen values, JSON-friendly through `to_dict()`, free of `openai` so the
runner, ledger and CLI can use them without loading the SDK. Every string in
them has already been through the run's redactor.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from localhb.core.redact import fold_controls

SUMMARY_LIMIT = 200
NOTES_LIMIT = 4000


class Status(StrEnum):
    OK = "ok"
    PARTIAL = "partial"
    SKIPPED = "skipped"
    ERROR = "error"


STATUS_VALUES = tuple(s.value for s in Status)
"""`ok partial skipped error`: what a run reports, a file records and a health file says."""


class RunState(StrEnum):
    """Every state a ledger run can be in; the last six are terminal (see
    `localhb.state.schema`). A run that `timeout`s or is `abandoned` reports `error`."""

    QUEUED = "queued"
    RUNNING = "running"
    OK = "ok"
    PARTIAL = "partial"
    SKIPPED = "skipped"
    ERROR = "error"
    TIMEOUT = "timeout"
    ABANDONED = "abandoned"


TERMINAL_STATES = frozenset(s.value for s in RunState) - {"queued", "running"}
FAILED_STATES = frozenset({RunState.ERROR.value, RunState.TIMEOUT.value, RunState.ABANDONED.value})
"""Terminal states that count as a failure (consecutive_failures + 1, errors in health)."""


NO_MODEL = "(none)"
"""`RunStats.model` of work that used no model (a `Run:` command, a code check)."""


class Failure(StrEnum):
    """Why a run ended in error, when the loop (not the model) ended it."""

    LLM = "llm"  # the endpoint failed after retries, or answered nonsense
    MAX_STEPS = "max_steps"
    MAX_TOKENS = "max_tokens"
    TIMEOUT = "task_timeout"
    REPEATED_CALL = "repeated_call"  # the same failing call, again and again
    NO_ANSWER = "no_answer"  # the model ended without a usable answer
    TEXT_ONLY = "text_only"  # the model answered in text and never called the finishing tool
    MODEL_REFUSED = "model_refused"  # the model declined the task (a refusal)
    CUT_OFF = "cut_off"  # the reply hit [llm] max_reply_tokens (finish_reason "length")
    MODEL = "model"  # the model itself reported status error
    COMMAND = "command"  # a `Run:` command exited non-zero or could not start
    REFUSED = "refused"  # a `Run:` command the shell policy does not allow
    BUDGET = "budget"  # a `[budget]` cap was crossed during the run (status partial)
    SETUP = "setup"  # the endpoint or config is wrong (auth, model, tools): not the task's fault

    @property
    def is_setup(self) -> bool:
        """True when the run says nothing about the task: the endpoint or config is wrong."""
        return self is Failure.SETUP


@dataclass(frozen=True, slots=True)
class ToolCallRecord:
    """One tool call: short arguments and how it went (`ok|error|refused|invalid`)."""

    step: int
    name: str
    arguments: str
    outcome: str
    detail: str
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "name": self.name,
            "arguments": self.arguments,
            "outcome": self.outcome,
            "detail": self.detail,
            "seconds": round(self.seconds, 3),
        }


@dataclass(frozen=True, slots=True)
class RunStats:
    """What any run cost: model, tokens, steps, calls, time.

    `prompt_tokens`/`completion_tokens` are the sums the endpoint reported, or
    None when it reported no usage at all (unknown, never 0); `usage` says
    which ("reported", "partial": some replies had none, "unknown"), and
    `estimated_tokens` is what the token budget counted, estimating (4
    characters a token) where the endpoint was silent. `fix` is set for a
    setup failure: what the owner should change. `command` is the command a
    `Run:` task ran (redacted), "" for a model run.
    """

    model: str
    prompt_tokens: int | None
    completion_tokens: int | None
    steps: int
    tool_calls: tuple[ToolCallRecord, ...]
    errors: tuple[str, ...]
    started_at: datetime
    completed_at: datetime
    failure: Failure | None = None
    usage: str = "reported"
    estimated_tokens: int = 0
    fix: str = ""
    command: str = ""

    @property
    def seconds(self) -> float:
        return (self.completed_at - self.started_at).total_seconds()

    @property
    def tool_errors(self) -> int:
        """Calls that did not succeed: failed, refused, unknown or badly argued."""
        return sum(1 for c in self.tool_calls if c.outcome != "ok")

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "failure": None if self.failure is None else self.failure.value,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "usage": self.usage,
            "estimated_tokens": self.estimated_tokens,
            **({"fix": self.fix} if self.fix else {}),
            **({"command": self.command} if self.command else {}),
            "steps": self.steps,
            "tool_calls": [c.to_dict() for c in self.tool_calls],
            "tool_errors": self.tool_errors,
            "errors": list(self.errors),
            "started_at": _iso(self.started_at),
            "completed_at": _iso(self.completed_at),
            "seconds": round(self.seconds, 3),
        }


@dataclass(frozen=True, slots=True)
class TaskResult:
    """How one task went. `summary` is one line under 200 characters; `message` is
    what the agent wants the owner told ("" for nothing), for notifications."""

    task_id: str
    status: Status
    summary: str
    notes: str
    stats: RunStats
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.status is not Status.ERROR

    def to_dict(self) -> dict[str, Any]:
        return {
            "task_id": self.task_id,
            "status": self.status.value,
            "summary": self.summary,
            "notes": self.notes,
            "message": self.message,
            **self.stats.to_dict(),
        }


@dataclass(frozen=True, slots=True)
class ConditionResult:
    """How a condition check went. `error` set means the check itself failed (met is False)."""

    task_id: str
    met: bool
    evidence: str
    error: str | None
    stats: RunStats

    @property
    def outcome(self) -> str:
        """One of `met`, `not met` or `error`, for ledgers and people."""
        if self.error is not None:
            return "error"
        return "met" if self.met else "not met"

    def to_dict(self) -> dict[str, Any]:
        return {
            "task_id": self.task_id,
            "met": self.met,
            "outcome": self.outcome,
            "evidence": self.evidence,
            "error": self.error,
            **self.stats.to_dict(),
        }


class EventKind(StrEnum):
    START = "start"  # text: what runs, with which model where
    RETRY = "retry"  # text: why the request is retried and after how long
    MODEL = "model"  # text: what the model said alongside its calls (shortened)
    NOTE = "note"  # text: something localhb did about the reply (a call read from text, ...)
    TOOL = "tool"  # tool, text (short arguments), outcome, detail
    FINISH = "finish"  # outcome (status), text (summary or evidence)


@dataclass(frozen=True, slots=True)
class TraceEvent:
    """One line of a live trace. Strings are redacted and short."""

    kind: EventKind
    task_id: str
    step: int = 0
    text: str = ""
    tool: str = ""
    outcome: str = ""
    detail: str = ""
    seconds: float = 0.0


class TraceSink(Protocol):
    """Receives trace events as they happen; must not raise."""

    def __call__(self, event: TraceEvent, /) -> None: ...


def one_line(text: str, limit: int = SUMMARY_LIMIT) -> str:
    """`text` on one line, single-spaced, shorter than `limit` characters."""
    flat = fold_controls(" ".join(text.split()), keep_newlines=False)
    if len(flat) < limit:
        return flat
    return flat[: limit - 2].rstrip() + "…"


def clip(text: str, limit: int = NOTES_LIMIT) -> str:
    """`text` trimmed, at most `limit` characters, marked when cut."""
    text = fold_controls(text.strip())
    if len(text) <= limit:
        return text
    return text[: limit - 15].rstrip() + "\n[... cut ...]"


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")
