"""The agent: an LLM tool loop that carries out one task, bounded and safe to leave alone.

    connect(llm)               -> ModelClient      (raises MissingAPIKey: nothing ran)
    check_condition(task, cfg) -> ConditionResult  read-only tools, report_condition
    run_task(task, cfg)        -> TaskResult       all tools, complete_task

This is the only module that imports `openai`, and only inside `ModelClient`,
so loading it costs nothing until a task really runs. The SDK's own retries
are off: `ModelClient.complete` retries 408/409/429/5xx, timeouts and
connection failures itself, with `[llm] retry_backoff` doubling (or the
server's Retry-After), reporting each retry as a trace event, and never past
the task's deadline. When retries are spent the run ends as an error result
naming the reason.

After the task starts nothing raises: every failure is in the result. Bounds:
`max_steps` model turns, `task_timeout` wall-clock, `max_tokens_per_task`
tokens, and the same failing tool call `REPEAT_LIMIT` times in a row.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal

from localhb.agent.credentials import key_file
from localhb.agent.endpoint import (
    NO_KEY,
    Reply,
    ToolCall,
    backoff,
    is_retryable,
    max_tokens_field,
    resolve_endpoint,
    retry_after_seconds,
    setup_problem,
)
from localhb.agent.prompting import (
    context_message,
    payload_message,
    system_prompt,
    task_messages,
    wrap_tool_output,
    zone_name,
)
from localhb.agent.tools import (
    CallStatus,
    Outcome,
    PathPolicy,
    Toolbox,
    ToolContext,
    check_toolbox,
    task_toolbox,
)
from localhb.agent.tools.base import HistoryReader, Scheduler, short
from localhb.agent.tools.memory import search
from localhb.agent.tools.shell import command_env
from localhb.agent.wire import (
    ReplyError,
    calls_in_text,
    provider_message,
    read_completion,
    resolve_name,
    strip_thinking,
)
from localhb.config import Config, LLMConfig
from localhb.core.clock import Clock as Clock
from localhb.core.errors import LLMError, SetupError
from localhb.core.redact import Redactor, strip_url_credentials
from localhb.core.results import (
    ConditionResult,
    EventKind,
    Failure,
    RunStats,
    Status,
    TaskResult,
    ToolCallRecord,
    TraceEvent,
    TraceSink,
    clip,
    one_line,
)
from localhb.format.model import Task

if TYPE_CHECKING:
    import openai

    from localhb.agent.mcp import MCPHub

REPEAT_LIMIT = 3
# The opening of a text reply that declines the task (named as a refusal, not as text).
_REFUSAL = re.compile(
    r"^\W*(?:i'?m sorry|sorry|i apologi[sz]e|unfortunately)?[,. ]*(?:but )?"
    r"(?:i|we) (?:can(?:no|')t|cannot|won'?t|am unable to|'m unable to|am not able to)"
    r" (?:help|assist|do|comply|complete|fulfil|provide|perform|carry out)",
    re.IGNORECASE,
)
NUDGES = 1  # times a model that answers without finishing is reminded how to finish
CHECK_MAX_STEPS = 8
MESSAGE_LIMIT = 1000  # characters of complete_task's `message`


# -- the endpoint --------------------------------------------------------------


class OutOfTime(Exception):
    """Internal: the task's deadline came while talking to the endpoint."""


RetryHook = Callable[[str, int, float], None]
SpendGuard = Callable[[int, int], "str | None"]
"""Given a run's prompt and completion tokens so far, why it must stop (a spend
cap crossed), or None. Checked after each step; the run ends `partial`."""


