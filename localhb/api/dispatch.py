"""The wakeup queue: bounded, worked by at most `max_concurrent` threads.

    submit(body) ── rate limit ──> 429 (Retry-After)
                 ── parse ───────> 400 naming the field
                 ── idempotency ─> 202 with the first wakeup (not run again)
                 ── queue full ──> 429 (Retry-After)
                 ── prompt: append the task to HEARTBEAT.md (409/400 if refused)
                 ── record (state.db `wakeups`), enqueue ──> 202 {"id": ...}

A storm of requests starts at most `max_concurrent` runs at once and never
more than `max_queued` wait; scheduled cycles run in the daemon's own thread
and are never behind this queue. A cycle wakeup asks the daemon to start a
cycle now (one cycle serves every cycle wakeup queued before it started).
"""

from __future__ import annotations

import logging
import queue
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from localhb.api.body import BadRequest, Kind, Wakeup, parse_wakeup
from localhb.api.limits import RateLimit
from localhb.api.work import Ended, Services, add_prompt_task, find_task, retry_after, run_task
from localhb.core.errors import LocalhbError
from localhb.state.wakeups import WakeupLog, WakeupRow

__all__ = ["Answer", "CycleRequest", "Dispatcher"]

log = logging.getLogger("localhb.api")

CycleRequest = Callable[[Callable[[str, str], None]], None]
"""The daemon's `request_cycle(done)`: start a cycle now; `done(outcome, message)` after."""


@dataclass(frozen=True, slots=True)
class Answer:
    """What the server sends: a status, a JSON body and extra headers."""

    status: int
    body: dict[str, Any]
    retry_after: int | None = None


