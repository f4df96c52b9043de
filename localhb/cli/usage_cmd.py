"""`localhb usage`: tokens, estimated cost and runs per day and per task, against `[budget]`.

Exit 0 (also with no state.db yet); 2 on a config or ledger error.
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from localhb.cli.common import count

if TYPE_CHECKING:
    from localhb.config import BudgetConfig
    from localhb.state.budget import Usage

EXIT_OK = 0


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "usage",
        help="tokens, estimated cost and runs per day and task, with the caps and what is left",
        description="Print, for each of the last N budget days (newest first), the runs, "
        "tokens and estimated cost in all and per task, then the [budget] caps and what "
        "is left of them today. Days are midnight to midnight in [budget] timezone. "
        "Cost is estimated from the price table; tokens of models without a price are "
        "counted but not costed (a cost marked + has some). Exits 0, or 2 on a config or "
        "ledger error.",
    )
    p.add_argument("--days", type=count, default=7, metavar="N", help="how many days (default 7)")
    p.add_argument(
        "--at", metavar='"YYYY-MM-DD HH:MM"', help="as if it were this time (for today and N)"
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from localhb.cli.common import load, moment
    from localhb.state.budget import Usage, read_spend
    from localhb.state.store import existing_store

    config = load(args)
    now = datetime.now(UTC)
    if args.at:
        now = moment(args.at, config.budget_tz(), "--at")
    with existing_store(config) as store:
        if store is not None:
            usage = read_spend(store, config, now, args.days)
        else:
            usage = Usage(config.budget, now, config.budget_tz())
    if args.json:
        print(json.dumps(to_json(usage, args.days), ensure_ascii=False, indent=2))
    else:
        print(render(usage))
    return EXIT_OK


def _caps(budget: BudgetConfig) -> dict[str, Any]:
    return {
        "daily_tokens": budget.daily_tokens,
        "daily_cost": budget.daily_cost,
        "per_task_tokens": budget.per_task_tokens,
    }


def to_json(usage: Usage, days: int) -> dict[str, Any]:
    tokens_left, cost_left = usage.left()
    return {
        "timezone": getattr(usage.zone, "key", str(usage.zone)),
        "days": [
            {
                "day": d.day.isoformat(),
                **d.total.to_dict(),
                "tasks": [{"task_id": t, **tally.to_dict()} for t, tally in d.tasks],
            }
            for d in usage.days[:days]
        ],
        "caps": _caps(usage.budget),
        "today": {
            **usage.today.to_dict(),
            "tokens_left": tokens_left,
            "cost_left": None if cost_left is None else round(cost_left, 6),
            "blocked": usage.block_reason(),
        },
    }


def render(usage: Usage) -> str:
    rows: list[tuple[str, ...]] = [("DAY", "TASK", "RUNS", "TOKENS", "COST")]
    for d in usage.days:
        rows.append((d.day.isoformat(), "(all)", *_cells(d.total)))
        rows += [("", task, *_cells(t)) for task, t in d.tasks]
    lines: list[str] = []
    if len(rows) == 1:
        lines.append("no runs in these days")
    else:
        widths = [max(len(r[i]) for r in rows) for i in range(5)]
        for r in rows:
            cells = [r[0].ljust(widths[0]), r[1].ljust(widths[1])]
            cells += [c.rjust(w) for c, w in zip(r[2:], widths[2:], strict=True)]
            lines.append("  ".join(cells).rstrip())
    b = usage.budget
    today = usage.today
    tokens_left, cost_left = usage.left()
    zone = getattr(usage.zone, "key", str(usage.zone))
    lines.append("")
    lines.append(
        f"today ({zone}): {today.tokens:,} tokens, ~{today.cost:.4f} in {today.runs} run(s)"
    )
    tok = "none" if b.daily_tokens is None else f"{b.daily_tokens:,} ({tokens_left:,} left)"
    if b.daily_tokens is not None and today.tokens > b.daily_tokens:
        tok = f"{b.daily_tokens:,} (none left: {today.tokens - b.daily_tokens:,} over)"
    cost = "none" if b.daily_cost is None else f"{b.daily_cost:.2f} ({cost_left:.4f} left)"
    if b.daily_cost is not None and today.cost > b.daily_cost:
        cost = f"{b.daily_cost:.2f} (none left: {today.cost - b.daily_cost:.4f} over)"
    lines.append(
        f"caps: daily_tokens {tok}; daily_cost {cost}; per_task_tokens {b.per_task_tokens:,}"
    )
    if any(d.total.uncosted for d in usage.days):
        lines.append(
            "+ also tokens of a model with no price: counted, not costed "
            "([budget.prices] in config.toml)"
        )
    reason = usage.block_reason()
    if reason:
        lines.append(f"model runs are skipped until tomorrow: {reason}")
    return "\n".join(lines)


def _cells(t: Any) -> tuple[str, str, str]:
    cost = f"{t.cost:.4f}" + ("+" if t.uncosted else "")
    return (str(t.runs), f"{t.tokens:,}", cost)
