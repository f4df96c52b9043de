"""Find, read and check config.toml into a `Config`.

Discovery: an explicit path, else `$LOCALHB_HOME/config.toml`, else built-in
defaults. Every key is checked by hand; an error names the file, the key and
what was expected. Unknown keys are errors too (with a did-you-mean), since a
misspelt safety setting must never be silently ignored.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from localhb.config.api import api_table
from localhb.config.model import (
    DEFAULT_REQUIRE_APPROVAL,
    DEFAULT_SHELL_DENY,
    DEFAULT_SHELL_READ_ONLY,
    AgentConfig,
    Config,
    HeartbeatConfig,
    HTTPConfig,
    LLMConfig,
    ScheduleConfig,
    ShellConfig,
    ToolsConfig,
    default_home,
    zone,
)
from localhb.config.sections import _budget, _mcp, _notify
from localhb.config.values import (
    _bool,
    _choice,
    _int_at_least,
    _opt_str,
    _regex_list,
    _str,
    _str_list,
    _Table,
    _tool_choice,
    default_tool_families,
    duration,
)
from localhb.core.bounded import MAX_CONFIG_BYTES, NotReadable, read_regular
from localhb.core.errors import ConfigError
from localhb.format.model import (
    DEFAULT_COMPLETED_SECTIONS,
    DEFAULT_PENDING_SECTIONS,
    DEFAULT_TOOL_FAMILIES,
)
from localhb.timing.schedule import ActiveHours, parse_active_hours


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
    if path is not None or candidate.exists():  # a FIFO or a directory is an error, not "none"
        source = candidate
        raw = read_config_bytes(candidate)
        try:
            data = tomllib.loads(raw.decode("utf-8-sig"))
        except UnicodeDecodeError:
            raise ConfigError("not UTF-8 text", path=candidate) from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"not valid TOML: {exc}", path=candidate) from None
        except RecursionError:  # tomllib recurses once per level of [[[...]]] or {{{...}}}
            raise ConfigError(
                "not valid TOML: arrays or tables nested too deep", path=candidate
            ) from None
    config = _build(data, home=home, source=source)
    return replace(config, source_bytes=raw) if source is not None else config


def read_config_bytes(path: Path) -> bytes:
    """The bytes of a config file: a regular file of at most MAX_CONFIG_BYTES
    (a FIFO or a device is refused, never waited on); ConfigError names it."""
    try:
        return read_regular(path, MAX_CONFIG_BYTES)
    except FileNotFoundError:
        raise ConfigError("file not found", path=path) from None
    except NotReadable as exc:
        raise ConfigError(str(exc), path=path) from None
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", path=path) from None


def config_from_mapping(
    data: Mapping[str, Any], *, home: Path, source: Path | None = None
) -> Config:
    """Check an already-parsed TOML mapping (for tests and tools)."""
    return _build(dict(data), home=home, source=source)


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
            default_tool_families,
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

    api = api_table(_Table(data.get("api"), "api", source))
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
