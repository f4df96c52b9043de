"""What `execute` runs work with: the `Agent` protocol, and `LLMAgent`, the real one.

`LLMAgent` is the agent of `localhb.agent` (the LLM loop, `Run:` commands and
`Check:` gates), imported lazily so a cycle with nothing to run loads no SDK.
A test may pass any object with the four methods of `Agent`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from localhb.core.clock import Clock, utc_now

if TYPE_CHECKING:
    from localhb.agent.commands import CheckVerdict
    from localhb.config import Config
    from localhb.core.results import ConditionResult, TaskResult, TraceSink
    from localhb.format.model import Task

__all__ = ["PAYLOAD_ENV", "Agent", "LLMAgent"]

PAYLOAD_ENV = "LOCALHB_WAKE_PAYLOAD"
"""Where a `Run:` command finds a wakeup's payload (quote it: "$LOCALHB_WAKE_PAYLOAD")."""


class Agent(Protocol):
    """What `execute` needs of the agent: run a task, check a condition (by the model)
    or a `Check:` gate (by code), redact text."""

    def run_task(self, task: Task, guard: Any = None, **context: Any) -> TaskResult: ...

    def check_condition(self, task: Task) -> ConditionResult: ...

    def evaluate_check(self, task: Task, previous: str | None, **context: Any) -> CheckVerdict:
        """`context` may hold `new_failures` (a counter) for `Check: new failures`."""
        ...

    def redact(self, text: str) -> str: ...


@dataclass(frozen=True, slots=True)
class LLMAgent:
    """The agent of `localhb.agent`: the LLM loop (one client for a cycle's runs),
    `Run:` commands and `Check:` gates (`localhb.agent.commands`, no model).

    `clock` is the agent's clock (`localhb.core.clock.Clock`: now, monotonic,
    sleep), so its retry waits follow the caller's time. `client` is None when
    no work needs the model.
    """

    config: Config
    client: Any
    clock: Clock | None = None
    env: Mapping[str, str] | None = None
    on_event: TraceSink | None = None
    heartbeat_file: Path | None = None
    scheduling: bool = False
    mcp: Any = None  # localhb.agent.mcp.MCPHub: the cycle's MCP servers, started on first use

    @classmethod
    def connect(
        cls,
        config: Config,
        *,
        clock: Clock | None = None,
        env: Mapping[str, str] | None = None,
        on_event: TraceSink | None = None,
        heartbeat_file: Path | None = None,
        model: bool = True,
        scheduling: bool = False,
    ) -> LLMAgent:
        """Check the prompt and build the client first: problems of configuration
        (MissingAPIKey, ConfigError) surface before any run is claimed. With
        `model` False (only `Run:` tasks and `Check:` gates) nothing connects.
        `scheduling`: scheduled runs may get `schedule_task` (`localhb.cycle.adding`)."""
        from localhb.agent import loop as agent
        from localhb.agent.prompting import system_prompt

        client: Any = None
        hub: Any = None
        if model:
            system_prompt(config.llm, source=config.path)
            client = agent.connect(config.llm, os.environ if env is None else env)
            if config.mcp.servers:
                from localhb.agent.mcp import MCPHub  # nothing starts until a task uses it

                hub = MCPHub(config.mcp.servers, cwd=str(config.agent.workspace))
        return cls(config, client, clock, env, on_event, heartbeat_file, scheduling, hub)

    def close(self) -> None:
        """Close the client and stop every MCP server this agent started."""
        if self.mcp is not None:
            self.mcp.close()
        if self.client is not None:
            self.client.close()

    def _options(self) -> dict[str, Any]:
        return {
            "client": self.client,
            "on_event": self.on_event,
            "clock": self.clock,
            "env": self.env,
            "heartbeat_file": self.heartbeat_file or self.config.heartbeat.file,
        }

    def run_task(self, task: Task, guard: Any = None, **context: Any) -> TaskResult:
        """`guard` stops a model run at a `[budget]` cap (`localhb.state.budget.RunGuard`);
        `context` may hold `history` (the `run_history` tool's reader) and `payload`
        (a wakeup's JSON text: untrusted data for the model; `$LOCALHB_WAKE_PAYLOAD`
        for a `Run:` command, never put into its command line)."""
        from localhb.agent import loop as agent

        if task.run is not None:
            from localhb.agent.commands import run_command_task

            now = self.clock.now if self.clock is not None else None
            env = self.env
            if context.get("payload") is not None:
                env = {**(os.environ if env is None else env), PAYLOAD_ENV: context["payload"]}
            return run_command_task(task, self.config, on_event=self.on_event, env=env, now=now)
        scheduler = None
        if self.scheduling:
            from localhb.cycle.adding import scheduler_for

            now = self.clock.now if self.clock is not None else utc_now
            scheduler = scheduler_for(self.config, task, now)
        return agent.run_task(
            task,
            self.config,
            scheduler=scheduler,
            guard=guard,
            mcp=self.mcp,
            history=context.get("history"),
            payload=context.get("payload"),
            **self._options(),
        )

    def evaluate_check(self, task: Task, previous: str | None, **context: Any) -> CheckVerdict:
        from localhb.agent.commands import evaluate_check

        return evaluate_check(
            task,
            self.config,
            env=self.env,
            previous=previous,
            on_event=self.on_event,
            new_failures=context.get("new_failures"),
        )

    def check_condition(self, task: Task) -> ConditionResult:
        from localhb.agent import loop as agent

        return agent.check_condition(task, self.config, **self._options())

    def redact(self, text: str) -> str:
        from localhb.core.redact import Redactor

        env = os.environ if self.env is None else self.env
        return Redactor.from_env(env, extra_names=[self.config.llm.api_key_env])(text)
