"""The wake API's HTTP server: the standard library's ThreadingHTTPServer, hardened.

    GET  /health           no token; 200 or 503 and nothing secret
    POST /api/wakeup       202 {"id": ...}; 400/409 naming the field; 429 Retry-After
                           (?task=ID: a webhook, the body its payload; GitHub-signed)
    GET  /api/runs/<id>    a wakeup (w...) or a ledger run (a number)
    GET  /api/status       what `localhb daemon status --json` prints

Why the standard library: no dependency, nothing imported unless `[api]
enabled = true`, and one thread per connection fits the synchronous run path
(`localhb.cycle.execute`) without an event loop beside the daemon's. What
ThreadingHTTPServer lacks is added here:

- every read has a socket timeout (`READ_TIMEOUT`), and a whole request must
  arrive within `REQUEST_DEADLINE`: the serving loop shuts the socket of a
  client that sends one byte a second or stops half-way, so slow or
  half-open clients hold a thread for seconds, never the daemon;
- at most `MAX_CONNECTIONS` connections are served at once; past that a
  connection gets a `429` (Retry-After: 1) at once, with no thread;
- HTTP/1.0, one request per connection (no keep-alive to hold threads);
- bodies over `MAX_BODY` are refused (413) before they are read.

The server runs on its own thread; the daemon's loop never waits on it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from localhb.api.body import MAX_BODY, BadRequest
from localhb.api.dispatch import Answer, Dispatcher
from localhb.api.hooks import DELIVERY, EVENT, SIGNATURE, hook_body, is_ping, signed
from localhb.state.token import read_token, token_matches

__all__ = ["MAX_CONNECTIONS", "REQUEST_DEADLINE", "APIServer"]

log = logging.getLogger("localhb.api")

READ_TIMEOUT = 5.0
"""Seconds one socket read may wait."""
REQUEST_DEADLINE = 10.0
"""Seconds a whole request (line, headers, body) may take to arrive."""
MAX_CONNECTIONS = 64
HEALTH_CACHE = 1.0
"""Seconds a /health answer is reused, so monitors and floods cost one look."""

Health = Callable[[], tuple[bool, dict[str, Any]]]
Status = Callable[[], dict[str, Any]]
RunLookup = Callable[[int], dict[str, Any] | None]


# JSON, or no type; or what `curl -d` sends when no type is given (the body must
# still be a JSON object, and a browser cannot send the bearer token across sites).
JSON_TYPES = ("application/json", "", "application/x-www-form-urlencoded")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # a burst waits in the kernel's backlog, not refused
    block_on_close = False
    api: APIServer

    def __init__(self, address: tuple[str, int], api: APIServer) -> None:
        self.api = api
        family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.address_family = family
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self.api._admit(request):
            if not self.api._refuser.refuse(request):
                self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.api._release(request)

    def service_actions(self) -> None:
        self.api._reap()

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError, OSError)):
            return  # a client that hung up or was too slow
        log.exception("API request from %s failed", client_address)


_REFUSAL = (
    b"HTTP/1.0 429 Too Many Requests\r\nContent-Type: application/json\r\n"
    b"Retry-After: 1\r\nContent-Length: 60\r\nConnection: close\r\n\r\n"
    b'{"error": "too many connections at once; try again shortly"}'
)
REFUSE_WAIT = 0.2
"""Seconds the refuser waits on one refused client (to read what it sent, then close)."""


class _Refuser:
    """One thread that answers connections past the cap with 429: it reads what the
    client sent (closing over unread data would reset the connection before the
    answer is read), answers, and closes; each client gets at most REFUSE_WAIT
    seconds per read. Past its own queue a connection is simply closed."""

    def __init__(self) -> None:
        self._queue: queue.Queue[socket.socket] = queue.Queue(maxsize=256)
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def refuse(self, sock: socket.socket) -> bool:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="localhb-api-refuse", daemon=True
                )
                self._thread.start()
        try:
            self._queue.put_nowait(sock)
        except queue.Full:
            return False
        return True

    def _run(self) -> None:
        while True:
            sock = self._queue.get()
            with contextlib.suppress(OSError):
                sock.settimeout(REFUSE_WAIT)
                with contextlib.suppress(TimeoutError):
                    sock.recv(MAX_BODY)
                sock.sendall(_REFUSAL)
                sock.shutdown(socket.SHUT_WR)
                with contextlib.suppress(TimeoutError):
                    while sock.recv(MAX_BODY):
                        pass
            with contextlib.suppress(OSError):
                sock.close()


class APIServer:
    """Serves the API on `[api] listen` from its own thread until `close()`."""

    def __init__(
        self,
        dispatcher: Dispatcher,
        home: Path,
        host: str,
        port: int,
        *,
        health: Health,
        status: Status,
        run: RunLookup,
        monotonic: Callable[[], float],
        request_deadline: float = REQUEST_DEADLINE,
        read_timeout: float = READ_TIMEOUT,
        max_connections: int = MAX_CONNECTIONS,
    ) -> None:
        self.dispatcher = dispatcher
        self.home = home
        self.health = health
        self.status = status
        self.run = run
        self.monotonic = monotonic
        self.request_deadline = request_deadline
        self.read_timeout = read_timeout
        self.max_connections = max_connections
        self._open: dict[socket.socket, float] = {}  # reading a request, since
        self._count = 0
        self._lock = threading.Lock()
        self._health: tuple[float, int, dict[str, Any]] | None = None
        self._token: tuple[tuple[int, int] | None, str | None] = (None, None)
        self._refuser = _Refuser()
        self._server = _Server((host, port), self)
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 1.0},
            name="localhb-api",
            daemon=True,
        )
        self._thread.start()

    def close(self) -> None:
        """Stop serving (in-flight requests end on their own), then stop the queue."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(5)
        self._server.server_close()
        self.dispatcher.close()

    # -- connections (called by _Server) --
    def _admit(self, sock: socket.socket) -> bool:
        with self._lock:
            if self._count >= self.max_connections:
                return False
            self._count += 1
            self._open[sock] = self.monotonic()
        sock.settimeout(self.read_timeout)
        return True

    def _release(self, sock: socket.socket) -> None:
        with self._lock:
            self._count -= 1
            self._open.pop(sock, None)

    def _read_done(self, sock: socket.socket) -> None:
        with self._lock:
            self._open.pop(sock, None)

    def _reap(self) -> None:
        """Shut the sockets of requests that did not arrive within the deadline."""
        now = self.monotonic()
        with self._lock:
            late = [s for s, t in self._open.items() if now - t > self.request_deadline]
            for s in late:
                del self._open[s]
        for s in late:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)

    # -- what handlers ask --
    def token(self) -> str | None:
        """The token, re-read when api.token changes (a rotation works at once)."""
        from localhb.state.token import token_path

        try:
            st = token_path(self.home).stat()
            sig: tuple[int, int] | None = (st.st_mtime_ns, st.st_ino)
        except OSError:
            sig = None
        cached_sig, cached = self._token
        if sig is not None and sig == cached_sig:
            return cached
        try:
            value = read_token(self.home)
        except Exception as exc:  # an unreadable token: nobody gets in, and the log says why
            log.error("wake API: %s", exc)
            value = None
        self._token = (sig, value)
        return value

    def health_answer(self) -> Answer:
        now = self.monotonic()
        cached = self._health
        if cached is None or now - cached[0] > HEALTH_CACHE:
            try:
                ok, body = self.health()
            except Exception as exc:
                ok, body = False, {"error": f"{type(exc).__name__}"}
            cached = (now, 200 if ok else 503, {"status": "ok" if ok else "failing", **body})
            self._health = cached
        return Answer(cached[1], cached[2])


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.0"
    server_version = "localhb"
    sys_version = ""

    def version_string(self) -> str:
        return self.server_version  # `Server: localhb`, no Python version

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("API %s - %s", self.address_string(), format % args)

    @property
    def api(self) -> APIServer:
        return self.server.api

    # -- routing --
    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0].rstrip("/") or "/"
        self.api._read_done(self.connection)
        if path == "/health":
            self._send(self.api.health_answer())
            return
        refused = self._guard()
        if refused is not None:
            self._send(refused)
            return
        if path == "/api/status":
            self._send(Answer(200, self.api.status()))
        elif path.startswith("/api/runs/"):
            self._send(self._lookup(path.removeprefix("/api/runs/")))
        elif path == "/api/wakeup":
            self._send(Answer(405, {"error": "use POST for /api/wakeup"}), allow="POST")
        else:
            self._send(Answer(404, {"error": f"no such endpoint: {path}"}))

    def do_POST(self) -> None:
        path = self.path.split("?", 1)[0].rstrip("/")
        if path != "/api/wakeup":
            self.api._read_done(self.connection)
            known = path in ("/health", "/api/status") or path.startswith("/api/runs/")
            if known:
                self._send(Answer(405, {"error": f"use GET for {path}"}), allow="GET")
            else:
                self._send(Answer(404, {"error": f"no such endpoint: {path}"}))
            return
        query = self.path.partition("?")[2]
        signature = None if "Authorization" in self.headers else self.headers.get(SIGNATURE)
        refused = self._guard(counted=True, token=signature is None)
        if refused is not None:
            self.api._read_done(self.connection)
            self._send(refused)
            return
        raw = self._body()
        self.api._read_done(self.connection)
        if isinstance(raw, Answer):
            self._send(raw)
            return
        if signature is not None or query:
            hooked = self._webhook(query, raw, signature)
            if isinstance(hooked, Answer):
                self._send(hooked)
                return
            raw = hooked
        self._send(self.api.dispatcher.submit(raw))

    def _webhook(self, query: str, raw: bytes, signature: str | None) -> bytes | Answer:
        """A webhook (`localhb.api.hooks`): its signature checked, its wakeup body made."""
        if signature is not None and not signed(signature, raw, self.api.token()):
            return Answer(401, {"error": f"{SIGNATURE} does not match the body and token"})
        if signature is not None and is_ping(self.headers.get(EVENT)):
            return Answer(200, {"pong": True})
        try:
            return hook_body(query, raw, self.headers.get(DELIVERY))
        except BadRequest as exc:
            return Answer(exc.status, exc.to_dict())

    def do_PUT(self) -> None:
        self._wrong_method()

    do_DELETE = do_PATCH = do_PUT

    def _wrong_method(self) -> None:
        self.api._read_done(self.connection)
        self._send(Answer(405, {"error": f"{self.command} is not served"}), allow="GET, POST")

    def _guard(self, *, counted: bool = False, token: bool = True) -> Answer | None:
        """The rate limit (wakeups: `counted`), then the token (unless a signed webhook
        is checked later instead): a refusal, or None."""
        if counted:
            limited = self.api.dispatcher.rate()
            if limited is not None:
                return limited
        if not token:
            return None
        expected = self.api.token()
        given = self.headers.get("Authorization", "")
        scheme, _, value = given.partition(" ")
        if expected is None or scheme.lower() != "bearer" or not token_matches(value, expected):
            return Answer(401, {"error": "a valid `Authorization: Bearer <token>` is needed"})
        return None

    def _body(self) -> bytes | Answer:
        length = self.headers.get("Content-Length")
        if length is None:
            if self.headers.get("Transfer-Encoding"):
                return Answer(411, {"error": "send a Content-Length (no chunked bodies)"})
            return b""
        if not length.strip().isdigit():
            return Answer(400, {"error": "Content-Length is not a number"})
        size = int(length)
        if size > MAX_BODY:
            return Answer(413, {"error": f"the body is larger than {MAX_BODY} bytes"})
        kind = self.headers.get("Content-Type", "application/json").split(";")[0].strip()
        if kind.lower() not in JSON_TYPES:
            return Answer(415, {"error": f"send application/json, not {kind}"})
        data = self.rfile.read(size)
        if len(data) < size:
            return Answer(400, {"error": "the body ended before Content-Length"})
        return data

    def _lookup(self, ident: str) -> Answer:
        if ident.isdigit():
            row = self.api.run(int(ident))
            if row is None:
                return Answer(404, {"error": f"no run {ident}"})
            return Answer(200, row)
        found = self.api.dispatcher.get(ident)
        if found is None:
            return Answer(404, {"error": f"no wakeup {ident!r}"})
        return Answer(200, {**found.to_dict(), "url": f"/api/runs/{found.id}"})

    def _send(self, answer: Answer, *, allow: str | None = None) -> None:
        data = (json.dumps(answer.body, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
        self.send_response(answer.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        if answer.retry_after is not None:
            self.send_header("Retry-After", str(answer.retry_after))
        if answer.status == 401:
            self.send_header("WWW-Authenticate", 'Bearer realm="localhb"')
        if allow is not None:
            self.send_header("Allow", allow)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
