"""The daemon's decisions, as pure functions over a frozen loop state. No I/O, no clock.

    decide(state, now) -> Action   what the main loop does next:
        reload    SIGHUP asked to read config.toml again
        collect   the running cycle has ended: note its outcome, plan the next wake
        busy      a cycle runs: look again in BUSY_WAIT seconds (woken when it ends)
        plan      first look: compute the next wake
        start     the wake time has come: start a cycle
        changed   HEARTBEAT.md changed: look at it at once (a cycle costs no tokens)
        sleep     wait `seconds` (at most a chunk), then look again
      `cleanup` on changed/sleep: run zombie cleanup first (every `cleanup_every`)
    clock_jump(last_seen, waited, now) -> Jump | None   the wall clock moved other
        than by the time waited: back (recompute) or forward (suspend; logged)
    after_cycle(...) -> AfterCycle   crashes in a row and the retry wake a cycle's
        end calls for (a crash backs off; a held cycle lock retries in a minute)

`localhb.daemon.loop.Daemon` builds the state, asks, and carries the action out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from localhb.timing.wake import Wake, crash_backoff, sleep_for

__all__ = [
    "BUSY_WAIT",
    "JUMP",
    "LOCKED_RETRY",
    "Act",
    "Action",
    "AfterCycle",
    "Jump",
    "LoopState",
    "after_cycle",
    "clock_jump",
    "decide",
    "earlier",
]

BUSY_WAIT = 1.0
"""How often the main thread looks up while a cycle runs (it is woken when it ends)."""
LOCKED_RETRY = timedelta(minutes=1)
"""After a cycle skipped because another process held the cycle lock."""
JUMP = timedelta(seconds=30)
"""A clock that moves this much more than we waited is logged as a jump."""


class Act(StrEnum):
    RELOAD = "reload"
    COLLECT = "collect"
    BUSY = "busy"
    PLAN = "plan"
    START = "start"
    CHANGED = "changed"
    SLEEP = "sleep"


@dataclass(frozen=True, slots=True)
class LoopState:
    """What the daemon's main loop knows when it looks up."""

    next: Wake | None
    chunk: float
    cleanup_every: timedelta
    reload: bool = False
    busy: bool = False  # a cycle's worker runs
    finished: bool = False  # ... and has left its result
    planned: bool = False  # the next wake was computed since the loop began
    last_cleanup: datetime | None = None
    file_changed: bool = False


@dataclass(frozen=True, slots=True)
class Action:
    kind: Act
    seconds: float = 0.0
    cleanup: bool = False


def decide(state: LoopState, now: datetime) -> Action:
    """The next thing the loop does at `now`."""
    if state.reload:
        return Action(Act.RELOAD)
    if state.busy:
        return Action(Act.COLLECT) if state.finished else Action(Act.BUSY, BUSY_WAIT)
    if not state.planned or state.next is None:
        return Action(Act.PLAN)
    if now >= state.next.at:
        return Action(Act.START)
    last = state.last_cleanup
    cleanup = last is None or not (last <= now < last + state.cleanup_every)
    if state.file_changed:
        return Action(Act.CHANGED, cleanup=cleanup)
    return Action(Act.SLEEP, sleep_for(now, state.next, state.chunk), cleanup=cleanup)


@dataclass(frozen=True, slots=True)
class Jump:
    """The wall clock went `back` or `forward` by `by` beyond the time waited."""

    back: bool
    by: timedelta


def clock_jump(last_seen: datetime | None, waited: float, now: datetime) -> Jump | None:
    """How the clock moved since it was last read, `waited` seconds ago; None: as expected."""
    if last_seen is None:
        return None
    slept = timedelta(seconds=waited)
    if now < last_seen - timedelta(seconds=1):
        return Jump(True, last_seen + slept - now)
    if now - (last_seen + slept) > JUMP:
        return Jump(False, now - last_seen - slept)
    return None


@dataclass(frozen=True, slots=True)
class AfterCycle:
    """Crashes in a row after a cycle, and the retry wake it calls for (None: none)."""

    crashes: int
    retry: Wake | None


def after_cycle(
    kind: str, outcome: str | None, crashes: int, interval: timedelta, now: datetime
) -> AfterCycle:
    """`kind`: report | file-error | crash; `outcome` the report's (locked, idle, ...)."""
    if kind == "crash":
        n = crashes + 1
        return AfterCycle(n, Wake(now + crash_backoff(n, interval), f"retry {n} after a crash"))
    if kind == "report" and outcome == "locked":
        return AfterCycle(0, Wake(now + min(interval, LOCKED_RETRY), "cycle lock was held"))
    return AfterCycle(0, None)


def earlier(wake: Wake, retry: Wake | None) -> Wake:
    """The computed wake, or the retry when it comes first."""
    return retry if retry is not None and retry.at < wake.at else wake
