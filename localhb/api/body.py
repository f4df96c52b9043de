"""`POST /api/wakeup` bodies -> one frozen `Wakeup`, or `BadRequest` naming the field.

    {"task": "<id>"}                          run that task now
    {"prompt": "<text>", "title": "<opt>"}    add a one-time task, then run it
    {} or {"cycle": true}                     run a heartbeat cycle now
    + "payload": any JSON (untrusted data for the agent, clipped)
    + "idempotency_key": a repeat within 24 h answers the first wakeup

Pure: no I/O. Unknown fields are refused (a misspelt `"taks"` must not start
a cycle instead of the task).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

__all__ = ["MAX_BODY", "MAX_PAYLOAD", "BadRequest", "Kind", "Wakeup", "parse_wakeup"]

MAX_BODY = 64 * 1024
"""Bytes a request body may have; past it, 413."""
MAX_PAYLOAD = 8000
"""Characters of the payload's JSON text the agent is given; the rest is clipped."""
MAX_PROMPT = 4000
MAX_TITLE = 120
MAX_KEY = 200
FIELDS = ("task", "prompt", "title", "cycle", "payload", "idempotency_key")


class Kind(StrEnum):
    TASK = "task"
    PROMPT = "prompt"
    CYCLE = "cycle"


class BadRequest(Exception):
    """A body that cannot be a wakeup: `field` names the culprit (None: the whole body)."""

    def __init__(self, message: str, *, field: str | None = None, status: int = 400) -> None:
        self.field = field
        self.message = message
        self.status = status
        super().__init__(f"{field}: {message}" if field else message)

    def to_dict(self) -> dict[str, Any]:
        return {"error": str(self), "field": self.field}


@dataclass(frozen=True, slots=True)
class Wakeup:
    """One wakeup as asked for. `payload` is the clipped JSON text (None: none given)."""

    kind: Kind
    task: str | None = None
    prompt: str | None = None
    title: str | None = None
    payload: str | None = None
    idempotency_key: str | None = None


def parse_wakeup(raw: bytes) -> Wakeup:
    """Check a request body; raises BadRequest with the field and what was expected."""
    if len(raw) > MAX_BODY:
        raise BadRequest(f"the body is larger than {MAX_BODY} bytes", status=413)
    if not raw.strip():
        return Wakeup(Kind.CYCLE)
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise BadRequest("the body is not UTF-8 text") from None
    except ValueError as exc:
        raise BadRequest(f"the body is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise BadRequest(f"the body must be a JSON object, not {_kind(data)}")
    unknown = sorted(k for k in data if k not in FIELDS)
    if unknown:
        raise BadRequest(f"unknown field; known are {', '.join(FIELDS)}", field=unknown[0])
    key = _text(data, "idempotency_key", MAX_KEY)
    payload = _payload(data)
    task = _text(data, "task", 200)
    prompt = _text(data, "prompt", MAX_PROMPT)
    title = _text(data, "title", MAX_TITLE)
    cycle = data.get("cycle")
    if cycle is not None and not isinstance(cycle, bool):
        raise BadRequest(f"must be true or false, not {_kind(cycle)}", field="cycle")
    if task is not None and prompt is not None:
        raise BadRequest("give task or prompt, not both", field="prompt")
    if cycle and (task is not None or prompt is not None):
        raise BadRequest("a cycle wakeup takes no task or prompt", field="cycle")
    if title is not None and prompt is None:
        raise BadRequest("a title goes with a prompt", field="title")
    if task is not None:
        return Wakeup(Kind.TASK, task=task, payload=payload, idempotency_key=key)
    if prompt is not None:
        return Wakeup(Kind.PROMPT, prompt=prompt, title=title, payload=payload, idempotency_key=key)
    if cycle is False:
        raise BadRequest('false asks for nothing: send {} or {"cycle": true}', field="cycle")
    if payload is not None:
        raise BadRequest(
            "a cycle wakeup takes no payload (give a task or a prompt)", field="payload"
        )
    return Wakeup(Kind.CYCLE, idempotency_key=key)


def _text(data: dict[str, Any], name: str, limit: int) -> str | None:
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadRequest(f"must be a string, not {_kind(value)}", field=name)
    text = value.strip()
    if not text:
        raise BadRequest("is empty", field=name)
    if len(text) > limit:
        raise BadRequest(f"is longer than {limit} characters", field=name)
    if any(ord(c) < 32 and c not in "\n\t" for c in text):
        raise BadRequest("has control characters", field=name)
    return text


def _payload(data: dict[str, Any]) -> str | None:
    if "payload" not in data or data["payload"] is None:
        return None
    text = json.dumps(data["payload"], ensure_ascii=False, indent=1, sort_keys=True)
    if len(text) > MAX_PAYLOAD:
        text = text[:MAX_PAYLOAD] + f"\n... (clipped: {len(text)} characters in all)"
    return text


def _kind(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    if value is None:
        return "null"
    return "a string"
