"""Real deliveries over loopback through Apprise: webhooks, email, failures, retries, recovery."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from localhb.config import NotifyConfig
from localhb.notify.delivery import Deliverer, Worker, backoff
from localhb.notify.message import REPEAT_NOTE
from localhb.notify.send import expand, with_timeout
from localhb.state.deliveries import DeliveryLog, NewDelivery
from tests.receivers import HTTPReceiver, closed_port, http_receiver, silent_port, smtp_receiver

T0 = datetime(2030, 1, 10, 9, 0, tzinfo=UTC)


class Clock:
    """A clock that moves only when the deliverer sleeps."""

    def __init__(self) -> None:
        self.now = T0
        self.slept: list[float] = []

    def __call__(self) -> datetime:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def dlog(tmp_path: Path) -> Iterator[DeliveryLog]:
    """A fresh delivery ledger in a state.db."""
    with DeliveryLog.open(tmp_path / "state.db") as log:
        yield log


@pytest.fixture
def receiver() -> Iterator[HTTPReceiver]:
    """An HTTP receiver on 127.0.0.1."""
    with http_receiver() as rec:
        yield rec


def row(target: str, key: str = "check-ci", run_id: int | None = None) -> NewDelivery:
    return NewDelivery(
        key, target, "result", "error", "sig", "pending", "Check CI: error", "CI red", run_id
    )


def deliverer(log: DeliveryLog, targets: dict[str, str], clock: Clock, **kw: object) -> Deliverer:
    cfg = NotifyConfig(targets=tuple(targets.items()), timeout=timedelta(seconds=0.5), retries=2)
    return Deliverer(log, cfg, clock=clock, sleep=clock.sleep, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("scheme", ["json", "form"])
def test_webhook_target_receives_the_message(
    dlog: DeliveryLog, receiver: HTTPReceiver, scheme: str
) -> None:
    """A json:// or form:// target gets the title and body; the row is `sent` after 1 attempt."""
    clock = Clock()
    (rid,) = dlog.add([row("ops")], clock())
    deliverer(dlog, {"ops": f"{scheme}://{receiver.base}/hook"}, clock).deliver()
    (req,) = receiver.requests
    payload = req.json() if scheme == "json" else req.form()
    assert (payload["title"], payload["message"]) == ("Check CI: error", "CI red")
    got = dlog.get(rid)
    assert got is not None and (got.status, got.attempts) == ("sent", 1)
    assert got.answer and "Sent" in got.answer


def test_email_target_reaches_a_real_smtp_server(dlog: DeliveryLog) -> None:
    """A mailto:// target delivers to aiosmtpd on 127.0.0.1."""
    clock = Clock()
    with smtp_receiver() as smtp:
        url = (
            f"mailto://127.0.0.1:{smtp.port}?from=localhb@example.com"
            "&to=me@example.com&mode=insecure"
        )
        (rid,) = dlog.add([row("mail")], clock())
        deliverer(dlog, {"mail": url}, clock).deliver()
        (mail,) = smtp.messages
    assert mail["Subject"] == "Check CI: error"
    assert mail["To"] == "me@example.com"
    assert "CI red" in str(mail)
    got = dlog.get(rid)
    assert got is not None and got.status == "sent"


def test_a_500_is_retried_with_backoff_then_sent(dlog: DeliveryLog, receiver: HTTPReceiver) -> None:
    """Two 500s then a 200: three attempts, waits of backoff(1) and backoff(2), `sent`."""
    receiver.statuses = [500, 500]
    clock = Clock()
    (rid,) = dlog.add([row("ops")], clock())
    deliverer(dlog, {"ops": f"json://{receiver.base}/hook"}, clock).deliver()
    assert len(receiver.requests) == 3
    assert clock.slept == [backoff(1).total_seconds(), backoff(2).total_seconds()]
    got = dlog.get(rid)
    assert got is not None and (got.status, got.attempts) == ("sent", 3)


