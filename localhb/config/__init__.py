"""config.toml -> checked, frozen dataclasses.

Discovery: an explicit path, else `$LOCALHB_HOME/config.toml`, else built-in
defaults. Every key is checked by hand; an error names the file, the key and
what was expected. Unknown keys are errors too (with a did-you-mean), since a
misspelt safety setting must never be silently ignored.

Layout (import from `localhb.config`, not from the modules):

    model.py     the frozen dataclasses, built-in defaults, default_home, zone
    values.py    checks for single values (duration, ...) and `_Table`
    sections.py  the [mcp], [budget] and [notify] tables
    api.py       the [api] table (the daemon's wake API)
    loading.py   load_config / config_from_mapping: [heartbeat], [llm], [agent], [tools]

A new key goes into its dataclass in model.py and its table's checker.
"""

from __future__ import annotations

from localhb.config.api import LOOPBACK, APIConfig
from localhb.config.loading import config_from_mapping, load_config
from localhb.config.model import (
    DEFAULT_PRICES,
    DEFAULT_REQUIRE_APPROVAL,
    DEFAULT_SHELL_DENY,
    DEFAULT_SHELL_READ_ONLY,
    NOTIFY_EVENTS,
    AgentConfig,
    BudgetConfig,
    Config,
    HeartbeatConfig,
    HTTPConfig,
    LLMConfig,
    MCPConfig,
    MCPServer,
    NotifyConfig,
    Price,
    ScheduleConfig,
    ShellConfig,
    ToolsConfig,
    default_home,
    zone,
)
from localhb.config.values import duration, tool_families

__all__ = [
    "DEFAULT_PRICES",
    "DEFAULT_REQUIRE_APPROVAL",
    "DEFAULT_SHELL_DENY",
    "DEFAULT_SHELL_READ_ONLY",
    "LOOPBACK",
    "NOTIFY_EVENTS",
    "APIConfig",
    "AgentConfig",
    "BudgetConfig",
    "Config",
    "HTTPConfig",
    "HeartbeatConfig",
    "LLMConfig",
    "MCPConfig",
    "MCPServer",
    "NotifyConfig",
    "Price",
    "ScheduleConfig",
    "ShellConfig",
    "ToolsConfig",
    "config_from_mapping",
    "default_home",
    "duration",
    "load_config",
    "tool_families",
    "zone",
]
