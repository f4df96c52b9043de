"""The checkers of the `[mcp]`, `[budget]` and `[notify]` tables (`[api]`: config/api.py)."""

from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

from localhb.config.model import (
    DEFAULT_PRICES,
    NOTIFY_EVENTS,
    BudgetConfig,
    MCPConfig,
    MCPServer,
    NotifyConfig,
    Price,
    zone,
)
from localhb.config.values import (
    _int_at_least,
    _opt_str,
    _raise,
    _str,
    _str_list,
    _Table,
    duration,
)
from localhb.core.errors import ConfigError

_SERVER_NAME = r"[A-Za-z0-9][A-Za-z0-9-]{0,31}"


def _args(v: Any) -> tuple[str, ...]:
    return _str_list(v)


def _mcp(data: Any, source: Path | None, base: Path) -> MCPConfig:
    """`[mcp]` with its `[[mcp.servers]]` array; `~` in args is expanded."""
    import re

    t = _Table(data, "mcp", source)
    raw = t.data.get("servers", [])
    t.known.add("servers")
    t.finish()
    if not isinstance(raw, list):
        raise t.error("servers", "expected [[mcp.servers]] tables")
    servers: list[MCPServer] = []
    for i, item in enumerate(raw):
        s = _Table(item, f"mcp.servers[{i}]", source)
        name = s.get("name", "", _str, "a name")
        if not re.fullmatch(_SERVER_NAME, name):
            raise s.error("name", f"expected a short name of letters, digits and '-', got {name!r}")
        if any(x.name == name for x in servers):
            raise s.error("name", f"{name!r} is the name of another server too")
        command = s.get("command", None, _opt_str, "a command")
        url = s.get("url", None, _opt_str, "an http(s) URL")
        if (command is None) == (url is None):
            raise s.error("command", "give either `command` (stdio) or `url` (streamable HTTP)")
        if url is not None and not url.startswith(("http://", "https://")):
            raise s.error("url", f"expected an http:// or https:// URL, got {url!r}")

        def env_table(v: Any) -> tuple[tuple[str, str], ...]:
            if not isinstance(v, dict) or not all(isinstance(x, str) for x in v.values()):
                raise TypeError
            return tuple(sorted(v.items()))

        no_args: tuple[str, ...] = ()
        args = s.get("args", no_args, _args, "a list of strings")
        servers.append(
            MCPServer(
                name=name,
                command=command,
                args=tuple(os.path.expanduser(a) for a in args),
                env=s.get("env", (), env_table, "a table of strings"),
                url=url,
                timeout=s.get("timeout", timedelta(seconds=30), duration, 'a duration like "30s"'),
            )
        )
        s.finish()
    return MCPConfig(tuple(servers))


def _budget(t: _Table, agent: _Table) -> BudgetConfig:
    """`[budget]`; `[agent] max_tokens_per_task` is the older name of `per_task_tokens`."""

    def cost(v: Any) -> float:
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise TypeError
        if v <= 0:
            raise ValueError("must be more than zero")
        return float(v)

    def price(v: Any) -> Price:
        if not isinstance(v, dict) or set(v) != {"input", "output"}:
            raise TypeError
        values = []
        for key in ("input", "output"):
            x = v[key]
            if isinstance(x, bool) or not isinstance(x, int | float) or x < 0:
                raise ValueError(f"{key} must be a number >= 0")
            values.append(float(x))
        return Price(values[0], values[1])

    old = agent.get("max_tokens_per_task", None, _int_at_least(1), "a whole number >= 1")
    new = t.get("per_task_tokens", None, _int_at_least(1), "a whole number >= 1")
    if old is not None and new is not None and old != new:
        raise t.error(
            "per_task_tokens",
            f"[agent] max_tokens_per_task ({old}) is the older name of this key and "
            f"says otherwise ({new}); keep one",
        )
    timezone = t.get("timezone", None, _opt_str, "an IANA time zone name")
    if timezone is not None:
        try:
            zone(timezone, path=t.source)
        except ConfigError:
            raise t.error(
                "timezone", f"expected an IANA time zone name, got {timezone!r}"
            ) from None
    prices = dict(DEFAULT_PRICES)
    table: dict[str, Any] = t.get(
        "prices", {}, lambda v: v if isinstance(v, dict) else _raise(), "a table"
    )
    t.known.add("prices")
    for model, value in table.items():
        try:
            prices[model] = price(value)
        except (TypeError, ValueError) as exc:
            detail = f" ({exc})" if str(exc) else ""
            raise t.error(
                f"prices.{model}",
                f"expected {{ input = 0.15, output = 0.6 }}, got {value!r}{detail}",
            ) from None
    budget = BudgetConfig(
        daily_tokens=t.get("daily_tokens", None, _int_at_least(1), "a whole number >= 1"),
        daily_cost=t.get("daily_cost", None, cost, "an amount > 0, like 1.50"),
        per_task_tokens=new or old or 200_000,
        timezone=timezone,
        prices=tuple(prices.items()),
    )
    t.finish()
    return budget