class ModelClient:
    """An OpenAI-compatible chat endpoint: the SDK client plus localhb's retry policy."""

    def __init__(self, llm: LLMConfig, base_url: str, api_key: str) -> None:
        import openai

        from localhb.agent.tls import http_client

        self.llm = llm
        self.base_url = strip_url_credentials(base_url)  # as shown in traces and errors
        self.api_key = api_key
        self._client = openai.OpenAI(
            base_url=base_url,
            api_key=api_key,
            max_retries=0,
            timeout=llm.request_timeout,
            http_client=http_client(openai),  # the process's one TLS context (agent/tls.py)
        )
        self.cap_field = max_tokens_field(base_url)
        self._switched = False

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> ModelClient:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def complete(
        self,
        model: str,
        messages: Sequence[Mapping[str, Any]],
        tools: Sequence[Mapping[str, Any]],
        *,
        deadline: float,
        clock: Clock,
        on_retry: RetryHook,
    ) -> Reply:
        """One chat completion, retried as configured.

        Raises SetupError at once for a wrong key, model or tool support (and
        for an endpoint still unreachable after the retries), LLMError for other
        failures, OutOfTime at the task's deadline.
        """
        import openai

        attempt = 0
        while True:
            left = deadline - clock.monotonic()
            if left <= 0:
                raise OutOfTime
            timeout = min(self.llm.request_timeout, left)
            wait: float | None = None
            status: int | None = None
            try:
                raw = self._client.chat.completions.with_raw_response.create(
                    model=model,
                    messages=messages,  # type: ignore[arg-type]  # plain dicts of the right shape
                    tools=tools,  # type: ignore[arg-type]
                    timeout=timeout,
                    extra_body=self.extra_body(),
                )
                return self._decode(raw.http_response.content)
            except openai.APIStatusError as exc:
                status = exc.status_code
                message = _message(exc)
                if status == 400 and self._switch_cap_field(message):
                    continue  # the endpoint named the cap field it wants: ask again at once
                retryable = is_retryable(status)
                reason = f"HTTP {status} from {self.base_url}: {message}"
                wait = retry_after_seconds(exc.response.headers, clock.now())
                self._raise_if_setup(status, message, reason)
            except openai.APITimeoutError:
                if timeout < self.llm.request_timeout:
                    raise OutOfTime from None
                retryable, reason = True, f"no answer from {self.base_url} within {timeout:g}s"
            except openai.APIConnectionError as exc:
                cause = exc.__cause__ or exc
                retryable = True
                reason = f"cannot reach {self.base_url}: {type(cause).__name__}: {cause}"
                status = -1
            except LLMError:
                raise
            except Exception as exc:  # the SDK fails on some garbage bodies with plain errors
                retryable = False
                reason = f"unreadable reply from {self.base_url}: {type(exc).__name__}: {exc}"
            if not retryable or attempt >= self.llm.max_retries:
                tries = f" (gave up after {attempt + 1} attempts)" if attempt else ""
                text = one_line(reason, 300) + tries
                if status == -1:
                    raise SetupError(
                        text,
                        kind="unreachable",
                        fix=f"start the server, or check [llm] base_url ({self.base_url})",
                    )
                raise LLMError(text)
            delay = backoff(attempt, self.llm.retry_backoff, wait)
            if clock.monotonic() + delay >= deadline:
                if wait is not None:
                    left = max(0.0, deadline - clock.monotonic())
                    raise LLMError(
                        one_line(
                            f"{reason}; the server asked to wait {wait:g}s (Retry-After), "
                            f"longer than the {left:.0f}s left before the task's deadline",
                            300,
                        )
                    )
                raise OutOfTime
            attempt += 1
            on_retry(reason, attempt, delay)
            clock.sleep(delay)

    def extra_body(self) -> dict[str, Any]:
        """The request fields beyond model, messages and tools: the reply cap, tool_choice."""
        body: dict[str, Any] = {}
        if self.llm.max_reply_tokens:
            body[self.cap_field] = self.llm.max_reply_tokens
        if self.llm.tool_choice != "auto":
            body["tool_choice"] = self.llm.tool_choice
        return body

    def _switch_cap_field(self, message: str) -> bool:
        """True (once) when a 400 says to use the other reply-cap field."""
        fields = ("max_tokens", "max_completion_tokens")
        other = fields[0] if self.cap_field == fields[1] else fields[1]
        if self._switched or not self.llm.max_reply_tokens or other not in message:
            return False
        self._switched = True
        self.cap_field = other
        return True

    def _raise_if_setup(self, status: int | None, message: str, reason: str) -> None:
        problem = setup_problem(status, message, self.llm)
        if problem is not None:
            kind, fix = problem
            raise SetupError(one_line(reason, 300), kind=kind, fix=fix)

    def _decode(self, body: bytes) -> Reply:
        try:
            data = json.loads(body)
        except ValueError:
            sample = one_line(body.decode("utf-8", errors="replace"), 120)
            if body.lstrip().startswith(b"{"):
                raise LLMError(
                    f"unreadable reply from {self.base_url}: not valid JSON: {sample}"
                ) from None
            raise LLMError(f"the endpoint's reply is not a chat completion: {sample}") from None
        try:
            return read_completion(data)
        except ReplyError as exc:
            if exc.provider:
                reason = f"the endpoint {self.base_url} answered with an error: {exc.message}"
                self._raise_if_setup(None, exc.message, reason)
                raise LLMError(one_line(reason, 300)) from None
            raise LLMError(f"the endpoint's reply is {one_line(exc.message, 160)}") from None


