"""Circuit breakers that hold across cycles, in state.db `breakers`.

    BreakerRow        one open breaker: its scope, kind, reason, failures, when to try again
    backoff(kind, n)  how long the `n`th failure in a row keeps it open (pure)
    kind_of(reason)   `unreachable` or `config`, from a setup failure's reason (pure)
    fingerprint(llm)  what the model endpoint's breaker was opened against
    Breakers          the `Ledger`'s base: breaker(), breakers(), trip_breaker(), close_breaker()
    write_breaker_file  `<health dir>/breaker.json`, the state for watchdogs

A breaker is *scoped*: `endpoint` is the model endpoint ([llm] base_url and
model), which every agent task and model condition check needs; `Run:` tasks
and `Check:` gates need no model and no breaker keeps them back. One row per
open breaker; closing deletes it, so "no row" is "closed".

Its *kind* says how it backs off. `unreachable` (nothing answers: the server
is not started yet, or restarting) is tried again after 1, 2, 4 ... minutes,
at most an hour. `config` (401/403, unknown model, no tool support, no key:
something in config.toml or the server's flags is wrong) after 5, 10, 20 ...
minutes, at most 6 hours, and at once when the config it was opened against
changes (`fingerprint`). Time is always passed in; nothing here reads the clock.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from localhb.state.rows import _iso, _parse, _ts
from localhb.state.sqlite import SqliteView

if TYPE_CHECKING:
    from localhb.config.model import LLMConfig

__all__ = [
    "BREAKER_FILE",
    "ENDPOINT",
    "KINDS",
    "BreakerRow",
    "Breakers",
    "backoff",
    "fingerprint",
    "kind_of",
    "write_breaker_file",
]

ENDPOINT = "endpoint"
"""The scope of the model endpoint's breaker."""

KINDS = ("unreachable", "config")
_BASE = {"unreachable": timedelta(minutes=1), "config": timedelta(minutes=5)}
_CAP = {"unreachable": timedelta(hours=1), "config": timedelta(hours=6)}

SCHEMA = (
    # One row per open circuit breaker (localhb.state.breakers); none: closed.
    """CREATE TABLE breakers (
        scope TEXT PRIMARY KEY CHECK (scope != ''),
        kind TEXT NOT NULL CHECK (kind IN ('unreachable', 'config')),
        reason TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        tripped_by TEXT,
        opened_at TEXT NOT NULL,
        failed_at TEXT NOT NULL,
        failures INTEGER NOT NULL CHECK (failures >= 1),
        retry_at TEXT NOT NULL
    ) WITHOUT ROWID""",
)


@dataclass(frozen=True, slots=True)
class BreakerRow:
    """An open breaker. `failures` counts the cycles in a row that found the endpoint
    down; `retry_at` is when a cycle may try it again."""

    scope: str
    kind: str
    reason: str
    fingerprint: str
    tripped_by: str | None
    opened_at: datetime
    failed_at: datetime
    failures: int
    retry_at: datetime

    def holds(self, now: datetime, fingerprint: str) -> bool:
        """Still open at `now` for this config: True keeps model work back."""
        return now < self.retry_at and (self.kind != "config" or fingerprint == self.fingerprint)

    def describe(self, tz: Any = None) -> str:
        """One line for people: what is down, since when, when it is tried again."""

        def local(dt: datetime) -> str:
            return dt.astimezone(tz).strftime("%Y-%m-%d %H:%M")

        who = f"{self.tripped_by}: " if self.tripped_by else ""
        tries = f", {self.failures} cycles in a row" if self.failures > 1 else ""
        return (
            f"{who}{self.reason} (open since {local(self.opened_at)}{tries}; "
            f"tried again from {local(self.retry_at)})"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "scope": self.scope,
            "kind": self.kind,
            "reason": self.reason,
            "tripped_by": self.tripped_by,
            "opened_at": _iso(self.opened_at),
            "failed_at": _iso(self.failed_at),
            "failures": self.failures,
            "retry_at": _iso(self.retry_at),
        }


