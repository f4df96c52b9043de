"""The daemon: heartbeat cycles for weeks, on time, through suspend, clock jumps and crashes.

    main thread   holds daemon.lock; waits in chunks of at most CHUNK seconds
                  on a self-pipe that signals and the worker write to (never
                  time.sleep), re-reading the wall clock after each; starts a
                  cycle when the wake time has come; handles SIGTERM/SIGINT
                  (stop), SIGHUP (reload), zombie cleanup and daemon.json
    worker        one thread per cycle: `Runner.cycle(now)`, every exception
                  caught (panic recovery) and recorded as an error cycle

What to do at each look (reload, collect, start, sleep, ...) is decided by the
pure `localhb.timing.decide.decide` over a frozen `LoopState`; the `Daemon`
object only carries the action out. The wake time is
`localhb.timing.wake.next_wake`: the interval tick, the earliest future due
time of a pending task, the opening of the active-hours window.
A forward jump of the clock (suspend, NTP) is seen at the next chunk and the
cycle runs at once (the runner's catch-up policy handles missed slots); a
backward jump recomputes the wake. A crashed cycle is retried after 5 s,
doubling per crash in a row, never later than the interval.

On stop, the running cycle starts no further task and gets `[heartbeat]
shutdown_grace`; what still runs after it is recorded `abandoned` and the
caller must end the process at once (`Stopped.hard`): the task threads are
left behind, and the kernel frees the locks.
"""

from __future__ import annotations

import contextlib
import logging
import os
import selectors
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, Protocol

from localhb.core.clock import utc_now
from localhb.core.errors import LocalhbError
from localhb.cycle.workspace import Workspace
from localhb.daemon.state import (
    LOCK_FILE,
    PID_FILE,
    DaemonLock,
    DaemonState,
    find_daemon,
    process_start,
    read_pid,
    remove_pid,
    write_pid,
    write_state,
)
from localhb.state.store import PidAlive, existing_store, open_store, process_alive
from localhb.timing.decide import (
    BUSY_WAIT,
    Act,
    LoopState,
    after_cycle,
    clock_jump,
    decide,
    earlier,
)
from localhb.timing.wake import Upcoming, Wake, crash_backoff, next_wake

if TYPE_CHECKING:
    from localhb.config import Config
    from localhb.cycle.runner import CycleReport

log = logging.getLogger("localhb.daemon.loop")

CHUNK = 2.0
"""The longest the main thread waits before it looks at the wall clock again."""
CLEANUP_EVERY = timedelta(minutes=5)
"""Zombie cleanup while idle (each cycle does it too)."""
LOCK_WAIT = 2.0
"""How long a starting daemon tries for daemon.lock (a `status` probe may hold it briefly)."""


class CycleRunner(Protocol):
    """What the daemon needs of a runner: `localhb.cycle.runner.Runner` is one."""

    stopping: threading.Event

    def cycle(self, *, now: datetime | None = None, dry_run: bool = False) -> CycleReport: ...


RunnerFactory = Callable[["Config"], CycleRunner]
CycleDone = Callable[[str, str], None]
"""Told how a cycle an API wakeup asked for ended: (outcome, message)."""


@dataclass(frozen=True, slots=True)
class Stopped:
    """How `Daemon.run` ended. `outcome`: stopped | already-running | failed (could not
    take the lock or write the pid file; `message` says why).

    `hard`: task threads are still running; end the process now (`os._exit`).
    """

    outcome: str
    message: str = ""
    hard: bool = False


@dataclass(frozen=True, slots=True)
class _Result:
    kind: str  # report | file-error | crash
    report: CycleReport | None = None
    error: str = ""


