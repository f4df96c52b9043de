"""One heartbeat cycle: gate, lock, read, evaluate, execute, update the file, record.

    active hours? ── no ──> skip (recorded), exit 0
    cycle lock?   ── held ─> skip (recorded), exit 0
    read + parse  ── errors ─> HeartbeatFileError (nothing run, file untouched)
    zombie cleanup, then plan() from the file and the ledger
    nothing due   ──> HEARTBEAT_OK (no network, file byte-identical)
    execute       ──> agent per task (max_concurrent at once), ledger + health per run
    write         ──> re-read; re-apply edits by identity onto any hand edit; atomic

The agent module (and with it `openai`/`httpx`) is imported only when work
is due. Every exception inside a task is caught and recorded as that task's
error (panic recovery); the cycle goes on.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from localhb.core.atomic import Hook
from localhb.core.clock import Clock, utc_now
from localhb.core.errors import ConfigError, HeartbeatFileError, SetupError
from localhb.cycle.breaker import Breaker
from localhb.cycle.budget import Budget, BudgetEvent, BudgetObserver, log_budget
from localhb.cycle.events import CycleFinished, CycleReport, Observer, TaskLine, emit
from localhb.cycle.execute import Finished, LLMAgent, Options, execute
from localhb.cycle.observers import default_observers
from localhb.cycle.workspace import Workspace
from localhb.cycle.writeback import write_outcomes
from localhb.state import idle
from localhb.state.breakers import fingerprint
from localhb.state.store import PidAlive, Store, existing_store, open_store, process_alive
from localhb.timing.plan import Work, WorkKind
from localhb.timing.schedule import is_active, next_active, window_end

if TYPE_CHECKING:
    from localhb.config import Config
    from localhb.core.results import TraceSink

__all__ = [
    "BudgetEvent",
    "BudgetObserver",
    "CycleReport",
    "Runner",
    "TaskLine",
    "log_budget",
    "utc_now",
]

log = logging.getLogger("localhb")


@dataclass
class Runner:
    """Runs heartbeat cycles for one configuration.

    `clock` gives the current aware time; `env` is the environment the agent
    sees (API keys); `on_event` receives live trace events from the agent;
    `observers` receive the lifecycle events (default: health files and the
    memory log); `store` opens the cycle's store (default: the config's
    ledger); `pid_alive` tells zombie cleanup whether a run's process lives;
    `write_hook` is called at each step of writing HEARTBEAT.md (tests).
    Setting `stopping` makes a running cycle start no further work: what is
    running finishes and is recorded, what has not started stays due.
    """

    config: Config
    clock: Callable[[], datetime] = utc_now
    monotonic: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    env: Mapping[str, str] | None = None
    on_event: TraceSink | None = None
    pid: int = field(default_factory=os.getpid)
    stopping: threading.Event = field(default_factory=threading.Event)
    observers: Sequence[Observer] | None = None
    store: Callable[[Config], Store] = open_store
    pid_alive: PidAlive = process_alive
    on_budget: BudgetObserver = log_budget
    write_hook: Hook | None = None  # a test seam: each step of writing HEARTBEAT.md
    _current: Sequence[Observer] | None = field(default=None, init=False, repr=False)

    # -- the cycle ---------------------------------------------------------------
    def cycle(self, *, now: datetime | None = None, dry_run: bool = False) -> CycleReport:
        cfg = self.config
        hb = cfg.heartbeat
        tz = cfg.tz()
        now = now or self.clock()
        if dry_run:
            return self._gated(now, tz, None)
        self._current = None
        observers = self._current = self._observers(tz)  # one set per cycle, runs included
        with self.store(cfg) as store:
            try:
                report = self._gated(now, tz, store)
            except HeartbeatFileError as exc:
                if exc.diagnostics:  # read, but with errors (an unreadable file is not a cycle)
                    detail = f"{len(exc.diagnostics)} error(s) in {hb.file}"
                    store.record_cycle(now, self.clock(), "error", detail)
                self._current = None
                emit(observers, CycleFinished(now, self.clock(), CycleReport("error", str(exc))))
                raise
            except (SetupError, ConfigError) as exc:  # no key, a bad prompt file: nothing ran
                store.record_cycle(now, self.clock(), "error", f"setup: {exc}")
                log.error("cycle: setup error: %s", exc)
                self._current = None
                emit(observers, CycleFinished(now, self.clock(), CycleReport("error", str(exc))))
                raise
        self._current = None
        emit(observers, CycleFinished(now, self.clock(), report))
        return report

    def _gated(self, now: datetime, tz: Any, store: Store | None) -> CycleReport:
        """The active-hours gate and the cycle lock; `store` None: a dry run."""
        cfg = self.config
        hb = cfg.heartbeat
        if not is_active(now, hb.active_hours, tz):
            opens = next_active(now, hb.active_hours, tz)
            assert hb.active_hours is not None
            window = f"{_hm(hb.active_hours.start)}-{_hm(hb.active_hours.end)}"
            message = (
                f"outside active hours ({window} {getattr(tz, 'key', tz)}); "
                f"next window opens {opens.astimezone(tz):%Y-%m-%d %H:%M}"
            )
            if store is not None:
                _record_skip(store, "inactive_hours", now, message)
            return CycleReport("inactive", message, next_wake=opens)

        from filelock import FileLock, Timeout

        cfg.home.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(cfg.home / "heartbeat.lock"))
        try:
            lock.acquire(timeout=0)
        except Timeout:
            message = "another heartbeat cycle is running; skipped"
            if store is not None:
                _record_skip(store, "lock_held", now, message)
            return CycleReport("locked", message)
        try:
            if store is None:
                return self._dry_run(now, tz)
            return self._locked_cycle(now, tz, store)
        finally:
            lock.release()

    def _dry_run(self, now: datetime, tz: Any) -> CycleReport:
        with existing_store(self.config) as store:
            ws = Workspace.load(self.config, store, tz=tz)
        _refuse_errors(ws)
        work, _ = ws.plan(now)
        planned = tuple(_describe(w, tz) for w in work)
        return CycleReport("dry-run" if work else "idle", planned=planned)

    def _locked_cycle(self, now: datetime, tz: Any, store: Store) -> CycleReport:
        cfg = self.config
        ws = Workspace.load(cfg, None, tz=tz)
        _refuse_errors(ws)
        for run in store.abandon_stale(now, self.pid_alive):
            log.warning("abandoned stale run %s of %s (slot %s)", run.id, run.task_id, run.slot)
        pending_ids = {t.id for t in ws.doc.pending()}
        store.see_tasks(sorted(pending_ids), now)
        store.retire([tid for tid in store.snapshots() if tid not in pending_ids])
        ws = ws.with_history(store)
        work, skips = ws.plan(now)
        for s in skips:
            store.record_skip(s.reason, now)
        if not work:
            store.record_cycle(now, now, "idle", "")
            self._remember_idle(ws, now)
            return CycleReport("idle")
        idle.forget(str(cfg.home))
        budget = Budget(cfg, self.clock, self.on_budget, self._observers(tz))
        breaker = Breaker.load(store, self.clock, fingerprint(cfg.llm), now)
        finished = self._execute(work, store, tz, budget, breaker)
        warnings, moved = self._write(ws, finished)
        held = breaker.settle(store, self.clock())
        down = breaker.warning()
        if down is not None:
            warnings.insert(0, down)
        lines = (
            tuple(
                TaskLine(
                    f.work.task.id,
                    f.outcome.status,
                    f.outcome.summary,
                    "check" if f.outcome.checked_only else "task",
                )
                for f in finished
            )
            + tuple(budget.lines)
            + tuple(breaker.lines)
        )
        store.retire(moved)  # finished: the same title written again is a new task
        detail = ", ".join(f"{x.task_id}: {x.status}" for x in lines)
        if down is not None:  # a setup error, not a task's failure: the cycle failed
            store.record_cycle(now, self.clock(), "error", f"setup: {down}; {detail}"[:2000])
        else:
            store.record_cycle(now, self.clock(), "ran", detail)
        for w in warnings:
            log.warning("%s", w)
        return CycleReport(
            "ran",
            results=lines,
            warnings=tuple(warnings),
            endpoint_down=down,
            breaker=held,
            breaker_change=breaker.change,
        )

    def _remember_idle(self, ws: Workspace, now: datetime) -> None:
        """Let the next idle cycle answer from `idle.cache` (see localhb.state.idle)."""
        from localhb import __version__

        cfg = self.config
        idle.write(
            str(cfg.home),
            version=__version__,
            config=os.path.abspath(cfg.path) if cfg.path else None,
            config_bytes=cfg.source_bytes or b"",
            file=os.path.abspath(ws.file),
            file_bytes=ws.snapshot.text.encode("utf-8"),
            zone=getattr(ws.tz, "key", None),
            system_zone_used=cfg.heartbeat.timezone is None,
            written_at=now,
            due_at=ws.earliest_due(now),
            active_until=window_end(now, cfg.heartbeat.active_hours, ws.tz),
        )

    def _observers(self, tz: Any) -> Sequence[Observer]:
        if self._current is not None:
            return self._current
        if self.observers is None:
            return default_observers(self.config, tz, self.clock)
        return self.observers

    # -- execution ---------------------------------------------------------------
    def _execute(
        self, work: list[Work], store: Store, tz: Any, budget: Budget, breaker: Breaker
    ) -> list[Finished]:
        """Run the work, one thread per task (slots of one task in order)."""
        # Work that needs no model (`Run:` tasks, `Check:` gates) needs no key and
        # no client: it sends no request.
        agent = LLMAgent.connect(
            self.config,
            clock=Clock(now=self.clock, monotonic=self.monotonic, sleep=self.sleep),
            env=self.env,
            on_event=self.on_event,
            model=any(w.task.uses_model for w in work),
            scheduling=True,
        )
        options = Options.of(self.config, self.clock, pid=self.pid, budget=budget, breaker=breaker)
        observers = self._observers(tz)
        groups: dict[str, list[Work]] = {}
        for w in work:
            groups.setdefault(w.task.id, []).append(w)
        results: list[Finished] = []
        lock = threading.Lock()

        def job(items: list[Work]) -> None:
            for w in items:
                if self.stopping.is_set():
                    return
                try:
                    done = execute(w, store, agent, observers, options)
                except Exception:  # the ledger or the disk failed: log, keep the others
                    log.exception("%s: could not run or record slot %s", w.task.id, w.slot)
                    continue
                if done is not None:
                    with lock:
                        results.append(done)

        try:
            workers = max(1, min(self.config.heartbeat.max_concurrent, len(groups)))
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="task") as pool:
                for f in [pool.submit(job, items) for items in groups.values()]:
                    f.result()
        finally:
            agent.close()
        order = {id(w): i for i, w in enumerate(work)}
        return sorted(results, key=lambda f: order.get(id(f.work), 0))

    # -- writing the file ----------------------------------------------------------
    def _write(self, ws: Workspace, finished: list[Finished]) -> tuple[list[str], list[str]]:
        """Apply every outcome's edits to the file as it is now (`write_outcomes`)."""
        return write_outcomes(ws, finished, hook=self.write_hook)


def _refuse_errors(ws: Workspace) -> None:
    if ws.doc.errors:
        raise HeartbeatFileError(
            "has errors, so nothing was run and the file was not changed "
            "(`localhb validate` shows them)",
            path=ws.file,
            diagnostics=ws.doc.errors,
        )


def _record_skip(store: Store, reason: str, now: datetime, message: str) -> None:
    store.record_skip(reason, now)
    store.record_cycle(now, now, "skipped", message)
    log.info("cycle skipped: %s", message)


def _describe(w: Work, tz: Any) -> str:
    verb = "check" if w.kind is WorkKind.CHECK else "run"
    slot = w.slot.astimezone(tz)
    return f"would {verb} {w.task.id} (slot {slot:%Y-%m-%d %H:%M}; {w.evaluation.reason})"


def _hm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"
