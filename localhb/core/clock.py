"""Time, as everything that waits or stamps sees it: one `Clock` of three callables.

    now()          the aware wall time (UTC)
    monotonic()    seconds for deadlines and durations
    sleep(s)       waiting (retry backoff)

The runner builds one from its `clock`, `monotonic` and `sleep` and hands it
to the agent; the daemon passes its own down. Tests give fakes, so nothing
under test sleeps for real or reads the real clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

__all__ = ["Clock", "utc_now"]


def utc_now() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Clock:
    """Time as the runner and the agent see it; tests pass their own."""

    now: Callable[[], datetime] = utc_now
    monotonic: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
