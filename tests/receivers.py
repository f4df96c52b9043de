"""Real loopback receivers for notification tests: an HTTP server and an SMTP server.

`HTTPReceiver` records every request (method, path, headers, body) and answers
with the statuses queued in `statuses` (then 200). `silent_port()` is a port
that accepts connections and never answers (a timeout); `closed_port()` one
that refuses them. `SMTPReceiver` is aiosmtpd on 127.0.0.1.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.body.decode()).items()}


@dataclass
class HTTPReceiver:
    port: int = 0
    requests: list[Request] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    arrived: threading.Event = field(default_factory=threading.Event)

    @property
    def base(self) -> str:
        return f"127.0.0.1:{self.port}"


@contextmanager
def http_receiver() -> Iterator[HTTPReceiver]:
    rec = HTTPReceiver()

    class Handler(BaseHTTPRequestHandler):
        def _any(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            rec.requests.append(Request(self.command, self.path, dict(self.headers), body))
            status = rec.statuses.pop(0) if rec.statuses else 200
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            payload = b"ok" if status < 400 else b"broken"
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            rec.arrived.set()

        do_POST = do_GET = do_PUT = _any

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    rec.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield rec
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def silent_port() -> Iterator[int]:
    """A port whose connections are accepted by the kernel and never answered."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


def closed_port() -> int:
    """A port nothing listens on: connections are refused."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = int(sock.getsockname()[1])
    sock.close()
    return port


@dataclass
class SMTPReceiver:
    port: int
    messages: list[Any]


@contextmanager
def smtp_receiver() -> Iterator[SMTPReceiver]:
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Message

    messages: list[Any] = []

    class Keep(Message):  # type: ignore[misc]
        def handle_message(self, message: Any) -> None:
            messages.append(message)

    port = closed_port()
    controller = Controller(Keep(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield SMTPReceiver(port, messages)
    finally:
        controller.stop()
