"""http_request against a local server: methods, caps, schemes, hosts, redirects."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from localhb.agent.tools import CallStatus, Outcome, ToolContext, check_toolbox, task_toolbox
from localhb.agent.tools.http import check_url
from localhb.config import Config
from tests.scripted_llm import QuietServer, make_config, make_context


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    stop = threading.Event()

    def _send(self, status: int, body: bytes, ctype: str = "text/plain", **headers: str) -> None:
        self.send_response(status)
        self.send_header("content-type", ctype)
        self.send_header("content-length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        port = self.headers["host"].rsplit(":", 1)[1]
        if self.path == "/hello":
            self._send(200, b"hello there")
        elif self.path == "/big":
            self._send(200, b"x" * 200_000)
        elif self.path == "/png":
            self._send(200, b"\x89PNG\r\n", "image/png")
        elif self.path == "/to-hello":
            self._send(302, b"", location="/hello")
        elif self.path == "/to-localhost":
            self._send(302, b"", location=f"http://localhost:{port}/hello")
        elif self.path == "/slow":
            self.stop.wait(3)
            self._send(200, b"late")
        else:
            self._send(404, b"not here")

    def do_POST(self) -> None:
        size = int(self.headers.get("content-length", 0))
        body = self.rfile.read(size)
        echo = {"method": "POST", "body": body.decode(), "x": self.headers.get("x-test")}
        self._send(201, json.dumps(echo).encode(), "application/json")

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def web() -> Iterator[str]:
    Handler.stop.clear()
    server = QuietServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        Handler.stop.set()
        server.shutdown()
        server.server_close()
        thread.join()


def make(tmp_path: Path, **http: object) -> Config:
    """A config whose http tool may reach the loopback test server (listed explicitly)."""
    http = {"allowed_hosts": ["127.0.0.1"], **http}
    return make_config(tmp_path, "http://127.0.0.1:9/v1", tools={"http": {"timeout": 2, **http}})


def fetch(ctx: ToolContext, *, check: bool = False, **args: object) -> Outcome:
    box = check_toolbox(ctx.config) if check else task_toolbox(ctx.config)
    return box.call("http_request", json.dumps(args), ctx)


def test_get(web: str, tmp_path: Path) -> None:
    """A GET returns the status line, content type and body."""
    outcome = fetch(make_context(make(tmp_path)), url=f"{web}/hello")
    assert outcome.ok
    assert outcome.content.startswith("HTTP 200 OK\ncontent-type: text/plain")
    assert outcome.content.endswith("\nhello there")


def test_post_with_headers_and_body(web: str, tmp_path: Path) -> None:
    """Method, headers and body are sent as given."""
    ctx = make_context(make(tmp_path))
    outcome = fetch(ctx, url=f"{web}/echo", method="POST", headers={"X-Test": "1"}, body="hi")
    assert "HTTP 201" in outcome.content
    assert '{"method": "POST", "body": "hi", "x": "1"}' in outcome.content


def test_response_is_capped(web: str, tmp_path: Path) -> None:
    """A large body is read only up to the limit and shown with a note."""
    ctx = make_context(make(tmp_path, max_response_bytes=1024))
    outcome = fetch(ctx, url=f"{web}/big")
    assert "body cut: showing the first 1,024 bytes" in outcome.content
    assert outcome.content.count("x") <= 1024 + 10


def test_binary_body_is_not_shown(web: str, tmp_path: Path) -> None:
    """Binary content is described, not dumped."""
    outcome = fetch(make_context(make(tmp_path)), url=f"{web}/png")
    assert "binary body, 6 bytes, not shown" in outcome.content


def test_http_errors_are_results(web: str, tmp_path: Path) -> None:
    """A 404 is an ordinary result: the model sees the status."""
    outcome = fetch(make_context(make(tmp_path)), url=f"{web}/missing")
    assert outcome.ok and outcome.content.startswith("HTTP 404")


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/x", "/relative"])
def test_only_http_and_https(tmp_path: Path, url: str) -> None:
    """Other schemes are refused before anything is fetched."""
    outcome = fetch(make_context(make(tmp_path)), url=url)
    assert outcome.status in (CallStatus.REFUSED, CallStatus.ERROR)
    assert "http" in outcome.content


def test_allowed_hosts(web: str, tmp_path: Path) -> None:
    """With allowed_hosts, other hosts are refused, redirects included."""
    ctx = make_context(make(tmp_path, allowed_hosts=["127.0.0.1"]))
    assert fetch(ctx, url=f"{web}/to-hello").content.endswith("hello there")
    other = fetch(ctx, url="http://example.com/")
    assert other.status is CallStatus.REFUSED and "allowed_hosts" in other.content
    hop = fetch(ctx, url=f"{web}/to-localhost")
    assert hop.status is CallStatus.REFUSED and "'localhost'" in hop.content


def test_wildcard_hosts(tmp_path: Path) -> None:
    """`*.example.com` allows subdomains; a bare name allows itself only."""
    policy = make(tmp_path, allowed_hosts=["*.example.com", "api.test"]).tools.http
    assert check_url("https://a.example.com/x", policy) is None
    assert check_url("https://api.test/x", policy) is None
    assert check_url("https://example.com.evil.net/", policy) is not None
    assert check_url("https://sub.api.test/", policy) is not None


def test_timeout(web: str, tmp_path: Path) -> None:
    """A slow server is a timeout error after [tools.http] timeout."""
    ctx = make_context(make(tmp_path, timeout=0.3))
    outcome = fetch(ctx, url=f"{web}/slow")
    assert outcome.status is CallStatus.ERROR and "timed out after 0.3s" in outcome.content


def test_condition_check_may_only_get(web: str, tmp_path: Path) -> None:
    """The check's http_request takes GET/HEAD only; POST is rejected by the schema."""
    ctx = make_context(make(tmp_path))
    assert fetch(ctx, check=True, url=f"{web}/hello").ok
    post = fetch(ctx, check=True, url=f"{web}/echo", method="POST")
    assert post.status is CallStatus.INVALID and "GET | HEAD" in post.content


