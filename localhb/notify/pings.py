"""Dead-man pings, Healthchecks.io style, so a monitor notices a task that stops running.

    run starts          POST <url>/start
    ends ok / partial / skipped  POST <url>          (the task ran)
    ends in error       POST <url>/fail   body: the summary

The URL is the task's `- Ping:` or `[notify] ping_url_template` with
`{task_id}`. Pings go out on one background thread, in order, each bounded by
`[notify] timeout`; a ping that fails is logged and never touches the run.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger("localhb")

Post = Callable[[str, str, float], int]
"""(url, body, timeout) -> HTTP status; raises on a transport error."""


@dataclass(frozen=True, slots=True)
class Ping:
    url: str
    body: str = ""


def ping_url(base: str, event: str) -> str:
    """`base` for success, `base/start`, `base/fail`."""
    base = base.rstrip("/")
    if event == "start":
        return base + "/start"
    if event == "fail":
        return base + "/fail"
    return base


def event_for(status: str) -> str:
    """The ping a finished run sends: `fail` for error (and timeout), else success."""
    return "fail" if status in ("error", "timeout", "abandoned") else "success"


def url_for(task_ping: str | None, template: str | None, task_id: str) -> str | None:
    """The task's own `- Ping:`, else the template filled in, else None."""
    if task_ping and task_ping.strip():
        return task_ping.strip()
    if template:
        return template.format(task_id=task_id)
    return None


def httpx_post(url: str, body: str, timeout: float) -> int:
    import httpx

    response = httpx.post(url, content=body.encode("utf-8"), timeout=timeout)
    return response.status_code


class Pinger:
    """Sends pings in the order given, on one thread; `close(wait)` drains, bounded."""

    def __init__(self, timeout: float, post: Post = httpx_post) -> None:
        self.timeout = timeout
        self.post = post
        self._queue: queue.Queue[Ping | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def send(self, ping: Ping) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="pings", daemon=True)
                self._thread.start()
        self._queue.put(ping)

    def _loop(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            try:
                status = self.post(item.url, item.body, self.timeout)
                if status >= 400:
                    log.warning("ping %s answered HTTP %d", _safe(item.url), status)
            except Exception as exc:  # a monitor being down is never the run's problem
                log.warning("ping %s failed: %s", _safe(item.url), type(exc).__name__)

    def close(self, wait: float) -> None:
        """Send what is queued for up to `wait` seconds; what is left is dropped."""
        thread = self._thread
        if thread is None:
            return
        self._queue.put(None)
        deadline = time.monotonic() + wait
        thread.join(max(0.0, deadline - time.monotonic()))
        if thread.is_alive():
            log.warning("pings still unsent after %.0fs were dropped", wait)


def _safe(url: str) -> str:
    """The URL without its path (ping URLs carry a secret key)."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/…"
