"""What every tool is made of: a schema, a handler and the context it runs in.

Arguments are checked against the tool's JSON schema before the handler sees
them, by a small checker for the subset the schemas here use (object,
string, integer, number, boolean, array of strings, object of strings, enum,
minimum/maximum, required, no extra keys). Every failure is a sentence the
model can act on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any, Protocol

from localhb.agent.tools.paths import PathPolicy
from localhb.config import ToolsConfig

Schema = Mapping[str, Any]


class Scheduler(Protocol):
    """Adds a task to HEARTBEAT.md for `schedule_task`; returns what to tell the model.

    Raises ToolError (refused) when a guard or limit says no.
    """

    def __call__(self, args: Mapping[str, Any]) -> str: ...


class HistoryReader(Protocol):
    """Answers `run_history` from the store: bounded, redacted JSON text.

    `query` holds `hours`, `limit`, `task` (or None) and `failures_only`.
    """

    def __call__(self, query: Mapping[str, Any]) -> str: ...


@dataclass(frozen=True, slots=True)
class ToolContext:
    """What a handler may use: the roots, the limits and the task's clock."""

    paths: PathPolicy
    config: ToolsConfig
    tz: tzinfo
    task_id: str
    env: Mapping[str, str]
    now: Callable[[], datetime]
    time_left: Callable[[], float]
    scheduler: Scheduler | None = None
    history: HistoryReader | None = None  # run_history's view of the ledger
    redact: Callable[[str], str] = str  # what the run masks secrets with (memory_rewrite)
    hidden: tuple[Path, ...] = ()  # never visible to sandboxed commands (home, key file)


Handler = Callable[[ToolContext, Mapping[str, Any]], str]


@dataclass(frozen=True, slots=True)
class Tool:
    """One tool the model may call. `run` is None for the calls that end the loop."""

    name: str
    description: str
    parameters: Schema
    run: Handler | None = None
    checked: bool = True  # False: the arguments go as sent (an MCP server checks its own)

    def schema(self) -> dict[str, Any]:
        """The tool as the chat completions API expects it, compact: every token is paid for.

        `additionalProperties: false` and an empty `required` are left out (the
        arguments are checked here whatever the model sends).
        """
        parameters = {
            k: v
            for k, v in self.parameters.items()
            if not (k == "additionalProperties" and v is False) and not (k == "required" and not v)
        }
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": parameters,
            },
        }


def obj(required: tuple[str, ...] = (), **properties: Schema) -> dict[str, Any]:
    """An object schema: the given properties, those in `required` required, nothing else."""
    return {
        "type": "object",
        "properties": dict(properties),
        "required": list(required),
        "additionalProperties": False,
    }


_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list,),
}


def check_arguments(schema: Schema, args: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The arguments, lightly coerced ("5" -> 5), and what is wrong with them."""
    props: Mapping[str, Schema] = schema.get("properties", {})
    problems: list[str] = []
    out: dict[str, Any] = {}
    for name, value in args.items():
        if name not in props:
            allowed = ", ".join(props) or "none"
            problems.append(f"unknown argument {name!r} (allowed: {allowed})")
            continue
        if value is None:  # models often send null for "not given"
            continue
        value, problem = _check_value(name, props[name], value)
        if problem:
            problems.append(problem)
        else:
            out[name] = value
    for name in schema.get("required", ()):
        if name not in out and not any(p.startswith(f"argument {name!r}") for p in problems):
            problems.append(f"argument {name!r} is required")
    return out, problems


def _check_value(name: str, spec: Schema, value: Any) -> tuple[Any, str]:
    kind = spec.get("type", "string")
    value = _coerce(kind, value)
    ok_types = _TYPES[kind]
    if isinstance(value, bool) and bool not in ok_types:
        return value, f"argument {name!r} must be {_article(kind)}, got {value!r}"
    if not isinstance(value, ok_types):
        return value, f"argument {name!r} must be {_article(kind)}, got {type(value).__name__}"
    if "enum" in spec and value not in spec["enum"]:
        choices = " | ".join(str(c) for c in spec["enum"])
        return value, f"argument {name!r} must be one of {choices}, got {value!r}"
    if "minimum" in spec and value < spec["minimum"]:
        return value, f"argument {name!r} must be at least {spec['minimum']}"
    if "maximum" in spec and value > spec["maximum"]:
        return value, f"argument {name!r} must be at most {spec['maximum']}"
    if isinstance(value, list) and not all(isinstance(v, str) for v in value):
        return value, f"argument {name!r} must be a list of strings"
    if isinstance(value, dict) and not all(isinstance(v, str) for v in value.values()):
        return value, f"argument {name!r} must map names to strings"
    return value, ""


def _coerce(kind: str, value: Any) -> Any:
    if isinstance(value, str):
        text = value.strip()
        if kind == "integer" and text.lstrip("-").isdigit():
            return int(text)
        if kind == "number":
            try:
                return float(text)
            except ValueError:
                return value
        if kind == "boolean" and text.lower() in ("true", "false"):
            return text.lower() == "true"
    if kind == "number" and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def _article(kind: str) -> str:
    return f"an {kind}" if kind[0] in "aeiou" else f"a {kind}"


def cap_bytes(data: bytes, limit: int, *, what: str = "output") -> str:
    """`data` as text, at most `limit` bytes of it: the head and the tail, with a note."""
    if len(data) <= limit:
        return data.decode("utf-8", errors="replace")
    head, tail = data[: head_size(limit)], data[len(data) - tail_size(limit) :]
    return join_cut(head, tail, len(data), what=what)


def head_size(limit: int) -> int:
    return limit * 3 // 4


def tail_size(limit: int) -> int:
    return limit - head_size(limit)


def join_cut(head: bytes, tail: bytes, total: int, *, what: str) -> str:
    """The head and tail of something `total` bytes long, with a note saying what was cut."""
    cut = total - len(head) - len(tail)
    return (
        head.decode("utf-8", errors="replace")
        + f"\n[... {what} cut: {cut:,} of {total:,} bytes not shown ...]\n"
        + tail.decode("utf-8", errors="replace")
    )


def short(value: Any, limit: int = 60) -> str:
    """A value for a one-line trace: repr-like, one line, at most `limit` characters."""
    text = value if isinstance(value, str) else repr(value)
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return repr(text) if isinstance(value, str) else text


def short_arguments(parsed: Mapping[str, Any], raw: str) -> str:
    """A call's arguments for a trace line: `key=value, ...`, or the raw text shortened."""
    if not parsed:
        return short(raw, 120) if raw.strip() not in ("", "{}") else ""
    return ", ".join(f"{k}={short(v, 60)}" for k, v in parsed.items())