def test_disabled(tmp_path: Path) -> None:
    """With [tools.http] enabled = false the tool is not offered."""
    assert "http_request" not in task_toolbox(make(tmp_path, enabled=False).tools).names


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/",
        "http://localhost:9/",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/",
        "http://192.168.1.1/",
        "http://[::1]:9/",
        "http://[::ffff:127.0.0.1]:9/",
        "http://0.0.0.0:9/",
        "http://100.64.0.1/",
    ],
)
def test_internal_addresses_are_refused_by_default(tmp_path: Path, url: str) -> None:
    """With allowed_hosts = [] loopback, private, link-local and metadata addresses are refused."""
    ctx = make_context(make(tmp_path, allowed_hosts=[]))
    outcome = fetch(ctx, url=url)
    assert outcome.status is CallStatus.REFUSED and "internal address" in outcome.content


def test_internal_refusal_is_after_dns() -> None:
    """A public-looking name that resolves to an internal address is refused too."""
    from localhb.agent.tools.http import _internal

    def fake_dns(host: str, port: int, proto: int = 0) -> list[tuple[object, ...]]:
        return [(2, 1, 6, "", ("169.254.169.254", port))]

    assert "169.254.169.254" in (_internal("metadata.example.com", 80, fake_dns) or "")
    public = [(2, 1, 6, "", ("93.184.216.34", 80))]
    assert _internal("example.com", 80, lambda *a, **k: public) is None


def test_redirect_to_an_internal_address_is_refused(web: str, tmp_path: Path) -> None:
    """A redirect hop to an unlisted internal host is refused even when the first hop is listed."""
    ctx = make_context(make(tmp_path, allowed_hosts=["127.0.0.1", "*.example.com"]))
    hop = fetch(ctx, url=f"{web}/to-localhost")
    assert hop.status is CallStatus.REFUSED and "localhost" in hop.content


def test_a_listed_internal_host_is_reachable(web: str, tmp_path: Path) -> None:
    """Listing a loopback host in allowed_hosts is how a task may reach it."""
    ctx = make_context(make(tmp_path, allowed_hosts=["127.0.0.1"]))
    assert fetch(ctx, url=f"{web}/hello").ok
