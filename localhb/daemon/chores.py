"""What the daemon's loop carries out besides starting cycles, as functions of the `Daemon`.

    collect        a cycle has ended: note its outcome, tell API wakeups, plan the wake
    crashed        record a crashed cycle (panic recovery)
    upcoming       the pending tasks' next due times, for the wake
    watch_clock    notice the wall clock jumping (suspend, NTP, a clock set back)
    cleanup        zombie cleanup while idle
    do_reload      SIGHUP: read config.toml again, keep the old one on an error
    start_api      serve the wake API (imported only when `[api] enabled`)
    stop_api       stop it; cycle wakeups still waiting hear `stopped`
    shutdown       let a running cycle finish within the grace, else abandon its runs
    write_daemon_state   daemon.json

`localhb.daemon.loop.Daemon` holds the state; these read and change it.
"""

from __future__ import annotations

import logging
import os
import sys
import traceback
from datetime import datetime
from typing import TYPE_CHECKING

from localhb.core.errors import LocalhbError
from localhb.cycle.workspace import Workspace
from localhb.daemon.parts import CycleResult, Stopped
from localhb.daemon.pipe import signature, span
from localhb.daemon.state import DaemonState, process_start, write_state
from localhb.state.store import existing_store, open_store
from localhb.timing.decide import BUSY_WAIT, after_cycle, clock_jump
from localhb.timing.wake import Upcoming

if TYPE_CHECKING:
    from localhb.daemon.loop import Daemon

__all__ = [
    "cleanup",
    "collect",
    "crashed",
    "do_reload",
    "shutdown",
    "start_api",
    "stop_api",
    "upcoming",
    "watch_clock",
    "write_daemon_state",
]

log = logging.getLogger("localhb.daemon.loop")


def crashed(d: Daemon, now: datetime, exc: BaseException) -> CycleResult:
    summary = f"crashed: {type(exc).__name__}: {exc}"
    log.error("cycle %s\n%s", summary, "".join(traceback.format_exception(exc)).rstrip())
    try:
        with open_store(d.config) as store:
            store.record_cycle(now, max(now, d.clock()), "error", summary[:2000])
    except Exception as err:  # the ledger may be what failed
        log.error("could not record the crashed cycle in the ledger: %s", err)
    return CycleResult("crash", error=summary)


def upcoming(d: Daemon, now: datetime) -> list[Upcoming]:
    """The pending tasks' next due times, from the file and the ledger; [] on a problem."""
    cfg = d.config
    d._file_sig = signature(cfg.heartbeat.file)
    try:
        with existing_store(cfg) as store:
            items = Workspace.load(cfg, store).upcoming(now)
    except LocalhbError as exc:
        if str(exc) != d._read_error:
            log.warning("cannot read the due times (waking on the interval): %s", exc)
        d._read_error = str(exc)
        return []
    d._read_error = ""
    return items


def cleanup(d: Daemon, now: datetime) -> None:
    """Zombie cleanup while idle (`decide` says when)."""
    d._last_cleanup = now
    try:
        with existing_store(d.config) as store:
            for run in store.abandon_stale(now, d.pid_alive) if store else ():
                log.warning("abandoned stale run %s of %s (slot %s)", run.id, run.task_id, run.slot)
    except LocalhbError as exc:
        log.error("zombie cleanup: %s", exc)


def do_reload(d: Daemon) -> None:
    try:
        config = d.reload()
    except LocalhbError as exc:
        log.error("config reload failed; keeping the old config: %s", exc)
        return
    except Exception as exc:
        log.error("config reload failed; keeping the old config: %s: %s", type(exc).__name__, exc)
        return
    d.config = config
    log.info("config reloaded from %s", config.path or "built-in defaults")
    if not config.heartbeat.enabled:
        log.warning("[heartbeat] enabled = false in the reloaded config: stopping")
        d.request_stop()
        return
    if d._worker is None:
        d._recompute(d.clock())