def _message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        found = provider_message(body.get("error", body))
        if found:
            return found
    return exc.message


def connect(llm: LLMConfig, env: Mapping[str, str] | None = None) -> ModelClient:
    """A client for `[llm]`; raises MissingAPIKey before anything is sent."""
    base_url, key = resolve_endpoint(llm, os.environ if env is None else env)
    return ModelClient(llm, base_url, key)


# -- the loop ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _End:
    """How a loop ended: the finishing call (its checked arguments), or a failure."""

    arguments: Mapping[str, Any] = field(default_factory=dict)
    failure: Failure | None = None
    reason: str = ""
    fix: str = ""
    via: Literal["call", "failure"] = "call"


class _Run:
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

    def loop(self, finish: str, max_steps: int) -> _End:
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
            self.messages.append(_assistant_message(reply))
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

    def no_call(self, reply: Reply, finish: str, nudges: int) -> _End | None:
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

    def run_calls(self, calls: Sequence[ToolCall], finish: str) -> _End | None:
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
            return _End(arguments=finished)
        return None

    def unavailable_call(self, call: ToolCall) -> Outcome | None:
        """A call of a tool of an MCP server that did not start: its start failure."""
        server = call.name.partition("__")[0]
        if server not in self.unavailable or self.toolbox.get(call.name) is not None:
            return None
        why = self.unavailable[server]
        return Outcome(call.name, CallStatus.ERROR, f"error: {why}; no tool of it can be called")

    def record(self, call: ToolCall, outcome: Outcome, content: str, seconds: float) -> None:
        arguments = self.redact(_short_arguments(outcome.arguments, call.arguments))
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
        signature = f"{call.name}\x00{_canonical(call.arguments)}"
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

    def timed_out(self) -> _End:
        limit = self.config.agent.task_timeout.total_seconds()
        return self.fail(Failure.TIMEOUT, f"task timeout reached: {limit:g}s")

    def fail(self, failure: Failure, reason: str, *, fix: str = "", quote: str = "") -> _End:
        """End the run in error; `quote` (what the model said) goes to errors, not the summary."""
        self.errors.append(reason)
        if quote:
            self.errors.append(self.redact(f"the model said: {one_line(quote, 160)}"))
        if fix:
            self.errors.append(f"fix: {fix}")
        return _End(failure=failure, reason=reason, fix=fix, via="failure")

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


def _assistant_message(reply: Reply) -> dict[str, Any]:
    """The reply as it goes back next turn, in a shape strict servers accept.

    Reasoning goes back in the field it came in (DeepSeek's thinking mode needs
    it); an empty turn is `content: ""` rather than null with no tool calls.
    """
    content: str | None = reply.text or None
    if content is None and not reply.calls:
        content = ""
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if reply.reasoning_key and reply.reasoning:
        message[reply.reasoning_key] = reply.reasoning
    if reply.calls:
        message["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in reply.calls
        ]
    return message