class Dispatcher:
    """Accepts wakeups and carries them out on worker threads (started on first use)."""

    def __init__(self, services: Services, request_cycle: CycleRequest) -> None:
        self.services = services
        self.request_cycle = request_cycle
        config = services.config()
        self.workers = max(1, config.heartbeat.max_concurrent)
        self.max_queued = config.api.max_queued
        self.limit = RateLimit(config.api.max_requests_per_minute, services.monotonic)
        self.log = WakeupLog.open(config.state_db)
        self._queue: queue.Queue[tuple[str, Wakeup] | None] = queue.Queue()
        self._lock = threading.Lock()
        self._waiting = 0  # accepted, not yet taken by a worker
        self._running = 0
        self._threads: list[threading.Thread] = []
        self._closed = False
        abandoned = self.log.abandon_unfinished(
            services.clock(), "the daemon stopped before this wakeup ended"
        )
        if abandoned:
            log.warning(
                "marked %d unfinished wakeup(s) of an earlier daemon abandoned", len(abandoned)
            )

    # -- the request side (server threads) --
    def rate(self) -> Answer | None:
        """A 429 when past `max_requests_per_minute`, else None (counts this request)."""
        wait = self.limit.take()
        if wait is None:
            return None
        return Answer(429, {"error": "too many requests; try again later"}, retry_after=wait)

    def submit(self, raw: bytes) -> Answer:
        try:
            wakeup = parse_wakeup(raw)
        except BadRequest as exc:
            return Answer(exc.status, exc.to_dict())
        now = self.services.clock()
        config = self.services.config()
        with self._lock:
            if wakeup.idempotency_key is not None:
                first = self.log.find_key(wakeup.idempotency_key, now)
                if first is not None:
                    return Answer(200, {**first.to_dict(), "repeat": True})
            if self._closed:
                return Answer(503, {"error": "the daemon is stopping"})
            if self._waiting >= self.max_queued:
                return Answer(
                    429,
                    {"error": f"{self._waiting} wakeups are waiting already ([api] max_queued)"},
                    retry_after=retry_after(config),
                )
            wakeup_id = "w" + secrets.token_hex(6)
            try:
                task_id = self._prepare(wakeup, wakeup_id, now)
                row, _ = self.log.add(
                    wakeup_id,
                    wakeup.kind.value,
                    now,
                    task_id=task_id,
                    key=wakeup.idempotency_key,
                )
            except BadRequest as exc:
                return Answer(exc.status, exc.to_dict())
            except LocalhbError as exc:
                log.error("wakeup refused: %s", exc)
                return Answer(503, {"error": str(exc)})
            self._waiting += 1
            self._start_workers()
        self._queue.put((wakeup_id, wakeup))
        log.info("wakeup %s accepted: %s %s", wakeup_id, wakeup.kind.value, task_id or "")
        body = row.to_dict()
        body["url"] = f"/api/runs/{wakeup_id}"
        return Answer(202, body)

    def _prepare(self, wakeup: Wakeup, wakeup_id: str, now: Any) -> str | None:
        """Check a task wakeup's task, or add a prompt's task; the task id."""
        config = self.services.config()
        if wakeup.kind is Kind.TASK:
            assert wakeup.task is not None
            return find_task(config, wakeup.task).id
        if wakeup.kind is Kind.PROMPT:
            return add_prompt_task(config, wakeup, wakeup_id, now).id
        return None

    def get(self, wakeup_id: str) -> WakeupRow | None:
        return self.log.get(wakeup_id)

    def counts(self) -> dict[str, int]:
        with self._lock:
            return {"waiting": self._waiting, "running": self._running}

    # -- the work side (worker threads) --
    def _start_workers(self) -> None:
        alive = [t for t in self._threads if t.is_alive()]
        self._threads = alive
        if len(alive) < min(self.workers, self._waiting + self._running):
            t = threading.Thread(
                target=self._work, name=f"localhb-wakeup-{len(alive) + 1}", daemon=True
            )
            self._threads.append(t)
            t.start()

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            wakeup_id, wakeup = item
            with self._lock:
                self._waiting -= 1
                self._running += 1
            try:
                self._carry_out(wakeup_id, wakeup)
            except Exception as exc:  # panic recovery: the wakeup failed, the worker goes on
                log.exception("wakeup %s crashed", wakeup_id)
                self._end(wakeup_id, Ended("failed", error=f"crashed: {type(exc).__name__}: {exc}"))
            finally:
                with self._lock:
                    self._running -= 1

    def _carry_out(self, wakeup_id: str, wakeup: Wakeup) -> None:
        clock = self.services.clock
        if self._closed:
            self._end(wakeup_id, Ended("abandoned", error="the daemon stopped before it ran"))
            return
        self.log.start(wakeup_id, clock())
        if wakeup.kind is Kind.CYCLE:
            done = threading.Event()
            result: list[tuple[str, str]] = []

            def finished(outcome: str, message: str) -> None:
                result.append((outcome, message))
                done.set()

            self.request_cycle(finished)
            done.wait()  # the daemon calls back after the cycle, or when it stops
            outcome, message = result[0]
            state = "done" if outcome not in ("error", "crashed", "stopped") else "failed"
            self._end(wakeup_id, Ended(state, status=outcome, summary=message))
            return
        row = self.log.get(wakeup_id)
        task_id = row.task_id if row is not None else None
        assert task_id is not None
        self._end(wakeup_id, run_task(self.services, task_id, wakeup.payload))

    def _end(self, wakeup_id: str, ended: Ended) -> None:
        self.log.finish(
            wakeup_id,
            self.services.clock(),
            state=ended.state,
            status=ended.status,
            summary=ended.summary,
            error=ended.error,
            runs=ended.runs,
            task_id=ended.task_id,
        )
        log.info(
            "wakeup %s: %s%s",
            wakeup_id,
            ended.status or ended.state,
            f" - {ended.summary or ended.error}" if ended.summary or ended.error else "",
        )

    def close(self) -> None:
        """Take no more wakeups; queued ones end abandoned; running ones finish on their own."""
        with self._lock:
            self._closed = True
            threads = list(self._threads)
        for _ in threads:
            self._queue.put(None)
        self.log.abandon_unfinished(
            self.services.clock(), "the daemon stopped before it ran", states=("queued",)
        )
