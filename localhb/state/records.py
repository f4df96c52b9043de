"""How a run ended, as one frozen value that the ledger and the health files both read.

`RunEnd` is built once, where a run ends (`localhb.cycle.execute`), from the
agent's typed result or a crash; `Ledger.finish` stores its columns and
`HealthRecord.from_end` writes its file from the same value, so the shape of
a result is read in exactly one place (`RunEnd.from_result`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from localhb.core.results import NO_MODEL

__all__ = ["RunEnd", "Trigger"]


class Trigger(StrEnum):
    """What started a run: a cycle's schedule, a person (`localhb run ID`), or a
    wakeup through the daemon's API (`POST /api/wakeup`)."""

    SCHEDULE = "schedule"
    MANUAL = "manual"
    API = "api"


@dataclass(frozen=True, slots=True)
class RunEnd:
    """Everything recorded when a run ends.

    `state` is the terminal ledger state (ok, partial, skipped, error, timeout,
    abandoned); `status` the result's own word for it (a check's `met`, `not
    met`). `error` is the one-line reason stored in the ledger; `errors` every
    error, the main one first, as the health file lists them.
    """

    state: str
    status: str
    summary: str | None = None
    notes: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    steps: int = 0
    tool_calls: int = 0
    tool_errors: int = 0
    seconds: float | None = None
    error: str | None = None
    errors: tuple[str, ...] = ()
    result_json: str | None = None

    @classmethod
    def from_result(
        cls, state: str, result: Mapping[str, Any] | None = None, *, summary: str | None = None
    ) -> RunEnd:
        """From a result's `to_dict()` (TaskResult, ConditionResult, or a crash's
        `{"error": ..., "traceback": ...}`); unknown shapes are ignored.

        `summary`, when given, is the run's summary (else the result's summary
        or evidence).
        """
        data = dict(result or {})
        if summary is not None:
            data["summary"] = summary
        listed = data.get("errors")
        errors = [str(e) for e in listed or () if str(e).strip()] if _is_list(listed) else []
        first = errors[0] if errors else None
        for key in ("error", "failure"):
            value = data.get(key)
            if key == "failure" and errors and data.get("model") == NO_MODEL:
                continue  # a `Run:` command's error already says what failed
            if isinstance(value, str) and value and value not in errors:
                errors.insert(0, value if key == "error" else f"stopped: {value}")
        seconds = data.get("seconds", data.get("duration"))
        return cls(
            state=state,
            status=_text(data.get("outcome")) or _text(data.get("status")) or state,
            summary=_text(data.get("summary")) or _text(data.get("evidence")),
            notes=_text(data.get("notes")),
            prompt_tokens=_count(data.get("prompt_tokens")),
            completion_tokens=_count(data.get("completion_tokens")),
            steps=_count(data.get("steps")),
            tool_calls=_count(data.get("tool_calls")),
            tool_errors=_count(data.get("tool_errors")),
            seconds=float(seconds)
            if isinstance(seconds, int | float) and not isinstance(seconds, bool)
            else None,
            error=_text(data.get("error")) or _text(data.get("failure")) or first,
            errors=tuple(errors),
            result_json=json.dumps(data, ensure_ascii=False, default=str) if data else None,
        )

    @property
    def result(self) -> dict[str, Any] | None:
        """The result as recorded (its `to_dict()`), or None."""
        if self.result_json is None:
            return None
        value = json.loads(self.result_json)
        return value if isinstance(value, dict) else None


def _is_list(value: Any) -> bool:
    return isinstance(value, list | tuple)


def _count(value: Any) -> int:
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return max(0, value)
    if isinstance(value, list | tuple):
        return len(value)
    return 0


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
