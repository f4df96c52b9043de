"""A running daemon with the wake API on 127.0.0.1 (any free port), for the API tests.

The daemon runs its real loop in a thread with an injected wall clock (it
moves only when the test moves it) and waits on its wake-up pipe, so an API
wakeup or a `poke()` moves it at once. Requests go over real HTTP.
"""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from localhb.config import load_config
from localhb.daemon.loop import Daemon, Stopped
from localhb.state.token import read_token

T0 = datetime(2024, 1, 17, 10, 0, tzinfo=UTC)  # a Wednesday
WAIT = 20.0


@dataclass
class FakeClock:
    """The wall clock the daemon and its runs read; moves only when told to."""

    now: datetime = T0
    step: timedelta = timedelta(0)  # added at each read (distinct run slots)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self) -> datetime:
        with self._lock:
            now = self.now
            self.now += self.step
            return now


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: Any


def until(condition: Callable[[], object], what: str, timeout: float = WAIT) -> None:
    """Wait for `condition` (an event, not a time): fail after `timeout` seconds."""
    pause = threading.Event()
    for _ in range(int(timeout / 0.01)):
        if condition():
            return
        pause.wait(0.01)
    raise AssertionError(f"timed out waiting for {what}")


@dataclass
class Running:
    daemon: Daemon
    thread: threading.Thread
    home: Path
    clock: FakeClock
    result: list[Stopped]

    @property
    def port(self) -> int:
        return int(self.daemon.api.address[1])

    @property
    def token(self) -> str:
        token = read_token(self.home)
        assert token is not None
        return token

    @property
    def heartbeat(self) -> Path:
        return self.home / "workspace" / "HEARTBEAT.md"

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        token: str | None = "",
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=WAIT)
        try:
            sent = dict(headers or {})
            if token is not None:
                sent["Authorization"] = f"Bearer {token or self.token}"
            data = raw if raw is not None else None if body is None else json.dumps(body).encode()
            if data is not None:
                sent.setdefault("Content-Type", "application/json")
            conn.request(method, path, body=data, headers=sent)
            resp = conn.getresponse()
            text = resp.read()
            return Reply(resp.status, {k.lower(): v for k, v in resp.getheaders()}, _json(text))
        finally:
            conn.close()

    def wake(self, body: Any) -> Reply:
        return self.call("POST", "/api/wakeup", body)

    def ended(self, wakeup_id: str) -> dict[str, Any]:
        """The wakeup once it has ended."""
        seen: dict[str, Any] = {}

        def done() -> bool:
            seen.update(self.call("GET", f"/api/runs/{wakeup_id}").body)
            return seen.get("state") in ("done", "failed", "abandoned")

        until(done, f"wakeup {wakeup_id} to end")
        return seen

    def stop(self) -> Stopped:
        self.daemon.request_stop()
        self.thread.join(WAIT)
        assert not self.thread.is_alive()
        return self.result[0]


def _json(text: bytes) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def write_home(
    tmp_path: Path,
    text: str,
    *,
    llm: str | None = None,
    api: dict[str, Any] | None = None,
    heartbeat: dict[str, Any] | None = None,
    agent: dict[str, Any] | None = None,
) -> Path:
    home = tmp_path / "hb"
    (home / "workspace").mkdir(parents=True, exist_ok=True)
    (home / "workspace" / "HEARTBEAT.md").write_text(text, encoding="utf-8")
    data: dict[str, Any] = {
        "heartbeat": {"timezone": "UTC", "interval": "30m", **(heartbeat or {})},
        "llm": {
            "base_url": llm or "http://127.0.0.1:9/v1",
            "model": "scripted",
            "request_timeout": 10,
            "max_retries": 0,
        },
        "api": {"enabled": True, **(api or {})},
    }
    if agent:
        data["agent"] = agent
    (home / "config.toml").write_text(tomli_w.dumps(data), encoding="utf-8")
    return home


@pytest.fixture
def api_daemon(tmp_path: Path) -> Iterator[Callable[..., Running]]:
    """Start a daemon with the API on; every one started is stopped at the end."""
    started: list[Running] = []

    def start(text: str = "## Pending\n", *, clock: FakeClock | None = None, **kw: Any) -> Running:
        home = write_home(tmp_path, text, **kw)
        clock = clock or FakeClock()
        daemon = Daemon(load_config(home=home), clock=clock, install_signals=False, api_port=0)
        result: list[Stopped] = []
        thread = threading.Thread(target=lambda: result.append(daemon.run()), daemon=True)
        thread.start()
        running = Running(daemon, thread, home, clock, result)
        started.append(running)
        until(lambda: daemon.api is not None or result, "the API to listen")
        until(lambda: daemon.cycles >= 1 or result, "the first cycle")
        assert not result, result
        return running

    yield start
    for r in started:
        if r.thread.is_alive():
            r.stop()
