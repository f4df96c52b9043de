"""The delivery ledger: every message localhb meant to send, in state.db `deliveries`.

    pending ──claim──> sending ──> sent
       ^                  │
       └── retry (backoff)┴──> failed        (after `retries` more attempts)
    suppressed                               (dedupe: never sent)

A sender *claims* a row (pending -> sending, attempts + 1, its pid) in one
transaction before it calls the target, and records the answer after. The
crash window is between the target accepting the message and that second
commit: a row left `sending` by a process that is gone is put back to
`pending` with `repeat` set, and the message then says it may be a repeat.
So a crash never sends twice without saying so, and never loses a message.

The same rows are the dedupe memory (`last_delivered`): the newest row to a
target for a key that was sent, or is still on its way, and the number of
suppressed rows after it. Time is always passed in.
"""

from __future__ import annotations

import socket
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from localhb.state.schema import DELIVERY_KINDS, DELIVERY_STATUSES
from localhb.state.sqlite import SqliteView, connect

__all__ = ["Delivery", "DeliveryLog", "LastDelivered", "NewDelivery"]

PROBLEMS = frozenset({"error", "partial"})


@dataclass(frozen=True, slots=True)
class NewDelivery:
    """A row to add: `status` is `pending` (to send) or `suppressed`."""

    key: str
    target: str
    kind: str
    outcome: str
    signature: str
    status: str
    title: str
    body: str
    run_id: int | None = None


@dataclass(frozen=True, slots=True)
class Delivery:
    """One row of `deliveries`, as stored."""

    id: int
    run_id: int | None
    key: str
    target: str
    kind: str
    outcome: str
    signature: str
    status: str
    attempts: int
    error: str | None
    answer: str | None
    title: str
    body: str
    repeat: bool
    created_at: datetime
    updated_at: datetime
    next_attempt_at: datetime | None
    sent_at: datetime | None
    pid: int | None
    host: str | None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = _iso(value) if isinstance(value, datetime) else value
        return out


@dataclass(frozen=True, slots=True)
class LastDelivered:
    """What a target last got (or is getting) about a key, for dedupe and resolve."""

    kind: str
    outcome: str
    signature: str
    at: datetime
    suppressed: int  # rows suppressed since

    @property
    def problem(self) -> bool:
        """It told of a problem (an error, a partial run, an alert) not yet resolved."""
        return self.kind in ("result", "alert") and self.outcome in PROBLEMS


_COLS = tuple(f.name for f in fields(Delivery))
_SELECT = ", ".join(_COLS)


