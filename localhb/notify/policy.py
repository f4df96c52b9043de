"""Who is told what: one pure decision per run end (or alert) and target.

    outcome      Notify (setting)        sent when
    skipped      any                     never
    error        default / on error      [notify] on has it (default: yes)
    partial      default                 [notify] on has it (default: yes)
    ok           default                 the agent left a message and `on` has "message"
    ok after a problem was told          one "resolved", whatever `on` says (not for never)
    any          always                  every run, no dedupe
    any          never                   never

Then dedupe, per target: the same signature as the last message this target
got about this key is suppressed while that message is younger than
`cooldown` (`on change`: always suppressed). A new signature is sent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, tzinfo

from localhb.config import NotifyConfig
from localhb.format.notify import Mode, NotifySetting
from localhb.notify.message import body_for, clean, title_for
from localhb.notify.signature import signature
from localhb.state.deliveries import LastDelivered, NewDelivery

NOTIFYING = ("error", "partial", "ok")

Lookup = Callable[[str, str], LastDelivered | None]
"""(key, target) -> what that target last got about that key."""


@dataclass(frozen=True, slots=True)
class RunFacts:
    """What the policy needs of a finished run. `message` is the agent's, may be ""."""

    key: str
    title: str
    status: str
    summary: str
    message: str
    at: datetime
    run_id: int | None = None


def wants(status: str, has_message: bool, setting: NotifySetting, on: tuple[str, ...]) -> bool:
    """Whether this outcome is worth a message at all (before dedupe)."""
    if setting.mode is Mode.NEVER or status not in NOTIFYING:
        return False
    if setting.mode is Mode.ALWAYS:
        return True
    events = setting.events or on
    return status in events or (has_message and "message" in events)


def targets_of(setting: NotifySetting, config: NotifyConfig) -> tuple[str, ...]:
    """The targets a setting sends to: its own, else `[notify] default`; only defined ones."""
    names = setting.targets or config.default
    return tuple(n for n in names if config.url(n) is not None)


def decide(
    run: RunFacts,
    setting: NotifySetting,
    config: NotifyConfig,
    last: Lookup,
    tz: tzinfo,
    redact: Callable[[str], str] = str,
) -> list[NewDelivery]:
    """The rows to add for this run: `pending` to send, `suppressed` to count."""
    if setting.mode is Mode.NEVER or run.status not in NOTIFYING:
        return []
    message = clean(run.message, redact)
    text = message or clean(run.summary, redact)
    wanted = wants(run.status, bool(message), setting, config.on)
    out: list[NewDelivery] = []
    for target in targets_of(setting, config):
        before = last(run.key, target)
        if run.status == "ok" and before is not None and before.problem:
            out.append(
                _row(run, target, "resolved", "resolved", text or "back to ok", tz, before, "send")
            )
            continue
        if not wanted:
            continue
        sig = signature(run.key, run.status, text)
        action = "send"
        if setting.mode is not Mode.ALWAYS and before is not None and before.signature == sig:
            young = run.at - before.at < config.cooldown
            if setting.mode is Mode.CHANGE or young:
                action = "suppress"
        out.append(_row(run, target, "result", run.status, text, tz, before, action, sig))
    return out


def decide_alert(
    key: str,
    title: str,
    text: str,
    active: bool,
    targets: tuple[str, ...],
    config: NotifyConfig,
    last: Lookup,
    at: datetime,
    tz: tzinfo,
) -> list[NewDelivery]:
    """A system-level alert: sent once per state while `active`, resolved once after."""
    facts = RunFacts(key, title, "error" if active else "ok", text, "", at)
    out: list[NewDelivery] = []
    for target in targets:
        before = last(key, target)
        if not active:
            if before is not None and before.problem:
                out.append(_row(facts, target, "resolved", "resolved", text, tz, before, "send"))
            continue
        sig = signature(key, "alert", text)
        if before is not None and before.problem and before.signature == sig:
            young = at - before.at < config.cooldown
            if young:
                out.append(_row(facts, target, "alert", "alert", text, tz, before, "suppress", sig))
            else:  # still so after the cooldown: one reminder
                out.append(_row(facts, target, "alert", "alert", text, tz, before, "send", sig))
            continue
        out.append(_row(facts, target, "alert", "alert", text, tz, before, "send", sig))
    return out


def _row(
    run: RunFacts,
    target: str,
    kind: str,
    label: str,
    text: str,
    tz: tzinfo,
    before: LastDelivered | None,
    action: str,
    sig: str | None = None,
) -> NewDelivery:
    repeats = before.suppressed if before is not None and before.signature == sig else 0
    since = before.at if repeats and before is not None else None
    return NewDelivery(
        key=run.key,
        target=target,
        kind=kind,
        outcome=label if kind != "alert" else "error",
        signature=sig or signature(run.key, label, text),
        status="pending" if action == "send" else "suppressed",
        title=title_for(run.title, label),
        body=body_for(text, run.key, run.at, tz, suppressed=repeats, since=since),
        run_id=run.run_id,
    )
