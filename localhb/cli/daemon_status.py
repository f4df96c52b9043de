"""`localhb daemon status`: whether the daemon runs, what it does now, what is due and
what went wrong lately (from `localhb.daemon.status.gather_status`), as text or JSON.

Exit code 0 whether running or not, 2 on a config error (the running state is
still printed first).
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime, timedelta, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING

from localhb.cli.common import EXIT_OK, load
from localhb.core.errors import ConfigError

if TYPE_CHECKING:
    from localhb.daemon.status import DaemonStatus

__all__ = ["DUE_HORIZON", "cmd_status", "status_lines"]

DUE_HORIZON = timedelta(hours=24)
"""`status` lists the tasks due within this horizon."""


def cmd_status(args: argparse.Namespace) -> int:
    from localhb.core.clock import utc_now
    from localhb.daemon.state import find_daemon
    from localhb.daemon.status import gather_status

    try:
        config = load(args)
    except ConfigError as exc:
        from localhb.core.home import home_dir

        home = Path(home_dir(args.home))
        running = find_daemon(home)
        if args.json:
            pid = running.pid if running else None
            print(json.dumps({"running": running is not None, "pid": pid, "error": str(exc)}))
        else:
            print(
                f"localhb daemon: running (pid {running.pid})"
                if running
                else "localhb daemon: not running"
            )
        raise
    status = gather_status(config, utc_now(), horizon=DUE_HORIZON)
    tz = config.tz()
    if args.json:
        print(json.dumps(status.to_dict(tz), ensure_ascii=False, indent=2))
    else:
        print("\n".join(status_lines(status, tz)))
    return EXIT_OK


def status_lines(st: DaemonStatus, tz: tzinfo) -> list[str]:
    from localhb.daemon.loop import span

    def when(dt: datetime | None, fmt: str = "%Y-%m-%d %H:%M:%S %Z") -> str:
        return "-" if dt is None else dt.astimezone(tz).strftime(fmt)

    run = st.running
    if run is not None:
        head = f"localhb daemon: running (pid {run.pid}"
        if run.state is not None and st.uptime is not None:
            head += f", up {span(st.uptime)}, since {when(run.state.started_at)}"
        lines = [head + ")"]
    else:
        head = "localhb daemon: not running"
        if st.stale_pid is not None:
            head += f" (stale pid file: process {st.stale_pid} is not a running localhb daemon)"
        elif st.state is not None and st.state.stopped_at is not None:
            head += f" (last stopped {when(st.state.stopped_at)})"
        lines = [head]
    if st.endpoint_down is not None:  # the problem first: a daemon that cannot do its work
        lines[0] += f" - FAILING: the endpoint cannot be used: {_clip(st.endpoint_down, 160)}"
    elif st.failing is not None:
        lines[0] += f" - FAILING: the last cycle failed: {_clip(st.failing, 160)}"
    lines.append(f"home:        {st.home}")
    if st.breaker is not None:
        b = st.breaker
        lines.append(
            f"endpoint:    DOWN - breaker open since {when(b.opened_at)} ({b.kind}, "
            f"{b.failures} failed cycle(s)); agent tasks wait until {when(b.retry_at)}: "
            f"{_clip(st.endpoint_down or b.reason, 160)}"
        )
    for r in st.running_now:
        took = span(max(timedelta(0), st.now - r.started_at))
        what = "check" if r.kind == "check" else "task"
        lines.append(
            f"running now: {r.task_id} ({what}, run {r.id}, for {took}, "
            f"since {when(r.started_at, '%H:%M:%S')})"
        )
    if run is not None and run.state is not None and run.state.next_wake is not None:
        wake, reason = run.state.next_wake, run.state.next_wake_reason
        if wake <= st.now:
            lines.append(f"next wake:   now ({reason}: a cycle is running or starting)")
        else:
            lines.append(f"next wake:   {when(wake)} ({reason})")
    else:
        lines.append("next wake:   - (no daemon running)")
    cycle = st.last_cycle
    own = st.state  # the daemon's own record also knows cycles that failed before the ledger
    if (
        own is not None
        and own.last_cycle_at is not None
        and (cycle is None or own.last_cycle_at > cycle.started_at)
    ):
        detail = f" ({own.last_message})" if own.last_message else ""
        lines.append(f"last cycle:  {when(own.last_cycle_at)}, {own.last_outcome}{detail}")
    elif cycle is None:
        lines.append("last cycle:  - (none recorded)")
    else:
        detail = f" ({cycle.detail})" if cycle.detail else ""
        lines.append(f"last cycle:  {when(cycle.started_at)}, {cycle.outcome}{detail}")
    if st.due:
        lines.append(f"due in the next 24 h ({len(st.due)}):")
        rows = [
            ("now" if u.due_now else when(u.at, "%Y-%m-%d %H:%M"), u.task_id, u.title)
            for u in st.due
        ]
        width = [max(len(r[i]) for r in rows) for i in range(2)]
        lines += [f"  {a.ljust(width[0])}  {b.ljust(width[1])}  {c}" for a, b, c in rows]
    else:
        lines.append("due in the next 24 h: none")
    errors: list[tuple[datetime, str]] = []
    for r in st.errors:
        summary = (r.summary or r.error or "").replace("\n", " ")
        summary = summary.removeprefix(f"{r.state}: ")  # "abandoned: abandoned: ..."
        at = r.completed_at or r.started_at
        errors.append(
            (at, f"  {when(at, '%Y-%m-%d %H:%M')}  {r.task_id}  {r.state}: {_clip(summary, 100)}")
        )
    for c in st.cycle_errors:  # a cycle that ran nothing: no key, a file with errors
        detail = _clip(c.detail.replace("\n", " ") or "error", 100)
        errors.append(
            (c.started_at, f"  {when(c.started_at, '%Y-%m-%d %H:%M')}  (cycle)  error: {detail}")
        )
    if errors:
        lines.append("recent errors:")
        errors.sort(key=lambda e: e[0], reverse=True)
        lines += [text for _, text in errors[:5]]
    else:
        lines.append("recent errors: none")
    lines += [f"problem:     {p}" for p in st.problems]
    return lines


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
