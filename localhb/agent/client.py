"""The endpoint client: an OpenAI-compatible chat endpoint with localhb's retry policy.

    connect(llm)  -> ModelClient   (raises MissingAPIKey: nothing is sent)

This is the only module that imports `openai`, and only inside `ModelClient`,
so loading it costs nothing until a task really runs. The SDK's own retries
are off: `ModelClient.complete` retries 408/409/429/5xx, timeouts and
connection failures itself, with `[llm] retry_backoff` doubling (or the
server's Retry-After), reporting each retry to a hook, and never past the
task's deadline (`OutOfTime`). Re-exported by `localhb.agent.loop`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any

from localhb.agent.endpoint import (
    Reply,
    backoff,
    is_retryable,
    max_tokens_field,
    resolve_endpoint,
    retry_after_seconds,
    setup_problem,
)
from localhb.agent.wire import ReplyError, provider_message, read_completion
from localhb.config import LLMConfig
from localhb.core.clock import Clock
from localhb.core.errors import LLMError, SetupError
from localhb.core.redact import strip_url_credentials
from localhb.core.results import one_line

if TYPE_CHECKING:
    import openai


# -- the endpoint --------------------------------------------------------------


class OutOfTime(Exception):
    """Internal: the task's deadline came while talking to the endpoint."""


RetryHook = Callable[[str, int, float], None]


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
