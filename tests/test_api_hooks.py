"""Webhooks over real HTTP: the wakeup in the query string, the body its payload, and
GitHub's HMAC signature (`X-Hub-Signature-256`) instead of a bearer token."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote_plus

from localhb.state.ledger import Ledger
from tests.api_daemon import FakeClock, Reply, Running, api_daemon

__all__ = ["api_daemon"]

Start = Callable[..., Running]

ECHO = (
    "## Pending\n### Echo\n- Recurring: every monday at 03:00\n"
    "- Run: printf '%s' \"$LOCALHB_WAKE_PAYLOAD\" > got.json\n"
)
EVENT = {"action": "completed", "workflow_run": {"conclusion": "failure", "id": 4711}}


def runs(home: Path) -> list[object]:
    with Ledger.open(home / "state.db") as ledger:
        return list(ledger.runs("echo"))


def github(
    d: Running,
    body: bytes,
    *,
    secret: str | None = None,
    event: str = "workflow_run",
    delivery: str = "d-1",
    form: bool = False,
) -> Reply:
    """POST as GitHub's webhook deliveries do: signed, no bearer token."""
    sig = hmac.new((secret or d.token).encode(), body, hashlib.sha256).hexdigest()
    headers = {
        "Content-Type": "application/x-www-form-urlencoded" if form else "application/json",
        "X-Hub-Signature-256": f"sha256={sig}",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery,
        "User-Agent": "GitHub-Hookshot/1",
    }
    return d.call("POST", "/api/wakeup?task=echo", raw=body, headers=headers, token=None)


def test_a_signed_github_webhook_runs_the_task_with_its_event(api_daemon: Start) -> None:
    """GitHub's own delivery: signed with the token as secret, no bearer; the event is
    the payload; a redelivery (same delivery id) runs nothing again."""
    d = api_daemon(ECHO, clock=FakeClock(step=timedelta(milliseconds=1)))  # distinct slots
    body = json.dumps(EVENT).encode()
    r = github(d, body)
    assert r.status == 202, r.body
    assert d.ended(r.body["id"])["status"] == "ok"
    got = d.home / "workspace" / "got.json"
    assert json.loads(got.read_text()) == EVENT
    again = github(d, body)
    assert again.status == 200 and again.body["repeat"] is True
    assert again.body["id"] == r.body["id"] and len(runs(d.home)) == 1
    # GitHub's default content type: the same JSON, form-encoded as payload=...
    form = github(d, b"payload=" + quote_plus(body).encode(), delivery="d-2", form=True)
    assert form.status == 202, form.body
    end = d.ended(form.body["id"])
    assert end["status"] == "ok", end["error"]
    assert json.loads(got.read_text()) == EVENT


def test_a_bad_signature_or_none_is_401_and_a_ping_runs_nothing(api_daemon: Start) -> None:
    """A wrong secret, a body changed after signing, or no credentials at all: 401.
    GitHub's `ping` on creating the hook is answered 200 and runs nothing."""
    d = api_daemon(ECHO)
    body = json.dumps(EVENT).encode()
    assert github(d, body, secret="not-the-token").status == 401
    sig = "sha256=" + hmac.new(d.token.encode(), body, hashlib.sha256).hexdigest()
    tampered = d.call(
        "POST",
        "/api/wakeup?task=echo",
        raw=body + b" ",
        token=None,
        headers={"X-Hub-Signature-256": sig, "Content-Type": "application/json"},
    )
    assert tampered.status == 401
    assert d.call("POST", "/api/wakeup?task=echo", raw=body, token=None).status == 401
    ping = github(d, b'{"zen": "Keep it logically awesome."}', event="ping", delivery="p")
    assert ping.status == 200 and ping.body == {"pong": True}
    assert runs(d.home) == []


def test_query_wakeups_take_the_body_as_payload_and_name_bad_fields(api_daemon: Start) -> None:
    """With a bearer token too, `?task=` makes the whole body the payload; an unknown
    query parameter, no task or prompt, or a body that is not JSON is a 400 naming it."""
    d = api_daemon(ECHO)
    r = d.call("POST", "/api/wakeup?task=echo", raw=b'{"anything": [1, 2]}')
    assert r.status == 202, r.body
    assert d.ended(r.body["id"])["status"] == "ok"
    got = d.home / "workspace" / "got.json"
    assert json.loads(got.read_text()) == {"anything": [1, 2]}
    bad = [
        ("/api/wakeup?tsak=echo", b"{}", "tsak"),
        ("/api/wakeup?title=x", b"{}", "task"),
        ("/api/wakeup?task=echo&task=other", b"{}", "task"),
        ("/api/wakeup?task=echo", b"<xml/>", "payload"),
        ("/api/wakeup?task=nope", b"{}", "task"),
    ]
    for path, raw, field in bad:
        answer = d.call("POST", path, raw=raw)
        assert answer.status == 400 and answer.body["field"] == field, (path, answer.body)
    assert len(runs(d.home)) == 1
