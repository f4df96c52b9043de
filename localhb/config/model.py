"""The configuration's frozen dataclasses, its built-in defaults, and zones.

Pure values: nothing here reads a file. `localhb.config.loading` builds these
from TOML; `localhb.config.values` holds the per-value checks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta, tzinfo
from pathlib import Path

from localhb.config.api import APIConfig
from localhb.core.errors import ConfigError
from localhb.format.model import DEFAULT_TOOL_FAMILIES
from localhb.timing.schedule import ActiveHours

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
    api: APIConfig = APIConfig()  # noqa: RUF009 - a frozen dataclass, safe to share
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
    """$LOCALHB_HOME, else ~/.localhb (`localhb.core.home`, shared with the idle path)."""
    from localhb.core.home import home_dir

    return Path(home_dir(None, env))


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
