"""Checks for single config values, and `_Table`, one TOML table being checked.

Each check takes the raw TOML value and returns the typed one, or raises
TypeError/ValueError; `_Table.get` turns that into a ConfigError naming the
file and key.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

from localhb.core.errors import ConfigError
from localhb.format.model import DEFAULT_TOOL_FAMILIES, TOOL_FAMILIES

T = TypeVar("T")


def tool_families(v: Any) -> tuple[str, ...]:
    """A list of tool family names, checked; ValueError names the unknown one."""
    items = _str_list(v)
    for item in items:
        if item not in TOOL_FAMILIES:
            raise ValueError(f"unknown tool family {item!r}; known: {', '.join(TOOL_FAMILIES)}")
    return tuple(dict.fromkeys(items))


def default_tool_families(v: Any) -> tuple[str, ...]:
    """`[agent] tools`: like `tool_families`, but `history` and `distill` are refused,
    as they are offered only to tasks that name them in `- Tools:` (the routines)."""
    families = tool_families(v)
    named_only = [f for f in families if f not in DEFAULT_TOOL_FAMILIES]
    if named_only:
        raise ValueError(
            f"{named_only[0]!r} is offered only to tasks that name it in `- Tools:` "
            f"(the routines), never to every task; the families here: "
            f"{', '.join(DEFAULT_TOOL_FAMILIES)}"
        )
    return families


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


def _raise() -> Any:
    raise TypeError
