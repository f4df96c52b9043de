"""The built-in observers: health files, the daily memory log and notifications.

    HealthFiles(dir)      a health file for every run that ends a piece of work
                          (a task's run, or a check after which nothing ran), and
                          `breaker.json` while the endpoint breaker is open
    MemoryLog(dir, tz)    a line in `<workspace>/memory/<date>.md` per task run
    default_observers(c)  both, for a config

Each is a plain callable taking an event (`localhb.cycle.events.Observer`);
neither raises for a disk problem: it is logged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING

from localhb.cycle.events import CycleFinished, Event, Observer, RunFinished
from localhb.timing.plan import WorkKind

if TYPE_CHECKING:
    from localhb.config import Config

__all__ = ["HealthFiles", "MemoryLog", "close_observers", "default_observers"]

log = logging.getLogger("localhb")


@dataclass(frozen=True, slots=True)
class HealthFiles:
    """Writes `<dir>/<date>_<task>_<HHMM>.json` and `<task>_latest.json` per finished work."""

    directory: Path

    def __call__(self, event: Event, /) -> None:
        if isinstance(event, CycleFinished):
            self._breaker(event)
            return
        if not isinstance(event, RunFinished) or not event.final:
            return  # a met condition's check: the task's own run writes the file
        from localhb.state.health import record_from_end, write_health

        try:
            record = record_from_end(event.task.id, event.end, event.started, event.finished)
            write_health(self.directory, record)
        except (OSError, ValueError) as exc:
            log.error("could not write the health file for %s: %s", event.task.id, exc)

    def _breaker(self, event: CycleFinished) -> None:
        """`breaker.json` while the endpoint breaker is open, and once when it closes."""
        report = event.report
        if report.breaker is None and report.breaker_change is None:
            return
        from localhb.state.breakers import write_breaker_file

        try:
            write_breaker_file(
                self.directory, report.breaker, event.finished, change=report.breaker_change
            )
        except OSError as exc:
            log.error("could not write the breaker health file: %s", exc)


@dataclass(frozen=True, slots=True)
class MemoryLog:
    """Appends `- HH:MM [task] status - summary` to the day's memory file per task run."""

    directory: Path
    tz: tzinfo

    def __call__(self, event: Event, /) -> None:
        if not isinstance(event, RunFinished) or event.kind is not WorkKind.TASK:
            return
        from localhb.agent.tools.memory import append_entry, format_entry

        local = event.finished.astimezone(self.tz)
        path = self.directory / f"{local:%Y-%m-%d}.md"
        outcome = event.outcome
        try:
            entry = format_entry(local, event.task.id, f"{outcome.status} - {outcome.summary}")
            append_entry(path, local, entry)
        except OSError as exc:
            log.error("could not append to %s: %s", path, exc)


def default_observers(
    config: Config,
    tz: tzinfo | None = None,
    clock: Callable[[], datetime] | None = None,
) -> list[Observer]:
    """Health files, the memory log and notifications of `config`; `clock` is the
    cycle's (delivery times follow it)."""
    from localhb.cycle.notifying import NotifyObserver

    zone = tz if tz is not None else config.tz()
    return [
        HealthFiles(config.health_dir),
        MemoryLog(config.agent.workspace / "memory", zone),
        NotifyObserver(config, zone)
        if clock is None
        else NotifyObserver(config, zone, clock=clock),
    ]


def close_observers(observers: Sequence[Observer]) -> None:
    """End observers that hold work (notifications) where no cycle ends them."""
    for observer in observers:
        close = getattr(observer, "close", None)
        if callable(close):
            close()
