"""The SQLite ledger: schema, durability settings, transitions, claims, zombies, snapshots."""

from __future__ import annotations

import json
import multiprocessing
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from localhb.cli import main
from localhb.core.errors import LedgerError
from localhb.state.ledger import MIGRATIONS, TERMINAL, Ledger, RunRef, slot_key
from localhb.state.records import RunEnd

T0 = datetime(2024, 1, 15, 14, 0, tzinfo=UTC)
LEASE = timedelta(minutes=20)
SLOT = datetime(2024, 1, 15, 14, 0, tzinfo=UTC)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "lhb" / "state.db"


@pytest.fixture
def ledger(db: Path) -> Any:
    with Ledger.open(db, host="here") as led:
        yield led


_OPEN: list[sqlite3.Connection] = []


def raw(db: Path) -> sqlite3.Connection:
    """A plain connection, as someone poking at the file by hand would have."""
    conn = sqlite3.connect(db, isolation_level=None)
    _OPEN.append(conn)
    return conn


@pytest.fixture(autouse=True)
def _close_raw() -> Any:
    yield
    while _OPEN:
        _OPEN.pop().close()


# --- schema and settings --------------------------------------------------------------


def test_open_creates_parent_dirs_and_applies_all_migrations(db: Path) -> None:
    """Opening a new path makes its directory and applies every named migration in order."""
    with Ledger.open(db) as led:
        assert led.migrations() == [name for name, _ in MIGRATIONS]
    conn = raw(db)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"runs", "task_events", "task_snapshot", "cycles", "skips", "_migrations"} <= tables


def _open_each_in_step(paths: list[str], barrier: Any, failures: Any) -> None:
    for path in paths:
        barrier.wait(timeout=60)
        try:
            Ledger.open(Path(path)).close()
        except LedgerError as exc:
            failures.put(str(exc))


