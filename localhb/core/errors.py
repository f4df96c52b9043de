"""Every exception localhb raises on purpose, in one tree.

    LocalhbError                  base: the CLI maps each branch to an exit code
    ├── UsageError                a command-line value is malformed (names the option)
    ├── ConfigError               config.toml or an environment setting is wrong (path, key)
    ├── HeartbeatFileError        HEARTBEAT.md cannot be read or has errors (path, diagnostics)
    ├── TaskNotFound              a task id names no task in the file
    ├── EditConflict              an edit names a task or field the file no longer has
    ├── AddRefused                a task to add would not validate (field); file untouched
    ├── LLMError                  the model endpoint failed after retries (reason)
    │   └── SetupError            the endpoint or config is wrong, not the task (kind, fix)
    │       └── MissingAPIKey     the endpoint needs a key and its source gave none
    ├── ToolError                 a tool call failed or was refused (tool): told to the model
    └── LedgerError               the state database is unusable or a transition is invalid

User content never raises: the parser returns diagnostics instead. These
exceptions are for the places where going on would lose or invent something.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from localhb.format.model import Diagnostic


class LocalhbError(Exception):
    """Base of every deliberate localhb error."""


class UsageError(LocalhbError):
    """A command-line value (an option's argument) cannot be understood."""


class ConfigError(LocalhbError):
    """A configuration value is missing, malformed or out of range."""

    def __init__(self, message: str, *, path: Path | None = None, key: str | None = None) -> None:
        self.path = path
        self.key = key
        self.detail = message
        where = str(path) if path else "config"
        if key:
            where += f": {key}"
        super().__init__(f"{where}: {message}")


class HeartbeatFileError(LocalhbError):
    """HEARTBEAT.md could not be read, or parsing found errors that block a run."""

    def __init__(self, message: str, *, path: Path, diagnostics: Sequence[Diagnostic] = ()) -> None:
        self.path = path
        self.diagnostics = tuple(diagnostics)
        super().__init__(f"{path}: {message}")


class TaskNotFound(LocalhbError):
    """No task in the file has the requested identity."""

    def __init__(self, task_id: str, *, path: Path | None = None) -> None:
        self.task_id = task_id
        self.path = path
        where = f"{path}: " if path else ""
        super().__init__(f"{where}no task with id {task_id!r}")


class EditConflict(LocalhbError):
    """An edit cannot be applied because its target is gone or changed shape."""

    def __init__(self, message: str, *, task_id: str) -> None:
        self.task_id = task_id
        super().__init__(f"task {task_id!r}: {message}")


class AddRefused(LocalhbError):
    """A task to add was refused: `validate` would reject it, or the file has errors.

    The message names the field at fault; nothing was written.
    """

    def __init__(self, message: str, *, diagnostics: Sequence[Diagnostic] = ()) -> None:
        self.diagnostics = tuple(diagnostics)
        super().__init__(message)


class LLMError(LocalhbError):
    """The model endpoint could not give an answer; `reason` says why."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class SetupError(LLMError):
    """The endpoint or its configuration is wrong: retrying the task cannot help.

    `kind` is one of SETUP_KINDS (auth, forbidden, model, tools, unreachable);
    `fix` is one sentence telling the owner what to change (`localhb doctor`
    checks it). Runs that end on one never spend a task's attempts.
    """

    def __init__(self, reason: str, *, kind: str, fix: str = "") -> None:
        self.kind = kind
        self.fix = fix
        super().__init__(reason)


SETUP_KINDS = ("auth", "forbidden", "model", "tools", "unreachable", "key")


class MissingAPIKey(SetupError):
    """The endpoint needs an API key and its source (variable, file, command) gave none."""

    def __init__(self, env_var: str, base_url: str, *, reason: str | None = None) -> None:
        self.env_var = env_var
        why = reason if reason is not None else f"set {env_var}"
        super().__init__(
            f"no API key: {why} (needed for {base_url})",
            kind="key",
            fix=f"export {env_var}=..., or set [llm] api_key_env, api_key_file or api_key_command",
        )


class ToolError(LocalhbError):
    """A tool call could not be done; the agent loop turns it into a message to the model.

    `refused` is True when a safety policy said no (path outside the workspace,
    denied command), False when the tool tried and failed.
    """

    def __init__(self, message: str, *, tool: str = "", refused: bool = False) -> None:
        self.tool = tool
        self.refused = refused
        super().__init__(message)


class LedgerError(LocalhbError):
    """The SQLite ledger refused an operation (bad transition, unusable file)."""
