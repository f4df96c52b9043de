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

import logging
import os
import signal
import threading
import time
import traceback
from collections.abc import Callable
from datetime import datetime, timedelta
from types import FrameType
from typing import TYPE_CHECKING, Any

from localhb.core.clock import utc_now
from localhb.core.errors import LocalhbError
from localhb.daemon import chores
from localhb.daemon.parts import (
    CycleDone,
    CycleResult,
    CycleRunner,
    RunnerFactory,
    Stopped,
    default_factory,
    default_reload,
)
from localhb.daemon.pipe import Wakeup, signature, span
from localhb.daemon.state import (
    LOCK_FILE,
    PID_FILE,
    DaemonLock,
    find_daemon,
    read_pid,
    remove_pid,
    write_pid,
)
from localhb.state.store import PidAlive, process_alive
from localhb.timing.decide import (
    Act,
    LoopState,
    decide,
    earlier,
)
from localhb.timing.wake import Wake, crash_backoff, next_wake

if TYPE_CHECKING:
    from localhb.config import Config

__all__ = [
    "CHUNK",
    "CLEANUP_EVERY",
    "LOCK_WAIT",
    "CycleDone",
    "CycleRunner",
    "Daemon",
    "RunnerFactory",
    "Stopped",
    "Wakeup",
    "span",
]

log = logging.getLogger("localhb.daemon.loop")

CHUNK = 2.0
"""The longest the main thread waits before it looks at the wall clock again."""
CLEANUP_EVERY = timedelta(minutes=5)
"""Zombie cleanup while idle (each cycle does it too)."""
LOCK_WAIT = 2.0
"""How long a starting daemon tries for daemon.lock (a `status` probe may hold it briefly)."""


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
        self.factory = runner_factory or default_factory(clock)
        self.reload = reload or default_reload(config)
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
        self._result: CycleResult | None = None
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
            failed = chores.start_api(self)
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
            chores.write_daemon_state(self)
            hb = self.config.heartbeat
            log.info(
                "daemon started: pid %s, home %s, interval %s, file %s",
                self.pid,
                home,
                span(hb.interval),
                hb.file,
            )
            self._loop()
            hard = chores.shutdown(self)
        finally:
            restore()
            chores.stop_api(self)
            remove_pid(home, self.pid)
            chores.write_daemon_state(self, stopped=True)
            lock.release()
            if not hard:
                self.wakeup.close()
        log.info("daemon stopped (pid %s)", self.pid)
        return Stopped("stopped", hard=hard)

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
            chores.watch_clock(self, now)
        asked = self._cycle_asked and self._worker is None and self._planned
        if asked and (self._retry is None or self._retry.at > now):
            self._retry = Wake(now, "wakeup (API)")
            self._recompute(now, quiet=True)
        action = decide(self._loop_state(), now)
        kind = action.kind
        if kind is Act.RELOAD:
            self._reload = False
            chores.do_reload(self)
        elif kind is Act.BUSY:  # the worker sets its result, then the wakeup, as it ends
            self._waited = action.seconds
            self.wakeup.wait(action.seconds)
        elif kind is Act.COLLECT:
            chores.collect(self, self.clock())
        elif kind is Act.PLAN:
            self._planned = True
            self._recompute(now)
        elif kind is Act.START:
            self._start_cycle(now)
        else:
            if action.cleanup:
                chores.cleanup(self, now)
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
            self._result = chores.crashed(self, now, exc)
            chores.collect(self, now)
            return
        self._runner = runner
        self._worker = threading.Thread(
            target=self._job, args=(runner, now), name="localhb-cycle", daemon=True
        )
        self._worker.start()

    def _job(self, runner: CycleRunner, now: datetime) -> None:
        """The worker thread: one cycle, never raising."""
        try:
            self._result = CycleResult("report", runner.cycle(now=now))
        except LocalhbError as exc:  # a bad file, config or key: one line, no traceback
            log.error("cycle: %s", exc)
            self._result = CycleResult("file-error", error=str(exc))
        except Exception as exc:  # panic recovery: log, record, go on
            self._result = chores.crashed(self, now, exc)
        finally:
            self.wakeup.set()

    def _recompute(self, now: datetime, *, quiet: bool = False) -> None:
        hb = self.config.heartbeat
        wake = next_wake(
            now,
            interval=hb.interval,
            last_cycle=self._last_cycle,
            tasks=chores.upcoming(self, now),
            active_hours=hb.active_hours,
            tz=self.config.tz(),
        )
        wake = earlier(wake, self._retry)
        changed = wake != self.next
        self.next = wake
        if changed and not quiet:
            log.info("next wake %s (%s)", self._local(wake.at), wake.reason)
        chores.write_daemon_state(self)

    def _local(self, at: datetime) -> str:
        return at.astimezone(self.config.tz()).strftime("%Y-%m-%d %H:%M:%S %Z")

    def _file_changed(self) -> bool:
        return signature(self.config.heartbeat.file) != self._file_sig

    # -- stopping ----------------------------------------------------------------------
    # -- daemon.json ---------------------------------------------------------------------
