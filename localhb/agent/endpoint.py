"""The model endpoint, as pure rules: which URL, which key, when and how long to retry.

No I/O and no `openai`: `localhb.agent.loop` builds the SDK client from these, and
the runner and CLI can use them without loading the SDK.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from localhb.config import LLMConfig
from localhb.core.errors import MissingAPIKey

DEFAULT_BASE_URL = "https://api.openai.com/v1"
NO_KEY = "localhb-no-key"  # what a keyless local endpoint is sent; the SDK insists on one
MAX_BACKOFF = 60.0
RETRY_STATUSES = frozenset({408, 409, 429})  # and every 5xx


def is_local(base_url: str) -> bool:
    """True for loopback, private, link-local, `localhost`, `*.local` and dotless hosts."""
    host = (urlsplit(base_url).hostname or "").lower()
    if not host:
        return False
    if host == "localhost" or host.endswith((".localhost", ".local", ".internal")):
        return True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return "." not in host  # a LAN or container name such as "ollama"
    return ip.is_loopback or ip.is_private or ip.is_link_local


def resolve_endpoint(llm: LLMConfig, env: Mapping[str, str]) -> tuple[str, str]:
    """(base URL, API key) as the run will use them; MissingAPIKey when a key is needed.

    The URL is `[llm] base_url`, else OPENAI_BASE_URL, else OpenAI's. The key is
    read from `[llm] api_key_env` only: a key meant for one host is never sent
    to another because a different variable happened to be set.
    """
    base_url = llm.base_url or env.get("OPENAI_BASE_URL", "").strip() or DEFAULT_BASE_URL
    key = env.get(llm.api_key_env, "").strip()
    if key:
        return base_url, key
    if is_local(base_url):
        return base_url, NO_KEY
    raise MissingAPIKey(llm.api_key_env, base_url)


def is_retryable(status: int) -> bool:
    """Whether an HTTP status is worth another try: 408, 409, 429 and 5xx."""
    return status in RETRY_STATUSES or status >= 500


def backoff(attempt: int, base: float, retry_after: float | None = None) -> float:
    """Seconds before retry number `attempt` (0-based): the server's say, else doubling."""
    if retry_after is not None and 0 <= retry_after <= MAX_BACKOFF:
        return retry_after
    return float(min(base * 2**attempt, MAX_BACKOFF))


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """The wait a server asked for in `retry-after-ms` or `retry-after` (seconds), if any."""
    for name, scale in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            return float(value) / scale
        except ValueError:
            return None
    return None


@dataclass(frozen=True, slots=True)
class ToolCall:
    """One tool call the model asked for; `arguments` is the raw JSON text it sent."""

    id: str
    name: str
    arguments: str


@dataclass(frozen=True, slots=True)
class Reply:
    """One model turn. Token counts are None when the endpoint did not report them."""

    text: str
    calls: tuple[ToolCall, ...]
    prompt_tokens: int | None
    completion_tokens: int | None
