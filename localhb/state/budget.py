"""Spend from the ledger, against `[budget]`: tallies per day and task, caps, and what is left.

    read_spend(ledger, cfg, now, days) -> Usage   finished runs of the last `days` days
    Usage.today / Usage.block_reason()            the day's spend and why no model run may start
    RunGuard                                       stops a run in progress at the cap

A day runs from midnight to midnight in `[budget] timezone` (default the
heartbeat's zone), so a DST change gives a 23- or 25-hour day. Tokens are
those the endpoint reported (the ledger's columns); cost is estimated from
the price table for the run's model; runs of a model without a price count
their tokens only. Pure except `read_spend` (one query) and the notice file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING

from localhb.config import BudgetConfig, Config, Price

if TYPE_CHECKING:
    from localhb.state.store import Store

NOTICE_FILE = "budget-notice.json"


def cost_of(prompt: int, completion: int, price: Price | None) -> float | None:
    """The estimated cost of these tokens, or None for a model without a price."""
    if price is None:
        return None
    return (prompt * price.input + completion * price.output) / 1_000_000


@dataclass(frozen=True, slots=True)
class Tally:
    """Runs, tokens and estimated cost of some runs. `uncosted` tokens had no price."""

    runs: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0
    uncosted: int = 0

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def add(self, prompt: int, completion: int, cost: float | None) -> Tally:
        return Tally(
            self.runs + 1,
            self.prompt_tokens + prompt,
            self.completion_tokens + completion,
            self.cost + (cost or 0.0),
            self.uncosted + (prompt + completion if cost is None else 0),
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "runs": self.runs,
            "tokens": self.tokens,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "cost": round(self.cost, 6),
            "uncosted_tokens": self.uncosted,
        }


@dataclass(frozen=True, slots=True)
class Day:
    day: date
    total: Tally
    tasks: tuple[tuple[str, Tally], ...]


@dataclass(frozen=True, slots=True)
class Usage:
    """Spend per day (newest first) as of `now`, with the caps it is judged against."""

    budget: BudgetConfig
    now: datetime
    zone: tzinfo
    days: tuple[Day, ...] = field(default=())

    @property
    def today(self) -> Tally:
        local = self.now.astimezone(self.zone).date()
        return next((d.total for d in self.days if d.day == local), Tally())

    def left(self) -> tuple[int | None, float | None]:
        """Tokens and cost left today under the caps (None: that cap is not set; 0 once
        a cap is reached or crossed, never below)."""
        t = self.today
        b = self.budget
        tokens = None if b.daily_tokens is None else max(0, b.daily_tokens - t.tokens)
        cost = None if b.daily_cost is None else max(0.0, b.daily_cost - t.cost)
        return tokens, cost

    def block_reason(self) -> str | None:
        """Why no model run may start now, or None while today is under every cap."""
        return over_cap(self.budget, self.today.tokens, self.today.cost)


def over_cap(budget: BudgetConfig, tokens: int, cost: float) -> str | None:
    """The cap `tokens`/`cost` spent today has reached, in words, or None."""
    if budget.daily_tokens is not None and tokens >= budget.daily_tokens:
        return f"daily token cap reached: {tokens:,} of {budget.daily_tokens:,} tokens used today"
    if budget.daily_cost is not None and cost >= budget.daily_cost:
        return f"daily cost cap reached: {cost:.4f} of {budget.daily_cost:.2f} spent today"
    return None


def day_start(day: date, zone: tzinfo) -> datetime:
    """The first instant of `day` in `zone` (midnight, or the first time after a gap)."""
    naive = datetime.combine(day, time(0, 0))
    for minutes in range(0, 24 * 60, 15):  # zones whose DST change skips midnight
        local = (naive + timedelta(minutes=minutes)).replace(tzinfo=zone)
        back = local.astimezone(zone).replace(tzinfo=None)
        if back == local.replace(tzinfo=None):
            return local
    return naive.replace(tzinfo=zone)


def tally(
    rows: Sequence[tuple[str, datetime, str, int, int]],
    budget: BudgetConfig,
    zone: tzinfo,
    now: datetime,
) -> Usage:
    """Group ledger rows (task, started_at, model, prompt, completion) by local day and task."""
    per_day: dict[date, Tally] = {}
    per_task: dict[date, dict[str, Tally]] = {}
    for task_id, started, model, prompt, completion in rows:
        day = started.astimezone(zone).date()
        cost = cost_of(prompt, completion, budget.price(model)) if prompt + completion else 0.0
        per_day[day] = per_day.get(day, Tally()).add(prompt, completion, cost)
        tasks = per_task.setdefault(day, {})
        tasks[task_id] = tasks.get(task_id, Tally()).add(prompt, completion, cost)
    days = tuple(
        Day(d, per_day[d], tuple(sorted(per_task[d].items())))
        for d in sorted(per_day, reverse=True)
    )
    return Usage(budget, now, zone, days)


def read_spend(ledger: Store, config: Config, now: datetime, days: int = 1) -> Usage:
    """The spend of the last `days` budget days, today included."""
    zone = config.budget_tz()
    first = now.astimezone(zone).date() - timedelta(days=max(1, days) - 1)
    return tally(ledger.spend_since(day_start(first, zone)), config.budget, zone, now)


@dataclass(frozen=True, slots=True)
class RunGuard:
    """Stops a model run in progress once today's spend plus the run's own crosses a cap.

    Called by the agent loop after each step with the run's tokens so far; the
    run finishes that step and ends `partial` with the returned reason.
    """

    budget: BudgetConfig
    before_tokens: int
    before_cost: float
    price: Price | None

    def __call__(self, prompt: int, completion: int) -> str | None:
        cost = cost_of(prompt, completion, self.price) or 0.0
        reason = over_cap(
            self.budget, self.before_tokens + prompt + completion, self.before_cost + cost
        )
        return None if reason is None else f"stopped at the budget: {reason}"


def first_notice_today(home: Path, day: date) -> bool:
    """True once per budget day: whether this is the day's first budget notice.

    The day is remembered in `<home>/budget-notice.json`, so a cron-run cycle
    (a new process each time) sends one notice a day as the daemon does.
    """
    path = home / NOTICE_FILE
    try:
        seen = json.loads(path.read_text(encoding="utf-8")).get("day")
    except (OSError, ValueError, AttributeError):
        seen = None
    if seen == day.isoformat():
        return False
    home.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"day": day.isoformat()}), encoding="utf-8")
    os.replace(tmp, path)
    return True
