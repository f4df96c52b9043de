"""config.toml -> checked, frozen dataclasses.

Discovery: an explicit path, else `$LOCALHB_HOME/config.toml`, else built-in
defaults. Every key is checked by hand; an error names the file, the key and
what was expected. Unknown keys are errors too (with a did-you-mean), since a
misspelt safety setting must never be silently ignored.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import timedelta, tzinfo
from pathlib import Path
from typing import Any, TypeVar

from localhb.core.errors import ConfigError
from localhb.format.model import (
    DEFAULT_COMPLETED_SECTIONS,
    DEFAULT_PENDING_SECTIONS,
    DEFAULT_TOOL_FAMILIES,
    TOOL_FAMILIES,
)
from localhb.timing.schedule import ActiveHours, parse_active_hours

T = TypeVar("T")

# A command in command position: at the start, after ; & | ( { or `, after a
# wrapper such as sudo/env/xargs, or as the last part of a path (/sbin/reboot).
_CMD = r"(?:^|[;&|({`]\s*|\b(?:sudo|doas|nohup|exec|env|xargs|time)\s+(?:-\S+\s+)*|/)"

# A seatbelt, not a sandbox: each pattern is tested in tests/test_tools_shell.py
# with commands it must stop and look-alikes it must let through.
DEFAULT_SHELL_DENY = (
    # rm with a recursive flag aimed at /, a top-level system directory, ~ or $HOME
    r"(?<![\w-])rm(?=[^;&|\n]*\s(?:-[a-zA-Z]*[rR]|--recursive\b))[^;&|\n]*\s[\"']?"
    r"(?:/(?:bin|boot|dev|etc|home|lib\w*|opt|root|sbin|srv|usr|var|Users|System|Applications)?"
    r"|~|\$HOME|\$\{HOME\})/?\*?[\"']?(?:\s|$|[;&|)])",
    _CMD + r"(?:mkfs(?:\.\w+)?|mke2fs|mkswap|wipefs)\b",
    r"\bdd\b.*\bof=/dev/(?!null\b|zero\b|stdout\b|stderr\b)",
    r">\s*/dev/(?:sd|nvme|hd|vd|xvd|mmcblk|disk|mapper/)",
    r"(?:^|[;&|({`]\s*|\b(?:sudo|doas|nohup|exec|env|xargs|time|systemctl)\s+(?:-\S+\s+)*|/)"
    r"(?:shutdown|reboot|halt|poweroff)\b",
    r"\b(?:tel)?init\s+[06]\b",
    r"\bkill\s+(?:\S+\s+)*-1\s*(?:$|[;&|])",
    r"(\w+|:)\s*\(\)\s*\{\s*\1\s*\|\s*\1\s*&\s*\}\s*;?\s*\1",
    r"\b(?:curl|wget)\b[^|]*\|\s*(?:sudo(?:\s+-\S+)*\s+)?(?:env\s+)?"
    r"(?:(?:ba|z|da|k|fi)?sh|python[\d.]*|perl|ruby|node)\b",
    r"\b(?:ba|z|da|k)?sh\s+(?:-c\s+)?[\"']?(?:<\(|\$\()\s*(?:curl|wget)\b",
    r"\bch(?:mod|own)\s+(?:-\w+\s+)*\S+\s+/(?:\s|$)",
)
DEFAULT_REQUIRE_APPROVAL = (
    r"\bsudo\b",
    r"\b(?:doas|pkexec)\b",
    r"(?:^|[;&|]\s*)su(?:\s|$)",
    r"\bgit\s+push\b.*--force",
    r"\bgit\s+push\b.*\s-f\b",
    r"\bgit\s+push\b.*\s\+[\w/]",
)
# Commands a condition check may run: they only read. Anything with shell
# operators (; & | > < ` $) is refused in a check whatever these say.
DEFAULT_SHELL_READ_ONLY = (
    r"^(?:df|du|free|uptime|ls|wc|pgrep)(?:\s|$)",
    r"^git\s+(?:status|rev-parse)(?:\s|$)",
)


def tool_families(v: Any) -> tuple[str, ...]:
    """A list of tool family names, checked; ValueError names the unknown one."""
    items = _str_list(v)
    for item in items:
        if item not in TOOL_FAMILIES:
            raise ValueError(f"unknown tool family {item!r}; known: {', '.join(TOOL_FAMILIES)}")
    return tuple(dict.fromkeys(items))


@dataclass(frozen=True, slots=True)
class HeartbeatConfig:
    enabled: bool
    interval: timedelta
    active_hours: ActiveHours | None
    timezone: str | None
    file: Path
    pending_sections: tuple[str, ...]
    completed_sections: tuple[str, ...]
    max_concurrent: int
    max_attempts: int
    max_consecutive_failures: int
    catch_up: str
    retry_backoff: timedelta
    shutdown_grace: timedelta


@dataclass(frozen=True, slots=True)
class LLMConfig:
    base_url: str | None
    model: str
    api_key_env: str
    request_timeout: float
    max_retries: int
    condition_model: str | None
    system_prompt: Path | None
    retry_backoff: float = 1.0
    api_key_file: str | None = None  # expanded when read (localhb.agent.credentials)
    api_key_command: str | None = None
    max_reply_tokens: int = 2048  # 0: send no cap
    tool_choice: str = "auto"  # "auto" (not sent) or "required"


@dataclass(frozen=True, slots=True)
class AgentConfig:
    workspace: Path
    max_steps: int
    task_timeout: timedelta
    max_tokens_per_task: int
    memory_snippets: int
    tools: tuple[str, ...] = DEFAULT_TOOL_FAMILIES


@dataclass(frozen=True, slots=True)
class ShellConfig:
    enabled: bool
    timeout: timedelta
    deny: tuple[str, ...]
    allow: tuple[str, ...]
    require_approval: tuple[str, ...]
    read_only: tuple[str, ...] = DEFAULT_SHELL_READ_ONLY
    sandbox: str = "auto"  # "auto" | "bubblewrap" | "none" (localhb.agent.tools.sandbox)
    network: bool = True  # False: sandboxed commands get no network


@dataclass(frozen=True, slots=True)
class HTTPConfig:
    enabled: bool
    timeout: timedelta
    allowed_hosts: tuple[str, ...]
    max_response_bytes: int


@dataclass(frozen=True, slots=True)
class ScheduleConfig:
    """[tools.schedule]: may the agent add tasks in scheduled runs, and how many."""

    enabled: bool = False
    max_per_run: int = 3
    min_interval: timedelta = timedelta(minutes=15)


@dataclass(frozen=True, slots=True)
class ToolsConfig:
    allowed_directories: tuple[Path, ...]
    max_output_bytes: int
    shell: ShellConfig
    http: HTTPConfig
    schedule: ScheduleConfig = ScheduleConfig()


@dataclass(frozen=True, slots=True)
class APIConfig:
    """[api]: the daemon's wake API (off by default)."""

    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = 7142
    allow_remote: bool = False
    max_requests_per_minute: int = 60
    max_queued: int = 16

    @property
    def listen(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


NOTIFY_EVENTS = ("error", "partial", "ok", "message")
"""What `[notify] on` may name: outcome classes, and `message` (an ok run with a message)."""


@dataclass(frozen=True, slots=True)
class NotifyConfig:
    """`[notify]` and `[notify.targets]`: where results go, and when.

    `targets` are (name, Apprise URL) pairs in file order; `default` names the
    targets a task without its own `- Notify:` targets uses (all of them when
    unset). `ping_url_template` holds `{task_id}`.
    """

    targets: tuple[tuple[str, str], ...] = ()
    default: tuple[str, ...] = ()
    on: tuple[str, ...] = ("error", "partial", "message")
    cooldown: timedelta = timedelta(hours=24)
    ping_url_template: str | None = None
    timeout: timedelta = timedelta(seconds=10)
    retries: int = 3

    def url(self, name: str) -> str | None:
        """The Apprise URL of target `name`, or None."""
        return next((u for n, u in self.targets if n == name), None)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(n for n, _ in self.targets)


@dataclass(frozen=True, slots=True)
class MCPServer:
    """One `[[mcp.servers]]` entry: a stdio server (`command`, `args`, `env`) or a
    streamable HTTP one (`url`). `timeout` bounds its start and each call."""

    name: str
    command: str | None = None
    args: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    url: str | None = None
    timeout: timedelta = timedelta(seconds=30)

    @property
    def transport(self) -> str:
        return "stdio" if self.command is not None else "http"


@dataclass(frozen=True, slots=True)
class MCPConfig:
    servers: tuple[MCPServer, ...] = ()

    def server(self, name: str) -> MCPServer | None:
        return next((s for s in self.servers if s.name == name), None)


@dataclass(frozen=True, slots=True)
class Price:
    """What a model costs, in currency units per million tokens."""

    input: float
    output: float


# List prices in USD per million tokens when this was written; override or add
# models under [budget.prices]. A model with no price counts tokens only.
DEFAULT_PRICES: tuple[tuple[str, Price], ...] = (
    ("gpt-4o-mini", Price(0.15, 0.60)),
    ("gpt-4o", Price(2.50, 10.00)),
    ("gpt-4.1", Price(2.00, 8.00)),
    ("gpt-4.1-mini", Price(0.40, 1.60)),
    ("gpt-4.1-nano", Price(0.10, 0.40)),
    ("o4-mini", Price(1.10, 4.40)),
)


@dataclass(frozen=True, slots=True)
class BudgetConfig:
    """`[budget]`: spend caps per day (in `timezone`, default the heartbeat's) and per task."""

    daily_tokens: int | None = None
    daily_cost: float | None = None
    per_task_tokens: int = 200_000
    timezone: str | None = None
    prices: tuple[tuple[str, Price], ...] = DEFAULT_PRICES

    def price(self, model: str) -> Price | None:
        """The price of `model` (exact name, else the longest listed prefix), or None."""
        table = dict(self.prices)
        if model in table:
            return table[model]
        best = max((m for m in table if model.startswith(m + "-")), key=len, default=None)
        return table[best] if best is not None else None

    @property
    def capped(self) -> bool:
        return self.daily_tokens is not None or self.daily_cost is not None


@dataclass(frozen=True, slots=True)
class Config:
    """The whole configuration. `path` is the file it came from, if any."""

    home: Path
    path: Path | None
    heartbeat: HeartbeatConfig
    llm: LLMConfig
    agent: AgentConfig
    tools: ToolsConfig
    source_bytes: bytes | None = None  # the file exactly as read (None: defaults)
    api: APIConfig = APIConfig()
    budget: BudgetConfig = BudgetConfig()
    notify: NotifyConfig = NotifyConfig()
    mcp: MCPConfig = MCPConfig()

    @property
    def state_db(self) -> Path:
        return self.home / "state.db"

    @property
    def health_dir(self) -> Path:
        return self.home / "health"

    @property
    def log_dir(self) -> Path:
        return self.home / "logs"

    @property
    def api_token_file(self) -> Path:
        return self.home / "api.token"

    def tz(self) -> tzinfo:
        """The configured zone, else the system's; checked at load time."""
        return zone(self.heartbeat.timezone, path=self.path)

    def budget_tz(self) -> tzinfo:
        """The zone whose midnight starts a budget day: [budget] timezone, else tz()."""
        if self.budget.timezone is not None:
            return zone(self.budget.timezone, path=self.path)
        return self.tz()


def default_home(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    raw = env.get("LOCALHB_HOME")
    return Path(raw).expanduser() if raw else Path.home() / ".localhb"


def zone(name: str | None, *, path: Path | None = None) -> tzinfo:
    """An IANA zone by name, or the system's local zone when name is None."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    if name is None:
        try:
            import tzlocal

            return tzlocal.get_localzone()
        except Exception:  # an unreadable /etc/localtime must not stop a run
            return ZoneInfo("UTC")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f'expected an IANA time zone name like "Europe/Berlin", got {name!r}',
            path=path,
            key="[heartbeat] timezone",
        ) from None


def load_config(
    path: Path | None = None,
    *,
    home: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> Config:
    """Find, read and check the configuration.

    `path` is an explicit `--config`; a missing explicit file is an error.
    Without it, `<home>/config.toml` is read if it exists, else defaults apply.
    """
    home = home if home is not None else default_home(env)
    data: dict[str, Any] = {}
    source: Path | None = None
    candidate = path if path is not None else home / "config.toml"
    if path is not None or candidate.is_file():
        source = candidate
        try:
            raw = candidate.read_bytes()
        except FileNotFoundError:
            raise ConfigError("file not found", path=candidate) from None
        except OSError as exc:
            raise ConfigError(f"cannot read: {exc.strerror}", path=candidate) from None
        try:
            data = tomllib.loads(raw.decode("utf-8-sig"))
        except UnicodeDecodeError:
            raise ConfigError("not UTF-8 text", path=candidate) from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"not valid TOML: {exc}", path=candidate) from None
    config = _build(data, home=home, source=source)
    return replace(config, source_bytes=raw) if source is not None else config


def config_from_mapping(
    data: Mapping[str, Any], *, home: Path, source: Path | None = None
) -> Config:
    """Check an already-parsed TOML mapping (for tests and tools)."""
    return _build(dict(data), home=home, source=source)


class _Table:
    """One TOML table being checked; remembers which keys were read."""

    def __init__(self, data: Any, name: str, source: Path | None) -> None:
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise ConfigError("expected a table", path=source, key=f"[{name}]")
        self.data: dict[str, Any] = data
        self.name = name
        self.source = source
        self.known: set[str] = set()

    def key(self, key: str) -> str:
        return f"[{self.name}] {key}" if self.name else key

    def error(self, key: str, message: str) -> ConfigError:
        return ConfigError(message, path=self.source, key=self.key(key))

    def get(self, key: str, default: T, check: Callable[[Any], T], expected: str) -> T:
        self.known.add(key)
        if key not in self.data:
            return default
        value = self.data[key]
        try:
            return check(value)
        except (TypeError, ValueError) as exc:
            detail = f" ({exc})" if str(exc) else ""
            raise self.error(key, f"expected {expected}, got {value!r}{detail}") from None

    def sub(self, key: str) -> _Table:
        self.known.add(key)
        return _Table(self.data.get(key), f"{self.name}.{key}", self.source)

    def finish(self, nested: tuple[str, ...] = ()) -> None:
        for key in self.data:
            if key in self.known or key in nested:
                continue
            close = difflib.get_close_matches(key, sorted(self.known), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise self.error(key, f"unknown key{hint}")


def _bool(v: Any) -> bool:
    if not isinstance(v, bool):
        raise TypeError
    return v


def _int_at_least(low: int) -> Callable[[Any], int]:
    def check(v: Any) -> int:
        if isinstance(v, bool) or not isinstance(v, int):
            raise TypeError
        if v < low:
            raise ValueError(f"must be at least {low}")
        return v

    return check


def _choice(*choices: str) -> Callable[[Any], str]:
    def check(v: Any) -> str:
        if v not in choices:
            raise ValueError
        return str(v)

    return check


def _str(v: Any) -> str:
    if not isinstance(v, str):
        raise TypeError
    return v


def _opt_str(v: Any) -> str | None:
    return _str(v).strip() or None


def _str_list(v: Any) -> tuple[str, ...]:
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise TypeError
    return tuple(v)


def _tool_choice(v: Any) -> str:
    if v not in ("auto", "required"):
        raise ValueError
    return str(v)


def _regex_list(v: Any) -> tuple[str, ...]:
    import re

    items = _str_list(v)
    for item in items:
        try:
            re.compile(item)
        except re.error as exc:
            raise ValueError(f"bad pattern {item!r}: {exc}") from None
    return items


def duration(v: Any) -> timedelta:
    """A duration from "30m", "2h30m", "90s", or a number of seconds."""
    if isinstance(v, bool):
        raise TypeError
    if isinstance(v, int | float):
        seconds = float(v)
    elif isinstance(v, str):
        from pytimeparse.timeparse import timeparse

        parsed = timeparse(v.strip())
        if parsed is None:
            raise ValueError("not a duration")
        seconds = float(parsed)
    else:
        raise TypeError
    if seconds != seconds or seconds in (float("inf"), float("-inf")):
        raise ValueError("not a finite number")
    if seconds <= 0:
        raise ValueError("must be more than zero")
    if seconds > _LONGEST_DURATION:
        raise ValueError("longer than ten years, the longest duration")
    return timedelta(seconds=seconds)


_LONGEST_DURATION = 3650 * 86400


def _build(data: dict[str, Any], *, home: Path, source: Path | None) -> Config:
    base = source.parent if source is not None else home

    def path_of(v: Any) -> Path:
        p = Path(_str(v)).expanduser()
        return p if p.is_absolute() else (base / p)

    root = _Table(data, "", source)
    root.known.update({"heartbeat", "llm", "agent", "tools", "api", "budget", "notify", "mcp"})
    root.finish()

    hb = _Table(data.get("heartbeat"), "heartbeat", source)
    ag = _Table(data.get("agent"), "agent", source)
    workspace = ag.get("workspace", home / "workspace", path_of, "a directory path")

    def active(v: Any) -> ActiveHours | None:
        if not isinstance(v, dict) or set(v) != {"start", "end"}:
            raise TypeError
        return parse_active_hours(_str(v["start"]), _str(v["end"]))

    def catch_up(v: Any) -> str:
        if v not in ("none", "once", "all"):
            raise ValueError
        return str(v)

    def sections(v: Any) -> tuple[str, ...]:
        items = _str_list(v)
        if not items:
            raise ValueError("must name at least one section")
        return tuple(" ".join(s.lower().split()) for s in items)

    timezone = hb.get("timezone", None, _opt_str, "an IANA time zone name")
    zone(timezone, path=source)  # fail now, not at the first cycle
    heartbeat = HeartbeatConfig(
        enabled=hb.get("enabled", True, _bool, "true or false"),
        interval=hb.get("interval", timedelta(minutes=30), duration, 'a duration like "30m"'),
        active_hours=hb.get("active_hours", None, active, '{ start = "09:00", end = "22:00" }'),
        timezone=timezone,
        file=hb.get("file", workspace / "HEARTBEAT.md", path_of, "a file path"),
        pending_sections=hb.get(
            "pending_sections", DEFAULT_PENDING_SECTIONS, sections, "a list of section names"
        ),
        completed_sections=hb.get(
            "completed_sections", DEFAULT_COMPLETED_SECTIONS, sections, "a list of section names"
        ),
        max_concurrent=hb.get("max_concurrent", 1, _int_at_least(1), "a whole number >= 1"),
        max_attempts=hb.get("max_attempts", 3, _int_at_least(1), "a whole number >= 1"),
        max_consecutive_failures=hb.get(
            "max_consecutive_failures", 3, _int_at_least(1), "a whole number >= 1"
        ),
        catch_up=hb.get("catch_up", "once", catch_up, '"none", "once" or "all"'),
        retry_backoff=hb.get(
            "retry_backoff", timedelta(minutes=30), duration, 'a duration like "30m"'
        ),
        shutdown_grace=hb.get(
            "shutdown_grace", timedelta(seconds=30), duration, 'a duration like "30s"'
        ),
    )
    hb.finish()

    llm_t = _Table(data.get("llm"), "llm", source)
    llm = LLMConfig(
        base_url=llm_t.get("base_url", None, _opt_str, "a URL"),
        model=llm_t.get("model", "gpt-4o-mini", _str, "a model name"),
        api_key_env=llm_t.get("api_key_env", "OPENAI_API_KEY", _str, "an env var name"),
        request_timeout=llm_t.get(
            "request_timeout", 60.0, lambda v: duration(v).total_seconds(), "a duration"
        ),
        max_retries=llm_t.get("max_retries", 3, _int_at_least(0), "a whole number >= 0"),
        condition_model=llm_t.get("condition_model", None, _opt_str, "a model name"),
        system_prompt=llm_t.get(
            "system_prompt", None, lambda v: path_of(v) if _str(v).strip() else None, "a path"
        ),
        retry_backoff=llm_t.get(
            "retry_backoff", 1.0, lambda v: duration(v).total_seconds(), "a duration"
        ),
        max_reply_tokens=llm_t.get(
            "max_reply_tokens", 2048, _int_at_least(0), "a whole number >= 0 (0: no cap)"
        ),
        tool_choice=llm_t.get("tool_choice", "auto", _tool_choice, '"auto" or "required"'),
    )
    llm = replace(
        llm,
        api_key_file=llm_t.get("api_key_file", None, _opt_str, "a file path"),
        api_key_command=llm_t.get("api_key_command", None, _opt_str, "a command"),
    )
    if llm.api_key_file is not None and llm.api_key_command is not None:
        raise llm_t.error("api_key_command", "set api_key_file or api_key_command, not both")
    llm_t.finish()

    budget = _budget(_Table(data.get("budget"), "budget", source), ag)
    agent = AgentConfig(
        workspace=workspace,
        max_steps=ag.get("max_steps", 20, _int_at_least(1), "a whole number >= 1"),
        task_timeout=ag.get(
            "task_timeout", timedelta(minutes=10), duration, 'a duration like "10m"'
        ),
        max_tokens_per_task=budget.per_task_tokens,
        memory_snippets=ag.get("memory_snippets", 3, _int_at_least(0), "a whole number >= 0"),
        tools=ag.get(
            "tools",
            DEFAULT_TOOL_FAMILIES,
            tool_families,
            "a list of tool families (files, shell, ...)",
        ),
    )
    ag.finish()

    tools_t = _Table(data.get("tools"), "tools", source)
    shell_t = tools_t.sub("shell")
    http_t = tools_t.sub("http")
    schedule_t = tools_t.sub("schedule")
    tools = ToolsConfig(
        allowed_directories=tools_t.get(
            "allowed_directories",
            (),
            lambda v: tuple(path_of(p) for p in _str_list(v)),
            "a list of directory paths",
        ),
        max_output_bytes=tools_t.get(
            "max_output_bytes", 16384, _int_at_least(256), "a whole number >= 256"
        ),
        shell=ShellConfig(
            enabled=shell_t.get("enabled", True, _bool, "true or false"),
            timeout=shell_t.get("timeout", timedelta(seconds=60), duration, "a duration"),
            deny=shell_t.get("deny", DEFAULT_SHELL_DENY, _regex_list, "a list of regexes"),
            allow=shell_t.get("allow", (), _regex_list, "a list of regexes"),
            require_approval=shell_t.get(
                "require_approval", DEFAULT_REQUIRE_APPROVAL, _regex_list, "a list of regexes"
            ),
            read_only=shell_t.get(
                "read_only", DEFAULT_SHELL_READ_ONLY, _regex_list, "a list of regexes"
            ),
            sandbox=shell_t.get(
                "sandbox",
                "auto",
                _choice("auto", "bubblewrap", "none"),
                '"auto", "bubblewrap" or "none"',
            ),
            network=shell_t.get("network", True, _bool, "true or false"),
        ),
        http=HTTPConfig(
            enabled=http_t.get("enabled", True, _bool, "true or false"),
            timeout=http_t.get("timeout", timedelta(seconds=30), duration, "a duration"),
            allowed_hosts=http_t.get("allowed_hosts", (), _str_list, "a list of host names"),
            max_response_bytes=http_t.get(
                "max_response_bytes", 65536, _int_at_least(256), "a whole number >= 256"
            ),
        ),
    )
    schedule = ScheduleConfig(
        enabled=schedule_t.get("enabled", False, _bool, "true or false"),
        max_per_run=schedule_t.get("max_per_run", 3, _int_at_least(0), "a whole number >= 0"),
        min_interval=schedule_t.get(
            "min_interval", timedelta(minutes=15), duration, 'a duration like "15m"'
        ),
    )
    tools = replace(tools, schedule=schedule)
    shell_t.finish()
    http_t.finish()
    schedule_t.finish()
    tools_t.finish(nested=("shell", "http", "schedule"))

    api = _api(_Table(data.get("api"), "api", source))
    notify = _notify(_Table(data.get("notify"), "notify", source))
    return Config(
        home=home,
        path=source,
        heartbeat=heartbeat,
        llm=llm,
        agent=agent,
        tools=tools,
        api=api,
        budget=budget,
        notify=notify,
        mcp=_mcp(data.get("mcp"), source, base),
    )


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


LOOPBACK = ("127.0.0.1", "::1", "localhost")


def _api(t: _Table) -> APIConfig:
    """[api], with a listen address off loopback refused unless `allow_remote = true`."""

    def listen(v: Any) -> tuple[str, int]:
        text = _str(v).strip()
        host, sep, port = text.rpartition(":")
        if not sep or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError('write "host:port", e.g. "127.0.0.1:7142"')
        host = host.strip("[]")
        if not host:
            raise ValueError("the host is missing")
        return host, int(port)

    enabled = t.get("enabled", False, _bool, "true or false")
    host, port = t.get("listen", ("127.0.0.1", 7142), listen, 'an address like "127.0.0.1:7142"')
    allow_remote = t.get("allow_remote", False, _bool, "true or false")
    api = APIConfig(
        enabled=enabled,
        host=host,
        port=port,
        allow_remote=allow_remote,
        max_requests_per_minute=t.get(
            "max_requests_per_minute", 60, _int_at_least(1), "a whole number >= 1"
        ),
        max_queued=t.get("max_queued", 16, _int_at_least(1), "a whole number >= 1"),
    )
    t.finish()
    if host not in LOOPBACK and not allow_remote:
        raise t.error(
            "listen",
            f"{host!r} is not a loopback address; set `allow_remote = true` as well to "
            "listen on it (and put TLS in front, see docs/api.md)",
        )
    return api


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


def _raise() -> Any:
    raise TypeError


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
