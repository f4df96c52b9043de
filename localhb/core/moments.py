"""Reading a moment typed by a person (`--now`, `--at`, `Due:`): standard library only.

    parse_when(text)  `YYYY-MM-DD HH:MM`, `YYYY-MM-DD` or ISO 8601 (an offset or `Z`
                      kept): a naive or aware datetime; ValueError otherwise

The idle fast path (`localhb.state.idle`) and the CLI (`localhb.cli.common.moment`)
both read `--now` with it; a naive value is then placed in the configured zone
(the CLI with `localhb.timing.schedule.resolve_local`).
"""

from __future__ import annotations

from datetime import datetime

__all__ = ["WHEN_FORMAT", "parse_when"]

WHEN_FORMAT = '"YYYY-MM-DD HH:MM"'
"""How a moment is spelled in help texts and errors."""


def parse_when(value: str) -> datetime:
    """`YYYY-MM-DD HH:MM`, `YYYY-MM-DD`, or ISO 8601 (optionally with an offset)."""
    text = value.strip()
    if text.endswith(("z", "Z")):
        text = text[:-1] + "+00:00"
    return datetime.fromisoformat(text)
