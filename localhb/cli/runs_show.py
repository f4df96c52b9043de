"""`localhb runs show RUN_ID|TASK_ID`: one run, as `localhb run` printed it live.

A number is a run id (the `id` of `runs --json`); anything else is a task id,
and shows that task's latest run. The trace is rebuilt from the ledger: each
tool call with its arguments and its output (both redacted when recorded, the
output clipped to 160 characters), then the result, tokens and time. A `Run:`
task shows its command and how it ended, then the output's head and tail.

Exit 0; 2 for an unknown run or task id, or a config or ledger problem.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import tzinfo
from typing import TYPE_CHECKING, Any

from localhb.core.results import NO_MODEL

if TYPE_CHECKING:
    from localhb.state.ledger import RunRow

EXIT_OK = 0
EXIT_USAGE = 2


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "show",
        help="one run's trace: tool calls and their output, result, tokens, time",
        description="Print one run as `localhb run` prints it live: each tool call with "
        "its output (clipped, redacted), then the result, tokens and time. RUN is a run "
        "id (see `localhb runs --json`) or a task id, for that task's latest run. "
        "Exit 0, or 2 when there is no such run.",
    )
    p.add_argument("run", metavar="RUN_ID|TASK_ID", help="a run id, or a task id")
    p.add_argument("--json", action="store_true", help="print the run as one JSON object")
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from localhb.cli.common import load
    from localhb.state.store import existing_store

    config = load(args)
    row: RunRow | None = None
    known: list[str] = []
    with existing_store(config) as ledger:
        if ledger is not None:
            wanted: str = args.run
            if wanted.isdigit():
                row = ledger.run(int(wanted))
            if row is None:
                latest = ledger.runs(wanted, 1)
                row = latest[0] if latest else None
            if row is None:
                known = sorted({r.task_id for r in ledger.runs(None, 500)})
    if row is None:
        _no_run(args.run, known)
        return EXIT_USAGE
    if args.json:
        print(json.dumps(row.to_dict(), ensure_ascii=False, indent=2))
    else:
        print("\n".join(show_lines(row, config.tz())))
    return EXIT_OK


def _no_run(wanted: str, known: list[str]) -> None:
    from localhb.format.suggest import nearest

    what = f"run {wanted}" if wanted.isdigit() else f"run of a task {wanted!r}"
    print(f"localhb: error: no {what} in the ledger", file=sys.stderr)
    close = nearest(wanted, known)
    if close:
        print("did you mean " + " or ".join(repr(c) for c in close) + "?", file=sys.stderr)
    if known:
        print("tasks with runs: " + ", ".join(known), file=sys.stderr)
    else:
        print("nothing has run yet (`localhb runs` lists the runs)", file=sys.stderr)


def show_lines(row: RunRow, tz: tzinfo) -> list[str]:
    """The lines `runs show` prints for one run."""
    from localhb.cli.common import duration_text

    result: dict[str, Any] = json.loads(row.result_json) if row.result_json else {}
    kind = "" if row.kind == "task" else f" ({row.kind})"
    attempt = f" #{row.attempt}" if row.attempt > 1 else ""
    started = row.started_at.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S %Z")
    lines = [f"run {row.id}: {row.task_id}{kind}, slot {row.slot}{attempt}, started {started}"]
    model = result.get("model")
    if result.get("check") == "code":
        lines.append(f"> {row.task_id}: check in code, no model")
        if result.get("checked"):  # as live: ok when it could be evaluated, met or not
            error = result.get("error")
            ended = "ok" if error is None else f"ERROR: {error}"
            lines.append(f"   0 check({result['checked']}) -> {ended}")
    elif model == NO_MODEL:
        what = "check, no model" if row.kind == "check" else "command, no model"
        lines.append(f"> {row.task_id}: {what}")
    elif model:
        lines.append(f"> {row.task_id} with {model}")
    if result.get("command"):
        lines.append(_command_line(row, result))
    for call in result.get("tool_calls", []):
        lines += _call_lines(call)
    lines += _end_lines(row, result, duration_text)
    return lines


def _command_line(row: RunRow, result: dict[str, Any]) -> str:
    """A `Run:` command as the live trace shows it: the command, how it ended."""
    seconds = float(result.get("seconds") or 0.0)
    took = f" {seconds:.1f}s" if seconds >= 0.1 else ""
    head = f"   0 run({result['command']})"
    if row.status == "ok":
        return f"{head} -> ok{took}"
    return f"{head} -> ERROR{took}: {row.summary or row.error or ''}"


def _call_lines(call: dict[str, Any]) -> list[str]:
    seconds = float(call.get("seconds", 0.0))
    took = f" {seconds:.1f}s" if seconds >= 0.1 else ""
    head = f"  {call.get('step', 0):>2} {call.get('name', '?')}({call.get('arguments', '')})"
    outcome = str(call.get("outcome", "?"))
    detail = str(call.get("detail", ""))
    if outcome == "ok":
        shown = detail and detail not in ("ok", "received")
        return [f"{head} -> ok{took}", *([f"       | {detail}"] if shown else [])]
    detail = detail.removeprefix("error: ").removeprefix("refused: ")
    return [f"{head} -> {outcome.upper()}{took}: {detail}"]


def _end_lines(row: RunRow, result: dict[str, Any], duration: Any) -> list[str]:
    if row.completed_at is None:
        return [f"= {row.state}: the run has not finished (pid {row.pid} on {row.host})"]
    if row.kind == "check" and "outcome" in result:
        evidence = result.get("error") or result.get("evidence") or ""
        lines = [f"= condition {result['outcome']}: {evidence}"]
    else:
        status = row.status or row.state
        lines = [f"= {status}: {row.summary or row.error or ''}"]
        if row.state != (row.status or row.state):
            lines[0] = f"= {row.state} ({status}): {row.summary or row.error or ''}"
    notes = row.notes or ""
    lines += [f"  {line}" for line in notes.splitlines()]
    for error in result.get("errors", []):
        if error != row.summary:  # a `Run:` command's error is its summary, shown above
            lines.append(f"  ! {error}")
    tokens = f"{row.prompt_tokens:,}+{row.completion_tokens:,} tokens"
    took = "-" if row.duration is None else duration(row.duration)
    calls = len(result.get("tool_calls", [])) or row.tool_calls
    lines.append(f"  ({row.steps} steps, {calls} tool calls, {tokens}, {took})")
    return lines
