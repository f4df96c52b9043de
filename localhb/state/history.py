"""What the `run_history` tool shows: a bounded, redacted report of recent runs.

Pure over values read from the store (runs, skip counters, task snapshots, the
last cycle): `history_report` does no I/O. The report carries the raw recent
runs (clipped) and the patterns code can see without a model, so even a small
model can name them:

    repeated tool errors   the same tool failing the same way in 2+ runs
    repeated task errors   a task failing with the same error in 2+ runs (a `Run:` command too)
    same-hour failures     a task failing at the same local hour on 2+ days
    setup errors           runs that failed because the endpoint or config is wrong
    growing token use      a task whose latest runs cost twice its earlier ones
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any

from localhb.core.results import Failure
from localhb.state.ledger import RunRow, SkipCount, Snapshot

MAX_WINDOW = timedelta(days=14)
PATTERN_WINDOW = timedelta(days=7)
"""Patterns look back at least this far, whatever window the runs are listed for: a
task failing at 03:00 every night is a pattern no 24-hour window can show."""
MAX_LIMIT = 200
FIELD_CHARS = 240  # each summary, error and tool detail, clipped
FAILED = frozenset({"error", "timeout", "abandoned"})
SETUP_WORDS = re.compile(
    r"\b(?:401|403|404|api key|model not found|does not support tools|--jinja|"
    r"connection refused|endpoint|setup)\b",
    re.IGNORECASE,
)
_NUMBERS = re.compile(r"\d+")
_FAILURE_WORDS = frozenset(f.value for f in Failure)


@dataclass(frozen=True, slots=True)
class HistoryQuery:
    """How much to show: runs that started within `window`, at most `limit` of them."""

    window: timedelta = timedelta(hours=24)
    limit: int = 50
    task_id: str | None = None
    failures_only: bool = False

    def bounded(self) -> HistoryQuery:
        window = min(max(self.window, timedelta(minutes=1)), MAX_WINDOW)
        limit = min(max(self.limit, 1), MAX_LIMIT)
        return HistoryQuery(window, limit, self.task_id, self.failures_only)


def clip(text: str | None, limit: int = FIELD_CHARS) -> str:
    """One line of at most `limit` characters."""
    flat = " ".join((text or "").split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _result(row: RunRow) -> dict[str, Any]:
    if not row.result_json:
        return {}
    try:
        value = json.loads(row.result_json)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def failed_calls(row: RunRow) -> list[dict[str, str]]:
    """The tool calls of `row` that did not succeed: name, outcome, detail."""
    calls = _result(row).get("tool_calls") or []
    return [
        {
            "tool": str(c.get("name", "?")),
            "outcome": str(c.get("outcome", "?")),
            "detail": clip(str(c.get("detail", ""))),
        }
        for c in calls
        if isinstance(c, dict) and c.get("outcome") != "ok"
    ]


def what_failed(row: RunRow) -> str:
    """What the run said went wrong: its error, or its summary when the error is only
    the kind of failure (`command`, `max_steps`, ...)."""
    error = (row.error or "").strip()
    if error and error not in _FAILURE_WORDS:
        return error
    return (row.summary or "").strip() or error


def is_setup(row: RunRow) -> bool:
    """The run failed because the endpoint or config is wrong (`Failure.SETUP`), not the task."""
    if _result(row).get("failure") == "setup":
        return True
    return bool(row.error and SETUP_WORDS.search(row.error))


def _is_failure(row: RunRow) -> bool:
    return (row.status or row.state) in FAILED or bool(failed_calls(row))


def _run_entry(row: RunRow, tz: tzinfo) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "run": row.id,
        "task": row.task_id,
        "kind": row.kind,
        "attempt": row.attempt,
        "status": row.status or row.state,
        "started": row.started_at.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
        "summary": clip(row.summary),
        "tokens": row.prompt_tokens + row.completion_tokens,
    }
    if row.error:
        entry["error"] = clip(row.error)
    calls = failed_calls(row)
    if calls:
        entry["failed_tool_calls"] = calls[:5]
    return entry


def _shape(text: str) -> str:
    """A detail with its numbers folded, so "line 3" and "line 4" count as one error."""
    return _NUMBERS.sub("#", text.lower())[:120]


def patterns(rows: Sequence[RunRow], tz: tzinfo) -> list[str]:
    """What code can see in `rows` without a model, one sentence each."""
    found: list[str] = []
    tool_errors: Counter[tuple[str, str]] = Counter()
    example: dict[tuple[str, str], str] = {}
    for row in rows:
        seen: set[tuple[str, str]] = set()
        for call in failed_calls(row):
            key = (call["tool"], _shape(call["detail"]))
            if key not in seen:
                seen.add(key)
                tool_errors[key] += 1
                example.setdefault(key, call["detail"])
    for (tool, shape), n in tool_errors.most_common():
        if n >= 2:
            found.append(f"tool {tool} failed the same way in {n} runs: {example[(tool, shape)]}")
    task_errors: Counter[tuple[str, str]] = Counter()
    said: dict[tuple[str, str], str] = {}
    for row in rows:
        text = what_failed(row)
        if (row.status or row.state) in FAILED and text and not is_setup(row):
            key = (row.task_id, _shape(text))
            task_errors[key] += 1
            said.setdefault(key, clip(text, 160))
    for (task, shape), n in sorted(task_errors.items(), key=lambda kv: (-kv[1], kv[0])):
        if n >= 2:
            found.append(f"task {task} failed the same way in {n} runs: {said[(task, shape)]}")
    by_hour: dict[tuple[str, int], set[str]] = defaultdict(set)
    for row in rows:
        if (row.status or row.state) in FAILED:
            local = row.started_at.astimezone(tz)
            by_hour[(row.task_id, local.hour)].add(local.date().isoformat())
    for (task, hour), days in sorted(by_hour.items()):
        if len(days) >= 2:
            found.append(
                f"task {task} failed at {hour:02d}:xx on {len(days)} days "
                f"({', '.join(sorted(days))})"
            )
    setup = [r for r in rows if is_setup(r)]
    if len(setup) >= 2:
        first = what_failed(setup[0])
        found.append(f"{len(setup)} runs failed on a setup error: {clip(first, 120)}")
    by_task: dict[str, list[RunRow]] = defaultdict(list)
    for row in sorted(rows, key=lambda r: r.started_at):
        by_task[row.task_id].append(row)
    for task, runs in sorted(by_task.items()):
        spent = [r.prompt_tokens + r.completion_tokens for r in runs if r.kind == "task"]
        if len(spent) >= 4:
            half = len(spent) // 2
            early, late = sum(spent[:half]) / half, sum(spent[half:]) / (len(spent) - half)
            if early > 0 and late >= 2 * early:
                found.append(
                    f"task {task} uses more tokens: {early:.0f} per run earlier, {late:.0f} lately"
                )
    return found


def history_report(
    rows: Iterable[RunRow],
    *,
    now: datetime,
    tz: tzinfo,
    query: HistoryQuery,
    skips: Mapping[str, SkipCount] | None = None,
    snapshots: Mapping[str, Snapshot] | None = None,
    extra: Mapping[str, Any] | None = None,
    redact: Callable[[str], str] = lambda s: s,
) -> str:
    """The report as JSON text: bounded by `query`, every string passed through `redact`."""
    q = query.bounded()
    since = now - q.window
    looked = now - max(q.window, PATTERN_WINDOW)
    wanted = [
        r for r in rows if r.started_at >= looked and (q.task_id is None or r.task_id == q.task_id)
    ]
    recent = [r for r in wanted if r.started_at >= since]
    recent.sort(key=lambda r: r.started_at, reverse=True)
    shown = [r for r in recent if _is_failure(r)] if q.failures_only else recent
    statuses = Counter(r.status or r.state for r in recent)
    report: dict[str, Any] = {
        "window": f"since {since.astimezone(tz):%Y-%m-%d %H:%M} ({len(recent)} runs)",
        "counts": dict(sorted(statuses.items())),
        "patterns": patterns(wanted, tz),
        "patterns_since": f"{looked.astimezone(tz):%Y-%m-%d %H:%M}",
        "runs": [_run_entry(r, tz) for r in shown[: q.limit]],
    }
    if len(shown) > q.limit:
        report["runs_left_out"] = len(shown) - q.limit
    failing = {
        task: snap.consecutive_failures
        for task, snap in sorted((snapshots or {}).items())
        if snap.consecutive_failures > 0
    }
    if failing:
        report["consecutive_failures"] = failing
    if skips:
        report["skips"] = {k: v.count for k, v in sorted(skips.items())}
    for key, value in (extra or {}).items():
        report[key] = value
    return redact(json.dumps(report, ensure_ascii=False, indent=1, default=str))


def new_failures(rows: Iterable[RunRow], since: datetime | None, *, skip: str) -> int:
    """Failed runs (or runs with failed tool calls) of tasks other than `skip` that ended
    after `since` (all of them when None): the audit's zero-token gate. A run that began
    before `since` but ended after it (another worker's) counts too."""
    return sum(
        1
        for r in rows
        if r.task_id != skip
        and (since is None or (r.completed_at or r.started_at) > since)
        and _is_failure(r)
    )