def start_api(d: Daemon) -> Stopped | None:
    """Serve the wake API (imported only now); a Stopped when it cannot listen."""
    api = d.config.api
    try:
        from localhb.daemon.api_host import start_api as serve

        d.api = serve(d, port=d.api_port)
    except (OSError, LocalhbError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return Stopped("failed", f"[api] listen = {api.listen!r}: cannot listen: {why}")
    return None


def stop_api(d: Daemon) -> None:
    if d.api is not None:
        d.api.close()
    with d._cycle_lock:
        waiting, d._cycle_asked = d._cycle_asked + d._cycle_serving, []
        d._cycle_serving = []
    for done in waiting:
        done("stopped", "the daemon stopped before the cycle ran")


def shutdown(d: Daemon) -> bool:
    """Let a running cycle finish within the grace; True when it had to be left behind."""
    worker, runner = d._worker, d._runner
    if worker is None or runner is None or d._result is not None:
        return False
    grace = d.config.heartbeat.shutdown_grace
    log.info("stopping: no new tasks; waiting up to %s for the running ones", span(grace))
    runner.stopping.set()
    deadline = d.monotonic() + grace.total_seconds()
    while d._result is None and not d._force:
        left = deadline - d.monotonic()
        if left <= 0:
            break
        d.wakeup.wait(min(BUSY_WAIT, left))
    if d._result is not None:
        collect(d, d.clock())
        return False
    reason = f"the daemon stopped before it finished (shutdown_grace {span(grace)})"
    shell = sys.modules.get("localhb.agent.tools.shell")
    if shell is not None:  # commands of unfinished tasks must not outlive the daemon
        killed = shell.kill_running()
        if killed:
            log.warning("killed %d command(s) of unfinished tasks", killed)
    try:
        with open_store(d.config) as store:
            for run in store.abandon_own(d.pid, d.clock(), reason):
                log.warning("abandoned run %s of %s: %s", run.id, run.task_id, reason)
    except LocalhbError as exc:
        log.error("could not record the abandoned runs: %s", exc)
    return True


def write_daemon_state(d: Daemon, *, stopped: bool = False) -> None:
    nxt = d.next
    state = DaemonState(
        pid=d.pid,
        started_at=d._started,
        process_start=process_start(d.pid) if d.pid == os.getpid() else None,
        next_wake=nxt.at if nxt else None,
        next_wake_reason=nxt.reason if nxt else "",
        last_cycle_at=d._last_cycle,
        last_outcome=d._last_outcome,
        last_message=d._last_message[:500],
        cycles=d.cycles,
        crashes_in_a_row=d.crashes,
        config=str(d.config.path) if d.config.path else None,
    )
    if stopped:
        state = state.stopped(d.clock())
    try:
        write_state(d.config.home, state)
    except OSError as exc:
        log.error("cannot write %s: %s", d.config.home / "daemon.json", exc.strerror)


def collect(d: Daemon, now: datetime) -> None:
    """A cycle has ended: note its outcome and plan the next wake."""
    result = d._result or CycleResult("crash", error="the cycle ended without a result")
    d._worker = d._runner = None
    d._last_cycle = d._cycle_now
    d.cycles += 1
    interval = d.config.heartbeat.interval
    d._file_error = result.kind == "file-error"
    report = result.report
    after = after_cycle(result.kind, report.outcome if report else None, d.crashes, interval, now)
    d.crashes = after.crashes
    if after.retry is not None:
        d._retry = after.retry
    if result.kind == "crash":
        d._last_outcome, d._last_message = "crashed", result.error
    elif result.kind == "file-error":
        d._last_outcome, d._last_message = "error", result.error
    else:
        assert report is not None
        d._last_outcome = report.outcome
        d._last_message = report.message or ", ".join(
            f"{r.task_id}: {r.status}" for r in report.results
        )
    with d._cycle_lock:
        served, d._cycle_serving = d._cycle_serving, []
    for done in served:
        done(d._last_outcome or "crashed", d._last_message)
    d._recompute(now, quiet=True)
    assert d.next is not None
    log.info(
        "cycle: %s%s; next wake %s (%s)",
        d._last_outcome,
        f" ({d._last_message})" if result.kind == "report" and d._last_message else "",
        d._local(d.next.at),
        d.next.reason,
    )


def watch_clock(d: Daemon, now: datetime) -> None:
    """Notice the wall clock moving other than by the time waited (at most `_waited`)."""
    jump = clock_jump(d._last_seen, d._waited, now)
    d._last_seen, d._waited = now, 0.0
    if jump is None:
        return
    if jump.back:
        log.warning("the clock went back by %s; recomputing the next wake", span(jump.by))
        d._retry = None
        if d._worker is None:
            d._recompute(now)
    else:
        log.info("the clock jumped forward by %s (suspend or clock change)", span(jump.by))