_TARGET_NAME = re.compile(r"^[A-Za-z][\w-]{0,39}$")


def _notify(t: _Table) -> NotifyConfig:
    """`[notify]` and `[notify.targets]`, checked without loading Apprise."""
    targets_t = t.sub("targets")
    targets: list[tuple[str, str]] = []
    for name in targets_t.data:
        if not _TARGET_NAME.match(name) or name.lower() in _NOTIFY_WORDS:
            raise targets_t.error(
                name,
                "a target name is a word of letters, digits, '-' or '_' (starting with a "
                f"letter) that is not one of {', '.join(sorted(_NOTIFY_WORDS))}",
            )
        url = targets_t.get(name, "", _str, 'an Apprise URL like "ntfy://ntfy.sh/my-topic"')
        if "://" not in url or not url.split("://", 1)[0].strip():
            raise targets_t.error(
                name, f'expected an Apprise URL like "ntfy://ntfy.sh/my-topic", got {url!r}'
            )
        targets.append((name, url.strip()))
    targets_t.finish()
    names = [n for n, _ in targets]

    def known_targets(v: Any) -> tuple[str, ...]:
        items = _str_list(v)
        for item in items:
            if item not in names:
                have = ", ".join(names) or "none"
                raise ValueError(f"{item!r} is not in [notify.targets] (defined: {have})")
        return items

    def events(v: Any) -> tuple[str, ...]:
        items = tuple(x.strip().lower() for x in _str_list(v))
        for item in items:
            if item not in NOTIFY_EVENTS:
                raise ValueError(f"{item!r} is not one of {', '.join(NOTIFY_EVENTS)}")
        return items

    def template(v: Any) -> str | None:
        text = _opt_str(v)
        if text is None:
            return None
        if "{task_id}" not in text or "://" not in text:
            raise ValueError("it must be a URL holding {task_id}")
        try:
            text.format(task_id="x")
        except (KeyError, IndexError, ValueError):
            raise ValueError("the only placeholder allowed is {task_id}") from None
        return text

    config = NotifyConfig(
        targets=tuple(targets),
        default=t.get("default", tuple(names), known_targets, "a list of target names"),
        on=t.get("on", ("error", "partial", "message"), events, 'a list like ["error", "partial"]'),
        cooldown=t.get("cooldown", timedelta(hours=24), duration, 'a duration like "24h"'),
        ping_url_template=t.get(
            "ping_url_template", None, template, 'a URL like "https://hc-ping.com/KEY/{task_id}"'
        ),
        timeout=t.get("timeout", timedelta(seconds=10), duration, 'a duration like "10s"'),
        retries=t.get("retries", 3, _int_at_least(0), "a whole number >= 0"),
    )
    t.finish(nested=("targets",))
    return config


# Words of the `- Notify:` grammar; a target may not be called one of them.
_NOTIFY_WORDS = frozenset({"on", "always", "never", "default", "change", *NOTIFY_EVENTS})
