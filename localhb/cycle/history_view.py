"""The store, as the `run_history` tool and the `Check: new failures` gate see it.

Both are read-only. `history_reader` answers the tool with the bounded,
redacted report of `localhb.state.history` (with the paused tasks of the
file, failed deliveries and the circuit breaker's state); `new_failures_for`
counts the failed runs of other tasks since a task's own last run, so the
audit routine calls the model only when there is something to look at.

The breaker's state is read from the runs, as a per-cycle breaker leaves it
(the setup failures that opened it, whether the latest model run was one)
with the `endpoint` skip counter of runs it kept back; when the store keeps
breakers across cycles (`Store.breakers()`, state.db `breakers`, one row per
open breaker), its open rows say whether it is open now.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any

from localhb.state.history import (
    MAX_LIMIT,
    HistoryQuery,
    clip,
    history_report,
    is_setup,
    new_failures,
    what_failed,
)
from localhb.state.ledger import RunRow
from localhb.state.store import Store

if TYPE_CHECKING:
    from localhb.config import Config

SCAN = 1000  # runs read for the report or the gate, newest first


LOOKED = frozenset({"ok", "partial", "skipped"})  # an audit run that saw the ledger
BREAKER_SKIP = "endpoint"  # localhb.cycle.breaker.SKIP_REASON


def history_reader(
    store: Store,
    clock: Callable[[], datetime],
    redact: Callable[[str], str],
    paused: Callable[[], Mapping[str, str]] | None = None,
) -> Callable[[Mapping[str, Any]], str]:
    """The `HistoryReader` for one run (`localhb.agent.tools.base`); `paused` reads the
    file's paused tasks (id -> the `Paused:` value) when the run can see the file."""

    def read(query: Mapping[str, Any]) -> str:
        tz: tzinfo = query["tz"]
        q = HistoryQuery(
            window=timedelta(hours=float(query.get("hours", 24))),
            limit=min(int(query.get("limit", 50)), MAX_LIMIT),
            task_id=query.get("task") or None,
            failures_only=bool(query.get("failures_only", False)),
        )
        now = clock()
        since = now - q.bounded().window
        rows = store.runs(None, limit=SCAN)
        cycle = store.last_cycle()
        extra: dict[str, Any] = {}
        held = dict(paused()) if paused is not None else {}
        if held:
            extra["paused"] = {k: clip(v, 120) or "paused" for k, v in sorted(held.items())}
        failed = _failed_deliveries(store, since)
        if failed:
            extra["failed_deliveries"] = failed
        extra["breaker"] = breaker_state(store, rows, since, tz)
        if cycle is not None:
            extra["last_cycle"] = {
                "at": cycle.completed_at.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
                "outcome": cycle.outcome,
                "detail": cycle.detail[:240],
            }
        return history_report(
            rows,
            now=now,
            tz=tz,
            query=q,
            skips=store.skip_counts(),
            snapshots=store.snapshots(),
            extra=extra,
            redact=redact,
        )

    return read


def paused_in_file(config: Config, path: Path | None = None) -> Callable[[], dict[str, str]]:
    """The file's paused pending tasks (id -> `Paused:` value), read when asked; a file
    that cannot be read or parsed has none to show."""

    def read() -> dict[str, str]:
        from localhb.core.errors import HeartbeatFileError
        from localhb.cycle.adding import read_document

        try:
            doc = read_document(config, path)
        except (HeartbeatFileError, OSError):
            return {}
        return {t.id: t.paused for t in doc.pending() if t.paused is not None}

    return read


def breaker_state(store: Store, rows: list[RunRow], since: datetime, tz: tzinfo) -> dict[str, Any]:
    """The circuit breaker as the audit sees it (see the module docstring)."""
    state = breaker_from_runs(rows, since, tz)
    persisted = _persisted_breakers(store)
    if persisted is not None:  # a breaker kept across cycles: its open rows are the truth
        state["kept"] = "across cycles"
        state["state"] = "open" if persisted else "closed"
        if persisted:
            state["open"] = persisted
    kept = store.skip_counts().get(BREAKER_SKIP)
    if kept is not None:
        state["runs_kept_back"] = {
            "count": kept.count,
            "last": kept.last_at.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
        }
    return state


def breaker_from_runs(rows: list[RunRow], since: datetime, tz: tzinfo) -> dict[str, Any]:
    """The per-cycle breaker, read from the runs (newest first): the setup failures that
    opened it in the window, and whether the latest run that met the model was one."""
    trips = [r for r in rows if r.started_at >= since and is_setup(r)]
    answered = [r for r in rows if not is_setup(r) and r.prompt_tokens > 0]
    latest = trips[0] if trips else None
    open_now = latest is not None and (not answered or answered[0].started_at < latest.started_at)
    state: dict[str, Any] = {
        "kept": "per cycle (each cycle tries the endpoint again)",
        "state": "open in the latest model run" if open_now else "closed",
        "setup_failures": len(trips),
    }
    if latest is not None:
        state["last_opened"] = {
            "at": latest.started_at.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
            "task": latest.task_id,
            "reason": clip(what_failed(latest), 200),
        }
    return state


def _persisted_breakers(store: Store) -> list[dict[str, Any]] | None:
    """The open breakers a store keeps across cycles (`breakers()`, state.db `breakers`:
    one row per open breaker), or None for a store that keeps none."""
    read = getattr(store, "breakers", None)
    if not callable(read):
        return None
    shown: list[dict[str, Any]] = []
    for row in list(read())[:20]:
        data = row.to_dict() if hasattr(row, "to_dict") else dict(row)
        data.pop("fingerprint", None)
        shown.append(
            {
                k: v if v is None or isinstance(v, int | float) else clip(str(v), 200)
                for k, v in data.items()
            }
        )
    return shown


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
    """Counts failures of other tasks since `task_id`'s last run that looked (finished
    ok, partial or skipped by this gate; all, before one). An audit that itself failed
    looked at nothing, so what failed before it still counts. The run now claimed for
    the gate is not finished, so it does not count."""

    def count() -> int:
        own = [
            r
            for r in store.runs(task_id, limit=50)
            if r.completed_at is not None and r.status in LOOKED
        ]
        since = own[0].started_at if own else None
        return new_failures(store.runs(None, limit=SCAN), since, skip=task_id)

    return count
