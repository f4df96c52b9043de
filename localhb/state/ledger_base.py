"""The ledger's foundation: opening state.db (WAL, migrations) and everything that
only reads it, plus the cycle and skip counters. `localhb.state.ledger.Ledger`
adds the run state machine (claim, finish, abandon) on top; open it from there.
"""

from __future__ import annotations

import json
import socket
import sqlite3
import time
from datetime import datetime
from pathlib import Path
from typing import Self

from localhb.core.errors import LedgerError
from localhb.state.rows import (
    _RUN_COLS,
    _SNAP_COLS,
    Cycle,
    Event,
    RunRow,
    SkipCount,
    Snapshot,
    _parse,
    _run,
    _snapshot,
    _ts,
    slot_key,
)
from localhb.state.schema import CYCLE_OUTCOMES, MIGRATIONS
from localhb.state.sqlite import BUSY_TIMEOUT_MS, SqliteView
from localhb.timing.plan import History


def _enable_wal(conn: sqlite3.Connection) -> None:
    """Switch to WAL, waiting out other processes doing the same on a new file.

    SQLite answers SQLITE_BUSY at once, without calling the busy handler, when
    two connections change the journal mode of a fresh file together (two
    `daemon heartbeat` processes started side by side, say), so retry here up
    to the busy timeout.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    pause = 0.002
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.05)


MEMORY = Path(":memory:")
"""`Ledger.open(MEMORY)`: a private in-memory ledger (tests, dry runs)."""


class LedgerBase(SqliteView):
    """A connection to state.db: opened, migrated, and read. See `Ledger`."""

    def __init__(self, conn: sqlite3.Connection, path: Path, host: str) -> None:
        super().__init__(conn, path)
        self.host = host

    # -- lifecycle --
    @classmethod
    def open(cls, path: Path, *, host: str | None = None) -> Self:
        """Open (creating it and its parent directories) and run pending migrations."""
        path = Path(path)
        try:
            if path != MEMORY:
                path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise LedgerError(f"{path}: cannot create its directory: {exc.strerror}") from None
        try:
            conn = sqlite3.connect(
                path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise LedgerError(f"{path}: cannot open the state database: {exc}") from None
        ledger = cls(conn, path, host if host is not None else socket.gethostname())
        try:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            _enable_wal(conn)
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA foreign_keys = ON")
            ledger._migrate()
        except sqlite3.Error as exc:
            conn.close()
            raise LedgerError(f"{path}: not a usable localhb state database: {exc}") from None
        except BaseException:
            conn.close()
            raise
        return ledger

    def _migrate(self) -> None:
        conn = self._conn
        (version,) = conn.execute("PRAGMA user_version").fetchone()
        if version > len(MIGRATIONS):
            raise LedgerError(
                f"{self.path}: schema version {version} is newer than this localhb knows "
                f"({len(MIGRATIONS)}); upgrade localhb"
            )
        if version == len(MIGRATIONS):
            return
        with self._write() as c:
            c.execute(
                "CREATE TABLE IF NOT EXISTS _migrations ("
                " name TEXT PRIMARY KEY,"
                " applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')))"
            )
            done = {name for (name,) in c.execute("SELECT name FROM _migrations")}
            for number, (name, statements) in enumerate(MIGRATIONS, start=1):
                if name not in done:
                    for sql in statements:
                        c.execute(sql)
                    c.execute("INSERT INTO _migrations (name) VALUES (?)", (name,))
                c.execute(f"PRAGMA user_version = {number}")

    def migrations(self) -> list[str]:
        """The names of the applied migrations, in order."""
        return [n for (n,) in self._read("SELECT name FROM _migrations ORDER BY rowid")]

    # -- reads --
    def finished_run(
        self, task_id: str, slot: datetime | str, kind: str, attempt: int
    ) -> RunRow | None:
        """The run that already ended for this (task, slot, kind, attempt), if any."""
        rows = self._read(
            f"SELECT {_RUN_COLS} FROM runs WHERE task_id = ? AND slot = ? AND kind = ?"
            " AND attempt = ? AND state NOT IN ('abandoned', 'queued', 'running')"
            " AND trigger = 'schedule'"
            " ORDER BY id DESC LIMIT 1",
            (task_id, slot_key(slot), kind, attempt),
        )
        return _run(rows[0]) if rows else None

    def snapshot(self, task_id: str) -> Snapshot | None:
        rows = self._read(f"SELECT {_SNAP_COLS} FROM task_snapshot WHERE task_id = ?", (task_id,))
        return _snapshot(rows[0]) if rows else None

    def snapshots(self) -> dict[str, Snapshot]:
        rows = self._read(f"SELECT {_SNAP_COLS} FROM task_snapshot ORDER BY task_id")
        return {r[0]: _snapshot(r) for r in rows}

    def history(self) -> dict[str, History]:
        """What the schedule needs to remember of each task (`localhb.timing.plan`)."""
        return {
            tid: History(s.first_seen, s.last_slot_at, s.consecutive_failures)
            for tid, s in self.snapshots().items()
        }

    def run(self, run_id: int) -> RunRow | None:
        rows = self._read(f"SELECT {_RUN_COLS} FROM runs WHERE id = ?", (run_id,))
        return _run(rows[0]) if rows else None

    def runs(self, task_id: str | None = None, limit: int = 50) -> list[RunRow]:
        """The latest runs, newest first, of one task or all."""
        where, params = ("WHERE task_id = ?", [task_id]) if task_id is not None else ("", [])
        rows = self._read(
            f"SELECT {_RUN_COLS} FROM runs {where} ORDER BY started_at DESC, id DESC LIMIT ?",
            [*params, max(0, limit)],
        )
        return [_run(r) for r in rows]

    def recent_errors(self, limit: int = 10) -> list[RunRow]:
        """Runs that ended in error, timeout or abandoned, latest finished first."""
        rows = self._read(
            f"SELECT {_RUN_COLS} FROM runs WHERE state IN ('error', 'timeout', 'abandoned')"
            " ORDER BY completed_at DESC, id DESC LIMIT ?",
            (max(0, limit),),
        )
        return [_run(r) for r in rows]

    def events(self, task_id: str | None = None) -> list[Event]:
        """The event history, oldest first."""
        where, params = ("WHERE task_id = ?", (task_id,)) if task_id is not None else ("", ())
        rows = self._read(
            f"SELECT id, task_id, run_id, state, at, detail FROM task_events {where} ORDER BY id",
            params,
        )
        return [Event(i, t, r, s, _parse(a), json.loads(d)) for i, t, r, s, a, d in rows]

    # -- cycles and skips --
    def record_cycle(
        self, started_at: datetime, completed_at: datetime, outcome: str, detail: str = ""
    ) -> int:
        """Record one heartbeat cycle; outcome is idle | ran | skipped | error."""
        if outcome not in CYCLE_OUTCOMES:
            raise ValueError(f"outcome must be one of {CYCLE_OUTCOMES}, got {outcome!r}")
        with self._write() as c:
            cur = c.execute(
                "INSERT INTO cycles (started_at, completed_at, outcome, detail)"
                " VALUES (?, ?, ?, ?)",
                (_ts(started_at, "started_at"), _ts(completed_at, "completed_at"), outcome, detail),
            )
        assert cur.lastrowid is not None
        return cur.lastrowid

    def last_cycle(self) -> Cycle | None:
        rows = self._read(
            "SELECT id, started_at, completed_at, outcome, detail FROM cycles"
            " ORDER BY id DESC LIMIT 1"
        )
        if not rows:
            return None
        i, s, e, o, d = rows[0]
        return Cycle(i, _parse(s), _parse(e), o, d)

    def cycle_errors(self, limit: int = 10) -> list[Cycle]:
        """Cycles that ended in error (a setup error, a file with errors), newest first."""
        rows = self._read(
            "SELECT id, started_at, completed_at, outcome, detail FROM cycles"
            " WHERE outcome = 'error' ORDER BY id DESC LIMIT ?",
            (max(0, limit),),
        )
        return [Cycle(i, _parse(s), _parse(e), o, d) for i, s, e, o, d in rows]

    def running(self) -> list[RunRow]:
        """Runs claimed and not yet finished (running now, or left by a crash), oldest first."""
        rows = self._read(
            f"SELECT {_RUN_COLS} FROM runs WHERE state = 'running' ORDER BY started_at, id"
        )
        return [_run(r) for r in rows]

    def record_skip(self, reason: str, now: datetime) -> None:
        """Count one skipped cycle (inactive_hours, lock_held, overlap, paused, ...)."""
        if not reason or reason != reason.strip():
            raise ValueError(f"a skip reason must be a non-empty word, got {reason!r}")
        stamp = _ts(now)
        with self._write() as c:
            c.execute(
                "INSERT INTO skips (reason, count, last_at) VALUES (?, 1, ?)"
                " ON CONFLICT (reason) DO UPDATE SET count = count + 1, last_at = excluded.last_at",
                (reason, stamp),
            )

    def spend_since(self, since: datetime) -> list[tuple[str, datetime, str, int, int]]:
        """(task_id, started_at, model, prompt, completion) of finished runs started at or
        after `since`, oldest first: what `[budget]` and `localhb usage` count."""
        rows = self._read(
            "SELECT task_id, started_at, prompt_tokens, completion_tokens, result_json"
            " FROM runs WHERE started_at >= ? AND completed_at IS NOT NULL"
            " ORDER BY started_at, id",
            (_ts(since, "since"),),
        )
        out: list[tuple[str, datetime, str, int, int]] = []
        for task_id, started, prompt, completion, raw in rows:
            model = ""
            if raw:
                try:
                    data = json.loads(raw)
                except ValueError:
                    data = None
                if isinstance(data, dict) and isinstance(data.get("model"), str):
                    model = data["model"]
            out.append((task_id, _parse(started), model, int(prompt), int(completion)))
        return out

    def skip_counts(self) -> dict[str, SkipCount]:
        rows = self._read("SELECT reason, count, last_at FROM skips ORDER BY reason")
        return {r: SkipCount(r, n, _parse(a)) for r, n, a in rows}
