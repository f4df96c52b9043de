"""Who is told what: the Notify grammar, signatures, message cleaning and the policy table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from localhb.config import NotifyConfig
from localhb.format.notify import Mode, NotifySetting, SettingError, parse_setting
from localhb.notify.message import clean
from localhb.notify.policy import RunFacts, decide, decide_alert
from localhb.notify.signature import normalise, signature
from localhb.state.deliveries import LastDelivered, NewDelivery

T0 = datetime(2030, 1, 10, 9, 0, tzinfo=UTC)
CFG = NotifyConfig(
    targets=(("phone", "ntfy://ntfy.sh/x"), ("ops", "json://127.0.0.1:1/hook")),
    default=("phone",),
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, NotifySetting()),
        ("ops", NotifySetting(("ops",))),
        ("ops, phone", NotifySetting(("ops", "phone"))),
        ("ops on error", NotifySetting(("ops",), ("error",))),
        ("on error, partial", NotifySetting((), ("error", "partial"))),
        ("ops on change", NotifySetting(("ops",), ("error", "partial", "ok"), Mode.CHANGE)),
        ("always", NotifySetting(mode=Mode.ALWAYS)),
        ("phone always", NotifySetting(("phone",), mode=Mode.ALWAYS)),
        ("never", NotifySetting(mode=Mode.NEVER)),
        ("Never", NotifySetting(mode=Mode.NEVER)),
    ],
)
def test_notify_values_are_read(value: str | None, expected: NotifySetting) -> None:
    """Each documented `- Notify:` form reads as its targets, events and mode."""
    assert parse_setting(value) == expected


@pytest.mark.parametrize("value", ["on", "ops on sometimes", "ops never", "always on error"])
def test_bad_notify_values_say_why(value: str) -> None:
    """A value that cannot be read raises with a sentence, never guesses."""
    with pytest.raises(SettingError):
        parse_setting(value)


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("3 failing checks", "4 failing checks", True),
        ("CI red", "CI green", False),
        ("build 8f3a2c1d failed at 14:05", "build 1be2907a failed at 09:30", True),
        ("Disk 91% full on 2030-01-10", "Disk 93% full on 2030-01-11", True),
        ("PR #42 failing", "PR #43 failing", True),
        ("disk full", "Disk  full.", True),
    ],
)
def test_signature_folds_numbers_times_and_ids(a: str, b: str, same: bool) -> None:
    """Volatile parts are folded; words that change the meaning are not."""
    assert (signature("t", "error", a) == signature("t", "error", b)) is same
    assert (normalise(a) == normalise(b)) is same


def test_signature_depends_on_outcome_and_task() -> None:
    """The same text is another state for another task or outcome class."""
    assert signature("a", "error", "x") != signature("b", "error", "x")
    assert signature("a", "error", "x") != signature("a", "partial", "x")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("<think>the user wants</think>CI is red", "CI is red"),
        ("CI is red <thinking>hmm", "CI is red"),
        ("HEARTBEAT_OK", ""),
        ("HEARTBEAT_OK. All fine", "All fine"),
        ("a\x00b\r\nc", "a b\nc"),
    ],
)
def test_clean_removes_reasoning_and_acks(raw: str, expected: str) -> None:
    """Reasoning, the HEARTBEAT_OK ack and control characters never reach a message."""
    assert clean(raw) == expected


def test_clean_redacts() -> None:
    """Message text goes through the run's redactor."""
    assert clean("key sk-abc", lambda s: s.replace("sk-abc", "[REDACTED]")) == "key [REDACTED]"


def facts(status: str, message: str = "", summary: str = "did it", at: datetime = T0) -> RunFacts:
    return RunFacts("check-ci", "Check CI", status, summary, message, at, run_id=1)


def never(_key: str, _target: str) -> LastDelivered | None:
    return None


# outcome x Notify setting -> sent (True) or not (False), with no history.
TABLE = [
    ("error", "", None, True),
    ("partial", "", None, True),
    ("ok", "", None, False),
    ("ok", "3 new issues", None, True),
    ("skipped", "something", None, False),
    ("error", "", "never", False),
    ("ok", "hi", "never", False),
    ("ok", "", "always", True),
    ("skipped", "", "always", False),
    ("partial", "", "on error", False),
    ("error", "", "on error", True),
    ("ok", "hi", "on error", False),
    ("ok", "", "on ok", True),
    ("ok", "", "on change", True),
    ("error", "", "ops", True),
]


@pytest.mark.parametrize(("status", "message", "notify", "sent"), TABLE)
def test_policy_table(status: str, message: str, notify: str | None, sent: bool) -> None:
    """Which outcomes notify under which `- Notify:` setting, before any dedupe."""
    rows = decide(facts(status, message), parse_setting(notify), CFG, never, UTC)
    assert bool([r for r in rows if r.status == "pending"]) is sent


def test_targets_follow_the_setting() -> None:
    """No targets named: `[notify] default`; named ones otherwise."""
    assert [r.target for r in decide(facts("error"), parse_setting(None), CFG, never, UTC)] == [
        "phone"
    ]
    rows = decide(facts("error"), parse_setting("ops, phone"), CFG, never, UTC)
    assert [r.target for r in rows] == ["ops", "phone"]


