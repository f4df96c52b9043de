"""A scripted OpenAI-compatible chat server on 127.0.0.1, and fixtures to use it.

Tests queue replies (text, tool calls, HTTP errors, delays, garbage, and the
reply shapes real servers send: `shaped` for a raw message such as arguments
as an object, content as a list of parts, `reasoning_content`, and
`finish_reason`/`usage` as given) and the real `openai` client reaches the
server through `base_url`; every request is recorded. GET `/v1/models` and
`/props` answer from `models` and `props` (404 when None), as llama.cpp does.
Usage is counted as characters / 4 (rounded up): prompt characters
are those of the JSON `messages` plus `tools` of the request, completion
characters those of the JSON reply message. Delays happen on the server and
end at once when the server stops. `respond` queues a reply computed from the
request it answers (a model that reads its tool results), and `tool_message`
builds the assistant message of one tool call for it.

Also here: `make_config`, `make_task` and `make_context`, the small builders
the agent and tool tests share.
"""

from __future__ import annotations

import json
import math
import os
import threading
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from localhb.agent.tools import PathPolicy, ToolContext
from localhb.config import Config, config_from_mapping
from localhb.format.model import Form, Section, Task, TaskKind

AUTO = "auto"


class QuietServer(ThreadingHTTPServer):
    """A test server that does not print tracebacks when a client hangs up early."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@dataclass(frozen=True, slots=True)
class Scripted:
    """One queued reply."""

    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0
    message: Mapping[str, Any] | None = None  # a chat message, when the reply is one
    usage: tuple[int, int] | str | None = AUTO
    finish_reason: str | None = None  # None: "tool_calls" when there are calls, else "stop"
    answer: Callable[[Recorded], Mapping[str, Any]] | None = None  # the message, from the request


@dataclass(frozen=True, slots=True)
class Recorded:
    """One request the server received."""

    path: str
    headers: Mapping[str, str]  # names in lower case
    raw: bytes
    body: Any

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages", [])) if isinstance(self.body, dict) else []

    @property
    def prompt_chars(self) -> int:
        if not isinstance(self.body, dict):
            return len(self.raw)
        return len(_dumps(self.body.get("messages", []))) + len(_dumps(self.body.get("tools", [])))


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def tokens(chars: int) -> int:
    """The scripted server's token count: characters / 4, rounded up."""
    return math.ceil(chars / 4)


