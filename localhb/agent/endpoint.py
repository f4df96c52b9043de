"""The model endpoint, as rules: which URL, which key, when and how long to retry.

No `openai`, and no I/O but reading the key (`resolve_endpoint`, through
`localhb.agent.credentials`): `localhb.agent.client` builds the SDK client from
these, and the runner and CLI can use them without loading the SDK.
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from localhb.config import LLMConfig
from localhb.core.errors import MissingAPIKey
from localhb.core.redact import strip_url_credentials

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


def base_url_of(llm: LLMConfig, env: Mapping[str, str]) -> str:
    """`[llm] base_url`, else OPENAI_BASE_URL, else OpenAI's."""
    return llm.base_url or env.get("OPENAI_BASE_URL", "").strip() or DEFAULT_BASE_URL


def resolve_endpoint(llm: LLMConfig, env: Mapping[str, str]) -> tuple[str, str]:
    """(base URL, API key) as the run will use them; MissingAPIKey when a key is needed.

    The URL is `base_url_of`. The key comes from `[llm] api_key_file`, else
    `api_key_command`, else `api_key_env` only (`localhb.agent.credentials`): a
    key meant for one host is never sent to another because a different
    variable happened to be set. Errors show the URL without its credentials.
    """
    from localhb.agent.credentials import read_key, source_name

    base_url = base_url_of(llm, env)
    shown = strip_url_credentials(base_url)
    key = read_key(llm, env, shown)
    if key:
        return base_url, key
    if is_local(base_url):
        return base_url, NO_KEY
    raise MissingAPIKey(source_name(llm), shown)


def is_retryable(status: int) -> bool:
    """Whether an HTTP status is worth another try: 408, 409, 429 and 5xx."""
    return status in RETRY_STATUSES or status >= 500


def backoff(attempt: int, base: float, retry_after: float | None = None) -> float:
    """Seconds before retry number `attempt` (0-based): the server's say, else doubling.

    A Retry-After is honoured however long it is (the caller ends the run when
    it would pass the task's deadline); a negative one means "now".
    """
    if retry_after is not None and math.isfinite(retry_after):
        return max(0.0, retry_after)
    return float(min(base * 2**attempt, MAX_BACKOFF))


def retry_after_seconds(headers: Mapping[str, str], now: datetime | None = None) -> float | None:
    """The wait a server asked for in `retry-after-ms`, or `retry-after` (seconds or a date)."""
    for name, scale in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        seconds: float | None
        try:
            seconds = float(value) / scale
        except ValueError:
            seconds = _http_date_wait(value, now) if scale == 1.0 else None
        if seconds is not None and math.isfinite(seconds):
            return seconds
        return None
    return None


def _http_date_wait(value: str, now: datetime | None) -> float | None:
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return (when - (now or datetime.now(UTC))).total_seconds()


@dataclass(frozen=True, slots=True)
class ToolCall:
    """One tool call the model asked for; `arguments` is the raw JSON text it sent."""

    id: str
    name: str
    arguments: str


@dataclass(frozen=True, slots=True)
class Reply:
    """One model turn. Token counts are None when the endpoint did not report them.

    `text` is what the model said, without `<think>` blocks; `reasoning` is its
    thinking (never a summary), and `reasoning_key` the field it came in
    (`reasoning_content` or `reasoning`), so it can be passed back the same way.
    """

    text: str
    calls: tuple[ToolCall, ...]
    prompt_tokens: int | None
    completion_tokens: int | None
    finish_reason: str = ""
    reasoning: str = ""
    reasoning_key: str = ""
    refusal: str = ""


# -- setup failures --------------------------------------------------------------

_MODEL_MISSING = re.compile(
    r"model[^.]{0,80}\b(?:not found|does not exist|not exist|is not available|unknown)"
    r"|\b(?:no such|unknown|invalid) model|model_not_found|pull the model|try pulling",
    re.IGNORECASE,
)
_NO_TOOLS = re.compile(
    r"requires? --jinja|tools? param|does not support (?:tools|tool|function)"
    r"|(?:tools?|tool use|tool calling|function calling) (?:is |are )?not supported"
    r"|auto.?tool.?choice|tool.?call.?parser",
    re.IGNORECASE,
)


def setup_problem(status: int | None, message: str, llm: LLMConfig) -> tuple[str, str] | None:
    """(kind, fix) when an error means the endpoint or config is wrong, else None.

    401/403 are the key; 404 or "model not found" the model name (or base_url);
    "does not support tools" / "requires --jinja" the server's tool support.
    """
    if _NO_TOOLS.search(message):
        if "jinja" in message.lower():
            fix = "start llama-server with --jinja (and a chat template that supports tools)"
        else:
            fix = f"use a model that supports tool calls ([llm] model = {llm.model!r} does not)"
        return "tools", fix
    if status == 401:
        return "auth", f"the endpoint refused the API key: check {llm.api_key_env}"
    if status == 403:
        return "forbidden", f"the key in {llm.api_key_env} may not use this model or endpoint"
    if status == 404 or _MODEL_MISSING.search(message):
        return "model", (
            f"check [llm] model ({llm.model!r}) and [llm] base_url; "
            "`localhb doctor` lists the models the endpoint offers"
        )
    return None


def max_tokens_field(base_url: str) -> str:
    """The request field that caps a reply: OpenAI's own API wants `max_completion_tokens`."""
    host = (urlsplit(base_url).hostname or "").lower()
    return "max_completion_tokens" if host == "api.openai.com" else "max_tokens"