def test_message_is_title_and_short_body() -> None:
    """Title is the task title and status; body the message (else summary), id and time."""
    (row,) = decide(facts("error", summary="CI red on main"), NotifySetting(), CFG, never, UTC)
    assert row.title == "Check CI: error"
    assert row.body.startswith("CI red on main\n\n")
    assert "check-ci · 2030-01-10 09:00" in row.body
    (row,) = decide(
        facts("ok", message="<think>x</think>2 PRs merged"), NotifySetting(), CFG, never, UTC
    )
    assert row.body.startswith("2 PRs merged")


class Memory:
    """The dedupe memory as the delivery ledger keeps it, in a dict."""

    def __init__(self) -> None:
        self.rows: list[NewDelivery] = []
        self.at: list[datetime] = []

    def add(self, rows: list[NewDelivery], at: datetime) -> None:
        self.rows += rows
        self.at += [at] * len(rows)

    def __call__(self, key: str, target: str) -> LastDelivered | None:
        pairs = [(r, a) for r, a in zip(self.rows, self.at, strict=True) if r.key == key]
        pairs = [(r, a) for r, a in pairs if r.target == target]
        sent = [i for i, (r, _) in enumerate(pairs) if r.status == "pending"]
        if not sent:
            return None
        r, a = pairs[sent[-1]]
        later = sum(1 for x, _ in pairs[sent[-1] + 1 :] if x.status == "suppressed")
        return LastDelivered(r.kind, r.outcome, r.signature, a, later)


def run_cycles(
    steps: list[tuple[str, str]], notify: str | None = None, every: timedelta = timedelta(hours=1)
) -> list[str]:
    memory = Memory()
    out = []
    for n, (status, summary) in enumerate(steps):
        at = T0 + n * every
        rows = decide(
            facts(status, summary=summary, at=at), parse_setting(notify), CFG, memory, UTC
        )
        memory.add(rows, at)
        out.append(",".join(f"{r.kind}:{r.status}" for r in rows) or "-")
    return out


def test_dedupe_across_cycles_then_resolve() -> None:
    """The same state is suppressed within the cooldown; a new one is sent; ok resolves once."""
    got = run_cycles(
        [
            ("error", "3 failing checks"),
            ("error", "4 failing checks"),
            ("error", "5 failing checks"),
            ("error", "CI green but deploy failed"),
            ("ok", "all good"),
            ("ok", "all good"),
            ("error", "3 failing checks"),
        ]
    )
    assert got == [
        "result:pending",
        "result:suppressed",
        "result:suppressed",
        "result:pending",
        "resolved:pending",
        "-",
        "result:pending",
    ]


def test_cooldown_expiry_resends_with_suppressed_count() -> None:
    """Past the cooldown the same state is sent again, saying how many repeats were not."""
    memory = Memory()
    bodies = []
    for hours in (0, 1, 2, 25):
        at = T0 + timedelta(hours=hours)
        rows = decide(
            facts("error", summary="disk 91% full", at=at), NotifySetting(), CFG, memory, UTC
        )
        memory.add(rows, at)
        bodies.append((rows[0].status, rows[0].body))
    assert [s for s, _ in bodies] == ["pending", "suppressed", "suppressed", "pending"]
    assert "(the same 2 more time(s) since 2030-01-10 09:00, not sent)" in bodies[-1][1]


def test_on_change_never_repeats_and_always_never_suppresses() -> None:
    """`on change` suppresses the same state at any age; `always` sends every run."""
    steps = [("ok", "fine")] * 3
    assert run_cycles(steps, "on change", every=timedelta(days=3)) == [
        "result:pending",
        "result:suppressed",
        "result:suppressed",
    ]
    assert run_cycles([("error", "x")] * 3, "always") == ["result:pending"] * 3


def test_never_does_not_even_resolve() -> None:
    """`- Notify: never` sends nothing, not even a resolve."""
    assert run_cycles([("error", "x"), ("ok", "y")], "never") == ["-", "-"]


def test_alert_once_per_state_then_resolved() -> None:
    """A system alert is sent once while its state holds, and resolved once when it clears."""
    memory = Memory()
    got = []
    for n, active in enumerate([True, True, True, False, False]):
        at = T0 + timedelta(minutes=30 * n)
        rows = decide_alert(
            "alert:paused:x", "Daily paused", "3 failures", active, ("phone",), CFG, memory, at, UTC
        )
        memory.add(rows, at)
        got.append(",".join(f"{r.kind}:{r.status}" for r in rows) or "-")
    assert got == ["alert:pending", "alert:suppressed", "alert:suppressed", "resolved:pending", "-"]


def test_validate_warns_about_bad_notify_and_ping_values() -> None:
    """A bad `- Notify:` or `- Ping:` is a warning on its line; the task still runs."""
    from localhb.format.parser import parse

    doc = parse("## Pending\n\n### Check CI\n- Notify: ops on sometimes\n- Ping: hc-ping\n")
    warnings = [(d.line, d.severity.value) for d in doc.diagnostics if "Notify" in d.message]
    assert warnings == [(4, "warning")]
    assert any(d.line == 5 and "Ping" in d.message for d in doc.diagnostics)
    assert not doc.errors and doc.tasks[0].problem is None