def _canonical(raw: str) -> str:
    try:
        return json.dumps(json.loads(raw), sort_keys=True)
    except ValueError:
        return raw.strip()


def _short_arguments(parsed: Mapping[str, Any], raw: str) -> str:
    if not parsed:
        return short(raw, 120) if raw.strip() not in ("", "{}") else ""
    return ", ".join(f"{k}={short(v, 60)}" for k, v in parsed.items())


def run_task(
    task: Task,
    config: Config,
    *,
    client: ModelClient | None = None,
    on_event: TraceSink | None = None,
    clock: Clock | None = None,
    env: Mapping[str, str] | None = None,
    heartbeat_file: Path | None = None,
    scheduler: Scheduler | None = None,
    guard: SpendGuard | None = None,
    mcp: MCPHub | None = None,
    history: HistoryReader | None = None,
    payload: str | None = None,
) -> TaskResult:
    """Carry out `task` now, with every tool, until `complete_task` or a bound.

    Raises only before the task starts: MissingAPIKey (no client given and no
    key) or ConfigError (`[llm] system_prompt` unreadable). `heartbeat_file`
    (default `[heartbeat] file`) is readable but never writable by the tools;
    given a `scheduler`, the run has `schedule_task` to add tasks through it.
    `guard` ends the run `partial` once it names a crossed spend cap; `history`
    answers `run_history` (offered to tasks naming the `history` family).
    `payload` (a wakeup's JSON, `localhb.api`) is given as untrusted data.
    """
    run, end = _conduct(
        task,
        config,
        False,
        client,
        on_event,
        clock,
        env,
        heartbeat_file,
        scheduler,
        guard,
        mcp,
        history=history,
        payload=payload,
    )
    result = _task_result(run, end)
    run.emit(EventKind.FINISH, outcome=result.status.value, text=result.summary)
    return result


def _conduct(
    task: Task,
    config: Config,
    condition: bool,
    client: ModelClient | None,
    on_event: TraceSink | None,
    clock: Clock | None,
    env: Mapping[str, str] | None,
    heartbeat_file: Path | None,
    scheduler: Scheduler | None = None,
    guard: SpendGuard | None = None,
    mcp: MCPHub | None = None,
    history: HistoryReader | None = None,
    payload: str | None = None,
) -> tuple[_Run, _End]:
    """One loop: a task with every tool, or a condition check with read-only ones."""
    env = os.environ if env is None else env
    system = system_prompt(config.llm, condition=condition, source=config.path)
    own = client is None
    client = client or connect(config.llm, env)
    try:
        run = _Run(
            task,
            config,
            client,
            toolbox=check_toolbox(config.tools)
            if condition
            else task_toolbox(
                config.tools, offered_families(task, config), scheduling=scheduler is not None
            ),
            model=(config.llm.condition_model if condition else None) or config.llm.model,
            condition=condition,
            on_event=on_event,
            clock=clock or Clock(),
            env=env,
            heartbeat_file=heartbeat_file,
            scheduler=None if condition else scheduler,
            guard=guard,
            history=None if condition else history,
            payload=None if condition else payload,
        )
        run.open(system)
        if not condition and mcp is not None:
            _add_mcp_tools(run, mcp, offered_mcp(task, config))
        if condition:
            end = run.loop("report_condition", min(CHECK_MAX_STEPS, config.agent.max_steps))
        else:
            end = run.loop("complete_task", config.agent.max_steps)
    finally:
        if own:
            client.close()
    return run, end


def offered_mcp(task: Task, config: Config) -> tuple[str, ...]:
    """The MCP servers (`time`) and single tools (`git__git_status`) a task is offered:
    those its `- Tools:` line names, else every configured server."""
    names = tuple(s.name for s in config.mcp.servers)
    if task.tools is None:
        return names
    return tuple(w for w in task.tools if w.partition("__")[0] in names)


