"""The `- Notify:` task key: which targets, and when (read by localhb.notify).

    - Notify: ops                  these targets, at the configured `[notify] on`
    - Notify: ops, phone on error  these targets, only on these outcomes
    - Notify: on change            the default targets, whenever the state changes
    - Notify: always               every run that is not skipped, no dedupe
    - Notify: never                nothing, not even a "resolved"

Events after `on` are `error`, `partial`, `ok`, `message` and `change`. Pure:
target names are checked against the configuration by `check_targets`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

EVENTS = ("error", "partial", "ok", "message")
_SPLIT = re.compile(r"[\s,;]+")


class Mode(StrEnum):
    DEDUPE = "dedupe"  # the same state is not sent twice within the cooldown
    CHANGE = "change"  # the same state is never sent twice in a row
    ALWAYS = "always"  # every run
    NEVER = "never"


@dataclass(frozen=True, slots=True)
class NotifySetting:
    """A task's notification wishes. Empty `targets`/`events`: the configured ones."""

    targets: tuple[str, ...] = ()
    events: tuple[str, ...] = ()
    mode: Mode = Mode.DEDUPE


DEFAULT = NotifySetting()


class SettingError(ValueError):
    """A `- Notify:` value that cannot be read; the message says why."""


def parse_setting(value: str | None) -> NotifySetting:
    """Read a `- Notify:` value (None or blank: the defaults). Raises SettingError."""
    if value is None or not value.strip():
        return DEFAULT
    words = [w for w in _SPLIT.split(value.strip()) if w and w.lower() not in ("and", "or")]
    lowered = [w.lower() for w in words]
    if lowered == ["never"] or lowered == ["none"] or lowered == ["off"]:
        return NotifySetting(mode=Mode.NEVER)
    targets: list[str] = []
    events: list[str] = []
    mode = Mode.DEDUPE
    i = 0
    while i < len(words) and lowered[i] not in ("on", "always", "never"):
        targets.append(words[i])
        i += 1
    rest = lowered[i:]
    if rest[:1] == ["never"]:
        raise SettingError("`never` stands alone: `- Notify: never`")
    if rest[:1] == ["always"]:
        if len(rest) > 1:
            raise SettingError(f"nothing may follow `always`, got {' '.join(words[i + 1 :])!r}")
        mode = Mode.ALWAYS
    elif rest[:1] == ["on"]:
        if len(rest) == 1:
            raise SettingError("`on` needs what: error, partial, ok, message or change")
        for word in rest[1:]:
            if word == "change":
                mode = Mode.CHANGE
            elif word in EVENTS:
                events.append(word)
            else:
                raise SettingError(
                    f"{word!r} is not error, partial, ok, message or change (after `on`)"
                )
        if mode is Mode.CHANGE and not events:
            events = ["error", "partial", "ok"]
    for name in targets:
        if not re.match(r"^[A-Za-z][\w-]*$", name):
            raise SettingError(f"{name!r} is not a target name (see [notify.targets])")
    return NotifySetting(tuple(dict.fromkeys(targets)), tuple(dict.fromkeys(events)), mode)


def check_targets(setting: NotifySetting, known: tuple[str, ...]) -> str | None:
    """A sentence naming the first unknown target, or None when all are defined."""
    for name in setting.targets:
        if name not in known:
            have = ", ".join(known) or "none"
            return f"target {name!r} is not in [notify.targets] (defined: {have})"
    return None
