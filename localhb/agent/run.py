"""One run of the tool loop: its messages, counters, records and bounds (`LoopRun`),
and how it ended (`LoopEnd`). `localhb.agent.loop` builds a run, drives it and
turns its end into a result; nothing here raises once the run has started.

Bounds: `max_steps` model turns, `task_timeout` wall-clock, `max_tokens_per_task`
tokens, a spend guard, and the same failing tool call `REPEAT_LIMIT` times in a row.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC
from pathlib import Path
from typing import Any, Literal

from localhb.agent.client import ModelClient, OutOfTime
from localhb.agent.credentials import key_file
from localhb.agent.endpoint import NO_KEY, Reply, ToolCall
from localhb.agent.prompting import (
    context_message,
    payload_message,
    task_messages,
    wrap_tool_output,
    zone_name,
)
from localhb.agent.tools import CallStatus, Outcome, PathPolicy, Toolbox, ToolContext
from localhb.agent.tools.base import HistoryReader, Scheduler, short, short_arguments
from localhb.agent.tools.memory import search
from localhb.agent.tools.shell import command_env
from localhb.agent.wire import assistant_message, calls_in_text, canonical_arguments, resolve_name
from localhb.config import Config
from localhb.core.clock import Clock
from localhb.core.errors import LLMError, SetupError
from localhb.core.redact import Redactor
from localhb.core.results import (
    EventKind,
    Failure,
    RunStats,
    ToolCallRecord,
    TraceEvent,
    TraceSink,
    one_line,
)
from localhb.format.model import Task

REPEAT_LIMIT = 3
# The opening of a text reply that declines the task (named as a refusal, not as text).
_REFUSAL = re.compile(
    r"^\W*(?:i'?m sorry|sorry|i apologi[sz]e|unfortunately)?[,. ]*(?:but )?"
    r"(?:i|we) (?:can(?:no|')t|cannot|won'?t|am unable to|'m unable to|am not able to)"
    r" (?:help|assist|do|comply|complete|fulfil|provide|perform|carry out)",
    re.IGNORECASE,
)
NUDGES = 1  # times a model that answers without finishing is reminded how to finish
SpendGuard = Callable[[int, int], "str | None"]
"""Given a run's prompt and completion tokens so far, why it must stop (a spend
cap crossed), or None. Checked after each step; the run ends `partial`."""


# -- the loop ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LoopEnd:
    """How a loop ended: the finishing call (its checked arguments), or a failure."""

    arguments: Mapping[str, Any] = field(default_factory=dict)
    failure: Failure | None = None
    reason: str = ""
    fix: str = ""
    via: Literal["call", "failure"] = "call"


class LoopRun:
    """The state of one run: messages, counters, records and bounds."""

    def __init__(
        self,
        task: Task,
        config: Config,
        client: ModelClient,
        *,
        toolbox: Toolbox,
        model: str,
        condition: bool,
        on_event: TraceSink | None,
        clock: Clock,
        env: Mapping[str, str],
        heartbeat_file: Path | None,
        scheduler: Scheduler | None = None,
        guard: SpendGuard | None = None,
        history: HistoryReader | None = None,
        payload: str | None = None,
    ) -> None:
        self.task, self.config, self.client, self.toolbox = task, config, client, toolbox
        self.guard = guard
        self.payload = payload
        self.model, self.condition, self.clock = model, condition, clock
        self.sink = on_event
        llm = config.llm
        key = {client.api_key: "API_KEY"} if client.api_key != NO_KEY else {}
        self.redact = Redactor.from_env(
            env, extra_names=(llm.api_key_env, "OPENAI_API_KEY"), extra_values=key
        )
        self.started_at = clock.now().astimezone(UTC)
        self.deadline = clock.monotonic() + config.agent.task_timeout.total_seconds()
        workspace = config.agent.workspace
        workspace.mkdir(parents=True, exist_ok=True)
        protected = [heartbeat_file or config.heartbeat.file, config.state_db]
        if config.path is not None:
            protected.append(config.path)
        key_path = key_file(llm, env)
        secret = [key_path] if key_path is not None else []
        self.paths = PathPolicy.build(
            workspace, config.tools.allowed_directories, protected, secret=secret
        )
        hidden = [config.home, *secret]
        if env.get("CREDENTIALS_DIRECTORY"):  # systemd's LoadCredential= directory
            hidden.append(Path(env["CREDENTIALS_DIRECTORY"]))
        self.tz = config.tz()
        self.ctx = ToolContext(
            paths=self.paths,
            config=config.tools,
            tz=self.tz,
            task_id=task.id,
            env=command_env(env, (llm.api_key_env, "OPENAI_API_KEY")),
            now=clock.now,
            time_left=self.time_left,
            scheduler=scheduler,
            history=history,
            redact=self.redact,
            hidden=tuple(hidden),
        )
        self.messages: list[dict[str, Any]] = []
        self.steps = 0
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.budget_used = 0
        self.replies = 0
        self.reported = 0  # replies that came with usage
        self.records: list[ToolCallRecord] = []
        self.errors: list[str] = []
        self.unavailable: dict[str, str] = {}  # MCP server -> why it did not start
        self._failing: tuple[str, int] = ("", 0)

    def time_left(self) -> float:
        return self.deadline - self.clock.monotonic()

    def emit(self, kind: EventKind, **fields: Any) -> None:
        if self.sink is None:
            return
        for name in ("text", "detail"):
            if name in fields:
                fields[name] = self.redact(fields[name])
        self.sink(TraceEvent(kind=kind, task_id=self.task.id, step=self.steps, **fields))

    def open(self, system: str) -> None:
        limit = self.config.agent.memory_snippets
        query = f"{self.task.title}\n{self.task.text}"
        try:
            snippets = search(self.paths, query, limit, facts_first=True) if limit else []
        except OSError as exc:  # unreadable memory costs the context, not the run
            snippets = []
            self.errors.append(f"memory not searched: {exc}")
        now = self.clock.now().astimezone(self.tz)
        context = context_message(now, zone_name(self.tz), self.paths.workspace, snippets)
        if self.payload is not None and not self.condition:
            context += "\n\n" + payload_message(self.payload)
        for message in task_messages(system, self.task, context, condition=self.condition):
            self.messages.append({**message, "content": self.redact(message["content"])})
        what = "checking condition of" if self.condition else "running"
        self.emit(
            EventKind.START,
            text=f"{what} {self.task.id} ({self.task.title}) with {self.model} "
            f"at {self.client.base_url}",
        )

    def loop(self, finish: str, max_steps: int) -> LoopEnd:
        nudges = 0
        while True:
            if self.steps >= max_steps:
                return self.fail(
                    Failure.MAX_STEPS,
                    f"step limit reached: {max_steps} model turns without {finish}",
                )
            try:
                reply = self.client.complete(
                    self.model,
                    self.messages,
                    self.toolbox.schemas(),
                    deadline=self.deadline,
                    clock=self.clock,
                    on_retry=self.on_retry,
                )
            except OutOfTime:
                return self.timed_out()
            except SetupError as exc:
                return self.fail(Failure.SETUP, self.redact(exc.reason), fix=exc.fix)
            except LLMError as exc:
                return self.fail(Failure.LLM, self.redact(exc.reason))
            self.steps += 1
            self.count(reply)
            reply = self.calls_from_text(reply)
            self.messages.append(assistant_message(reply))
            if reply.text.strip() and reply.calls:
                self.emit(EventKind.MODEL, text=one_line(reply.text, 160))
            if not reply.calls:
                end = self.no_call(reply, finish, nudges)
                if end is not None:
                    return end
                nudges += 1
                continue
            end = self.run_calls(reply.calls, finish)
            if end is not None:
                return end
            if self.time_left() <= 0:
                return self.timed_out()
            budget = self.config.agent.max_tokens_per_task
            if self.budget_used > budget:
                return self.fail(
                    Failure.MAX_TOKENS,
                    f"token limit reached: {self.budget_used:,} of {budget:,} tokens used",
                )
            stop = self.guard(self.prompt_tokens, self.completion_tokens) if self.guard else None
            if stop is not None:  # a daily cap: this step is done; end here, partly done
                return self.fail(Failure.BUDGET, stop)

    def no_call(self, reply: Reply, finish: str, nudges: int) -> LoopEnd | None:
        """A reply without a tool call: a refusal, a cut-off, or text; None after a nudge."""
        said = reply.text.strip()
        if reply.refusal:
            return self.fail(
                Failure.MODEL_REFUSED, f"the model refused: {one_line(reply.refusal, 160)}"
            )
        if reply.finish_reason == "length":
            cap = self.config.llm.max_reply_tokens
            limit = f"{cap:,} tokens ([llm] max_reply_tokens)" if cap else "the server's limit"
            return self.fail(
                Failure.CUT_OFF,
                f"the model's reply was cut off at {limit} before it called {finish}",
                quote=said,
            )
        if nudges < NUDGES:
            if said:
                nudge = (
                    f"You answered in text, but only a {finish} call finishes. Do the work "
                    f"with the tools if it is not done, then call {finish}."
                )
            else:
                nudge = f"You said nothing. Finish by calling {finish}."
            self.messages.append({"role": "user", "content": nudge})
            return None
        if not said:
            return self.fail(Failure.NO_ANSWER, f"the model ended without calling {finish}")
        if _REFUSAL.search(said[:200]):
            return self.fail(Failure.MODEL_REFUSED, f"the model refused: {one_line(said, 160)}")
        return self.fail(
            Failure.TEXT_ONLY,
            f"the model answered in text and never called {finish}",
            quote=said,
        )

    def calls_from_text(self, reply: Reply) -> Reply:
        """A reply whose text holds tool calls (no real ones) as a reply with those calls."""
        if reply.calls or not reply.text.strip():
            return reply
        found = calls_in_text(reply.text, self.toolbox.names, step=self.steps)
        if found is None:
            return reply
        names = ", ".join(c.name for c in found.calls)
        self.emit(EventKind.NOTE, text=f"read {names} from the reply text ({found.form})")
        return replace(reply, text=found.rest, calls=found.calls)

    def run_calls(self, calls: Sequence[ToolCall], finish: str) -> LoopEnd | None:
        finished: Mapping[str, Any] | None = None
        for n, call in enumerate(calls):
            if finished is not None:  # the task is over: later calls in the reply never run
                names = ", ".join(c.name for c in calls[n:])
                self.errors.append(one_line(f"ignored calls after {finish}: {names}", 300))
                break
            name = resolve_name(call.name, self.toolbox.names)
            if name != call.name:
                self.emit(EventKind.NOTE, text=f"tool name {call.name!r} read as {name}")
                call = replace(call, name=name)
            started = self.clock.monotonic()
            outcome = self.unavailable_call(call) or self.toolbox.call(
                call.name, call.arguments, self.ctx
            )
            if outcome.repaired:
                self.emit(EventKind.NOTE, text=f"{call.name} arguments: {outcome.repaired}")
            seconds = self.clock.monotonic() - started
            content = self.redact(outcome.content) or "ok"
            self.record(call, outcome, content, seconds)
            if outcome.ok and call.name == finish:
                finished = outcome.arguments
                content = "received"
            self.messages.append(
                {
                    "role": "tool",
                    "tool_call_id": call.id,
                    "content": wrap_tool_output(call.name, outcome.status.value, content),
                }
            )
            if self.repeated(call, outcome):
                return self.fail(
                    Failure.REPEATED_CALL,
                    f"the same failing call was made {REPEAT_LIMIT} times in a row: "
                    f"{call.name}({self.redact(short(call.arguments, 120))})",
                )
        if finished is not None:
            return LoopEnd(arguments=finished)
        return None

    def unavailable_call(self, call: ToolCall) -> Outcome | None:
        """A call of a tool of an MCP server that did not start: its start failure."""
        server = call.name.partition("__")[0]
        if server not in self.unavailable or self.toolbox.get(call.name) is not None:
            return None
        why = self.unavailable[server]
        return Outcome(call.name, CallStatus.ERROR, f"error: {why}; no tool of it can be called")

    def record(self, call: ToolCall, outcome: Outcome, content: str, seconds: float) -> None:
        arguments = self.redact(short_arguments(outcome.arguments, call.arguments))
        detail = one_line(content, 160)
        if not outcome.ok:
            self.errors.append(one_line(f"{call.name}: {content}", 300))
        self.records.append(
            ToolCallRecord(self.steps, call.name, arguments, outcome.status.value, detail, seconds)
        )
        self.emit(
            EventKind.TOOL,
            tool=call.name,
            text=arguments,
            outcome=outcome.status.value,
            detail=detail,
            seconds=seconds,
        )

    def repeated(self, call: ToolCall, outcome: Outcome) -> bool:
        if outcome.ok:
            self._failing = ("", 0)
            return False
        signature = f"{call.name}\x00{canonical_arguments(call.arguments)}"
        previous, count = self._failing
        count = count + 1 if signature == previous else 1
        self._failing = (signature, count)
        return count >= REPEAT_LIMIT

    def count(self, reply: Reply) -> None:
        self.replies += 1
        if reply.prompt_tokens is not None:
            self.prompt_tokens += reply.prompt_tokens
            self.reported += 1
        if reply.completion_tokens is not None:
            self.completion_tokens += reply.completion_tokens
        # An endpoint that reports nothing still spends: estimate at 4 characters a token.
        prompt = reply.prompt_tokens
        if prompt is None:
            prompt = len(json.dumps(self.messages, ensure_ascii=False)) // 4
        completion = reply.completion_tokens
        if completion is None:
            said = len(reply.text) + len(reply.reasoning)
            completion = (said + sum(len(c.arguments) for c in reply.calls)) // 4
        self.budget_used += prompt + completion

    def on_retry(self, reason: str, attempt: int, delay: float) -> None:
        limit = self.config.llm.max_retries
        self.emit(EventKind.RETRY, text=f"retry {attempt}/{limit} in {delay:.2g}s: {reason}")

    def timed_out(self) -> LoopEnd:
        limit = self.config.agent.task_timeout.total_seconds()
        return self.fail(Failure.TIMEOUT, f"task timeout reached: {limit:g}s")

    def fail(self, failure: Failure, reason: str, *, fix: str = "", quote: str = "") -> LoopEnd:
        """End the run in error; `quote` (what the model said) goes to errors, not the summary."""
        self.errors.append(reason)
        if quote:
            self.errors.append(self.redact(f"the model said: {one_line(quote, 160)}"))
        if fix:
            self.errors.append(f"fix: {fix}")
        return LoopEnd(failure=failure, reason=reason, fix=fix, via="failure")

    def stats(self, failure: Failure | None, fix: str = "") -> RunStats:
        known = self.reported > 0
        usage = "reported" if self.reported == self.replies else "partial" if known else "unknown"
        return RunStats(
            model=self.model,
            prompt_tokens=self.prompt_tokens if known else None,
            completion_tokens=self.completion_tokens if known else None,
            usage=usage,
            estimated_tokens=self.budget_used,
            fix=fix,
            steps=self.steps,
            tool_calls=tuple(self.records),
            errors=tuple(self.errors),
            started_at=self.started_at,
            completed_at=self.clock.now().astimezone(UTC),
            failure=failure,
        )
