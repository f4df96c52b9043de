"""What `localhb daemon heartbeat` prints while tasks run.

A line when each task (or condition check) starts, so a slow task is not 30
seconds of silence; with `-v`, the live trace too, as `localhb run` prints it,
each line tagged with its task (tasks of one cycle may run side by side).
Every event also goes to agent.log, as before. All of it is progress and goes
to stderr: stdout keeps one line per finished task (or HEARTBEAT_OK), for cron
and scripts.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TextIO

from localhb.core.results import EventKind, TraceEvent


class LivePrinter:
    """A trace sink for cycles: start lines always, the whole trace when `verbose`."""

    def __init__(self, out: TextIO, *, verbose: bool, also: Callable[[object], None]) -> None:
        self.out = out
        self.verbose = verbose
        self.also = also
        self._lock = threading.Lock()

    def __call__(self, event: TraceEvent, /) -> None:
        from localhb.cli.run_cmd import TracePrinter

        self.also(event)
        if event.kind is EventKind.START:
            line = f"> {event.text}"
        elif self.verbose:
            line = TracePrinter.format(event)
            line = f"  {event.task_id}:{line}" if line else ""
        else:
            return
        if line:
            with self._lock:
                print(line, file=self.out, flush=True)
