"""The ledger's values and their stored form: runs, snapshots, events, cycles, skips.

Frozen rows as `localhb.state.ledger.Ledger` returns them, the fixed-width UTC
stamps they are stored with, and how a stored row becomes a value.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any

from localhb.state.records import Trigger

__all__ = [
    "Cycle",
    "Event",
    "RunRef",
    "RunRow",
    "SkipCount",
    "Snapshot",
    "process_alive",
    "slot_key",
]


# --- values -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RunRef:
    """A run this process claimed; hand it back to `finish`."""

    id: int
    task_id: str
    slot: str
    kind: str
    attempt: int
    started_at: datetime


@dataclass(frozen=True, slots=True)
class RunRow:
    """One row of `runs`, as stored. `completed_at` is None while it runs."""

    id: int
    task_id: str
    slot: str
    kind: str
    attempt: int
    state: str
    status: str | None
    summary: str | None
    notes: str | None
    started_at: datetime
    completed_at: datetime | None
    lease_expires_at: datetime | None
    pid: int | None
    host: str | None
    prompt_tokens: int
    completion_tokens: int
    steps: int
    tool_calls: int
    duration: float | None
    error: str | None
    result_json: str | None
    trigger: str = Trigger.SCHEDULE.value

    @property
    def ref(self) -> RunRef:
        return RunRef(self.id, self.task_id, self.slot, self.kind, self.attempt, self.started_at)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = _iso(value) if isinstance(value, datetime) else value
        out.pop("result_json")
        out["result"] = json.loads(self.result_json) if self.result_json else None
        return out


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What the ledger knows about one task now.

    `state` is the state of its latest run (None before any). `last_slot`,
    `last_status` and `last_run_at` (completion time) describe the latest run
    that *finished*; an abandoned run leaves `last_slot` alone, so the slot is
    due again.
    """

    task_id: str
    state: str | None
    last_run_id: int | None
    last_slot: str | None
    last_status: str | None
    last_run_at: datetime | None
    first_seen: datetime
    consecutive_failures: int
    updated_at: datetime

    @property
    def last_slot_at(self) -> datetime | None:
        """`last_slot` as an instant, or None when it is absent or a fixed string."""
        if self.last_slot is None:
            return None
        try:
            return _parse(self.last_slot)
        except ValueError:
            return None


@dataclass(frozen=True, slots=True)
class Event:
    """One row of the append-only `task_events` history."""

    id: int
    task_id: str
    run_id: int | None
    state: str
    at: datetime
    detail: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Cycle:
    id: int
    started_at: datetime
    completed_at: datetime
    outcome: str
    detail: str


@dataclass(frozen=True, slots=True)
class SkipCount:
    reason: str
    count: int
    last_at: datetime


# --- time ---------------------------------------------------------------------------


def _utc(dt: datetime, what: str = "now") -> datetime:
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got {dt!r}")
    return dt.astimezone(UTC)


def _ts(dt: datetime, what: str = "now") -> str:
    """A fixed-width UTC stamp that sorts as text: 2024-01-15T14:00:00.000000Z."""
    return _utc(dt, what).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _parse(text: str) -> datetime:
    dt = datetime.fromisoformat(text)
    if dt.tzinfo is None:
        raise ValueError(f"not an aware timestamp: {text!r}")
    return dt.astimezone(UTC)


def _opt_parse(text: str | None) -> datetime | None:
    return None if text is None else _parse(text)


def slot_key(slot: datetime | str) -> str:
    """The stored text of a slot: an instant as `2024-01-15T14:00:00Z`, a string as is."""
    if isinstance(slot, datetime):
        return _iso(_utc(slot, "slot"))
    if not slot or slot != slot.strip():
        raise ValueError(f"a slot string must be non-empty without outer spaces, got {slot!r}")
    return slot


def process_alive(pid: int, host: str) -> bool:
    """Whether `pid` still runs, for `abandon_stale`; True when `host` is another machine."""
    if host != socket.gethostname():
        return True
    from localhb.core.proc import process_running

    return process_running(pid)  # a zombie (exited, not yet reaped) counts as gone


# --- rows and columns ---------------------------------------------------------------

_RUN_FIELDS = tuple(f.name for f in fields(RunRow))
_SNAP_FIELDS = tuple(f.name for f in fields(Snapshot))
_RUN_COLS = ", ".join(_RUN_FIELDS)
_SNAP_COLS = ", ".join(_SNAP_FIELDS)


def _run(raw: Sequence[Any]) -> RunRow:
    values = dict(zip(_RUN_FIELDS, raw, strict=True))
    for name in ("started_at", "completed_at", "lease_expires_at"):
        values[name] = _opt_parse(values[name])
    return RunRow(**values)


def _snapshot(raw: Sequence[Any]) -> Snapshot:
    values = dict(zip(_SNAP_FIELDS, raw, strict=True))
    for name in ("last_run_at", "first_seen", "updated_at"):
        values[name] = _opt_parse(values[name])
    return Snapshot(**values)