def _add_mcp_tools(run: _Run, mcp: MCPHub, names: Sequence[str]) -> None:
    """Start (on first use in the cycle) and offer the named servers' tools; a server
    that cannot start is a line in the trace and a note to the model."""
    if not names:
        return
    started = run.clock.monotonic()
    tools, problems = mcp.tools(names, run.time_left)
    seconds = run.clock.monotonic() - started
    base = run.toolbox.tools
    run.toolbox = Toolbox((*base[:-1], *tools, base[-1]))  # complete_task stays last
    for name in dict.fromkeys(n.partition("__")[0] for n in names):
        why = mcp.failure(name + "__")
        if why is not None:
            run.unavailable[name] = f"MCP server {name!r} did not start: {why}"
    for problem in problems:
        run.errors.append(problem)
        run.emit(EventKind.TOOL, tool="mcp", text="start", outcome="error", detail=problem)
    if tools:
        servers = list(dict.fromkeys(t.name.partition("__")[0] for t in tools))
        run.emit(
            EventKind.TOOL,
            tool="mcp",
            text="start " + ", ".join(servers),
            outcome="ok",
            detail=f"{len(tools)} tool(s)",
            seconds=seconds,
        )
    if problems:
        note = "Note: " + "; ".join(problems) + ". Its tools cannot be used in this run."
        run.messages.append({"role": "user", "content": run.redact(note)})


def offered_families(task: Task, config: Config) -> tuple[str, ...]:
    """The tool families a task is offered: its `- Tools:` line, else `[agent] tools`."""
    return task.tools if task.tools is not None else config.agent.tools


def _task_result(run: _Run, end: _End) -> TaskResult:
    """Only complete_task is a finish: every other end is an error naming why."""
    redact = run.redact
    message = ""
    if end.via == "failure" and end.failure is Failure.BUDGET:
        status, summary, notes = Status.PARTIAL, end.reason, ""
    elif end.via == "failure":
        status, summary, notes = Status.ERROR, end.reason, ""
    else:
        raw = str(end.arguments.get("status", "ok")).strip().lower()
        status = Status(raw) if raw in {s.value for s in Status} else Status.ERROR
        summary = strip_thinking(str(end.arguments.get("summary", "")))[0]
        summary = one_line(summary) or "(no summary)"
        notes = clip(strip_thinking(str(end.arguments.get("notes", "")))[0])
        message = clip(strip_thinking(str(end.arguments.get("message", "")))[0], MESSAGE_LIMIT)
    failure = end.failure or (Failure.MODEL if status is Status.ERROR else None)
    return TaskResult(
        task_id=run.task.id,
        status=status,
        summary=one_line(redact(summary)),
        notes=redact(notes),
        stats=run.stats(failure, end.fix),
        message=redact(message),
    )


def check_condition(
    task: Task,
    config: Config,
    *,
    client: ModelClient | None = None,
    on_event: TraceSink | None = None,
    clock: Clock | None = None,
    env: Mapping[str, str] | None = None,
    heartbeat_file: Path | None = None,
) -> ConditionResult:
    """Decide with read-only tools whether `task`'s condition holds now.

    Uses `[llm] condition_model` when set. At most `CHECK_MAX_STEPS` turns (or
    `max_steps` if lower). A failed check is `error` set and `met` False.
    Raises only before the check starts, as `run_task` does.
    """
    run, end = _conduct(task, config, True, client, on_event, clock, env, heartbeat_file)
    if end.via == "failure":
        met, evidence, error = False, "", end.reason
    else:
        met = bool(end.arguments.get("met", False))
        evidence, error = one_line(run.redact(str(end.arguments.get("evidence", "")))), None
    result = ConditionResult(
        task_id=task.id,
        met=met,
        evidence=evidence,
        error=error,
        stats=run.stats(end.failure, end.fix),
    )
    run.emit(EventKind.FINISH, outcome=result.outcome, text=evidence or (error or ""))
    return result