class Wakeup:
    """An Event-like alarm that a signal handler may set: a non-blocking self-pipe.

    (`threading.Event.set` takes a lock and can deadlock inside a handler that
    interrupted the same thread in `Event.wait`; a pipe write cannot.)
    """

    def __init__(self) -> None:
        self._read, self._write = os.pipe()
        os.set_blocking(self._read, False)
        os.set_blocking(self._write, False)
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._read, selectors.EVENT_READ)
        self._closed = False

    @property
    def fileno(self) -> int:
        """The write end, for `signal.set_wakeup_fd`."""
        return self._write

    def set(self) -> None:
        if self._closed:
            return
        with contextlib.suppress(OSError):  # full (already set) or closed
            os.write(self._write, b"!")

    def wait(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds for `set()` or a signal; True when woken."""
        woken = bool(self._selector.select(max(0.0, timeout)))
        if woken:
            try:
                while os.read(self._read, 4096):
                    pass
            except BlockingIOError:
                pass
        return woken

    def close(self) -> None:
        self._closed = True
        self._selector.close()
        os.close(self._read)
        os.close(self._write)


class Daemon:
    """Runs heartbeat cycles until stopped. `run()` in the main thread handles signals.

    `clock` gives the aware wall time and `sleep(seconds)` waits while idle
    (default: on the wake-up pipe, so a signal ends it at once); tests pass a
    fake pair that moves time. `runner_factory(config)` makes each cycle's
    runner; `reload()` reads the configuration again on SIGHUP.
    """

    def __init__(
        self,
        config: Config,
        *,
        clock: Callable[[], datetime] = utc_now,
        sleep: Callable[[float], object] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        runner_factory: RunnerFactory | None = None,
        reload: Callable[[], Config] | None = None,
        pid: int | None = None,
        chunk: float = CHUNK,
        cleanup_every: timedelta = CLEANUP_EVERY,
        install_signals: bool = True,
        pid_alive: PidAlive = process_alive,
        on_event: Callable[[Any], None] | None = None,
        api_port: int | None = None,
    ) -> None:
        self.config = config
        self.clock = clock
        self.wakeup = Wakeup()
        self.sleep = sleep if sleep is not None else self.wakeup.wait
        self.monotonic = monotonic
        self.factory = runner_factory or _default_factory(clock)
        self.reload = reload or _default_reload(config)
        self.pid = os.getpid() if pid is None else pid
        self.chunk = chunk
        self.cleanup_every = cleanup_every
        self.install_signals = install_signals
        self.pid_alive = pid_alive
        self.on_event = on_event
        self.api_port = api_port
        self.api: Any = None  # localhb.api.server.APIServer while `[api] enabled`
        self.next: Wake | None = None
        self.cycles = 0
        self.crashes = 0
        self._stop = False
        self._force = False
        self._reload = False
        self._started = utc_now()
        self._last_cycle: datetime | None = None
        self._last_seen: datetime | None = None
        self._waited = 0.0
        self._planned = False
        self._last_cleanup: datetime | None = None
        self._retry: Wake | None = None
        self._file_error = False
        self._file_sig: tuple[int, int, int] | None = None
        self._read_error = ""
        self._last_outcome: str | None = None
        self._last_message = ""
        self._worker: threading.Thread | None = None
        self._runner: CycleRunner | None = None
        self._cycle_now: datetime | None = None
        self._result: _Result | None = None
        self._cycle_lock = threading.Lock()
        self._cycle_asked: list[CycleDone] = []  # API wakeups waiting for the next cycle
        self._cycle_serving: list[CycleDone] = []  # ... and those the running cycle serves

    # -- control (safe from signal handlers and other threads) ---------------------
    def request_stop(self, *, force: bool = False) -> None:
        """Stop: start no new work; a second request (or `force`) cuts the grace short."""
        if self._stop or force:
            self._force = True
        self._stop = True
        self.wakeup.set()

    def request_reload(self) -> None:
        """Read config.toml again at the next look (SIGHUP)."""
        self._reload = True
        self.wakeup.set()

    def request_cycle(self, done: CycleDone) -> None:
        """Start a cycle as soon as none runs (an API wakeup); `done(outcome, message)`
        is called when it ends, or with `stopped` when the daemon stops first."""
        with self._cycle_lock:
            self._cycle_asked.append(done)
        self.wakeup.set()

    @property
    def last_outcome(self) -> str | None:
        return self._last_outcome

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if signum == signal.SIGHUP:
            self.request_reload()
        else:
            self.request_stop()

    # -- the whole life --------------------------------------------------------------
    def run(self) -> Stopped:
        home = self.config.home
        try:
            lock = DaemonLock.acquire(home)
            if lock is None and find_daemon(home) is None:  # a probe, or a daemon starting
                lock = DaemonLock.acquire(home, wait=LOCK_WAIT)
        except OSError as exc:
            return Stopped("failed", f"{home / LOCK_FILE}: cannot take the lock: {exc.strerror}")
        if lock is None:
            other = find_daemon(home)
            who = f" (pid {other.pid})" if other else ""
            return Stopped("already-running", f"a daemon is already running for {home}{who}")
        stale = read_pid(home)
        try:
            write_pid(home, self.pid)
        except OSError as exc:
            lock.release()
            return Stopped("failed", f"{home / PID_FILE}: cannot write: {exc.strerror}")
        if self.config.api.enabled:
            failed = self._start_api()
            if failed is not None:
                remove_pid(home, self.pid)
                lock.release()
                return failed
        restore = self._install_signals()
        hard = False
        try:
            if stale is not None and stale != self.pid:
                log.info("replaced the stale pid file of process %s (not running)", stale)
            self._started = self.clock()
            self._write_state()
            hb = self.config.heartbeat
            log.info(
                "daemon started: pid %s, home %s, interval %s, file %s",
                self.pid,
                home,
                span(hb.interval),
                hb.file,
            )
            self._loop()
            hard = self._shutdown()
        finally:
            restore()
            self._stop_api()
            remove_pid(home, self.pid)
            self._write_state(stopped=True)
            lock.release()
            if not hard:
                self.wakeup.close()
        log.info("daemon stopped (pid %s)", self.pid)
        return Stopped("stopped", hard=hard)

    def _start_api(self) -> Stopped | None:
        """Serve the wake API (imported only now); a Stopped when it cannot listen."""
        api = self.config.api
        try:
            from localhb.daemon.api_host import start_api

            self.api = start_api(self, port=self.api_port)
        except (OSError, LocalhbError) as exc:
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            return Stopped("failed", f"[api] listen = {api.listen!r}: cannot listen: {why}")
        return None

    def _stop_api(self) -> None:
        if self.api is not None:
            self.api.close()
        with self._cycle_lock:
            waiting, self._cycle_asked = self._cycle_asked + self._cycle_serving, []
            self._cycle_serving = []
        for done in waiting:
            done("stopped", "the daemon stopped before the cycle ran")

    def _install_signals(self) -> Callable[[], None]:
        if not self.install_signals or threading.current_thread() is not threading.main_thread():
            return lambda: None
        sigs = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
        previous = {s: signal.signal(s, self._on_signal) for s in sigs}
        old_fd = signal.set_wakeup_fd(self.wakeup.fileno, warn_on_full_buffer=False)

        def restore() -> None:
            signal.set_wakeup_fd(old_fd)
            for s, handler in previous.items():
                signal.signal(s, handler)

        return restore

    # -- the loop --------------------------------------------------------------------
    def _loop(self) -> None:
        now = self.clock()
        self._last_seen = self._last_cleanup = now
        self.next = Wake(now, "start")
        failed, errors = "", 0
        while not self._stop:
            try:
                self._step()
            except Exception as exc:  # a bug here must not end the daemon: log, back off
                errors += 1
                text = "".join(traceback.format_exception(exc)).rstrip()
                if text != failed:
                    log.error("daemon loop error (going on):\n%s", text)
                failed = text
                wait = crash_backoff(errors, self.config.heartbeat.interval)
                self.next = Wake(self.clock() + wait, "retry after a daemon error")
                self._waited = self.chunk
                self.sleep(self.chunk)
            else:
                failed, errors = "", 0

    def _step(self) -> None:
        """One look at the world: `decide` what to do, and do it."""
        now = self.clock()
        if not self._reload:
            self._watch_clock(now)
        asked = self._cycle_asked and self._worker is None and self._planned
        if asked and (self._retry is None or self._retry.at > now):
            self._retry = Wake(now, "wakeup (API)")
            self._recompute(now, quiet=True)
        action = decide(self._loop_state(), now)
        kind = action.kind
        if kind is Act.RELOAD:
            self._reload = False
            self._do_reload()
        elif kind is Act.BUSY:  # the worker sets its result, then the wakeup, as it ends
            self._waited = action.seconds
            self.wakeup.wait(action.seconds)
        elif kind is Act.COLLECT:
            self._collect(self.clock())
        elif kind is Act.PLAN:
            self._planned = True
            self._recompute(now)
        elif kind is Act.START:
            self._start_cycle(now)
        else:
            if action.cleanup:
                self._cleanup(now)
            if kind is Act.CHANGED:
                # A cycle on an unchanged schedule costs nothing (no tokens), and an
                # edited file may hold a task that is due now: look at once.
                self._retry = Wake(now, "HEARTBEAT.md changed")
                self._recompute(now)
            else:
                self._waited = action.seconds
                self.sleep(action.seconds)

    def _loop_state(self) -> LoopState:
        busy = self._worker is not None
        idle = not busy and not self._reload and self._planned
        return LoopState(
            next=self.next,
            chunk=self.chunk,
            cleanup_every=self.cleanup_every,
            reload=self._reload,
            busy=busy,
            finished=busy and self._result is not None,
            planned=self._planned,
            last_cleanup=self._last_cleanup,
            file_changed=idle and self._file_changed(),
        )

    def _watch_clock(self, now: datetime) -> None:
        """Notice the wall clock moving other than by the time waited (at most `_waited`)."""
        jump = clock_jump(self._last_seen, self._waited, now)
        self._last_seen, self._waited = now, 0.0
        if jump is None:
            return
        if jump.back:
            log.warning("the clock went back by %s; recomputing the next wake", span(jump.by))
            self._retry = None
            if self._worker is None:
                self._recompute(now)
        else:
            log.info("the clock jumped forward by %s (suspend or clock change)", span(jump.by))

    def _start_cycle(self, now: datetime) -> None:
        assert self.next is not None
        log.debug("cycle at %s (%s)", now.isoformat(), self.next.reason)
        self._retry = None
        self._result = None
        self._cycle_now = now
        with self._cycle_lock:
            self._cycle_serving, self._cycle_asked = self._cycle_asked, []
        try:
            runner = self.factory(self.config)
        except Exception as exc:  # a factory that fails is a crashed cycle too
            self._result = self._crashed(now, exc)
            self._collect(now)
            return
        self._runner = runner
        self._worker = threading.Thread(
            target=self._job, args=(runner, now), name="localhb-cycle", daemon=True
        )
        self._worker.start()

    def _job(self, runner: CycleRunner, now: datetime) -> None:
        """The worker thread: one cycle, never raising."""
        try:
            self._result = _Result("report", runner.cycle(now=now))
        except LocalhbError as exc:  # a bad file, config or key: one line, no traceback
            log.error("cycle: %s", exc)
            self._result = _Result("file-error", error=str(exc))
        except Exception as exc:  # panic recovery: log, record, go on
            self._result = self._crashed(now, exc)
        finally:
            self.wakeup.set()

    def _crashed(self, now: datetime, exc: BaseException) -> _Result:
        summary = f"crashed: {type(exc).__name__}: {exc}"
        log.error("cycle %s\n%s", summary, "".join(traceback.format_exception(exc)).rstrip())
        try:
            with open_store(self.config) as store:
                store.record_cycle(now, max(now, self.clock()), "error", summary[:2000])
        except Exception as err:  # the ledger may be what failed
            log.error("could not record the crashed cycle in the ledger: %s", err)
        return _Result("crash", error=summary)

    def _collect(self, now: datetime) -> None:
        """A cycle has ended: note its outcome and plan the next wake."""
        result = self._result or _Result("crash", error="the cycle ended without a result")
        self._worker = self._runner = None
        self._last_cycle = self._cycle_now
        self.cycles += 1
        interval = self.config.heartbeat.interval
        self._file_error = result.kind == "file-error"
        report = result.report
        after = after_cycle(
            result.kind, report.outcome if report else None, self.crashes, interval, now
        )
        self.crashes = after.crashes
        if after.retry is not None:
            self._retry = after.retry
        if result.kind == "crash":
            self._last_outcome, self._last_message = "crashed", result.error
        elif result.kind == "file-error":
            self._last_outcome, self._last_message = "error", result.error
        else:
            assert report is not None
            self._last_outcome = report.outcome
            self._last_message = report.message or ", ".join(
                f"{r.task_id}: {r.status}" for r in report.results
            )
        with self._cycle_lock:
            served, self._cycle_serving = self._cycle_serving, []
        for done in served:
            done(self._last_outcome or "crashed", self._last_message)
        self._recompute(now, quiet=True)
        assert self.next is not None
        log.info(
            "cycle: %s%s; next wake %s (%s)",
            self._last_outcome,
            f" ({self._last_message})" if result.kind == "report" and self._last_message else "",
            self._local(self.next.at),
            self.next.reason,
        )

    def _recompute(self, now: datetime, *, quiet: bool = False) -> None:
        hb = self.config.heartbeat
        wake = next_wake(
            now,
            interval=hb.interval,
            last_cycle=self._last_cycle,
            tasks=self._upcoming(now),
            active_hours=hb.active_hours,
            tz=self.config.tz(),
        )
        wake = earlier(wake, self._retry)
        changed = wake != self.next
        self.next = wake
        if changed and not quiet:
            log.info("next wake %s (%s)", self._local(wake.at), wake.reason)
        self._write_state()

    def _local(self, at: datetime) -> str:
        return at.astimezone(self.config.tz()).strftime("%Y-%m-%d %H:%M:%S %Z")

    def _upcoming(self, now: datetime) -> list[Upcoming]:
        """The pending tasks' next due times, from the file and the ledger; [] on a problem."""
        cfg = self.config
        self._file_sig = _signature(cfg.heartbeat.file)
        try:
            with existing_store(cfg) as store:
                items = Workspace.load(cfg, store).upcoming(now)
        except LocalhbError as exc:
            if str(exc) != self._read_error:
                log.warning("cannot read the due times (waking on the interval): %s", exc)
            self._read_error = str(exc)
            return []
        self._read_error = ""
        return items

    def _file_changed(self) -> bool:
        return _signature(self.config.heartbeat.file) != self._file_sig

    def _cleanup(self, now: datetime) -> None:
        """Zombie cleanup while idle (`decide` says when)."""
        self._last_cleanup = now
        try:
            with existing_store(self.config) as store:
                for run in store.abandon_stale(now, self.pid_alive) if store else ():
                    log.warning(
                        "abandoned stale run %s of %s (slot %s)", run.id, run.task_id, run.slot
                    )
        except LocalhbError as exc:
            log.error("zombie cleanup: %s", exc)

    def _do_reload(self) -> None:
        try:
            config = self.reload()
        except LocalhbError as exc:
            log.error("config reload failed; keeping the old config: %s", exc)
            return
        except Exception as exc:
            log.error(
                "config reload failed; keeping the old config: %s: %s", type(exc).__name__, exc
            )
            return
        self.config = config
        log.info("config reloaded from %s", config.path or "built-in defaults")
        if not config.heartbeat.enabled:
            log.warning("[heartbeat] enabled = false in the reloaded config: stopping")
            self.request_stop()
            return
        if self._worker is None:
            self._recompute(self.clock())

    # -- stopping ----------------------------------------------------------------------
    def _shutdown(self) -> bool:
        """Let a running cycle finish within the grace; True when it had to be left behind."""
        worker, runner = self._worker, self._runner
        if worker is None or runner is None or self._result is not None:
            return False
        grace = self.config.heartbeat.shutdown_grace
        log.info("stopping: no new tasks; waiting up to %s for the running ones", span(grace))
        runner.stopping.set()
        deadline = self.monotonic() + grace.total_seconds()
        while self._result is None and not self._force:
            left = deadline - self.monotonic()
            if left <= 0:
                break
            self.wakeup.wait(min(BUSY_WAIT, left))
        if self._result is not None:
            self._collect(self.clock())
            return False
        reason = f"the daemon stopped before it finished (shutdown_grace {span(grace)})"
        shell = sys.modules.get("localhb.agent.tools.shell")
        if shell is not None:  # commands of unfinished tasks must not outlive the daemon
            killed = shell.kill_running()
            if killed:
                log.warning("killed %d command(s) of unfinished tasks", killed)
        try:
            with open_store(self.config) as store:
                for run in store.abandon_own(self.pid, self.clock(), reason):
                    log.warning("abandoned run %s of %s: %s", run.id, run.task_id, reason)
        except LocalhbError as exc:
            log.error("could not record the abandoned runs: %s", exc)
        return True

    # -- daemon.json ---------------------------------------------------------------------
    def _write_state(self, *, stopped: bool = False) -> None:
        nxt = self.next
        state = DaemonState(
            pid=self.pid,
            started_at=self._started,
            process_start=process_start(self.pid) if self.pid == os.getpid() else None,
            next_wake=nxt.at if nxt else None,
            next_wake_reason=nxt.reason if nxt else "",
            last_cycle_at=self._last_cycle,
            last_outcome=self._last_outcome,
            last_message=self._last_message[:500],
            cycles=self.cycles,
            crashes_in_a_row=self.crashes,
            config=str(self.config.path) if self.config.path else None,
        )
        if stopped:
            state = state.stopped(self.clock())
        try:
            write_state(self.config.home, state)
        except OSError as exc:
            log.error("cannot write %s: %s", self.config.home / "daemon.json", exc.strerror)


def _default_factory(clock: Callable[[], datetime]) -> RunnerFactory:
    def make(config: Config) -> CycleRunner:
        from localhb.cycle.runner import Runner

        return Runner(config, clock=clock)

    return make


def _default_reload(config: Config) -> Callable[[], Config]:
    def load() -> Config:
        from localhb.config import load_config

        return load_config(config.path, home=config.home)

    return load


def _signature(path: Path) -> tuple[int, int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def span(delta: timedelta) -> str:
    """A short human duration: 45s, 12m, 2h30m, 3d4h."""
    s = int(abs(delta.total_seconds()))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m" + (f"{s % 60}s" if s % 60 else "")
    if s < 86400:
        return f"{s // 3600}h" + (f"{s % 3600 // 60}m" if s % 3600 // 60 else "")
    return f"{s // 86400}d" + (f"{s % 86400 // 3600}h" if s % 86400 // 3600 else "")
