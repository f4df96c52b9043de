"""The daemon's decisions as a table: loop state and `now` in, one action out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from localhb.timing.decide import (
    BUSY_WAIT,
    LOCKED_RETRY,
    Act,
    Action,
    AfterCycle,
    Jump,
    LoopState,
    after_cycle,
    clock_jump,
    decide,
    earlier,
)
from localhb.timing.wake import Wake

T0 = datetime(2024, 1, 15, 14, 0, tzinfo=UTC)
EVERY = timedelta(minutes=5)
SOON = Wake(T0 + timedelta(seconds=10), "interval")


def state(**kw: object) -> LoopState:
    base: dict[str, object] = {
        "next": SOON,
        "chunk": 2.0,
        "cleanup_every": EVERY,
        "planned": True,
        "last_cleanup": T0,
    }
    base.update(kw)
    return LoopState(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("loop", "now", "action"),
    [
        (state(reload=True, busy=True), T0, Action(Act.RELOAD)),
        (state(busy=True), T0, Action(Act.BUSY, BUSY_WAIT)),
        (state(busy=True, finished=True), T0, Action(Act.COLLECT)),
        (state(planned=False), T0, Action(Act.PLAN)),
        (state(next=None), T0, Action(Act.PLAN)),
        (state(), T0 + timedelta(seconds=10), Action(Act.START)),
        (state(), T0 + timedelta(hours=1), Action(Act.START)),  # a jump forward runs at once
        (state(), T0, Action(Act.SLEEP, 2.0)),
        (state(), T0 + timedelta(seconds=9), Action(Act.SLEEP, 1.0)),
        (state(file_changed=True), T0, Action(Act.CHANGED)),
        (state(last_cleanup=None), T0, Action(Act.SLEEP, 2.0, cleanup=True)),
        (state(), T0 - timedelta(seconds=1), Action(Act.SLEEP, 2.0, cleanup=True)),  # went back
        (
            state(next=Wake(T0 + EVERY * 2, "x")),
            T0 + EVERY,
            Action(Act.SLEEP, 2.0, cleanup=True),
        ),
        (
            state(next=Wake(T0 + EVERY * 2, "x"), file_changed=True),
            T0 + EVERY,
            Action(Act.CHANGED, cleanup=True),
        ),
    ],
)
def test_decide(loop: LoopState, now: datetime, action: Action) -> None:
    """Reload first; a running cycle is waited on or collected; else plan, start or sleep."""
    assert decide(loop, now) == action


@pytest.mark.parametrize(
    ("last", "waited", "now", "jump"),
    [
        (None, 0.0, T0, None),
        (T0, 2.0, T0 + timedelta(seconds=2), None),
        (T0, 2.0, T0 + timedelta(seconds=31), None),  # 29 s late: within JUMP
        (T0, 2.0, T0 + timedelta(minutes=10), Jump(False, timedelta(minutes=10, seconds=-2))),
        (T0, 0.0, T0 - timedelta(seconds=0.5), None),
        (T0, 2.0, T0 - timedelta(minutes=5), Jump(True, timedelta(minutes=5, seconds=2))),
    ],
)
def test_clock_jump(last: datetime | None, waited: float, now: datetime, jump: Jump | None) -> None:
    """Only a clock that moved other than by the wait is a jump; back by more than 1 s."""
    assert clock_jump(last, waited, now) == jump


HOUR = timedelta(hours=1)


@pytest.mark.parametrize(
    ("kind", "outcome", "crashes", "after"),
    [
        ("crash", None, 0, AfterCycle(1, Wake(T0 + timedelta(seconds=5), "retry 1 after a crash"))),
        (
            "crash",
            None,
            2,
            AfterCycle(3, Wake(T0 + timedelta(seconds=20), "retry 3 after a crash")),
        ),
        ("crash", None, 30, AfterCycle(31, Wake(T0 + HOUR, "retry 31 after a crash"))),
        ("report", "locked", 2, AfterCycle(0, Wake(T0 + LOCKED_RETRY, "cycle lock was held"))),
        ("report", "ran", 2, AfterCycle(0, None)),
        ("file-error", None, 2, AfterCycle(0, None)),
    ],
)
def test_after_cycle(kind: str, outcome: str | None, crashes: int, after: AfterCycle) -> None:
    """A crash backs off (doubling, at most the interval); a held lock retries in a minute."""
    assert after_cycle(kind, outcome, crashes, HOUR, T0) == after


def test_a_retry_wins_only_when_sooner() -> None:
    """The retry wake replaces the computed one only when it comes first."""
    later = Wake(T0 + HOUR, "later")
    assert earlier(SOON, later) == SOON and earlier(later, SOON) == SOON
    assert earlier(SOON, None) == SOON
