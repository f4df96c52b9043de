"""Setup checks for `localhb health`: reasons nothing can run, whatever the health files say.

    heartbeat_missing  HEARTBEAT.md is missing or cannot be read
    heartbeat_errors   HEARTBEAT.md has errors (`localhb validate`): one bad line stops every task
    ledger_unreadable  state.db exists but cannot be opened or read (corrupt, not a database)
    last_cycle_error   the ledger's newest cycle record ended in error
    endpoint_down      the model endpoint's circuit breaker is open (state.db `breakers`)

Each failing check is a `SetupFailure` with a one-line reason; any of them fails the
health check (exit 1).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import tzinfo
from pathlib import Path
from typing import Any

from localhb.core.errors import LedgerError


@dataclass(frozen=True, slots=True)
class SetupFailure:
    check: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"check": self.check, "reason": self.reason}


def heartbeat_failures(
    path: Path, read_error: str | None, errors: Sequence[Any]
) -> list[SetupFailure]:
    """The file could not be read (`read_error`), or parsed with `errors` (Diagnostics)."""
    if read_error is not None:
        if not path.exists():
            return [SetupFailure("heartbeat_missing", f"{path} is missing: no task can run")]
        return [SetupFailure("heartbeat_missing", f"cannot read HEARTBEAT.md: {read_error}")]
    if errors:
        first = errors[0].format(str(path))
        return [
            SetupFailure(
                "heartbeat_errors",
                f"HEARTBEAT.md has {len(errors)} error(s), so no task runs "
                f"(`localhb validate`): {first}",
            )
        ]
    return []


def ledger_failures(state_db: Path, tz: tzinfo | None = None) -> list[SetupFailure]:
    """state.db unreadable, or its newest cycle ended in error (none without a ledger)."""
    if not state_db.exists():
        return []
    import sqlite3

    from localhb.state.breakers import ENDPOINT
    from localhb.state.ledger import Ledger

    try:
        with Ledger.open(state_db) as led:
            cycle = led.last_cycle()
            breaker = led.breaker(ENDPOINT)
    except (LedgerError, sqlite3.DatabaseError, OSError) as exc:
        return [SetupFailure("ledger_unreadable", f"state.db cannot be read: {exc}")]
    out: list[SetupFailure] = []
    if breaker is not None:
        out.append(
            SetupFailure(
                "endpoint_down",
                f"the model endpoint cannot be used, so agent tasks wait: {breaker.describe(tz)}"
                " (`localhb doctor` checks it)",
            )
        )
    if cycle is not None and cycle.outcome == "error":
        when = cycle.started_at.isoformat().replace("+00:00", "Z")
        detail = cycle.detail or "no detail recorded"
        out.append(SetupFailure("last_cycle_error", f"the last cycle ({when}) failed: {detail}"))
    return out