class ScriptedLLM:
    """The server. Queue replies with the builder methods; read `requests` afterwards."""

    def __init__(self) -> None:
        self.replies: deque[Scripted] = deque()
        self.requests: list[Recorded] = []
        self.unexpected: list[str] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self.models: list[str] | None = ["scripted-model"]
        self.props: dict[str, Any] | None = None
        self._server = QuietServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = False
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def start(self) -> ScriptedLLM:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    # -- builders ----------------------------------------------------------
    def text(self, content: str, *, delay: float = 0.0, usage: Any = AUTO) -> ScriptedLLM:
        return self._chat({"role": "assistant", "content": content}, delay=delay, usage=usage)

    def call(
        self,
        name: str,
        arguments: Mapping[str, Any] | str,
        *,
        text: str | None = None,
        delay: float = 0.0,
        usage: Any = AUTO,
    ) -> ScriptedLLM:
        return self.calls((name, arguments), text=text, delay=delay, usage=usage)

    def calls(
        self,
        *calls: tuple[str, Mapping[str, Any] | str],
        text: str | None = None,
        delay: float = 0.0,
        usage: Any = AUTO,
    ) -> ScriptedLLM:
        n = len(self.replies) + len(self.requests)
        tool_calls = [
            {
                "id": f"call_{n}_{i}",
                "type": "function",
                "function": {
                    "name": name,
                    "arguments": args if isinstance(args, str) else json.dumps(args),
                },
            }
            for i, (name, args) in enumerate(calls)
        ]
        message = {"role": "assistant", "content": text, "tool_calls": tool_calls}
        return self._chat(message, delay=delay, usage=usage)

    def complete(self, status: str = "ok", summary: str = "done", **extra: Any) -> ScriptedLLM:
        return self.call("complete_task", {"status": status, "summary": summary, **extra})

    def report(self, met: bool, evidence: str = "seen") -> ScriptedLLM:
        return self.call("report_condition", {"met": met, "evidence": evidence})

    def error(
        self,
        status: int,
        message: str = "scripted error",
        *,
        headers: Mapping[str, str] | None = None,
        delay: float = 0.0,
    ) -> ScriptedLLM:
        body = json.dumps({"error": {"message": message, "type": "scripted", "code": status}})
        self.replies.append(
            Scripted(status, body.encode(), headers=dict(headers or {}), delay=delay)
        )
        return self

    def garbage(
        self,
        body: bytes = b"<html>bad gateway</html>",
        *,
        status: int = 200,
        content_type: str = "text/html",
    ) -> ScriptedLLM:
        self.replies.append(Scripted(status, body, content_type=content_type))
        return self

    def shaped(
        self,
        message: Mapping[str, Any],
        *,
        finish_reason: str | None = None,
        usage: Any = AUTO,
        delay: float = 0.0,
    ) -> ScriptedLLM:
        """A reply whose message is sent exactly as given (any shape a real server sends)."""
        self.replies.append(
            Scripted(message=message, delay=delay, usage=usage, finish_reason=finish_reason)
        )
        return self

    def respond(
        self, answer: Callable[[Recorded], Mapping[str, Any]], *, usage: Any = AUTO
    ) -> ScriptedLLM:
        """A reply whose chat message `answer(request)` builds when the request arrives."""
        self.replies.append(Scripted(answer=answer, usage=usage))
        return self

    def body(self, payload: Any, *, status: int = 200) -> ScriptedLLM:
        """A reply whose whole JSON body is `payload` (an `error` object with HTTP 200, ...)."""
        self.replies.append(Scripted(status, json.dumps(payload).encode()))
        return self

    def _chat(self, message: Mapping[str, Any], *, delay: float, usage: Any) -> ScriptedLLM:
        self.replies.append(Scripted(message=message, delay=delay, usage=usage))
        return self

    # -- serving -----------------------------------------------------------
    def _answer(self, recorded: Recorded) -> Scripted:
        with self._lock:
            self.requests.append(recorded)
            if self.replies:
                return self.replies.popleft()
            self.unexpected.append(f"no reply queued for request {len(self.requests)}")
        return Scripted(400, b'{"error": {"message": "scripted server: no reply queued"}}')

    def _render(self, reply: Scripted, recorded: Recorded) -> bytes:
        if reply.message is None:
            return reply.body
        model = recorded.body.get("model", "") if isinstance(recorded.body, dict) else ""
        finish = reply.finish_reason or (
            "tool_calls" if reply.message.get("tool_calls") else "stop"
        )
        payload: dict[str, Any] = {
            "id": f"chatcmpl-{len(self.requests)}",
            "object": "chat.completion",
            "created": 1_700_000_000,
            "model": model,
            "choices": [{"index": 0, "message": dict(reply.message), "finish_reason": finish}],
        }
        if reply.usage == AUTO:
            prompt = tokens(recorded.prompt_chars)
            completion = tokens(len(_dumps(reply.message)))
            payload["usage"] = _usage(prompt, completion)
        elif isinstance(reply.usage, tuple):
            payload["usage"] = _usage(*reply.usage)
        return json.dumps(payload).encode()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        scripted = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                path = self.path.split("?")[0]
                if path.endswith("/models") and scripted.models is not None:
                    data: Any = {
                        "object": "list",
                        "data": [{"id": m, "object": "model"} for m in scripted.models],
                    }
                elif path == "/props" and scripted.props is not None:
                    data = scripted.props
                else:
                    data = None
                raw = json.dumps(data if data is not None else {"error": "not found"}).encode()
                self.send_response(200 if data is not None else 404)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("content-length", 0)))
                try:
                    body: Any = json.loads(raw)
                except ValueError:
                    body = None
                headers = {k.lower(): v for k, v in self.headers.items()}
                recorded = Recorded(self.path, headers, raw, body)
                reply = scripted._answer(recorded)
                if reply.answer is not None:
                    try:
                        reply = replace(reply, message=dict(reply.answer(recorded)))
                    except Exception as exc:  # the test's answer failed: say so, answer 500
                        scripted.unexpected.append(f"answer failed: {exc!r}")
                        body = json.dumps({"error": {"message": f"scripted: {exc!r}"}})
                        reply = Scripted(500, body.encode())
                if reply.delay and scripted._stopping.wait(reply.delay):
                    return
                data = scripted._render(reply, recorded)
                try:
                    self.send_response(reply.status)
                    self.send_header("content-type", reply.content_type)
                    self.send_header("content-length", str(len(data)))
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up waiting
                    pass

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


