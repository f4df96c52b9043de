"""The daemon's vocabulary: what it needs of a runner, how it ends, a cycle's result."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from localhb.config import Config
    from localhb.cycle.runner import CycleReport

__all__ = [
    "CycleDone",
    "CycleResult",
    "CycleRunner",
    "RunnerFactory",
    "Stopped",
    "default_factory",
    "default_reload",
]


class CycleRunner(Protocol):
    """What the daemon needs of a runner: `localhb.cycle.runner.Runner` is one."""

    stopping: threading.Event

    def cycle(self, *, now: datetime | None = None, dry_run: bool = False) -> CycleReport: ...


RunnerFactory = Callable[["Config"], CycleRunner]
CycleDone = Callable[[str, str], None]
"""Told how a cycle an API wakeup asked for ended: (outcome, message)."""


@dataclass(frozen=True, slots=True)
class Stopped:
    """How `Daemon.run` ended. `outcome`: stopped | already-running | failed (could not
    take the lock or write the pid file; `message` says why).

    `hard`: task threads are still running; end the process now (`os._exit`).
    """

    outcome: str
    message: str = ""
    hard: bool = False


@dataclass(frozen=True, slots=True)
class CycleResult:
    kind: str  # report | file-error | crash
    report: CycleReport | None = None
    error: str = ""


def default_factory(clock: Callable[[], datetime]) -> RunnerFactory:
    def make(config: Config) -> CycleRunner:
        from localhb.cycle.runner import Runner

        return Runner(config, clock=clock)

    return make


def default_reload(config: Config) -> Callable[[], Config]:
    def load() -> Config:
        from localhb.config import load_config

        return load_config(config.path, home=config.home)

    return load
