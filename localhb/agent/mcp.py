"""MCP tool servers, through the official SDK (PyPI `mcp`), for one cycle.

    hub = MCPHub(servers)           nothing starts yet (an idle cycle never gets here)
    hub.tools(names, ctx)           starts the named servers on first use, lists tools
    ... the agent calls `<server>__<tool>` like any tool ...
    hub.close()                     stops every server (its whole process group)

The bridge: the SDK is asyncio, the agent loop is synchronous. A hub owns one
event loop on one daemon thread, started with the first server. Each server
lives in one task on that loop (`_serve`), which enters the SDK's transport
and `ClientSession` context managers, initializes, lists the tools, and then
waits for its stop event, so the context managers are entered and left by the
same task, as anyio requires. Synchronous callers submit coroutines with
`asyncio.run_coroutine_threadsafe` and wait on the future with a timeout:
`min([[mcp.servers]] timeout, time left in the task)`. A timed-out future is
cancelled and the call is a tool error, so a hung server never holds a run
past `task_timeout`. Stopping sets the stop events; the SDK's stdio transport
then closes stdin, waits, and kills the server's process group (it starts
each server in a new session). A server that fails to start, crashes or
hangs is marked failed for the rest of the cycle with the reason; its calls
come back as tool errors naming it.

`mcp` is imported only inside the loop thread, never on the idle path.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import tempfile
import threading
from collections.abc import Callable, Coroutine, Mapping, Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any, TextIO, TypeVar

from localhb.agent.tools.base import Tool, ToolContext, cap_bytes
from localhb.config import MCPServer
from localhb.core.errors import ToolError

log = logging.getLogger("localhb.mcp")
log.addHandler(logging.NullHandler())  # to agent.log when one is set up; never bare stderr
T = TypeVar("T")
SEP = "__"
STOP_GRACE = 10.0  # seconds a server gets to stop before the hub gives up waiting
_NAME = re.compile(r"[^A-Za-z0-9_-]")


@dataclass(frozen=True, slots=True)
class RemoteTool:
    """One tool as a server listed it."""

    server: str
    name: str
    description: str
    schema: Mapping[str, Any]

    @property
    def qualified(self) -> str:
        """`<server>__<tool>`, fitted to the 64 characters chat APIs allow."""
        return _NAME.sub("_", f"{self.server}{SEP}{self.name}")[:64]


@dataclass
class _Server:
    config: MCPServer
    started: threading.Event = field(default_factory=threading.Event)
    tools: tuple[RemoteTool, ...] = ()
    error: str | None = None
    session: Any = None
    stop: asyncio.Event | None = None
    task: asyncio.Task[None] | None = None
    scope: Any = None  # the anyio CancelScope that stops `_serve`


class MCPHub:
    """The MCP servers of one cycle: started on first use, reused, stopped at close."""

    def __init__(self, servers: Sequence[MCPServer], *, cwd: str | None = None) -> None:
        self.configs = {s.name: s for s in servers}
        self.cwd = cwd
        self._servers: dict[str, _Server] = {}
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stderr: dict[str, TextIO] = {}

    # -- the loop thread -----------------------------------------------------
    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                ready = threading.Event()

                def run() -> None:
                    asyncio.set_event_loop(loop)
                    loop.call_soon(ready.set)
                    loop.run_forever()

                self._thread = threading.Thread(target=run, name="mcp-loop", daemon=True)
                self._thread.start()
                ready.wait()
                self._loop = loop
            return self._loop

    def _submit(self, coro: Coroutine[Any, Any, T]) -> Future[T]:
        return asyncio.run_coroutine_threadsafe(coro, self._ensure_loop())

    # -- starting ------------------------------------------------------------
    @property
    def started(self) -> list[str]:
        """Names of the servers this hub has started (or tried to)."""
        return list(self._servers)

    def start(self, name: str, time_left: float | None = None) -> _Server:
        """The server `name`, started now if this is its first use; never raises."""
        with self._lock:
            server = self._servers.get(name)
            first = server is None
            if server is None:
                server = _Server(self.configs[name])
                self._servers[name] = server
        if first:
            self._submit(self._serve(server))
        limit = server.config.timeout.total_seconds()
        if time_left is not None:
            limit = max(0.0, min(limit, time_left))
        if not server.started.wait(limit) and server.error is None:
            server.error = f"did not start within {limit:g}s"
            self._submit(self._stop(server))
        return server

    async def _serve(self, server: _Server) -> None:
        """The task that owns one server's transport and session for the cycle."""
        server.stop = asyncio.Event()
        server.task = asyncio.current_task()
        try:
            import anyio
            from mcp import ClientSession

            # Cancelled through anyio, never task.cancel(): the SDK's shielded
            # shutdown (stop the server, kill its process group) must still run.
            with anyio.CancelScope() as scope:
                server.scope = scope
                await self._session(server, ClientSession)
        except asyncio.CancelledError:
            if server.error is None:
                server.error = "stopped"
        except BaseException as exc:  # the SDK wraps failures in exception groups
            why = _reason(exc)
            if not server.started.is_set() and not why.startswith("cannot start"):
                why = f"exited or failed before it was ready ({why})"
            server.error = server.error or why
            log.warning("MCP server %s: %s", server.config.name, server.error)
        finally:
            if server.error is None and not server.started.is_set():
                server.error = "exited before it was ready"
            elif server.error is None:
                server.error = "the server stopped"
            server.session = None
            server.started.set()

    async def _session(self, server: _Server, session_type: Any) -> None:
        assert server.stop is not None
        async with self._transport(server.config) as streams:
            read, write = streams[0], streams[1]
            async with session_type(read, write) as session:
                await session.initialize()
                listed = await session.list_tools()
                server.tools = tuple(
                    RemoteTool(
                        server.config.name,
                        t.name,
                        t.description or t.title or t.name,
                        dict(t.input_schema or {"type": "object"}),
                    )
                    for t in listed.tools
                )
                server.session = session
                server.started.set()
                await server.stop.wait()

    def _transport(self, cfg: MCPServer) -> Any:
        if cfg.command is not None:
            from mcp.client.stdio import StdioServerParameters, stdio_client

            params = StdioServerParameters(
                command=cfg.command,
                args=list(cfg.args),
                env=dict(cfg.env) or None,
                cwd=self.cwd,
            )
            return stdio_client(params, errlog=self._errlog(cfg.name))
        from mcp.client.streamable_http import streamable_http_client

        assert cfg.url is not None
        return streamable_http_client(cfg.url)

    def _errlog(self, name: str) -> TextIO:
        """Where a stdio server's stderr goes: a temporary file, its tail used in errors."""
        # Closed by close(), after the server is stopped: it outlives this call.
        handle = tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace")  # noqa: SIM115
        self._stderr[name] = handle
        return handle

    def stderr_tail(self, name: str, limit: int = 200) -> str:
        """The last line a server wrote to its stderr, or ""."""
        handle = self._stderr.get(name)
        if handle is None or handle.closed:
            return ""
        try:
            handle.flush()
            handle.seek(0)
            lines = [ln.strip() for ln in handle.read()[-8192:].splitlines() if ln.strip()]
        except (OSError, ValueError):
            return ""
        return lines[-1][:limit] if lines else ""

    # -- tools and calls -----------------------------------------------------
    def tools(
        self, names: Sequence[str], time_left: Callable[[], float] | None = None
    ) -> tuple[list[Tool], list[str]]:
        """The agent tools of the servers (and `server__tool`s) named, and a line per
        server that could not be started. Starts what is not running yet."""
        wanted: dict[str, set[str] | None] = {}
        for n in names:
            prefix, sep, tool = n.partition(SEP)
            if prefix not in self.configs:
                continue
            if not sep:
                wanted[prefix] = None
            else:
                chosen = wanted.setdefault(prefix, set())
                if chosen is not None:
                    chosen.add(tool)
        out: list[Tool] = []
        problems: list[str] = []
        for name, only in wanted.items():
            server = self.start(name, time_left() if time_left else None)
            if server.session is None:
                tail = self.stderr_tail(name)
                if tail and server.error and tail not in server.error:
                    server.error += f"; its stderr ends: {tail}"
                problems.append(f"MCP server {name!r} is unavailable: {server.error}")
                continue
            for remote in server.tools:
                if only is None or remote.name in only:
                    out.append(self._tool(remote))
        return out, problems

    def failure(self, qualified: str) -> str | None:
        """Why a `<server>__...` name has no tool: the server's start error, if any."""
        server = self._servers.get(qualified.partition(SEP)[0])
        return server.error if server is not None and server.session is None else None

    def _tool(self, remote: RemoteTool) -> Tool:
        def run(ctx: ToolContext, args: Mapping[str, Any]) -> str:
            return self.call(remote, dict(args), ctx)

        schema = dict(remote.schema)
        schema.setdefault("type", "object")
        return Tool(
            remote.qualified,
            f"[MCP server {remote.server}] {remote.description}"[:1024],
            schema,
            run,
            checked=False,
        )

    def call(self, remote: RemoteTool, args: dict[str, Any], ctx: ToolContext) -> str:
        """One tool call, bounded by the server's timeout and the task's time left."""
        tool = remote.qualified
        server = self._servers.get(remote.server)
        if server is None or server.session is None:
            reason = server.error if server is not None else "not started"
            raise ToolError(f"MCP server {remote.server!r} is unavailable: {reason}", tool=tool)
        limit = min(server.config.timeout.total_seconds(), ctx.time_left())
        if limit <= 0:
            raise ToolError("no time left in this task for a tool call", tool=tool)
        future = self._submit(server.session.call_tool(remote.name, args))
        try:
            result = future.result(timeout=limit)
        except FutureTimeout:
            future.cancel()
            raise ToolError(
                f"MCP server {remote.server!r} did not answer within {limit:g}s", tool=tool
            ) from None
        except BaseException as exc:
            why = _reason(exc)
            gone = server.task is None or server.task.done() or "connection closed" in why.lower()
            if server.session is None or gone:
                # it died mid-call: later calls are told at once that it is gone
                server.session = None
                if server.error is None:
                    server.error = f"it stopped during a call of {remote.name} ({why})"
                    tail = self.stderr_tail(remote.server)
                    if tail:
                        server.error += f"; its stderr ends: {tail}"
                raise ToolError(
                    f"MCP server {remote.server!r} stopped: {server.error}", tool=tool
                ) from None
            message = f"MCP server {remote.server!r}: {remote.name}: {why}"
            raise ToolError(message, tool=tool) from None
        text = _render(result)
        if getattr(result, "is_error", False):
            raise ToolError(text or "the tool reported an error", tool=tool)
        return cap_bytes(text.encode("utf-8"), ctx.config.max_output_bytes)

    # -- stopping ------------------------------------------------------------
    async def _stop(self, server: _Server) -> None:
        if server.stop is not None:
            server.stop.set()
        task = server.task
        if task is not None and not task.done():
            if server.session is None and server.scope is not None:
                server.scope.cancel()  # still starting (hung): the SDK stops it, shielded
            try:
                await asyncio.wait_for(asyncio.shield(task), STOP_GRACE)
            except (TimeoutError, asyncio.CancelledError):
                if server.scope is not None:
                    server.scope.cancel()
                with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                    await asyncio.wait_for(asyncio.shield(task), STOP_GRACE)

    def close(self) -> None:
        """Stop every server and the loop thread; waits a bounded time."""
        if self._loop is None:
            return
        loop = self._loop

        async def stop_all() -> None:
            await asyncio.gather(
                *(self._stop(s) for s in self._servers.values()), return_exceptions=True
            )
            pending = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for t in pending:
                t.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

        try:
            asyncio.run_coroutine_threadsafe(stop_all(), loop).result(timeout=STOP_GRACE + 5)
        except Exception as exc:
            log.warning("MCP servers did not stop cleanly: %s", exc)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=5)
        if not loop.is_running():
            loop.close()
        self._loop = None
        for handle in self._stderr.values():
            handle.close()
        self._stderr.clear()

    def __enter__(self) -> MCPHub:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _reason(exc: BaseException) -> str:
    """One line for an exception, looking inside exception groups."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    text = str(exc).strip() or type(exc).__name__
    if isinstance(exc, FileNotFoundError):
        return f"cannot start: {text}"
    return f"{type(exc).__name__}: {text}" if type(exc).__name__ not in text else text


def _render(result: Any) -> str:
    """A CallToolResult as text: text blocks, then other blocks named, or the JSON."""
    parts: list[str] = []
    for block in getattr(result, "content", None) or ():
        kind = getattr(block, "type", "")
        if kind == "text":
            parts.append(str(getattr(block, "text", "")))
        elif kind == "resource":
            res = getattr(block, "resource", None)
            parts.append(str(getattr(res, "text", "") or f"[resource {getattr(res, 'uri', '')}]"))
        else:
            mime = getattr(block, "mime_type", "") or ""
            parts.append(f"[{kind} content {mime}]".replace(" ]", "]"))
    if not parts and getattr(result, "structured_content", None) is not None:
        parts.append(json.dumps(result.structured_content, ensure_ascii=False))
    return "\n".join(parts)