def tool_message(
    name: str, arguments: Mapping[str, Any], call_id: str = "call_0"
) -> dict[str, Any]:
    """The assistant message of one call of tool `name` (for `ScriptedLLM.respond`)."""
    call = {
        "id": call_id,
        "type": "function",
        "function": {"name": name, "arguments": json.dumps(arguments)},
    }
    return {"role": "assistant", "content": None, "tool_calls": [call]}


def _usage(prompt: int, completion: int) -> dict[str, int]:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def make_config(
    tmp_path: Path, endpoint: ScriptedLLM | str, /, **sections: Mapping[str, Any]
) -> Config:
    """A config for `llm` with a fresh workspace, short timeouts and quick retries.

    Keyword arguments are extra TOML tables (`agent={...}`, `tools={...}`), merged
    over the test defaults.
    """
    base_url = endpoint if isinstance(endpoint, str) else endpoint.base_url
    data: dict[str, dict[str, Any]] = {
        "heartbeat": {"timezone": "UTC"},
        "llm": {
            "base_url": base_url,
            "model": "scripted-model",
            "request_timeout": 5,
            "max_retries": 2,
            "retry_backoff": 0.01,
        },
        "agent": {"workspace": str(tmp_path / "workspace")},
    }
    for name, table in sections.items():
        data.setdefault(name, {}).update(table)
    (tmp_path / "workspace").mkdir(exist_ok=True)
    return config_from_mapping(data, home=tmp_path / "home", source=None)


def make_task(
    task_id: str = "tidy-notes",
    title: str = "Tidy notes",
    body: str = "- Priority: high\n- Description: Tidy notes.md",
    *,
    condition: str | None = None,
) -> Task:
    """A hand-built task, as the parser would give it."""
    text = f"### {title}\n{body}\n"
    return Task(
        id=task_id,
        title=title,
        kind=TaskKind.CONDITIONAL if condition else TaskKind.ONE_TIME,
        section=Section.PENDING,
        form=Form.HEADING,
        start=0,
        end=text.count("\n"),
        text=text,
        condition=condition,
    )


def make_context(
    config: Config,
    *,
    env: Mapping[str, str] | None = None,
    now: datetime = datetime(2025, 1, 15, 13, 0, tzinfo=UTC),
    time_left: float = 60.0,
    protected: tuple[Path, ...] = (),
    task_id: str = "tidy-notes",
) -> ToolContext:
    """What a tool handler gets, built from a test config, for calling tools directly."""
    return ToolContext(
        paths=PathPolicy.build(config.agent.workspace, config.tools.allowed_directories, protected),
        config=config.tools,
        tz=config.tz(),
        task_id=task_id,
        env=dict(os.environ if env is None else env),
        now=lambda: now,
        time_left=lambda: time_left,
    )


@pytest.fixture
def scripted_llm() -> Iterator[ScriptedLLM]:
    """A running scripted server; fails the test if it was asked for an unqueued reply."""
    server = ScriptedLLM().start()
    try:
        yield server
    finally:
        server.stop()
    assert not server.unexpected, server.unexpected