class DeliveryLog(SqliteView):
    """A connection to the `deliveries` table of state.db (migrated by `Ledger.open`)."""

    def __init__(self, conn: sqlite3.Connection, path: Path, host: str) -> None:
        super().__init__(conn, path)
        self.host = host

    @classmethod
    def open(cls, path: Path, *, host: str | None = None) -> DeliveryLog:
        from localhb.state.ledger import Ledger

        Ledger.open(path).close()  # creates the file and runs pending migrations
        conn = connect(path, "the delivery ledger")
        return cls(conn, Path(path), host if host is not None else socket.gethostname())

    # -- adding --
    def add(self, items: Sequence[NewDelivery], now: datetime) -> list[int]:
        """Add rows in one transaction; a (run, target) that already has one is left
        alone (exactly one message per run and target). Returns the new row ids."""
        stamp = _ts(now)
        ids: list[int] = []
        with self._write() as c:
            for d in items:
                if d.status not in ("pending", "suppressed"):
                    raise ValueError(f"a new delivery is pending or suppressed, not {d.status!r}")
                if d.kind not in DELIVERY_KINDS:
                    raise ValueError(f"kind must be one of {DELIVERY_KINDS}, got {d.kind!r}")
                cur = c.execute(
                    "INSERT OR IGNORE INTO deliveries (run_id, key, target, kind, outcome,"
                    " signature, status, title, body, created_at, updated_at, next_attempt_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        d.run_id,
                        d.key,
                        d.target,
                        d.kind,
                        d.outcome,
                        d.signature,
                        d.status,
                        d.title,
                        d.body,
                        stamp,
                        stamp,
                        stamp if d.status == "pending" else None,
                    ),
                )
                if cur.rowcount and cur.lastrowid is not None:
                    ids.append(cur.lastrowid)
        return ids

    # -- sending --
    def due(self, now: datetime, limit: int = 100) -> list[Delivery]:
        """Pending rows whose next attempt is due, oldest first."""
        rows = self._read(
            f"SELECT {_SELECT} FROM deliveries WHERE status = 'pending'"
            " AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?",
            (_ts(now), limit),
        )
        return [_row(r) for r in rows]

    def next_due(self) -> datetime | None:
        """When the earliest pending row is due, or None when none is pending."""
        rows = self._read("SELECT min(next_attempt_at) FROM deliveries WHERE status = 'pending'")
        return _opt(rows[0][0]) if rows else None

    def claim(self, delivery_id: int, now: datetime, pid: int) -> Delivery | None:
        """pending -> sending, attempts + 1, committed before the send; None if taken."""
        with self._write() as c:
            cur = c.execute(
                "UPDATE deliveries SET status = 'sending', attempts = attempts + 1,"
                " updated_at = ?, pid = ?, host = ? WHERE id = ? AND status = 'pending'",
                (_ts(now), pid, self.host, delivery_id),
            )
            if cur.rowcount != 1:
                return None
        return self.get(delivery_id)

    def sent(self, delivery_id: int, now: datetime, answer: str) -> None:
        with self._write() as c:
            c.execute(
                "UPDATE deliveries SET status = 'sent', sent_at = ?, updated_at = ?, answer = ?,"
                " next_attempt_at = NULL WHERE id = ? AND status = 'sending'",
                (_ts(now), _ts(now), answer, delivery_id),
            )

    def attempt_failed(
        self, delivery_id: int, now: datetime, error: str, retry_at: datetime | None
    ) -> None:
        """Back to pending until `retry_at`, or `failed` when `retry_at` is None."""
        status = "pending" if retry_at is not None else "failed"
        with self._write() as c:
            c.execute(
                "UPDATE deliveries SET status = ?, error = ?, updated_at = ?,"
                " next_attempt_at = ? WHERE id = ? AND status = 'sending'",
                (
                    status,
                    error,
                    _ts(now),
                    _ts(retry_at) if retry_at is not None else None,
                    delivery_id,
                ),
            )

    def recover(
        self, now: datetime, alive: Callable[[int, str], bool], stale: timedelta
    ) -> list[int]:
        """Rows left `sending` by a process that is gone (or, on another host, for
        longer than `stale`) go back to `pending` with `repeat` set. Returns their ids."""
        out: list[int] = []
        with self._write() as c:
            rows = c.execute(
                "SELECT id, pid, host, updated_at FROM deliveries WHERE status = 'sending'"
            ).fetchall()
            for row_id, pid, host, updated in rows:
                gone = pid is None or (host == self.host and not alive(pid, host))
                if gone or _parse(updated) + stale <= _utc(now):
                    c.execute(
                        "UPDATE deliveries SET status = 'pending', repeat = 1, updated_at = ?,"
                        " next_attempt_at = ?, error = ? WHERE id = ?",
                        (
                            _ts(now),
                            _ts(now),
                            "interrupted while sending: resent, marked as a possible repeat",
                            row_id,
                        ),
                    )
                    out.append(row_id)
        return out

    # -- reading --
    def get(self, delivery_id: int) -> Delivery | None:
        rows = self._read(f"SELECT {_SELECT} FROM deliveries WHERE id = ?", (delivery_id,))
        return _row(rows[0]) if rows else None

    def recent(self, limit: int = 50, *, key: str | None = None) -> list[Delivery]:
        """The latest rows, newest first."""
        where, params = ("WHERE key = ?", [key]) if key is not None else ("", [])
        rows = self._read(
            f"SELECT {_SELECT} FROM deliveries {where} ORDER BY id DESC LIMIT ?",
            [*params, max(0, limit)],
        )
        return [_row(r) for r in rows]

    def for_run(self, run_id: int) -> list[Delivery]:
        rows = self._read(
            f"SELECT {_SELECT} FROM deliveries WHERE run_id = ? ORDER BY id", (run_id,)
        )
        return [_row(r) for r in rows]

    def last_delivered(self, key: str, target: str) -> LastDelivered | None:
        """The newest row for (key, target) that was sent or is on its way."""
        rows = self._read(
            "SELECT id, kind, outcome, signature, created_at FROM deliveries"
            " WHERE key = ? AND target = ? AND status IN ('pending', 'sending', 'sent')"
            " AND kind != 'test' ORDER BY id DESC LIMIT 1",
            (key, target),
        )
        if not rows:
            return None
        row_id, kind, outcome, signature, created = rows[0]
        (count,) = self._read(
            "SELECT count(*) FROM deliveries WHERE key = ? AND target = ? AND id > ?"
            " AND status = 'suppressed'",
            (key, target, row_id),
        )[0]
        return LastDelivered(kind, outcome, signature, _parse(created), int(count))

    def open_problems(self, prefix: str) -> list[tuple[str, str]]:
        """(key, target) pairs under `prefix` whose last delivery tells of a problem."""
        rows = self._read(
            "SELECT d.key, d.target, d.kind, d.outcome FROM deliveries d"
            " JOIN (SELECT key, target, max(id) AS id FROM deliveries"
            "       WHERE key LIKE ? AND status IN ('pending', 'sending', 'sent')"
            "       AND kind != 'test' GROUP BY key, target) last ON last.id = d.id",
            (prefix.replace("%", "") + "%",),
        )
        return [(k, t) for k, t, kind, outcome in rows if kind == "alert" and outcome in PROBLEMS]

    def failed_for_runs(self, run_ids: Sequence[int]) -> dict[int, list[Delivery]]:
        """The `failed` rows of each of these runs."""
        if not run_ids:
            return {}
        marks = ", ".join("?" for _ in run_ids)
        rows = self._read(
            f"SELECT {_SELECT} FROM deliveries WHERE status = 'failed' AND run_id IN ({marks})"
            " ORDER BY id",
            list(run_ids),
        )
        out: dict[int, list[Delivery]] = {}
        for raw in rows:
            d = _row(raw)
            assert d.run_id is not None
            out.setdefault(d.run_id, []).append(d)
        return out

    def failed_since(self, since: datetime) -> list[Delivery]:
        """`failed` rows created since `since`, newest first."""
        rows = self._read(
            f"SELECT {_SELECT} FROM deliveries WHERE status = 'failed' AND created_at >= ?"
            " ORDER BY id DESC",
            (_ts(since),),
        )
        return [_row(r) for r in rows]

    def counts(self) -> dict[str, int]:
        """Rows per status."""
        return {s: n for s, n in self._read("SELECT status, count(*) FROM deliveries GROUP BY 1")}


def _utc(dt: datetime) -> datetime:
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"time must be timezone-aware, got {dt!r}")
    return dt.astimezone(UTC)


def _ts(dt: datetime) -> str:
    return _utc(dt).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def _opt(text: str | None) -> datetime | None:
    return None if text is None else _parse(text)


def _row(raw: Sequence[Any]) -> Delivery:
    v = dict(zip(_COLS, raw, strict=True))
    for name in ("created_at", "updated_at"):
        v[name] = _parse(v[name])
    for name in ("next_attempt_at", "sent_at"):
        v[name] = _opt(v[name])
    v["repeat"] = bool(v["repeat"])
    assert v["status"] in DELIVERY_STATUSES
    return Delivery(**v)