def test_processes_opening_a_new_file_together_all_succeed(tmp_path: Path) -> None:
    """Three processes creating each of 30 new state.db files at once: none is refused.

    SQLite reports 'database is locked' at once, without waiting, when two
    connections switch a fresh file to WAL together; before the retry in
    `Ledger.open` about one open in six failed this way.
    """
    paths = [str(tmp_path / f"n{i}" / "state.db") for i in range(30)]
    ctx = multiprocessing.get_context("spawn")
    barrier, failures = ctx.Barrier(3), ctx.Queue()
    args = (paths, barrier, failures)
    procs = [ctx.Process(target=_open_each_in_step, args=args) for _ in range(3)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(timeout=120)
    assert [proc.exitcode for proc in procs] == [0, 0, 0]
    seen = []
    while not failures.empty():
        seen.append(failures.get())
    assert seen == []


def test_migrations_are_idempotent(db: Path) -> None:
    """Reopening applies nothing twice and keeps the data."""
    with Ledger.open(db) as led:
        led.see_tasks(["a"], T0)
    with Ledger.open(db) as led:
        assert led.migrations() == [name for name, _ in MIGRATIONS]
        assert led.snapshot("a") is not None
    assert raw(db).execute("SELECT count(*) FROM _migrations").fetchone()[0] == len(MIGRATIONS)


def test_newer_schema_is_refused(db: Path) -> None:
    """A database from a newer localhb is a LedgerError, not a silent downgrade."""
    Ledger.open(db).close()
    raw(db).execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    with pytest.raises(LedgerError, match="newer"):
        Ledger.open(db)


def test_not_a_database_is_a_ledger_error(db: Path) -> None:
    """A garbage state.db gives a LedgerError naming the path."""
    db.parent.mkdir(parents=True)
    db.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(LedgerError, match=r"state\.db"):
        Ledger.open(db)


def test_durability_settings_in_effect(ledger: Ledger, db: Path) -> None:
    """WAL journal, synchronous=FULL, a busy timeout and foreign keys are on."""
    conn = ledger._conn
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert raw(db).execute("PRAGMA journal_mode").fetchone()[0] == "wal"  # persistent


# --- transitions ------------------------------------------------------------------------


def test_claim_records_queued_then_running(ledger: Ledger) -> None:
    """claim inserts a run that went queued -> running, with both events and a lease."""
    run = ledger.claim("a", SLOT, "task", T0, LEASE, 4242)
    assert run is not None and run.slot == "2024-01-15T14:00:00Z"
    row = ledger.run(run.id)
    assert row is not None and row.state == "running" and row.pid == 4242 and row.host == "here"
    assert row.lease_expires_at == T0 + LEASE
    assert [e.state for e in ledger.events("a")] == ["queued", "running"]


def test_finish_records_result_and_event(ledger: Ledger) -> None:
    """finish stores the result's numbers and text and appends the terminal event."""
    run = ledger.claim("a", SLOT, "task", T0, LEASE, 1)
    assert run is not None
    result = {
        "status": "partial",
        "summary": "did most",
        "notes": "n",
        "prompt_tokens": 100,
        "completion_tokens": 20,
        "steps": 3,
        "tool_calls": [{"name": "x"}, {"name": "y"}],
        "seconds": 12.5,
        "errors": ["one tool failed"],
    }
    row = ledger.finish(run, RunEnd.from_result("partial", result), T0 + timedelta(seconds=13))
    assert (row.state, row.status, row.summary, row.notes) == (
        "partial",
        "partial",
        "did most",
        "n",
    )
    assert (row.prompt_tokens, row.completion_tokens, row.steps, row.tool_calls) == (100, 20, 3, 2)
    assert row.duration == 12.5 and row.error == "one tool failed"
    assert row.completed_at == T0 + timedelta(seconds=13)
    assert json.loads(row.result_json or "")["summary"] == "did most"
    assert [e.state for e in ledger.events("a")][-1] == "partial"


def test_terminal_state_is_final_in_python(ledger: Ledger) -> None:
    """Finishing a finished run is a LedgerError that names the run and its state."""
    run = ledger.claim("a", SLOT, "task", T0, LEASE, 1)
    assert run is not None
    ledger.finish(run, RunEnd.from_result("ok"), T0)
    with pytest.raises(LedgerError, match="already ended as ok"):
        ledger.finish(run, RunEnd.from_result("error"), T0)
    row = ledger.run(run.id)
    assert row is not None and row.state == "ok"
    assert [e.state for e in ledger.events("a")] == ["queued", "running", "ok"]


def test_finish_refuses_a_non_terminal_status(ledger: Ledger) -> None:
    """finish only takes terminal states."""
    run = ledger.claim("a", SLOT, "task", T0, LEASE, 1)
    assert run is not None
    with pytest.raises(ValueError, match="status"):
        ledger.finish(run, RunEnd.from_result("running"), T0)


@pytest.mark.parametrize("terminal", sorted(TERMINAL))
@pytest.mark.parametrize("target", ["queued", "running", "ok", "error"])
def test_db_trigger_keeps_terminal_states_final(
    ledger: Ledger, db: Path, terminal: str, target: str
) -> None:
    """Even raw SQL cannot move a run out of a terminal state, or edit it."""
    run = ledger.claim("a", SLOT, "task", T0, LEASE, 1)
    assert run is not None
    ledger.finish(run, RunEnd.from_result(terminal), T0)
    conn = raw(db)
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("UPDATE runs SET state = ? WHERE id = ?", (target, run.id))
    with pytest.raises(sqlite3.IntegrityError, match="terminal"):
        conn.execute("UPDATE runs SET summary = 'rewritten' WHERE id = ?", (run.id,))


@pytest.mark.parametrize(
    ("start", "target"),
    [("running", "queued"), ("running", "bogus"), ("queued", "ok"), ("queued", "error")],
)
def test_db_trigger_refuses_invalid_transitions(
    ledger: Ledger, db: Path, start: str, target: str
) -> None:
    """Raw SQL updates outside the transition table are aborted by the database."""
    conn = raw(db)
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute(
        "INSERT INTO runs (task_id, slot, kind, attempt, state, started_at)"
        " VALUES ('a', 's', 'task', 1, 'queued', '2024-01-15T14:00:00.000000Z')"
    )
    if start == "running":
        conn.execute("UPDATE runs SET state = 'running'")
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("UPDATE runs SET state = ?", (target,))
    assert conn.execute("SELECT state FROM runs").fetchone()[0] == start


def test_db_allows_the_listed_transitions(db: Path, ledger: Ledger) -> None:
    """queued -> skipped/abandoned and running -> terminal pass the trigger."""
    conn = raw(db)
    for i, path in enumerate([("skipped",), ("abandoned",), ("running", "timeout")]):
        conn.execute(
            "INSERT INTO runs (task_id, slot, kind, attempt, state, started_at)"
            " VALUES ('a', ?, 'task', 1, 'queued', '2024-01-15T14:00:00.000000Z')",
            (f"s{i}",),
        )
        for state in path:
            conn.execute("UPDATE runs SET state = ? WHERE slot = ?", (state, f"s{i}"))


def test_runs_must_be_born_queued(db: Path, ledger: Ledger) -> None:
    """A run cannot be inserted already running or finished."""
    with pytest.raises(sqlite3.IntegrityError, match="queued"):
        raw(db).execute(
            "INSERT INTO runs (task_id, slot, kind, attempt, state, started_at)"
            " VALUES ('a', 's', 'task', 1, 'ok', '2024-01-15T14:00:00.000000Z')"
        )


def test_task_events_are_append_only(ledger: Ledger, db: Path) -> None:
    """Raw UPDATE or DELETE on task_events is aborted by a trigger."""
    run = ledger.claim("a", SLOT, "task", T0, LEASE, 1)
    assert run is not None
    conn = raw(db)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("UPDATE task_events SET state = 'ok'")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("DELETE FROM task_events")
    assert conn.execute("SELECT count(*) FROM task_events").fetchone()[0] == 2


# --- claims -----------------------------------------------------------------------------


def test_one_run_per_task_slot_kind_attempt(ledger: Ledger) -> None:
    """A second claim of the same (task, slot, kind, attempt) returns None, even after it ran."""
    run = ledger.claim("a", SLOT, "task", T0, LEASE, 1)
    assert run is not None
    assert ledger.claim("a", SLOT, "task", T0, LEASE, 2) is None
    ledger.finish(run, RunEnd.from_result("ok"), T0)
    assert ledger.claim("a", SLOT, "task", T0, LEASE, 2) is None
    assert ledger.claim("a", SLOT, "check", T0, LEASE, 2) is not None
    assert ledger.claim("b", SLOT, "task", T0, LEASE, 2) is not None
    assert ledger.claim("a", SLOT + timedelta(hours=1), "task", T0, LEASE, 2) is not None


def test_retry_of_a_one_time_task_takes_the_next_attempt(ledger: Ledger) -> None:
    """A failed one-time run is retried by claiming the same slot with attempt + 1."""
    first = ledger.claim("once", "once", "task", T0, LEASE, 1)
    assert first is not None
    ledger.finish(first, RunEnd.from_result("error"), T0)
    assert ledger.claim("once", "once", "task", T0, LEASE, 1) is None
    second = ledger.claim("once", "once", "task", T0, LEASE, 1, attempt=2)
    assert second is not None and second.attempt == 2


def test_the_unique_index_guards_raw_inserts(ledger: Ledger, db: Path) -> None:
    """The database itself refuses a second live row for the same slot."""
    assert ledger.claim("a", SLOT, "task", T0, LEASE, 1) is not None
    with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
        raw(db).execute(
            "INSERT INTO runs (task_id, slot, kind, attempt, state, started_at)"
            " VALUES ('a', ?, 'task', 1, 'queued', 'x')",
            (slot_key(SLOT),),
        )


def test_slot_keys() -> None:
    """Slots are stored as UTC instants with Z, whatever zone they came in; strings as is."""
    from zoneinfo import ZoneInfo

    berlin = datetime(2024, 1, 15, 15, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    assert slot_key(berlin) == slot_key(SLOT) == "2024-01-15T14:00:00Z"
    assert slot_key("once") == "once"
    with pytest.raises(ValueError):
        slot_key(datetime(2024, 1, 15, 14, 0))
    with pytest.raises(ValueError):
        slot_key("")


def _claim_in_child(db: str, barrier: Any, slots: int, out: Any) -> None:
    with Ledger.open(Path(db)) as led:
        barrier.wait()
        won = [i for i in range(slots) if led.claim("race", f"slot-{i}", "task", T0, LEASE, 1)]
    out.put(won)


def test_two_processes_claiming_the_same_slot_one_wins(db: Path) -> None:
    """Processes racing for the same slots: every slot is won by exactly one of them."""
    Ledger.open(db).close()
    ctx = multiprocessing.get_context("spawn")
    procs, slots = 3, 25
    barrier = ctx.Barrier(procs)
    out = ctx.Queue()
    workers = [
        ctx.Process(target=_claim_in_child, args=(str(db), barrier, slots, out))
        for _ in range(procs)
    ]
    for w in workers:
        w.start()
    results = [out.get(timeout=60) for _ in workers]
    for w in workers:
        w.join(timeout=60)
        assert w.exitcode == 0
    won = sorted(i for r in results for i in r)
    assert won == list(range(slots))
    with Ledger.open(db) as led:
        assert len(led.runs("race", limit=100)) == slots


# --- zombies ----------------------------------------------------------------------------


def test_zombie_cleanup_by_expired_lease(ledger: Ledger) -> None:
    """A running run past its lease becomes abandoned; one within its lease stays."""
    old = ledger.claim("a", SLOT, "task", T0, LEASE, 1)
    new = ledger.claim("b", SLOT, "task", T0 + LEASE, LEASE, 1)
    assert old is not None and new is not None
    gone = ledger.abandon_stale(T0 + LEASE + timedelta(seconds=1), lambda pid, host: True)
    assert [r.id for r in gone] == [old.id]
    row = ledger.run(old.id)
    assert row is not None and row.state == "abandoned" and "lease expired" in (row.error or "")
    still = ledger.run(new.id)
    assert still is not None and still.state == "running"


def test_zombie_cleanup_by_dead_pid_on_this_host_only(db: Path) -> None:
    """A run whose process is gone on this host is abandoned; another host's is left alone."""
    with Ledger.open(db, host="here") as here, Ledger.open(db, host="there") as there:
        mine = here.claim("a", SLOT, "task", T0, LEASE, 111)
        theirs = there.claim("b", SLOT, "task", T0, LEASE, 111)
        assert mine is not None and theirs is not None
        asked: list[tuple[int, str]] = []

        def dead(pid: int, host: str) -> bool:
            asked.append((pid, host))
            return False

        gone = here.abandon_stale(T0 + timedelta(minutes=1), dead)
        assert [r.id for r in gone] == [mine.id]
        assert asked == [(111, "here")]
        row = here.run(mine.id)
        assert row is not None and "process 111" in (row.error or "")
        assert [e.state for e in here.events("a")][-1] == "abandoned"


def test_abandoned_slot_can_run_again(ledger: Ledger) -> None:
    """After zombie cleanup the same (task, slot, attempt) can be claimed again."""
    run = ledger.claim("a", SLOT, "task", T0, LEASE, 1)
    assert run is not None
    ledger.abandon_stale(T0 + LEASE * 2, lambda pid, host: True)
    again = ledger.claim("a", SLOT, "task", T0 + LEASE * 2, LEASE, 2)
    assert again is not None and again.attempt == 1 and again.id != run.id
    snap = ledger.snapshot("a")
    assert snap is not None and snap.last_slot is None and snap.state == "running"
    with pytest.raises(LedgerError, match="already ended as abandoned"):
        ledger.finish(run, RunEnd.from_result("ok"), T0 + LEASE * 3)


def test_extend_lease_keeps_a_long_run_alive(ledger: Ledger) -> None:
    """A renewed lease is not abandoned at its first expiry; a finished run cannot renew."""
    run = ledger.claim("a", SLOT, "task", T0, LEASE, 1)
    assert run is not None
    ledger.extend_lease(run, T0 + LEASE, LEASE)
    assert ledger.abandon_stale(T0 + LEASE + timedelta(minutes=1), lambda p, h: True) == []
    ledger.finish(run, RunEnd.from_result("ok"), T0 + LEASE * 2)
    with pytest.raises(LedgerError, match="not running"):
        ledger.extend_lease(run, T0 + LEASE * 2, LEASE)


# --- snapshot ---------------------------------------------------------------------------


def test_see_tasks_records_first_seen_once(ledger: Ledger) -> None:
    """first_seen is set the first time an id is seen and never moves."""
    assert ledger.see_tasks(["a", "b", "a"], T0) == ["a", "b"]
    assert ledger.see_tasks(["a", "c"], T0 + timedelta(hours=1)) == ["c"]
    snaps = ledger.snapshots()
    assert snaps["a"].first_seen == T0 and snaps["c"].first_seen == T0 + timedelta(hours=1)
    assert snaps["a"].state is None and snaps["a"].last_slot is None


def test_snapshot_tracks_last_slot_and_consecutive_failures(ledger: Ledger) -> None:
    """error/timeout add a failure, ok/partial/skipped reset, abandoned leaves both alone."""
    expected = [("error", 1), ("timeout", 2), ("abandoned", 2), ("partial", 0), ("error", 1)]
    for hour, (state, failures) in enumerate(expected):
        slot = SLOT + timedelta(hours=hour)
        run = ledger.claim("a", slot, "task", slot, LEASE, 1)
        assert run is not None
        ledger.finish(run, RunEnd.from_result(state), slot + timedelta(minutes=5))
        snap = ledger.snapshot("a")
        assert snap is not None
        assert (snap.state, snap.last_status, snap.consecutive_failures) == (state, state, failures)
        assert snap.last_run_id == run.id and snap.last_run_at == slot + timedelta(minutes=5)
        if state != "abandoned":
            assert snap.last_slot_at == slot
    snap = ledger.snapshot("a")
    assert snap is not None and snap.first_seen == SLOT


def test_snapshot_keeps_the_latest_claim_as_state(ledger: Ledger) -> None:
    """An older run finishing after a newer claim does not overwrite the current state."""
    first = ledger.claim("a", SLOT, "task", T0, LEASE, 1)
    second = ledger.claim("a", SLOT + timedelta(hours=1), "task", T0, LEASE, 1)
    assert first is not None and second is not None
    ledger.finish(first, RunEnd.from_result("ok"), T0 + timedelta(minutes=1))
    snap = ledger.snapshot("a")
    assert snap is not None and snap.state == "running" and snap.last_run_id == second.id
    assert snap.last_slot == slot_key(SLOT)


def test_naive_now_is_refused(ledger: Ledger) -> None:
    """Time must be aware: a naive `now` is a ValueError, not a silent local time."""
    with pytest.raises(ValueError, match="aware"):
        ledger.claim("a", SLOT, "task", datetime(2024, 1, 15), LEASE, 1)


# --- cycles, skips, listings -------------------------------------------------------------


def test_cycles_and_skip_counts(ledger: Ledger) -> None:
    """Cycles are recorded with their outcome; skips count per reason with the last time."""
    assert ledger.last_cycle() is None
    ledger.record_cycle(T0, T0 + timedelta(seconds=2), "idle")
    cid = ledger.record_cycle(T0 + LEASE, T0 + LEASE, "ran", "2 tasks")
    last = ledger.last_cycle()
    assert last is not None and (last.id, last.outcome, last.detail) == (cid, "ran", "2 tasks")
    with pytest.raises(ValueError):
        ledger.record_cycle(T0, T0, "bored")
    for i, reason in enumerate(["lock_held", "inactive_hours", "lock_held"]):
        ledger.record_skip(reason, T0 + timedelta(minutes=i))
    counts = ledger.skip_counts()
    assert {r: c.count for r, c in counts.items()} == {"inactive_hours": 1, "lock_held": 2}
    assert counts["lock_held"].last_at == T0 + timedelta(minutes=2)


def test_runs_newest_first_and_recent_errors(ledger: Ledger) -> None:
    """runs() lists newest first, filtered by task; recent_errors() lists failures."""
    for i, (task, state) in enumerate([("a", "ok"), ("b", "error"), ("a", "timeout")]):
        at = T0 + timedelta(hours=i)
        run = ledger.claim(task, at, "task", at, LEASE, 1)
        assert run is not None
        ledger.finish(run, RunEnd.from_result(state), at + timedelta(minutes=1))
    assert [(r.task_id, r.state) for r in ledger.runs()] == [
        ("a", "timeout"),
        ("b", "error"),
        ("a", "ok"),
    ]
    assert [r.state for r in ledger.runs("a", limit=1)] == ["timeout"]
    assert [r.state for r in ledger.recent_errors(5)] == ["timeout", "error"]


# --- localhb runs -----------------------------------------------------------------------


def run_cli(home: Path, *argv: str) -> int:
    """`localhb --home HOME ...` through the real entry point."""
    return main(["--home", str(home), *argv])


def test_runs_command_without_a_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No state.db: "no runs yet", exit 0, and no database is created."""
    assert run_cli(tmp_path, "runs") == 0
    assert capsys.readouterr().out.strip() == "no runs yet"
    assert not (tmp_path / "state.db").exists()
    assert run_cli(tmp_path, "runs", "--json") == 0
    assert json.loads(capsys.readouterr().out) == []


def test_runs_command_table_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The table shows newest first with local time, slot, state, duration and tokens."""
    (tmp_path / "config.toml").write_text('[heartbeat]\ntimezone = "Europe/Berlin"\n')
    with Ledger.open(tmp_path / "state.db") as led:
        run = led.claim("daily-summary", SLOT, "task", T0, LEASE, 1)
        assert run is not None
        result = {"summary": "wrote it\nall", "prompt_tokens": 1000, "completion_tokens": 234}
        led.finish(run, RunEnd.from_result("ok", result), T0 + timedelta(seconds=75))
        led.claim("backup", SLOT + timedelta(hours=1), "check", T0 + timedelta(hours=1), LEASE, 1)
    assert run_cli(tmp_path, "runs") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == [
        "STARTED",
        "TASK",
        "SLOT",
        "STATE",
        "STATUS",
        "TOOK",
        "TOKENS",
        "SUMMARY",
    ]
    assert "backup (check)" in lines[1] and "running" in lines[1]
    assert lines[2].startswith("2024-01-15 15:00  daily-summary")  # Berlin is UTC+1
    assert "1m15s" in lines[2] and "1234" in lines[2] and "wrote it all" in lines[2]
    assert run_cli(tmp_path, "runs", "--task", "daily-summary", "--json") == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["task_id"] for r in rows] == ["daily-summary"]
    assert rows[0]["started_at"] == "2024-01-15T14:00:00Z" and rows[0]["result"]["summary"]
    assert run_cli(tmp_path, "runs", "--task", "nope") == 0
    assert capsys.readouterr().out.strip() == "no runs of nope yet"


def test_runs_command_refuses_a_bad_limit(tmp_path: Path) -> None:
    """--limit must be a whole number of at least 1 (argparse usage error)."""
    with pytest.raises(SystemExit) as exc:
        run_cli(tmp_path, "runs", "--limit", "0")
    assert exc.value.code == 2


def test_refs_are_frozen() -> None:
    """RunRef is a frozen value."""
    ref = RunRef(1, "a", "s", "task", 1, T0)
    with pytest.raises(AttributeError):
        ref.id = 2  # type: ignore[misc]


def test_runs_command_with_a_broken_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An unusable state.db is a usage-level error (exit 2) naming the file."""
    (tmp_path / "state.db").write_bytes(b"not a database at all" * 50)
    assert run_cli(tmp_path, "runs") == 2
    assert "state.db" in capsys.readouterr().err
