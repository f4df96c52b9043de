"""plan() as a table: a file, the ledger's history and `now` in; ordered work and skips out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from localhb.format.parser import parse
from localhb.timing.plan import History, Policy, WorkKind, plan

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
