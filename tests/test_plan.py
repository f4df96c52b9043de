"""plan() as a table: a file, the ledger's history and `now` in; ordered work and skips out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from localhb.core.results import Status
from localhb.format.edit import Edit, MoveToCompleted, RemoveField, SetChecked, SetField
from localhb.format.parser import parse
from localhb.timing.plan import History, Outcome, Policy, WorkKind, edits_for, plan

T0 = datetime(2024, 1, 15, 14, 5, tzinfo=UTC)
FILE = """## Pending
### Low Chore
- Priority: low
- Due: 2024-01-15 13:00
### Urgent Fix
- Priority: high
- Due: 2024-01-15 14:00
### Hourly Sync
- Recurring: every 1h
### Merge When Green
- Condition: CI is green
### Later Report
- Due: 2024-01-16 09:00
### Paused Backup
- Recurring: daily at 03:00
- Paused: broken disk
## Completed
"""
SEEN = T0 - timedelta(days=2)
ALL_SEEN = {
    tid: History(first_seen=SEEN)
    for tid in ("low-chore", "urgent-fix", "hourly-sync", "merge-when-green", "later-report")
}


@pytest.mark.parametrize(
    ("history", "now", "work", "skips"),
    [
        (
            ALL_SEEN,
            T0,
            [
                ("urgent-fix", WorkKind.TASK),
                ("hourly-sync", WorkKind.TASK),
                ("merge-when-green", WorkKind.CHECK),
                ("low-chore", WorkKind.TASK),
            ],
            ["paused"],
        ),
        (
            {
                **ALL_SEEN,
                "hourly-sync": History(SEEN, last_slot=datetime(2024, 1, 15, 14, 0, tzinfo=UTC)),
            },
            T0,
            [
                ("urgent-fix", WorkKind.TASK),
                ("merge-when-green", WorkKind.CHECK),
                ("low-chore", WorkKind.TASK),
            ],
            ["paused"],
        ),
        (
            ALL_SEEN,
            datetime(2024, 1, 16, 9, 1, tzinfo=UTC),
            [
                ("urgent-fix", WorkKind.TASK),
                ("hourly-sync", WorkKind.TASK),
                ("later-report", WorkKind.TASK),  # due 09:00, before the check's 09:01
                ("merge-when-green", WorkKind.CHECK),
                ("low-chore", WorkKind.TASK),  # low priority runs last, however overdue
            ],
            ["paused"],
        ),
    ],
    ids=["all-due-in-priority-order", "slot-already-run", "next-day"],
)
def test_plan(
    history: dict[str, History],
    now: datetime,
    work: list[tuple[str, WorkKind]],
    skips: list[str],
) -> None:
    """High priority first, then the earliest due; run slots and paused tasks drop out."""
    planned, skipped = plan(parse(FILE), now, UTC, Policy(), history)
    assert [(w.task.id, w.kind) for w in planned] == work
    assert [s.reason for s in skipped] == skips
    assert all(w.slot <= now for w in planned)


EDIT_FILE = """## Pending
- [ ] Write Report

### Hourly Sync
- Recurring: every 1h
- Last error: old failure
### Ship It
- Attempts: 2

## Completed
"""
STARTED = datetime(2024, 1, 15, 14, 5)
ENDED = datetime(2024, 1, 15, 14, 7)


def _kinds(edits: list[Edit]) -> list[tuple[str, str, str]]:
    """(edit type, key, value) per edit, so a table can name them."""
    out = []
    for e in edits:
        if isinstance(e, SetField):
            out.append(("set", e.key, e.value))
        elif isinstance(e, RemoveField):
            out.append(("remove", e.key, ""))
        elif isinstance(e, SetChecked):
            out.append(("checked", "", str(e.checked)))
        elif isinstance(e, MoveToCompleted):
            out.append(("move", "", ""))
    return out


@pytest.mark.parametrize(
    ("task_id", "outcome", "failures", "expected"),
    [
        (
            "hourly-sync",
            Outcome("hourly-sync", Status.OK, "synced"),
            0,
            [("set", "last run", "2024-01-15 14:05 (ok)"), ("remove", "last error", "")],
        ),
        (
            "hourly-sync",
            Outcome("hourly-sync", Status.ERROR, "boom"),
            1,
            [("set", "last run", "2024-01-15 14:05 (error)"), ("set", "last error", "boom")],
        ),
        (
            "hourly-sync",
            Outcome("hourly-sync", Status.ERROR, "boom"),
            3,
            [
                ("set", "last run", "2024-01-15 14:05 (error)"),
                ("set", "last error", "boom"),
                ("set", "paused", "3 failures in a row (last: boom); delete this line to resume"),
            ],
        ),
        (
            "hourly-sync",
            Outcome("hourly-sync", Status.SKIPPED, "not met", checked_only=True, detail="not met"),
            0,
            [("set", "last checked", "2024-01-15 14:05 (not met)")],
        ),
        (
            "write-report",
            Outcome("write-report", Status.OK, "written"),
            0,
            [
                ("checked", "", "True"),
                ("set", "completed", "2024-01-15 14:07"),
                ("set", "notes", "written"),
                ("move", "", ""),
            ],
        ),
        (
            "write-report",
            Outcome("write-report", Status.PARTIAL, "half"),
            0,
            [
                ("checked", "", "True"),
                ("set", "completed", "2024-01-15 14:07"),
                ("set", "notes", "half"),
                ("set", "status", "partial"),
                ("move", "", ""),
            ],
        ),
        (
            "write-report",
            Outcome("write-report", Status.ERROR, "nope"),
            1,
            [
                ("set", "attempts", "1"),
                ("set", "last error", "nope"),
                ("set", "last run", "2024-01-15 14:05 (error)"),
            ],
        ),
        (
            "ship-it",
            Outcome("ship-it", Status.ERROR, "nope"),
            1,
            [
                ("set", "attempts", "3"),
                ("set", "last error", "nope"),
                ("set", "last run", "2024-01-15 14:05 (error)"),
                ("set", "status", "error"),
                ("set", "completed", "2024-01-15 14:07"),
                ("set", "notes", "gave up after 3 attempts: nope"),
                ("move", "", ""),
            ],
        ),
    ],
    ids=[
        "recurring-ok-clears-error",
        "recurring-error",
        "recurring-third-error-pauses",
        "check-not-met",
        "one-time-ok",
        "one-time-partial",
        "one-time-first-error",
        "one-time-gives-up",
    ],
)
def test_edits_for(
    task_id: str, outcome: Outcome, failures: int, expected: list[tuple[str, str, str]]
) -> None:
    """Each outcome becomes the file edits that record it; failures pause, attempts give up."""
    task = next(t for t in parse(EDIT_FILE).pending() if t.id == task_id)
    edits = edits_for(
        task,
        outcome,
        started=STARTED,
        finished=ENDED,
        policy=Policy(),
        consecutive_failures=failures,
    )
    assert _kinds(edits) == expected


def test_outcome_takes_only_a_status() -> None:
    """A plain status word becomes the enum; a word that is no status is refused."""
    assert Outcome("x", "partial", "s").status is Status.PARTIAL  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Outcome("x", "done", "s")  # type: ignore[arg-type]
