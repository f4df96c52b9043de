"""`localhb run TASK_ID`: carry out one task now, due or not, with a live trace.

Exit 0 when the task ends ok, partial or skipped (or its condition is not
met, with --check); 1 when it ends in error; 2 for an unknown task id, a file
or config problem, a file with errors (like a cycle, `run` runs nothing from
it), or a missing API key. The run goes through the same `execute` as a
cycle's, with trigger `manual`: it is in `localhb runs` and leaves a health
file, but HEARTBEAT.md and the task's schedule are left unchanged (the next
cycle runs the task when it is due, as before).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from localhb.core.results import ConditionResult, TaskResult, TraceEvent

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "run",
        help="carry out one task now, due or not, and print a live trace",
        description="Carry out one task now with the agent, whether or not it is due. "
        "Prints each tool call and its outcome, then the result. The run is recorded in "
        "`localhb runs` with trigger manual and writes a health file; HEARTBEAT.md and the "
        "task's schedule are left unchanged. Refuses a file with errors, as a cycle does. "
        "Exit 0 for ok/partial/skipped, 1 for error, 2 for usage problems.",
    )
    p.add_argument("task_id", metavar="TASK_ID", help="the task's id (see `localhb tasks`)")
    p.add_argument("--file", type=Path, help="the HEARTBEAT.md (default: [heartbeat] file)")
    p.add_argument(
        "--check",
        action="store_true",
        help="for a conditional task, check the condition first and run only if it is met",
    )
    p.add_argument("--json", action="store_true", help="print the result as JSON at the end")
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from localhb.config import load_config
    from localhb.core.clock import utc_now
    from localhb.core.errors import MissingAPIKey
    from localhb.core.results import Status
    from localhb.cycle.budget import Budget
    from localhb.cycle.execute import LLMAgent, Options, execute
    from localhb.cycle.observers import close_observers, default_observers
    from localhb.cycle.workspace import Workspace
    from localhb.format.model import TaskKind
    from localhb.state.store import Trigger, open_store
    from localhb.timing.plan import Work, WorkKind

    config = load_config(args.config, home=args.home)
    path: Path = args.file or config.heartbeat.file
    ws = Workspace.load(config, file=path)
    doc = ws.doc
    if doc.errors:  # like a cycle: a file with errors runs nothing
        for d in doc.errors:
            print(d.format(str(path)), file=sys.stderr)
        print(
            f"localhb: error: {path} has {len(doc.errors)} error(s), so no task of it runs "
            "(fix them; `localhb validate` lists them)",
            file=sys.stderr,
        )
        return EXIT_USAGE
    task = doc.task(args.task_id)
    if task is None:
        from localhb.format.suggest import unknown_task

        first, *rest = unknown_task(args.task_id, doc, str(path))
        print(f"localhb: error: {first}", file=sys.stderr)
        for line in rest:
            print(line, file=sys.stderr)
        return EXIT_USAGE

    printer = TracePrinter(sys.stdout)
    check = bool(args.check) and (task.check is not None or task.condition is not None)
    try:
        agent = LLMAgent.connect(
            config,
            on_event=printer,
            heartbeat_file=path,
            model=task.run is None or (check and task.condition is not None),
        )
    except MissingAPIKey as exc:
        print(f"localhb: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    now = utc_now()
    kind = WorkKind.CHECK if check and task.kind is TaskKind.CONDITIONAL else WorkKind.TASK
    work = Work(task, now, kind, ws.judge(task, now))
    observers = default_observers(config, ws.tz)
    budget = Budget(config, utc_now, observers=observers)
    options = Options.of(
        config, utc_now, trigger=Trigger.MANUAL, gates=bool(args.check), budget=budget
    )
    try:
        with open_store(config) as store:
            done = execute(work, store, agent, observers, options)
    finally:
        agent.close()
        close_observers(observers)
    if done is None:  # a manual run's slot is its own moment: only the budget holds it
        why = budget.lines[0].summary if budget.lines else "it was not started"
        print(f"= skipped: {why}")
        print(
            "not run: [budget] holds model runs until the next budget day "
            "(`localhb usage` shows the spend; raise the cap in config.toml to go on)",
            file=sys.stderr,
        )
        return EXIT_FAILED
    if done.gate is not None:
        print(f"= check {done.gate.outcome}: {done.gate.error or done.gate.evidence}")
    if done.check is not None:
        _print_check(done.check)
    if done.result is not None:
        _print_result(done.result)
    elif done.check is None and done.gate is None:
        print(f"= {done.outcome.status}: {done.outcome.summary}")  # it crashed
    runs = ", ".join(str(r) for r in done.runs)
    print(
        f"recorded as manual run {runs} (`localhb runs`); HEARTBEAT.md and the schedule unchanged"
    )
    if args.json:
        shown = done.result or done.check
        outcome = {"status": done.outcome.status, "summary": done.outcome.summary}
        _print_json(shown.to_dict() if shown is not None else outcome)
    _suggest_doctor(done.result or done.check)
    return EXIT_FAILED if done.outcome.status == Status.ERROR else EXIT_OK


def _suggest_doctor(shown: TaskResult | ConditionResult | None) -> None:
    """After a setup failure (key, model, tool support, unreachable): the fix, and doctor."""
    from localhb.cli.doctor_cmd import suggestion

    if shown is None or shown.stats.failure is None or not shown.stats.failure.is_setup:
        return
    if shown.stats.fix:
        print(f"localhb: fix: {shown.stats.fix}", file=sys.stderr)
    print(suggestion("the endpoint or config is wrong"), file=sys.stderr)


class TracePrinter:
    """Prints trace events as readable lines, flushing each so the trace is live."""

    def __init__(self, out: TextIO) -> None:
        self.out = out

    def __call__(self, event: TraceEvent) -> None:
        line = self.format(event)
        if line:
            print(line, file=self.out, flush=True)

    @staticmethod
    def format(event: TraceEvent) -> str:
        kind = event.kind.value
        if kind == "start":
            return f"> {event.text}"
        if kind == "retry":
            return f"  ~ {event.text}"
        if kind == "model":
            return f"  . model: {event.text}"
        if kind == "note":
            return f"  . localhb: {event.text}"
        if kind == "tool":
            head = f"  {event.step:>2} {event.tool}({event.text})"
            took = f" {event.seconds:.1f}s" if event.seconds >= 0.1 else ""
            if event.outcome == "ok":
                return f"{head} -> ok{took}"
            detail = event.detail.removeprefix("error: ").removeprefix("refused: ")
            return f"{head} -> {event.outcome.upper()}{took}: {detail}"
        return ""


def _print_result(result: TaskResult) -> None:
    s = result.stats
    print(f"= {result.status.value}: {result.summary}")
    if result.notes:
        for line in result.notes.splitlines():
            print(f"  {line}")
    if s.prompt_tokens is None or s.completion_tokens is None:
        tokens = f"tokens not reported, about {s.estimated_tokens:,}"
    else:
        tokens = f"{s.prompt_tokens:,}+{s.completion_tokens:,} tokens"
    print(f"  ({s.steps} steps, {len(s.tool_calls)} tool calls, {tokens}, {s.seconds:.1f}s)")


def _print_check(check: ConditionResult) -> None:
    if check.error:
        print(f"= condition check failed: {check.error}")
    elif check.met:
        print(f"= condition met: {check.evidence}")
    else:
        print(f"= condition not met, task not run: {check.evidence}")


def _print_json(data: dict[str, Any]) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2))
