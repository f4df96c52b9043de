"""The wakeup log: every accepted `POST /api/wakeup`, in state.db `wakeups`.

    queued ──> running ──> done | failed
       └──────────┴──────> abandoned     (the daemon stopped before it ended)

`add` is one transaction that also answers idempotency: a row with the same
key younger than the window is returned instead of a new one. Time is always
passed in; nothing here reads the clock.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from localhb.core.errors import LedgerError
from localhb.state.rows import _iso, _opt_parse, _parse, _ts
from localhb.state.schema import WAKEUP_KINDS, WAKEUP_STATES
from localhb.state.sqlite import SqliteView, connect

__all__ = ["IDEMPOTENCY_WINDOW", "WakeupLog", "WakeupRow"]

IDEMPOTENCY_WINDOW = timedelta(hours=24)
ENDED = frozenset({"done", "failed", "abandoned"})
_COLS = (
    "id, kind, task_id, idempotency_key, state, created_at, started_at, finished_at,"
    " runs, status, summary, error"
)


@dataclass(frozen=True, slots=True)
class WakeupRow:
    """One wakeup as stored. `status`/`summary`: how its (last) run ended."""

    id: str
    kind: str
    task_id: str | None
    idempotency_key: str | None
    state: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    runs: tuple[int, ...]
    status: str | None
    summary: str | None
    error: str | None

    @property
    def ended(self) -> bool:
        return self.state in ENDED

    def to_dict(self) -> dict[str, Any]:
        def when(dt: datetime | None) -> str | None:
            return None if dt is None else _iso(dt)

        return {
            "id": self.id,
            "kind": self.kind,
            "task": self.task_id,
            "state": self.state,
            "created_at": when(self.created_at),
            "started_at": when(self.started_at),
            "finished_at": when(self.finished_at),
            "runs": list(self.runs),
            "status": self.status,
            "summary": self.summary,
            "error": self.error,
        }


class WakeupLog(SqliteView):
    """A connection to the `wakeups` table of state.db (migrated by `Ledger.open`)."""

    @classmethod
    def open(cls, path: Path) -> WakeupLog:
        from localhb.state.ledger import Ledger

        Ledger.open(path).close()  # creates the file and runs pending migrations
        return cls(connect(path, "the wakeup log"), Path(path))

    # -- writing --
    def add(
        self,
        wakeup_id: str,
        kind: str,
        now: datetime,
        *,
        task_id: str | None = None,
        key: str | None = None,
        window: timedelta = IDEMPOTENCY_WINDOW,
    ) -> tuple[WakeupRow, bool]:
        """A new queued wakeup; or, for a `key` seen within `window`, that first one
        (the bool says whether the row is new)."""
        if kind not in WAKEUP_KINDS:
            raise ValueError(f"kind must be one of {WAKEUP_KINDS}, got {kind!r}")
        stamp = _ts(now)
        try:
            with self._write() as c:
                if key is not None:
                    found = c.execute(
                        f"SELECT {_COLS} FROM wakeups WHERE idempotency_key = ?"
                        " AND created_at > ? ORDER BY created_at LIMIT 1",
                        (key, _ts(now - window)),
                    ).fetchone()
                    if found is not None:
                        return _row(found), False
                c.execute(
                    "INSERT INTO wakeups (id, kind, task_id, idempotency_key, state, created_at)"
                    " VALUES (?, ?, ?, ?, 'queued', ?)",
                    (wakeup_id, kind, task_id, key, stamp),
                )
        except sqlite3.Error as exc:
            raise LedgerError(f"{self.path}: cannot record wakeup {wakeup_id}: {exc}") from None
        row = self.get(wakeup_id)
        assert row is not None
        return row, True

    def start(self, wakeup_id: str, now: datetime, *, task_id: str | None = None) -> None:
        self._update(
            wakeup_id,
            "state = 'running', started_at = ?, task_id = COALESCE(?, task_id)",
            (_ts(now), task_id),
            only="queued",
        )

    def finish(
        self,
        wakeup_id: str,
        now: datetime,
        *,
        state: str,
        status: str | None = None,
        summary: str | None = None,
        error: str | None = None,
        runs: Sequence[int] = (),
        task_id: str | None = None,
    ) -> None:
        if state not in WAKEUP_STATES or state not in ENDED:
            raise ValueError(f"a wakeup ends done, failed or abandoned, not {state!r}")
        self._update(
            wakeup_id,
            "state = ?, finished_at = ?, status = ?, summary = ?, error = ?, runs = ?,"
            " task_id = COALESCE(?, task_id)",
            (state, _ts(now), status, summary, error, json.dumps(list(runs)), task_id),
        )

    def abandon_unfinished(
        self, now: datetime, reason: str, *, states: Sequence[str] = ("queued", "running")
    ) -> list[str]:
        """Mark wakeups left in `states` (by a daemon that stopped) abandoned."""
        marks = ", ".join("?" for _ in states)
        ids = [i for (i,) in self._read(f"SELECT id FROM wakeups WHERE state IN ({marks})", states)]
        for wakeup_id in ids:
            self.finish(wakeup_id, now, state="abandoned", error=reason)
        return ids

    def _update(
        self, wakeup_id: str, sets: str, params: Sequence[Any], *, only: str | None = None
    ) -> None:
        guard = " AND state = ?" if only else " AND state IN ('queued', 'running')"
        extra = (only,) if only else ()
        try:
            with self._write() as c:
                c.execute(
                    f"UPDATE wakeups SET {sets} WHERE id = ?{guard}",
                    (*params, wakeup_id, *extra),
                )
        except sqlite3.Error as exc:
            raise LedgerError(f"{self.path}: cannot update wakeup {wakeup_id}: {exc}") from None

    # -- reading --
    def find_key(
        self, key: str, now: datetime, window: timedelta = IDEMPOTENCY_WINDOW
    ) -> WakeupRow | None:
        """The first wakeup with idempotency `key` within `window` before `now`."""
        rows = self._read(
            f"SELECT {_COLS} FROM wakeups WHERE idempotency_key = ? AND created_at > ?"
            " ORDER BY created_at LIMIT 1",
            (key, _ts(now - window)),
        )
        return _row(rows[0]) if rows else None

    def get(self, wakeup_id: str) -> WakeupRow | None:
        rows = self._read(f"SELECT {_COLS} FROM wakeups WHERE id = ?", (wakeup_id,))
        return _row(rows[0]) if rows else None

    def recent(self, limit: int = 20) -> list[WakeupRow]:
        rows = self._read(f"SELECT {_COLS} FROM wakeups ORDER BY created_at DESC LIMIT ?", (limit,))
        return [_row(r) for r in rows]


def _row(r: tuple[Any, ...]) -> WakeupRow:
    return WakeupRow(
        id=r[0],
        kind=r[1],
        task_id=r[2],
        idempotency_key=r[3],
        state=r[4],
        created_at=_parse(r[5]),
        started_at=_opt_parse(r[6]),
        finished_at=_opt_parse(r[7]),
        runs=tuple(int(x) for x in json.loads(r[8] or "[]")),
        status=r[9],
        summary=r[10],
        error=r[11],
    )
