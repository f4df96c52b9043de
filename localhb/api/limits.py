"""The API's rate limit: at most N requests in any 60 seconds (a sliding window).

Pure bookkeeping over a monotonic clock that is passed in; thread-safe.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Callable

__all__ = ["RateLimit"]

WINDOW = 60.0


class RateLimit:
    """`take()` is None when a request may go ahead, else the seconds to wait (Retry-After)."""

    def __init__(self, per_minute: int, monotonic: Callable[[], float]) -> None:
        self.per_minute = per_minute
        self.monotonic = monotonic
        self._seen: deque[float] = deque()
        self._lock = threading.Lock()

    def take(self) -> int | None:
        now = self.monotonic()
        with self._lock:
            while self._seen and now - self._seen[0] >= WINDOW:
                self._seen.popleft()
            if len(self._seen) >= self.per_minute:
                return max(1, math.ceil(WINDOW - (now - self._seen[0])))
            self._seen.append(now)
            return None
