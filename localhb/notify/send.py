"""One message to one Apprise URL, and what the target answered.

The only module that imports `apprise`, and only inside `apprise_send`, so
nothing on the idle path loads it. Apprise talks to the service (ntfy,
Telegram, email, a webhook, ...); localhb never hand-writes a client.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlsplit

_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_STAMP = re.compile(r"^\S+ \S+ - (\w+) - ")


@dataclass(frozen=True, slots=True)
class Answer:
    """How one send went: `ok`, and the target's answer as Apprise logged it."""

    ok: bool
    text: str


class Sender(Protocol):
    """Sends one message; must not raise for a target's failure (say so in Answer)."""

    def __call__(self, url: str, title: str, body: str, timeout: float, /) -> Answer: ...


class TargetError(ValueError):
    """A target URL that cannot be used (unknown service, missing variable)."""


def expand(url: str, env: Mapping[str, str] | None = None) -> str:
    """`${NAME}` in a target URL replaced from the environment (secrets stay out of
    config.toml). Raises TargetError naming a variable that is not set."""
    env = os.environ if env is None else env

    def sub(m: re.Match[str]) -> str:
        value = env.get(m.group(1))
        if not value:
            raise TargetError(f"environment variable {m.group(1)} is not set")
        return value

    return _ENV.sub(sub, url)


def with_timeout(url: str, timeout: float) -> str:
    """The URL with Apprise's connect/read timeouts (`cto`, `rto`) unless it sets them."""
    query = dict(parse_qsl(urlsplit(url).query))
    extra = [f"{k}={timeout:g}" for k in ("cto", "rto") if k not in query]
    if not extra:
        return url
    return url + ("&" if "?" in url else "?") + "&".join(extra)


def _apprise() -> Any:
    """Apprise, imported on first use (its own deprecation warnings are not ours)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import apprise

        apprise.Apprise.instantiate("json://localhost")  # loads the plugins, warnings and all
    return apprise


def check_url(url: str) -> str | None:
    """None when Apprise can use `url`, else a sentence saying it cannot."""
    apprise = _apprise()

    if apprise.Apprise.instantiate(url) is None:
        scheme = url.split("://", 1)[0]
        return f"Apprise cannot use this URL (scheme {scheme!r}; see the Apprise wiki)"
    return None


def apprise_send(url: str, title: str, body: str, timeout: float) -> Answer:
    """Send through Apprise; never raises for a failing target."""
    import logging

    apprise = _apprise()
    target = apprise.Apprise()
    full = with_timeout(url, timeout)
    if not target.add(full):
        return Answer(False, check_url(full) or "Apprise could not load this URL")
    with apprise.LogCapture(level=logging.INFO) as captured:
        try:
            ok = bool(target.notify(body=body, title=title))
        except Exception as exc:  # a plugin bug must not end the cycle
            return Answer(False, f"Apprise failed: {type(exc).__name__}: {exc}")
    lines = [_STAMP.sub("", ln).strip() for ln in captured.getvalue().splitlines()]
    text = "; ".join(ln for ln in lines if ln) or ("sent" if ok else "not sent")
    return Answer(ok, _short(text))


def _short(text: str, limit: int = 500) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
