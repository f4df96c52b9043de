"""The task ledger: one SQLite file (`$LOCALHB_HOME/state.db`) recording every run.

    runs           one row per run; UNIQUE (task_id, slot, kind, attempt) among
                   runs that are not `abandoned` (a partial unique index)
    task_events    append-only history of every state a run entered
    task_snapshot  per task: current state, last finished slot, failures in a row
    cycles, skips  what each heartbeat cycle did, and why cycles were skipped
    breakers       open circuit breakers (methods from localhb.state.breakers)

A run started by a person (`trigger = 'manual'`, `localhb run ID`) is recorded
like any other but leaves `task_snapshot` alone: it is not part of the schedule.

A run is born `queued`, becomes `running`, and ends in exactly one terminal
state. The allowed moves live in the `run_transitions` table and two triggers
refuse anything else, so even raw SQL cannot rewrite a finished run:

    queued  -> running | skipped | abandoned
    running -> ok | partial | skipped | error | timeout | abandoned

Every write is one `BEGIN IMMEDIATE` transaction that also appends the event
and updates the snapshot. Time is always passed in (`now`, aware); nothing
here reads the clock. docs/ledger-and-health.md describes it for people.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from localhb.core.errors import LedgerError
from localhb.core.results import FAILED_STATES, Status
from localhb.state.breakers import Breakers
from localhb.state.ledger_base import MEMORY, LedgerBase
from localhb.state.records import RunEnd, Trigger
from localhb.state.rows import (
    _RUN_COLS,
    Cycle,
    Event,
    RunRef,
    RunRow,
    SkipCount,
    Snapshot,
    _iso,
    _parse,
    _run,
    _ts,
    _utc,
    process_alive,
    slot_key,
)
from localhb.state.schema import ALLOWED, CYCLE_OUTCOMES, KINDS, MIGRATIONS, TERMINAL

__all__ = [
    "ALLOWED",
    "CYCLE_OUTCOMES",
    "KINDS",
    "MEMORY",
    "MIGRATIONS",
    "TERMINAL",
    "Cycle",
    "Event",
    "Ledger",
    "RunRef",
    "RunRow",
    "SkipCount",
    "Snapshot",
    "process_alive",
    "slot_key",
]


_RESETS = frozenset({Status.OK.value, Status.PARTIAL.value, Status.SKIPPED.value})  # failures: 0
_FAILS = FAILED_STATES - {"abandoned"}  # consecutive_failures + 1


# --- the ledger ---------------------------------------------------------------------


class _Taken(Exception):
    """Internal: the slot already has a run; roll back and return None."""


class Ledger(LedgerBase, Breakers):  # with the breakers table's methods
    """A connection to state.db. Use `Ledger.open(path)`, ideally as a context manager.

    One instance may be shared by threads: every call takes an internal lock.
    Several processes may share the file: writes serialise on SQLite's lock.
    Opening, migrating and the read-only queries are `LedgerBase`'s
    (`localhb.state.ledger_base`); the run state machine is here.
    """

    # -- tasks --
    def see_tasks(self, task_ids: Iterable[str], now: datetime) -> list[str]:
        """Record `first_seen = now` for ids the ledger has not met; returns those ids."""
        ids = list(dict.fromkeys(task_ids))
        stamp = _ts(now)
        known = {t for (t,) in self._read("SELECT task_id FROM task_snapshot")}
        new = [t for t in ids if t not in known]
        if not new:
            return []
        with self._write() as c:
            added = []
            for task_id in new:
                cur = c.execute(
                    "INSERT OR IGNORE INTO task_snapshot (task_id, first_seen, updated_at)"
                    " VALUES (?, ?, ?)",
                    (task_id, stamp, stamp),
                )
                if cur.rowcount:
                    added.append(task_id)
        return added

    def retire(self, task_ids: Iterable[str]) -> list[str]:
        """Forget the snapshots of tasks that left the file's Pending sections.

        A task written again later is then new: its `first_seen` starts over,
        so a one-time task re-added under the same title runs again. Runs and
        events stay. A task with a run in progress is kept.
        """
        ids = list(dict.fromkeys(task_ids))
        if not ids:
            return []
        gone: list[str] = []
        with self._write() as c:
            for task_id in ids:
                cur = c.execute(
                    "DELETE FROM task_snapshot WHERE task_id = ? AND state IS NOT 'running'",
                    (task_id,),
                )
                if cur.rowcount:
                    gone.append(task_id)
        return gone

    # -- runs --
    def claim(
        self,
        task_id: str,
        slot: datetime | str,
        kind: str,
        now: datetime,
        lease: timedelta,
        pid: int,
        *,
        attempt: int = 1,
        trigger: Trigger = Trigger.SCHEDULE,
    ) -> RunRef | None:
        """Start a run of `task_id` for `slot`: queued then running, in one transaction.

        Returns None when that (task, slot, kind, attempt) already has a run that
        is not abandoned: another process got there first, or it already ran.
        A manual run (`trigger`) leaves the task's snapshot alone.
        """
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        if attempt < 1:
            raise ValueError(f"attempt must be at least 1, got {attempt}")
        if lease <= timedelta(0):
            raise ValueError(f"lease must be positive, got {lease}")
        if not task_id:
            raise ValueError("task_id must not be empty")
        key = slot_key(slot)
        started = _utc(now)
        stamp = _ts(now)
        expires = _ts(started + lease)
        try:
            with self._write() as c:
                if c.execute(
                    "SELECT 1 FROM runs WHERE task_id = ? AND slot = ? AND kind = ?"
                    " AND attempt = ? AND state != 'abandoned'",
                    (task_id, key, kind, attempt),
                ).fetchone():
                    raise _Taken
                scheduled = trigger is Trigger.SCHEDULE
                if scheduled:
                    _ensure_snapshot(c, task_id, stamp)
                try:
                    cur = c.execute(
                        "INSERT INTO runs (task_id, slot, kind, attempt, state, started_at,"
                        " lease_expires_at, pid, host, trigger)"
                        " VALUES (?, ?, ?, ?, 'queued', ?, ?, ?, ?, ?)",
                        (
                            task_id,
                            key,
                            kind,
                            attempt,
                            stamp,
                            expires,
                            pid,
                            self.host,
                            trigger.value,
                        ),
                    )
                except sqlite3.IntegrityError as exc:
                    if "UNIQUE" in str(exc):
                        raise _Taken from None
                    raise
                run_id = cur.lastrowid
                assert run_id is not None
                detail: dict[str, Any] = {"slot": key, "kind": kind, "attempt": attempt}
                if not scheduled:
                    detail["trigger"] = trigger.value
                _event(c, task_id, run_id, "queued", stamp, detail)
                c.execute("UPDATE runs SET state = 'running' WHERE id = ?", (run_id,))
                lease_detail = {"pid": pid, "host": self.host, "lease_expires_at": expires}
                _event(c, task_id, run_id, "running", stamp, lease_detail)
                if scheduled:
                    c.execute(
                        "UPDATE task_snapshot SET state = 'running', last_run_id = ?,"
                        " updated_at = ? WHERE task_id = ?",
                        (run_id, stamp, task_id),
                    )
        except _Taken:
            return None
        except sqlite3.Error as exc:
            raise LedgerError(f"{self.path}: cannot claim {task_id} {key}: {exc}") from None
        return RunRef(run_id, task_id, key, kind, attempt, started)

    def extend_lease(self, run: RunRef, now: datetime, lease: timedelta) -> None:
        """Push a running run's lease to `now + lease` (a long run that is still alive)."""
        expires = _ts(_utc(now) + lease)
        with self._write() as c:
            cur = c.execute(
                "UPDATE runs SET lease_expires_at = ? WHERE id = ? AND state = 'running'",
                (expires, run.id),
            )
            if cur.rowcount != 1:
                raise LedgerError(f"{self.path}: run {run.id} of {run.task_id} is not running")

    def finish(self, run: RunRef, end: RunEnd, now: datetime) -> RunRow:
        """End `run` in the terminal state `end.state`, recording what `end` reports.

        Raises LedgerError when the run already ended.
        """
        if end.state not in TERMINAL:
            raise ValueError(f"status must be one of {sorted(TERMINAL)}, got {end.state!r}")
        stamp = _ts(now)
        try:
            with self._write() as c:
                self._transition(c, run.id, end.state, stamp, _columns(end))
        except sqlite3.Error as exc:
            raise LedgerError(f"{self.path}: cannot finish run {run.id}: {exc}") from None
        row = self.run(run.id)
        assert row is not None
        return row

    def abandon_stale(
        self, now: datetime, pid_alive: Callable[[int, str], bool] = process_alive
    ) -> list[RunRef]:
        """Zombie cleanup: end as `abandoned` every unfinished run whose lease has
        expired, or whose process on this host is gone. Returns those runs."""
        stamp = _ts(now)
        out: list[RunRef] = []
        try:
            with self._write() as c:
                rows = c.execute(
                    f"SELECT {_RUN_COLS} FROM runs WHERE state IN ('queued', 'running') ORDER BY id"
                ).fetchall()
                for raw in rows:
                    row = _run(raw)
                    reason = None
                    if row.lease_expires_at is not None and row.lease_expires_at <= _utc(now):
                        reason = f"lease expired at {_iso(row.lease_expires_at)}"
                    elif (
                        row.pid is not None
                        and row.host == self.host
                        and not pid_alive(row.pid, row.host)
                    ):
                        reason = f"process {row.pid} on {row.host} is gone"
                    if reason is not None:
                        out.append(self._abandon(c, row, reason, stamp))
        except sqlite3.Error as exc:
            raise LedgerError(f"{self.path}: zombie cleanup failed: {exc}") from None
        return out

    def _abandon(self, c: sqlite3.Connection, row: RunRow, reason: str, stamp: str) -> RunRef:
        cols = {"error": reason, "summary": f"abandoned: {reason}"}
        self._transition(c, row.id, "abandoned", stamp, cols)
        return row.ref

    def abandon_own(self, pid: int, now: datetime, reason: str) -> list[RunRef]:
        """End as `abandoned` every unfinished run that process `pid` on this host
        started (a daemon stopping before its tasks finished). Returns those runs."""
        stamp = _ts(now)
        out: list[RunRef] = []
        try:
            with self._write() as c:
                rows = c.execute(
                    f"SELECT {_RUN_COLS} FROM runs WHERE state IN ('queued', 'running')"
                    " AND pid = ? AND host = ? ORDER BY id",
                    (pid, self.host),
                ).fetchall()
                for raw in rows:
                    out.append(self._abandon(c, _run(raw), reason, stamp))
        except sqlite3.Error as exc:
            raise LedgerError(f"{self.path}: cannot abandon the runs of {pid}: {exc}") from None
        return out

    def _transition(
        self, c: sqlite3.Connection, run_id: int, state: str, stamp: str, cols: dict[str, Any]
    ) -> None:
        found = c.execute(
            "SELECT task_id, slot, state, started_at, trigger FROM runs WHERE id = ?", (run_id,)
        ).fetchone()
        if found is None:
            raise LedgerError(f"{self.path}: no run with id {run_id}")
        task_id, slot, old, started_at, trigger = found
        if old in TERMINAL:
            raise LedgerError(
                f"{self.path}: run {run_id} of {task_id} already ended as {old};"
                " a terminal state is final"
            )
        if state not in ALLOWED.get(old, frozenset()):
            raise LedgerError(
                f"{self.path}: run {run_id} of {task_id}: {old} -> {state} is not allowed"
            )
        cols = dict(cols)
        if cols.get("duration") is None:
            cols["duration"] = max(0.0, (_parse(stamp) - _parse(started_at)).total_seconds())
        cols.setdefault("status", state)
        names = ", ".join(f"{k} = ?" for k in cols)
        c.execute(
            f"UPDATE runs SET state = ?, completed_at = ?, {names} WHERE id = ?",
            (state, stamp, *cols.values(), run_id),
        )
        detail = {k: cols[k] for k in ("status", "summary", "error") if cols.get(k)}
        _event(c, task_id, run_id, state, stamp, detail)
        if trigger != Trigger.SCHEDULE.value:
            return  # not part of the schedule: the snapshot is left alone
        _ensure_snapshot(c, task_id, stamp)
        snap = c.execute(
            "SELECT last_slot, consecutive_failures FROM task_snapshot WHERE task_id = ?",
            (task_id,),
        ).fetchone()
        last_slot, failures = snap
        if state in _RESETS:
            failures = 0
        elif state in _FAILS:
            failures += 1
        c.execute(
            "UPDATE task_snapshot SET state = CASE WHEN last_run_id IS ? THEN ? ELSE state END,"
            " last_slot = ?, last_status = ?, last_run_at = ?, consecutive_failures = ?,"
            " updated_at = ? WHERE task_id = ?",
            (
                run_id,
                state,
                last_slot if state == "abandoned" else slot,
                state,
                stamp,
                failures,
                stamp,
                task_id,
            ),
        )


def _ensure_snapshot(c: sqlite3.Connection, task_id: str, stamp: str) -> None:
    c.execute(
        "INSERT OR IGNORE INTO task_snapshot (task_id, first_seen, updated_at) VALUES (?, ?, ?)",
        (task_id, stamp, stamp),
    )


def _event(
    c: sqlite3.Connection,
    task_id: str,
    run_id: int,
    state: str,
    stamp: str,
    detail: Mapping[str, Any],
) -> None:
    c.execute(
        "INSERT INTO task_events (task_id, run_id, state, at, detail) VALUES (?, ?, ?, ?, ?)",
        (task_id, run_id, state, stamp, json.dumps(detail, ensure_ascii=False, default=str)),
    )


def _columns(end: RunEnd) -> dict[str, Any]:
    """The `runs` columns a run's end fills in."""
    return {
        "status": end.status,
        "summary": end.summary,
        "notes": end.notes,
        "prompt_tokens": end.prompt_tokens,
        "completion_tokens": end.completion_tokens,
        "steps": end.steps,
        "tool_calls": end.tool_calls,
        "duration": end.seconds,
        "error": end.error,
        "result_json": end.result_json,
    }
