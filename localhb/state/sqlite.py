"""What every view of state.db shares: one connection, one lock, one way to write.

`Ledger`, `DeliveryLog` and `WakeupLog` (and any later table's view) each hold a
connection to the same SQLite file. `SqliteView` gives them the connection's
settings, a thread lock, `_write` (one BEGIN IMMEDIATE ... COMMIT, rolled back
on any exception) and `_read`, so every SQLite error reaches the caller as a
`LedgerError` naming the file.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Self

from localhb.core.errors import LedgerError

BUSY_TIMEOUT_MS = 10_000


def connect(path: Path, what: str) -> sqlite3.Connection:
    """A connection to the (already migrated) state database at `path`.

    `what` names the view in the error: "the delivery ledger", say.
    """
    try:
        conn = sqlite3.connect(
            path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
        )
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
    except sqlite3.Error as exc:
        raise LedgerError(f"{path}: cannot open {what}: {exc}") from None
    return conn


class SqliteView:
    """A connection to state.db that threads may share: every call takes the lock."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self._conn = conn
        self.path = path
        self._lock = threading.RLock()

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One BEGIN IMMEDIATE ... COMMIT; rolled back on any exception."""
        with self._lock:
            conn = self._conn
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise LedgerError(f"{self.path}: cannot start a write: {exc}") from None
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            try:
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                conn.execute("ROLLBACK")
                raise LedgerError(f"{self.path}: commit failed: {exc}") from None

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            try:
                return list(self._conn.execute(sql, params))
            except sqlite3.Error as exc:
                raise LedgerError(f"{self.path}: {exc}") from None
