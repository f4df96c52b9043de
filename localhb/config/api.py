"""The `[api]` table: the daemon's wake API (localhb.api), off by default.

enabled                  serve while `localhb daemon start` runs
listen                   "host:port"; off loopback only with allow_remote
allow_remote             a non-loopback listen (TLS through a reverse proxy)
max_requests_per_minute  past it: 429 with Retry-After
max_queued               wakeups waiting to run; past it: 429
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from localhb.config.values import _bool, _int_at_least, _str, _Table

__all__ = ["LOOPBACK", "APIConfig"]


@dataclass(frozen=True, slots=True)
class APIConfig:
    """[api]: the daemon's wake API (off by default)."""

    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = 7142
    allow_remote: bool = False
    max_requests_per_minute: int = 60
    max_queued: int = 16

    @property
    def listen(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


LOOPBACK = ("127.0.0.1", "::1", "localhost")


def api_table(t: _Table) -> APIConfig:
    """[api], with a listen address off loopback refused unless `allow_remote = true`."""

    def listen(v: Any) -> tuple[str, int]:
        text = _str(v).strip()
        host, sep, port = text.rpartition(":")
        if not sep or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError('write "host:port", e.g. "127.0.0.1:7142"')
        host = host.strip("[]")
        if not host:
            raise ValueError("the host is missing")
        return host, int(port)

    enabled = t.get("enabled", False, _bool, "true or false")
    host, port = t.get("listen", ("127.0.0.1", 7142), listen, 'an address like "127.0.0.1:7142"')
    allow_remote = t.get("allow_remote", False, _bool, "true or false")
    api = APIConfig(
        enabled=enabled,
        host=host,
        port=port,
        allow_remote=allow_remote,
        max_requests_per_minute=t.get(
            "max_requests_per_minute", 60, _int_at_least(1), "a whole number >= 1"
        ),
        max_queued=t.get("max_queued", 16, _int_at_least(1), "a whole number >= 1"),
    )
    t.finish()
    if host not in LOOPBACK and not allow_remote:
        raise t.error(
            "listen",
            f"{host!r} is not a loopback address; set `allow_remote = true` as well to "
            "listen on it (and put TLS in front, see docs/api.md)",
        )
    return api