@pytest.mark.parametrize("how", ["500", "timeout", "refused"])
def test_a_failing_target_is_retried_and_recorded_failed(
    dlog: DeliveryLog, receiver: HTTPReceiver, how: str
) -> None:
    """500, a silent server (timeout) or a refused connection: 1 + retries attempts, `failed`."""
    clock = Clock()
    (rid,) = dlog.add([row("ops")], clock())
    with silent_port() as silent:
        url = {
            "500": f"json://{receiver.base}/hook",
            "timeout": f"json://127.0.0.1:{silent}/hook",
            "refused": f"json://127.0.0.1:{closed_port()}/hook",
        }[how]
        receiver.statuses = [500] * 5
        deliverer(dlog, {"ops": url}, clock).deliver()
    got = dlog.get(rid)
    assert got is not None and (got.status, got.attempts) == ("failed", 3)
    assert got.error
    assert len(clock.slept) == 2
    if how == "500":
        assert len(receiver.requests) == 3 and "500" in got.error


def test_each_run_and_target_gets_one_row(dlog: DeliveryLog) -> None:
    """Adding the same (run, target) twice keeps one row: one message per run and target."""
    from localhb.state.ledger import Ledger

    with Ledger.open(dlog.path) as ledger:
        run = ledger.claim("check-ci", T0, "task", T0, timedelta(minutes=5), 1)
    assert run is not None
    assert len(dlog.add([row("ops", run_id=None)], T0)) == 1
    assert len(dlog.add([row("ops", run_id=run.id), row("phone", run_id=run.id)], T0)) == 2
    assert dlog.add([row("ops", run_id=run.id)], T0) == []


def test_a_crash_while_sending_is_resent_saying_so(
    dlog: DeliveryLog, receiver: HTTPReceiver
) -> None:
    """A row left `sending` by a dead process is sent again, marked as a possible repeat."""
    clock = Clock()
    (rid,) = dlog.add([row("ops")], clock())
    assert dlog.claim(rid, clock(), pid=999_999_999) is not None  # claimed, then the process died
    d = deliverer(dlog, {"ops": f"json://{receiver.base}/hook"}, clock)
    assert d.deliver_once() == 0  # not due: it is someone else's send
    assert d.recover() == [rid]
    d.deliver()
    (req,) = receiver.requests
    assert req.json()["message"].startswith(REPEAT_NOTE)
    got = dlog.get(rid)
    assert got is not None and got.status == "sent" and got.repeat and got.attempts == 2


def test_a_live_senders_row_is_left_alone(dlog: DeliveryLog) -> None:
    """Recovery does not touch a row a live process is sending."""
    import os

    (rid,) = dlog.add([row("ops")], T0)
    dlog.claim(rid, T0, pid=os.getpid())
    assert dlog.recover(T0, lambda pid, host: True, timedelta(minutes=5)) == []


def test_worker_sends_in_the_background(dlog: DeliveryLog, receiver: HTTPReceiver) -> None:
    """The worker thread sends kicked rows; close() waits for them, bounded."""
    from localhb.notify.delivery import utc_now

    cfg = NotifyConfig(targets=(("ops", f"json://{receiver.base}/hook"),))
    worker = Worker(Deliverer(dlog, cfg))
    dlog.add([row("ops"), row("ops", key="other")], utc_now())
    worker.kick()
    worker.close(wait=10)
    assert len(receiver.requests) == 2
    assert dlog.counts() == {"sent": 2}


def test_url_helpers() -> None:
    """Timeouts are added to a URL unless set; ${VAR} comes from the environment."""
    assert with_timeout("json://h/x", 3) == "json://h/x?cto=3&rto=3"
    assert with_timeout("json://h/x?rto=9", 3) == "json://h/x?rto=9&cto=3"
    assert expand("tgram://${BOT}/1", {"BOT": "abc"}) == "tgram://abc/1"
    with pytest.raises(ValueError, match="BOT is not set"):
        expand("tgram://${BOT}/1", {})
