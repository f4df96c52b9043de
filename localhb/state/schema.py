"""The ledger's schema: run states, allowed transitions, and the ordered migrations.

Kept apart from `localhb.state.ledger` (which reads and writes it) so the DDL can be
read in one place. See that module's docstring for what each table is for.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from localhb.core.results import TERMINAL_STATES
from localhb.state.breakers import SCHEMA as BREAKERS

KINDS = ("task", "check")
CYCLE_OUTCOMES = ("idle", "ran", "skipped", "error")
TERMINAL = TERMINAL_STATES
ALLOWED: Mapping[str, frozenset[str]] = {
    "queued": frozenset({"running", "skipped", "abandoned"}),
    "running": TERMINAL_STATES,
}

# --- schema -------------------------------------------------------------------------

_STATES = ["queued", "running", *sorted(TERMINAL)]
_M001 = (
    """CREATE TABLE run_states (
        name TEXT PRIMARY KEY,
        terminal INTEGER NOT NULL CHECK (terminal IN (0, 1))
    ) WITHOUT ROWID""",
    "INSERT INTO run_states VALUES " + ", ".join(f"('{s}', {int(s in TERMINAL)})" for s in _STATES),
    """CREATE TABLE run_transitions (
        from_state TEXT NOT NULL REFERENCES run_states(name),
        to_state TEXT NOT NULL REFERENCES run_states(name),
        PRIMARY KEY (from_state, to_state)
    ) WITHOUT ROWID""",
    "INSERT INTO run_transitions VALUES "
    + ", ".join(f"('{a}', '{b}')" for a in ALLOWED for b in sorted(ALLOWED[a])),
    """CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        task_id TEXT NOT NULL CHECK (task_id != ''),
        slot TEXT NOT NULL CHECK (slot != ''),
        kind TEXT NOT NULL CHECK (kind IN ('task', 'check')),
        attempt INTEGER NOT NULL CHECK (attempt >= 1),
        state TEXT NOT NULL REFERENCES run_states(name),
        status TEXT,
        summary TEXT,
        notes TEXT,
        started_at TEXT NOT NULL,
        completed_at TEXT,
        lease_expires_at TEXT,
        pid INTEGER,
        host TEXT,
        prompt_tokens INTEGER NOT NULL DEFAULT 0,
        completion_tokens INTEGER NOT NULL DEFAULT 0,
        steps INTEGER NOT NULL DEFAULT 0,
        tool_calls INTEGER NOT NULL DEFAULT 0,
        duration REAL,
        error TEXT,
        result_json TEXT
    )""",
    # One live-or-finished run per (task, slot, kind, attempt); an abandoned run
    # leaves the index, so its slot can be claimed again with the same attempt.
    """CREATE UNIQUE INDEX runs_one_per_slot ON runs (task_id, slot, kind, attempt)
        WHERE state != 'abandoned'""",
    "CREATE INDEX runs_by_task ON runs (task_id, id)",
    "CREATE INDEX runs_by_state ON runs (state)",
    """CREATE TRIGGER runs_born_queued BEFORE INSERT ON runs WHEN NEW.state != 'queued'
        BEGIN SELECT RAISE(ABORT, 'a run must be inserted as queued'); END""",
    """CREATE TRIGGER runs_terminal_is_final BEFORE UPDATE ON runs
        WHEN (SELECT terminal FROM run_states WHERE name = OLD.state) = 1
        BEGIN SELECT RAISE(ABORT, 'run is in a terminal state and cannot change'); END""",
    """CREATE TRIGGER runs_valid_transition BEFORE UPDATE OF state ON runs
        WHEN NEW.state IS NOT OLD.state AND NOT EXISTS (
            SELECT 1 FROM run_transitions WHERE from_state = OLD.state AND to_state = NEW.state)
        BEGIN SELECT RAISE(ABORT, 'invalid run state transition'); END""",
    """CREATE TRIGGER runs_identity_fixed BEFORE UPDATE OF id, task_id, slot, kind, attempt,
        started_at ON runs
        BEGIN SELECT RAISE(ABORT, 'a run''s identity cannot change'); END""",
    """CREATE TABLE task_events (
        id INTEGER PRIMARY KEY,
        task_id TEXT NOT NULL,
        run_id INTEGER REFERENCES runs(id),
        state TEXT NOT NULL REFERENCES run_states(name),
        at TEXT NOT NULL,
        detail TEXT NOT NULL DEFAULT '{}'
    )""",
    "CREATE INDEX task_events_by_task ON task_events (task_id, id)",
    """CREATE TRIGGER task_events_no_update BEFORE UPDATE ON task_events
        BEGIN SELECT RAISE(ABORT, 'task_events is append-only'); END""",
    """CREATE TRIGGER task_events_no_delete BEFORE DELETE ON task_events
        BEGIN SELECT RAISE(ABORT, 'task_events is append-only'); END""",
)
_M002 = (
    """CREATE TABLE task_snapshot (
        task_id TEXT PRIMARY KEY,
        state TEXT REFERENCES run_states(name),
        last_run_id INTEGER REFERENCES runs(id),
        last_slot TEXT,
        last_status TEXT REFERENCES run_states(name),
        last_run_at TEXT,
        first_seen TEXT NOT NULL,
        consecutive_failures INTEGER NOT NULL DEFAULT 0 CHECK (consecutive_failures >= 0),
        updated_at TEXT NOT NULL
    ) WITHOUT ROWID""",
)
_M003 = (
    """CREATE TABLE cycles (
        id INTEGER PRIMARY KEY,
        started_at TEXT NOT NULL,
        completed_at TEXT NOT NULL,
        outcome TEXT NOT NULL CHECK (outcome IN ('idle', 'ran', 'skipped', 'error')),
        detail TEXT NOT NULL DEFAULT ''
    )""",
    """CREATE TABLE skips (
        reason TEXT PRIMARY KEY CHECK (reason != ''),
        count INTEGER NOT NULL CHECK (count >= 0),
        last_at TEXT NOT NULL
    ) WITHOUT ROWID""",
)

_M004 = (
    # What started the run: `schedule` (a cycle) or `manual` (`localhb run ID`).
    "ALTER TABLE runs ADD COLUMN trigger TEXT NOT NULL DEFAULT 'schedule' CHECK (trigger != '')",
)

DELIVERY_STATUSES = ("pending", "sending", "sent", "suppressed", "failed")
DELIVERY_KINDS = ("result", "resolved", "alert", "test")
_M005 = (
    # One row per message localhb meant to send to one target (localhb.notify).
    # `key` is what dedupe is about: a task id, or `alert:<what>` for a
    # system-level alert. A row is `pending` until a sender claims it
    # (`sending`, attempts + 1, recorded before the send) and then `sent` or,
    # after its retries, `failed`; `suppressed` rows were never sent (dedupe).
    """CREATE TABLE deliveries (
        id INTEGER PRIMARY KEY,
        run_id INTEGER REFERENCES runs(id),
        key TEXT NOT NULL CHECK (key != ''),
        target TEXT NOT NULL CHECK (target != ''),
        kind TEXT NOT NULL CHECK (kind IN ('result', 'resolved', 'alert', 'test')),
        outcome TEXT NOT NULL,
        signature TEXT NOT NULL,
        status TEXT NOT NULL
            CHECK (status IN ('pending', 'sending', 'sent', 'suppressed', 'failed')),
        attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
        error TEXT,
        answer TEXT,
        title TEXT NOT NULL,
        body TEXT NOT NULL,
        repeat INTEGER NOT NULL DEFAULT 0 CHECK (repeat IN (0, 1)),
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        next_attempt_at TEXT,
        sent_at TEXT,
        pid INTEGER,
        host TEXT
    )""",
    # Exactly one message per (run, target), whatever retries or recovery do.
    """CREATE UNIQUE INDEX deliveries_one_per_run_target ON deliveries (run_id, target)
        WHERE run_id IS NOT NULL""",
    "CREATE INDEX deliveries_by_key ON deliveries (key, target, id)",
    "CREATE INDEX deliveries_by_status ON deliveries (status, next_attempt_at)",
)

WAKEUP_KINDS = ("task", "prompt", "cycle")
WAKEUP_STATES = ("queued", "running", "done", "failed", "abandoned")
_M006 = (
    # One row per accepted `POST /api/wakeup` (localhb.api): what it asked for,
    # how far it got, the ledger runs it made and how the last one ended. The
    # idempotency key answers a repeat within 24 h with the first row.
    """CREATE TABLE wakeups (
        id TEXT PRIMARY KEY CHECK (id != ''),
        kind TEXT NOT NULL CHECK (kind IN ('task', 'prompt', 'cycle')),
        task_id TEXT,
        idempotency_key TEXT,
        state TEXT NOT NULL
            CHECK (state IN ('queued', 'running', 'done', 'failed', 'abandoned')),
        created_at TEXT NOT NULL,
        started_at TEXT,
        finished_at TEXT,
        runs TEXT NOT NULL DEFAULT '[]',
        status TEXT,
        summary TEXT,
        error TEXT
    ) WITHOUT ROWID""",
    """CREATE INDEX wakeups_by_key ON wakeups (idempotency_key, created_at)
        WHERE idempotency_key IS NOT NULL""",
)

MIGRATIONS: Sequence[tuple[str, tuple[str, ...]]] = (
    ("m001_runs_and_events", _M001),
    ("m002_task_snapshot", _M002),
    ("m003_cycles_and_skips", _M003),
    ("m004_run_trigger", _M004),
    ("m005_deliveries", _M005),
    ("m006_wakeups", _M006),
    ("m007_breakers", BREAKERS),
)
"""Ordered, named and never edited once released: add a new step instead.
`PRAGMA user_version` is the number applied; `_migrations` holds their names."""
