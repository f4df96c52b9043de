"""The store, as the `run_history` tool and the `Check: new failures` gate see it.

Both are read-only. `history_reader` answers the tool with the bounded,
redacted report of `localhb.state.history`; `new_failures_for` counts the
failed runs of other tasks since a task's own last run, so the audit routine
calls the model only when there is something to look at.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any

from localhb.state.history import MAX_LIMIT, HistoryQuery, history_report, new_failures
from localhb.state.store import Store

SCAN = 1000  # runs read for the report or the gate, newest first


def history_reader(
    store: Store, clock: Callable[[], datetime], redact: Callable[[str], str]
) -> Callable[[Mapping[str, Any]], str]:
    """The `HistoryReader` for one run (`localhb.agent.tools.base`)."""

    def read(query: Mapping[str, Any]) -> str:
        tz: tzinfo = query["tz"]
        q = HistoryQuery(
            window=timedelta(hours=float(query.get("hours", 24))),
            limit=min(int(query.get("limit", 50)), MAX_LIMIT),
            task_id=query.get("task") or None,
            failures_only=bool(query.get("failures_only", False)),
        )
        cycle = store.last_cycle()
        extra: dict[str, Any] = {}
        failed = _failed_deliveries(store, clock() - q.bounded().window)
        if failed:
            extra["failed_deliveries"] = failed
        if cycle is not None:
            extra["last_cycle"] = {
                "at": cycle.completed_at.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
                "outcome": cycle.outcome,
                "detail": cycle.detail[:240],
            }
        return history_report(
            store.runs(None, limit=SCAN),
            now=clock(),
            tz=tz,
            query=q,
            skips=store.skip_counts(),
            snapshots=store.snapshots(),
            extra=extra,
            redact=redact,
        )

    return read


def _failed_deliveries(store: Store, since: datetime) -> list[dict[str, Any]]:
    """Notifications that could not be delivered since `since` (the delivery ledger
    shares the store's state.db; an in-memory store has none)."""
    path = getattr(store, "path", None)
    if not isinstance(path, Path) or not path.is_file():
        return []
    from localhb.state.deliveries import DeliveryLog

    with DeliveryLog.open(path) as log:
        rows = log.recent(200)
    return [
        {
            "target": d.target,
            "task": d.key,
            "attempts": d.attempts,
            "error": (d.error or "")[:240],
            "at": d.updated_at.isoformat(timespec="minutes"),
        }
        for d in rows
        if d.status == "failed" and d.updated_at >= since
    ][:20]


def new_failures_for(store: Store, task_id: str) -> Callable[[], int]:
    """Counts failures of other tasks since `task_id`'s last finished run (all, before
    one); the run now claimed for the gate itself is not finished, so it does not count."""

    def count() -> int:
        own = [r for r in store.runs(task_id, limit=50) if r.completed_at is not None]
        since = own[0].started_at if own else None
        return new_failures(store.runs(None, limit=SCAN), since, skip=task_id)

    return count
