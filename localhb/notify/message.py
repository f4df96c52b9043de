"""What a person reads: a short title and body, cleaned of everything internal.

Title: the task's title and how it ended ("Check CI: error"). Body: the
agent's `message`, else the run's summary, then the task id and the time.
Reasoning (`<think>...</think>`, also unclosed), the HEARTBEAT_OK ack and
control characters never reach a message; the text is redacted and cut short.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, tzinfo

ACK = "HEARTBEAT_OK"
TITLE_LIMIT = 120
BODY_LIMIT = 1000

_THINK = re.compile(
    r"<(think|thinking|reasoning|reflection)\b[^>]*>.*?(?:</\1\s*>|\Z)", re.IGNORECASE | re.DOTALL
)
_STRAY_TAG = re.compile(r"</?(?:think|thinking|reasoning|reflection)\b[^>]*>", re.IGNORECASE)
_ACK = re.compile(rf"\b{ACK}\b[.!]?", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def clean(text: str | None, redact: Callable[[str], str] = str) -> str:
    """`text` without reasoning, acks or control characters, redacted and trimmed."""
    if not text:
        return ""
    out = _THINK.sub("", text)
    out = _STRAY_TAG.sub("", out)
    out = _ACK.sub("", out)
    out = _CONTROL.sub(" ", out.replace("\r\n", "\n"))
    lines = [" ".join(line.split()) for line in out.split("\n")]
    out = "\n".join(line for line in lines if line).strip()
    return redact(out)


def cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def title_for(task_title: str, label: str) -> str:
    """ "Check CI Status: error" (one line, short)."""
    name = " ".join(task_title.split()) or "localhb"
    return cut(f"{name}: {label}", TITLE_LIMIT)


def body_for(
    text: str,
    key: str,
    when: datetime,
    tz: tzinfo,
    *,
    suppressed: int = 0,
    since: datetime | None = None,
) -> str:
    """The body: `text`, a note of repeats not sent, and `key · time`."""
    local = when.astimezone(tz)
    parts = [cut(text, BODY_LIMIT)] if text else []
    if suppressed and since is not None:
        first = since.astimezone(tz)
        parts.append(f"(the same {suppressed} more time(s) since {first:%Y-%m-%d %H:%M}, not sent)")
    parts.append(f"{key} · {local:%Y-%m-%d %H:%M %Z}".rstrip())
    return "\n\n".join(parts)


REPEAT_NOTE = "(This may repeat an earlier message: localhb stopped while sending it.)"