def backoff(kind: str, failures: int) -> timedelta:
    """How long the `failures`th failure in a row keeps a `kind` breaker open."""
    base, cap = _BASE.get(kind, _BASE["config"]), _CAP.get(kind, _CAP["config"])
    return min(cap, base * (1 << min(max(failures, 1) - 1, 20)))


def kind_of(reason: str) -> str:
    """`unreachable` when nothing answered (connection refused, no route), else `config`."""
    return "unreachable" if "cannot reach" in reason else "config"


def fingerprint(llm: LLMConfig) -> str:
    """The endpoint and model (and where the key comes from), never the key itself."""
    parts = (
        llm.base_url or "",
        llm.model,
        llm.api_key_env,
        llm.api_key_file or "",
        llm.api_key_command or "",
    )
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]


_COLS = "scope, kind, reason, fingerprint, tripped_by, opened_at, failed_at, failures, retry_at"


def _row(raw: Sequence[Any]) -> BreakerRow:
    scope, kind, reason, fp, by, opened, failed, failures, retry = raw
    return BreakerRow(
        scope, kind, reason, fp, by, _parse(opened), _parse(failed), int(failures), _parse(retry)
    )


class Breakers(SqliteView):
    """The `breakers` table's part of the `Ledger` (which is this, and more)."""

    def breakers(self) -> list[BreakerRow]:
        """Every open breaker."""
        return [_row(r) for r in self._read(f"SELECT {_COLS} FROM breakers ORDER BY scope")]

    def breaker(self, scope: str) -> BreakerRow | None:
        """The open breaker of `scope`, or None when it is closed."""
        rows = self._read(f"SELECT {_COLS} FROM breakers WHERE scope = ?", (scope,))
        return _row(rows[0]) if rows else None

    def trip_breaker(
        self,
        scope: str,
        reason: str,
        now: datetime,
        *,
        fingerprint: str,
        tripped_by: str | None = None,
    ) -> tuple[BreakerRow, bool]:
        """Open `scope` (or count one more failure of an open one); True when it just opened."""
        kind = kind_of(reason)
        with self._write() as c:
            before = [
                _row(r)
                for r in c.execute(f"SELECT {_COLS} FROM breakers WHERE scope = ?", (scope,))
            ]
            old = before[0] if before else None
            failures = old.failures + 1 if old is not None else 1
            opened = old.opened_at if old is not None else now
            row = BreakerRow(
                scope,
                kind,
                reason,
                fingerprint,
                tripped_by,
                opened,
                now,
                failures,
                now + backoff(kind, failures),
            )
            c.execute(
                f"INSERT OR REPLACE INTO breakers ({_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    scope,
                    kind,
                    reason,
                    fingerprint,
                    tripped_by,
                    _ts(opened),
                    _ts(now),
                    failures,
                    _ts(row.retry_at),
                ),
            )
        return row, old is None

    def close_breaker(self, scope: str) -> BreakerRow | None:
        """Close `scope`; the row it had (None: it was not open)."""
        with self._write() as c:
            rows = list(c.execute(f"SELECT {_COLS} FROM breakers WHERE scope = ?", (scope,)))
            c.execute("DELETE FROM breakers WHERE scope = ?", (scope,))
        return _row(rows[0]) if rows else None


BREAKER_FILE = "breaker.json"
"""`<health dir>/breaker.json`: the endpoint breaker's state, for watchdogs."""


def write_breaker_file(
    directory: Path, row: BreakerRow | None, now: datetime, *, change: str | None = None
) -> Path:
    """Write `breaker.json` atomically: `state` is `open` (with the row's fields) or `closed`."""
    import json

    from localhb.state.files import write_atomic

    body: dict[str, Any] = {"scope": ENDPOINT, "state": "open" if row else "closed"}
    if row is not None:
        body.update(row.to_dict())
    body["updated_at"] = _iso(now)
    if change is not None:
        body["change"] = change
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / BREAKER_FILE
    write_atomic(path, json.dumps(body, ensure_ascii=False, indent=2) + "\n")
    return path
