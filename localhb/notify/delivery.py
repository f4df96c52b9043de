"""The Deliverer: sends pending rows of the delivery ledger, with retries.

Delivery is separate from the run: the run is recorded first, its messages
are rows (`pending`), and `deliver()` sends what is due. Each attempt is
claimed in the ledger before the send and recorded after (see
localhb.state.deliveries for the crash window). A failure is retried after
`backoff(attempt)` (2 s, 8 s, 32 s, ... at most 5 min) up to `[notify]
retries` times, then recorded `failed`. Nothing here changes a run's status.

`Worker` runs `deliver()` on a thread so a cycle never waits for a slow
target; `close(wait)` gives it a bounded time to finish, and what is left
stays pending for the next cycle.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from localhb.config import NotifyConfig
from localhb.notify.message import REPEAT_NOTE
from localhb.notify.send import Answer, Sender, TargetError, apprise_send, expand
from localhb.state.deliveries import Delivery, DeliveryLog

log = logging.getLogger("localhb")

BACKOFF_FIRST = 2.0
BACKOFF_MAX = 300.0


def backoff(attempt: int) -> timedelta:
    """The wait after failed attempt `attempt` (1-based): 2 s, 8 s, 32 s, ..., 5 min."""
    return timedelta(seconds=min(BACKOFF_MAX, BACKOFF_FIRST * 4 ** (max(1, attempt) - 1)))


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Deliverer:
    """Sends due rows. `clock`/`sleep` are injected so tests drive time."""

    log: DeliveryLog
    config: NotifyConfig
    send: Sender = apprise_send
    clock: Callable[[], datetime] = utc_now
    sleep: Callable[[float], None] = time.sleep
    env: Mapping[str, str] | None = None
    redact: Callable[[str], str] = str
    pid: int = field(default_factory=os.getpid)

    def recover(self) -> list[int]:
        """Put back rows a dead sender left `sending` (they will say they may repeat)."""
        from localhb.state.ledger import process_alive

        stale = 2 * self.config.timeout + timedelta(minutes=5)
        ids = self.log.recover(self.clock(), process_alive, stale)
        for i in ids:
            log.warning("delivery %s was interrupted while sending; sending it again", i)
        return ids

    def deliver_once(self) -> int:
        """One pass over the rows due now; returns how many attempts were made."""
        made = 0
        for row in self.log.due(self.clock()):
            claimed = self.log.claim(row.id, self.clock(), self.pid)
            if claimed is None:
                continue  # another process has it
            made += 1
            self.attempt(claimed)
        return made

    def deliver(
        self, *, until: datetime | None = None, stop: threading.Event | None = None
    ) -> None:
        """Send until nothing is pending, or `until` passes (then the rest waits for
        the next cycle), or `stop` is set. Sleeps between retries."""
        while stop is None or not stop.is_set():
            self.deliver_once()
            nxt = self.log.next_due()
            if nxt is None:
                return
            now = self.clock()
            if until is not None and nxt > until:
                return
            wait = max(0.0, (nxt - now).total_seconds())
            if wait:
                if stop is not None:
                    if stop.wait(wait):
                        return
                else:
                    self.sleep(wait)

    def attempt(self, row: Delivery) -> None:
        url = self.config.url(row.target)
        if url is None:
            gone = f"target {row.target!r} is no longer in [notify.targets]"
            self.log.attempt_failed(row.id, self.clock(), gone, None)
            return
        body = f"{REPEAT_NOTE}\n\n{row.body}" if row.repeat else row.body
        try:
            answer = self.send(expand(url, self.env), row.title, body, self._timeout())
        except TargetError as exc:
            answer = Answer(False, str(exc))
        except Exception as exc:  # a sender must not end the cycle
            answer = Answer(False, f"{type(exc).__name__}: {exc}")
        text = self.redact(answer.text)
        now = self.clock()
        if answer.ok:
            self.log.sent(row.id, now, text)
            log.info("delivered %s to %s", row.key, row.target)
            return
        retry_at = now + backoff(row.attempts) if row.attempts <= self.config.retries else None
        self.log.attempt_failed(row.id, now, text, retry_at)
        if retry_at is None:
            log.error(
                "delivery to %s failed after %d attempt(s): %s", row.target, row.attempts, text
            )
        else:
            log.warning("delivery to %s failed (attempt %d): %s", row.target, row.attempts, text)

    def _timeout(self) -> float:
        return self.config.timeout.total_seconds()


class Worker:
    """Runs a Deliverer on a thread; `kick()` after adding rows, `close()` at the end."""

    def __init__(self, deliverer: Deliverer) -> None:
        self.deliverer = deliverer
        self._wake = threading.Event()
        self._idle = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def kick(self) -> None:
        """Send what is due now, on the worker thread (started on first use)."""
        with self._lock:
            self._idle.clear()
            self._wake.set()
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="notify", daemon=True)
                self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                self.deliverer.deliver(stop=self._stop)
            except Exception:  # the ledger failed: log, try again when kicked
                log.exception("delivering notifications failed")
            with self._lock:
                if not self._wake.is_set():
                    self._idle.set()
            self._wake.wait()

    def close(self, wait: float) -> None:
        """Let sends (and retries due within `wait` seconds) finish, then stop.
        What is left stays pending for the next cycle."""
        thread = self._thread
        if thread is None:
            return
        deadline = time.monotonic() + wait
        while thread.is_alive() and time.monotonic() < deadline:
            if self._idle.is_set():
                break
            nxt = self.deliverer.log.next_due()
            left = deadline - time.monotonic()
            if nxt is not None and (nxt - self.deliverer.clock()).total_seconds() > left:
                break
            thread.join(0.02)
        self._stop.set()
        self._wake.set()
        thread.join(max(0.0, deadline - time.monotonic()))
