"""http_request: one HTTP(S) request with httpx, bounded in time and size.

Only http and https. When `[tools.http] allowed_hosts` is set, every hop
(redirects included) must go to one of those hosts: "example.com" matches that
host alone, "*.example.com" its subdomains. Whatever the list, a host that is
not in it is refused on every hop when it resolves (DNS included) to a
loopback, private, link-local (cloud metadata, 169.254.169.254), shared,
multicast or reserved address: listing a host is how a task may reach
something on the machine or the LAN. The body is read up to
`max_response_bytes` and shown up to `[tools] max_output_bytes`. A condition
check gets a GET/HEAD-only variant.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from localhb.agent.tools.base import Tool, ToolContext, obj
from localhb.config import HTTPConfig
from localhb.core.errors import ToolError

MAX_REDIRECTS = 5
_SHOWN_HEADERS = ("content-type", "content-length", "location", "retry-after", "last-modified")
_TEXTUAL = ("text/", "json", "xml", "javascript", "yaml", "csv", "x-www-form-urlencoded")


def check_url(url: str, policy: HTTPConfig) -> str | None:
    """Why `url` may not be fetched under `policy`, or None when it may."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
    except ValueError as exc:
        return f"not a valid URL ({exc})"
    if parts.scheme not in ("http", "https"):
        return f"only http and https URLs are allowed, not {parts.scheme or 'a bare path'!r}"
    if not host:
        return "the URL has no host"
    listed = any(_host_matches(host, h) for h in policy.allowed_hosts)
    if policy.allowed_hosts and not listed:
        names = ", ".join(policy.allowed_hosts)
        return f"host {host!r} is not in [tools.http] allowed_hosts ({names})"
    if not listed:
        return _internal(host, parts.port or (443 if parts.scheme == "https" else 80))
    return None


def _internal(host: str, port: int, resolve: Any = None) -> str | None:
    """Why `host` is refused as an internal address (after DNS), or None when public."""
    import ipaddress
    import socket

    try:
        addresses = [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        try:
            infos = (resolve or socket.getaddrinfo)(host, port, proto=socket.IPPROTO_TCP)
        except (OSError, UnicodeError):
            return None  # it cannot be reached either; the request fails with its own error
        addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    for ip in addresses:
        mapped = getattr(ip, "ipv4_mapped", None)
        ip = mapped or ip
        if not ip.is_global or ip.is_multicast:
            return (
                f"{host!r} resolves to {ip}, an internal address (loopback, private, "
                "link-local or reserved); list the host in [tools.http] allowed_hosts "
                "to allow it"
            )
    return None


def _host_matches(host: str, pattern: str) -> bool:
    pattern = pattern.lower().strip()
    if pattern.startswith("*."):
        return host.endswith(pattern[1:])
    return host == pattern


def _request(ctx: ToolContext, args: Mapping[str, Any], *, read_only: bool) -> str:
    import httpx

    policy = ctx.config.http
    if not policy.enabled:
        raise ToolError(
            "refused: HTTP requests are disabled ([tools.http] enabled = false)",
            tool="http_request",
            refused=True,
        )
    method = str(args.get("method", "GET")).upper()
    if read_only and method not in ("GET", "HEAD"):
        raise ToolError(
            "refused: a condition check may only GET or HEAD", tool="http_request", refused=True
        )

    def guard(request: httpx.Request) -> None:
        reason = check_url(str(request.url), policy)
        if reason is not None:
            raise ToolError(f"refused: {reason}", tool="http_request", refused=True)

    guard(_as_request(args["url"]))
    timeout = min(policy.timeout.total_seconds(), ctx.time_left())
    if timeout <= 0:
        raise ToolError("no time left in this task for a request", tool="http_request")
    body = args.get("body")
    try:
        with (
            httpx.Client(
                timeout=timeout,
                follow_redirects=True,
                max_redirects=MAX_REDIRECTS,
                event_hooks={"request": [guard]},
            ) as client,
            client.stream(
                method,
                args["url"],
                headers=dict(args.get("headers", {})),
                content=body.encode("utf-8") if body is not None else None,
            ) as response,
        ):
            data, complete = _read_limited(response, policy.max_response_bytes)
            return _describe(response, data, complete, ctx.config.max_output_bytes)
    except httpx.TimeoutException:
        raise ToolError(f"the request timed out after {timeout:g}s", tool="http_request") from None
    except httpx.TooManyRedirects:
        raise ToolError(f"more than {MAX_REDIRECTS} redirects", tool="http_request") from None
    except httpx.HTTPError as exc:
        kind = type(exc).__name__
        raise ToolError(f"the request failed: {kind}: {exc}", tool="http_request") from None


def _as_request(url: str) -> Any:
    import httpx

    try:
        return httpx.Request("GET", url)
    except (httpx.InvalidURL, httpx.UnsupportedProtocol, ValueError, TypeError) as exc:
        raise ToolError(f"not a valid URL: {url!r} ({exc})", tool="http_request") from None


def _read_limited(response: Any, limit: int) -> tuple[bytes, bool]:
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            return b"".join(chunks)[:limit], False
    return b"".join(chunks), True


def _describe(response: Any, data: bytes, complete: bool, shown: int) -> str:
    lines = [f"HTTP {response.status_code} {response.reason_phrase}".rstrip()]
    if len(response.history):
        lines.append(f"final url: {response.url}")
    for name in _SHOWN_HEADERS:
        if name in response.headers:
            lines.append(f"{name}: {response.headers[name]}")
    content_type = response.headers.get("content-type", "").lower()
    if data and content_type and not any(t in content_type for t in _TEXTUAL):
        lines.append(f"\n[binary body, {len(data):,} bytes, not shown]")
        return "\n".join(lines)
    text = data[:shown].decode("utf-8", errors="replace")
    lines.append("")
    lines.append(text)
    if not complete or len(data) > shown:
        lines.append(f"[... body cut: showing the first {min(shown, len(data)):,} bytes ...]")
    return "\n".join(lines)


def _task_request(ctx: ToolContext, args: Mapping[str, Any]) -> str:
    return _request(ctx, args, read_only=False)


def _check_request(ctx: ToolContext, args: Mapping[str, Any]) -> str:
    return _request(ctx, args, read_only=True)


def _params(methods: tuple[str, ...]) -> dict[str, Any]:
    return obj(
        ("url",),
        url={"type": "string"},
        method={"type": "string", "enum": list(methods)},
        headers={"type": "object", "additionalProperties": {"type": "string"}},
        body={"type": "string"},
    )


HTTP_REQUEST = Tool(
    "http_request",
    "Make an HTTP request (default GET); returns status, headers, body.",
    _params(("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")),
    _task_request,
)
HTTP_GET = Tool(
    "http_request",
    "Fetch a URL with GET or HEAD. Returns the status, a few headers and the body.",
    obj(
        ("url",),
        url={"type": "string", "description": "An http:// or https:// URL."},
        method={"type": "string", "enum": ["GET", "HEAD"], "description": "Default GET."},
        headers={"type": "object", "additionalProperties": {"type": "string"}},
    ),
    _check_request,
)
