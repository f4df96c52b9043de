"""The endpoint circuit breaker across cycles: state.db `breakers`, backoff, status and alerts."""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from localhb.cli import main
from localhb.config import load_config
from localhb.cycle.events import CycleReport
from localhb.cycle.runner import Runner
from localhb.format.parser import parse
from localhb.state.breakers import BREAKER_FILE, ENDPOINT, backoff, kind_of
from localhb.state.health import scan_health
from localhb.state.ledger import Ledger
from tests.receivers import HTTPReceiver, http_receiver, smtp_receiver
from tests.scripted_llm import ScriptedLLM
from tests.test_commands import set_config
from tests.test_heartbeat import hb_file, make_home

TWO = """## Pending
### Ask
- Description: say hi
### Backup
- Recurring: every 1h
- Run: echo saved
## Completed
"""


def _at(hhmm: str) -> datetime:
    return datetime.fromisoformat(f"2024-01-15 {hhmm}").replace(tzinfo=UTC)


def cycle(home: Path, hhmm: str) -> CycleReport:
    """One `daemon heartbeat` cycle through the runner at `hhmm` UTC on 2024-01-15."""
    at = _at(hhmm)
    return Runner(load_config(home=home), clock=lambda: at).cycle(now=at)


def lines(report: CycleReport) -> list[str]:
    return [f"{r.task_id}: {r.status} - {r.summary}" for r in report.results]


def ledger(home: Path) -> Ledger:
    return Ledger.open(home / "state.db")


def test_backoff_doubles_per_kind_up_to_a_cap() -> None:
    """Nothing answering backs off 1, 2, 4 min (at most 1 h); a config error 5, 10 min (6 h)."""
    assert [backoff("unreachable", n) for n in (1, 2, 3)] == [
        timedelta(minutes=m) for m in (1, 2, 4)
    ]
    assert backoff("unreachable", 30) == timedelta(hours=1)
    assert [backoff("config", n) for n in (1, 2)] == [timedelta(minutes=5), timedelta(minutes=10)]
    assert backoff("config", 40) == timedelta(hours=6)
    assert kind_of("cannot reach http://x/v1: ConnectError") == "unreachable"
    assert kind_of("HTTP 401: Incorrect API key provided") == "config"


def test_an_open_breaker_holds_across_cycles_then_closes_on_an_answer(
    tmp_path: Path, server: ScriptedLLM
) -> None:
    """A 401 opens the breaker; cycles before its retry time send nothing and fail naming it;
    a later cycle tries once (longer backoff on failure); an answer closes it."""
    home = make_home(tmp_path, server, TWO)
    server.error(401, "Incorrect API key provided")
    first = cycle(home, "10:00")
    assert lines(first)[0].startswith("ask: error - ") and "Incorrect API key" in lines(first)[0]
    assert first.breaker_change == "opened" and first.failed
    with ledger(home) as led:
        row = led.breaker(ENDPOINT)
        assert row is not None and row.kind == "config" and row.failures == 1
        assert row.retry_at == _at("10:05") and row.tripped_by == "ask"
        assert led.last_cycle() is not None and led.last_cycle().outcome == "error"  # type: ignore[union-attr]

    held = cycle(home, "10:03")  # before retry_at: the endpoint is not asked at all
    assert len(server.requests) == 1
    (line,) = lines(held)
    assert line.startswith("ask: skipped - endpoint down: HTTP 401 from ")
    assert held.failed and held.breaker_change is None
    assert held.endpoint_down is not None and "open since" in held.endpoint_down
    with ledger(home) as led:
        last = led.last_cycle()
        assert last is not None and last.outcome == "error"
        assert last.detail.startswith("setup: endpoint down (ask: ")
        assert led.skip_counts()["endpoint"].count == 1
        assert sorted(r.task_id for r in led.runs()) == ["ask", "backup"]  # ask not claimed
    task = parse(hb_file(home).read_text()).task("ask")
    assert task is not None and task.attempts == 0  # a setup error spends no attempt

    server.error(401, "Incorrect API key provided")
    again = cycle(home, "10:06")  # past retry_at: one try, which fails: backoff doubles
    assert len(server.requests) == 2
    assert again.breaker_change is None  # still open: no new state, no new alert
    with ledger(home) as led:
        row = led.breaker(ENDPOINT)
        assert row is not None and row.failures == 2 and row.opened_at == _at("10:00")
        assert row.retry_at == _at("10:16")
    cycle(home, "10:15")
    assert len(server.requests) == 2

    server.complete("ok", "said hi")
    closed = cycle(home, "10:16")
    assert lines(closed) == ["ask: ok - said hi"]
    assert closed.breaker_change == "closed" and not closed.failed
    with ledger(home) as led:
        assert led.breaker(ENDPOINT) is None
        last = led.last_cycle()
        assert last is not None and last.outcome == "ran"


def test_a_config_change_tries_a_config_breaker_at_once(
    tmp_path: Path, server: ScriptedLLM
) -> None:
    """An unknown model opens a `config` breaker; fixing [llm] model lets the next cycle try."""
    home = make_home(tmp_path, server, TWO)
    server.error(404, "The model `scripted` does not exist")
    assert cycle(home, "10:00").breaker_change == "opened"
    cycle(home, "10:01")
    assert len(server.requests) == 1  # held
    set_config(home, llm={"model": "fixed"})
    server.complete("ok", "said hi")
    report = cycle(home, "10:02")
    assert report.breaker_change == "closed"
    assert len(server.requests) == 2 and server.requests[-1].body["model"] == "fixed"


def test_nothing_listening_opens_an_unreachable_breaker_shown_everywhere(
    tmp_path: Path, server: ScriptedLLM, capsys: pytest.CaptureFixture[str]
) -> None:
    """Connection refused opens an `unreachable` breaker (1 min); `daemon status`, `health`
    (text and JSON) and `health/breaker.json` show it; the health scan ignores that file."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    home = make_home(tmp_path, server, TWO)
    set_config(home, llm={"base_url": f"http://127.0.0.1:{port}/v1", "max_retries": 0})
    report = cycle(home, "10:00")
    assert report.breaker is not None and report.breaker.kind == "unreachable"
    assert report.breaker.retry_at == _at("10:01")

    capsys.readouterr()
    assert main(["--home", str(home), "daemon", "status"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("localhb daemon: not running - FAILING: the endpoint cannot be used")
    down = [line for line in out if line.startswith("endpoint:")]
    assert len(down) == 1 and "DOWN - breaker open since 2024-01-15 10:00" in down[0]
    assert "(unreachable, 1 failed cycle(s))" in down[0]
    assert main(["--home", str(home), "daemon", "status", "--json"]) == 0
    st = json.loads(capsys.readouterr().out)
    assert st["breaker"]["kind"] == "unreachable" and st["breaker"]["failures"] == 1
    assert st["endpoint_down"].startswith("ask: cannot reach")

    assert main(["--home", str(home), "health", "--now", "2024-01-15 10:00"]) == 1
    text = capsys.readouterr().out
    assert "FAILING: the model endpoint cannot be used, so agent tasks wait: ask: cannot" in text
    assert main(["--home", str(home), "health", "--json", "--now", "2024-01-15 10:00"]) == 1
    checks = {f["check"] for f in json.loads(capsys.readouterr().out)["setup_failures"]}
    assert "endpoint_down" in checks

    health = home / "health"
    body = json.loads((health / BREAKER_FILE).read_text())
    assert body["state"] == "open" and body["kind"] == "unreachable"
    assert body["change"] == "opened" and body["reason"].startswith("cannot reach")
    scan = scan_health(health)
    assert scan.problems == () and "ask" in scan.latest()

    set_config(home, llm={"base_url": server.base_url})
    server.complete("ok", "said hi")
    assert cycle(home, "10:02").breaker_change == "closed"
    body = json.loads((health / BREAKER_FILE).read_text())
    assert body == {
        "scope": "endpoint",
        "state": "closed",
        "updated_at": body["updated_at"],
        "change": "closed",
    }
    assert main(["--home", str(home), "health", "--json", "--now", "2024-01-15 10:02"]) == 0


def _alerts(rec: HTTPReceiver) -> list[dict[str, Any]]:
    got = [r.json() for r in rec.requests if r.path == "/hook"]
    return [m for m in got if m["title"].startswith("localhb endpoint")]


def test_breaker_open_and_close_are_one_message_each(tmp_path: Path, server: ScriptedLLM) -> None:
    """Over a real HTTP receiver: the breaker opening sends one alert (not one per cycle, and
    no separate task error), held and retried cycles send nothing, closing sends one resolved."""
    home = make_home(tmp_path, server, TWO)
    with http_receiver() as rec:
        set_config(
            home,
            notify={"timeout": "2s", "retries": 0, "targets": {"ops": f"json://{rec.base}/hook"}},
        )
        server.error(401, "Incorrect API key provided")
        cycle(home, "10:00")
        got = _alerts(rec)
        assert len(got) == 1, got
        assert got[0]["title"] == "localhb endpoint down: alert"
        assert "the model endpoint cannot be used (ask): HTTP 401" in got[0]["message"]
        assert "localhb doctor" in got[0]["message"]
        assert len([r for r in rec.requests if r.path == "/hook"]) == 1  # no "ask: error" too
        cycle(home, "10:03")  # held
        server.error(401, "Incorrect API key provided")
        cycle(home, "10:06")  # tried again, still down
        assert len(_alerts(rec)) == 1
        server.complete("ok", "said hi")
        cycle(home, "10:16")
        got = _alerts(rec)
        assert len(got) == 2, got
        assert got[1]["title"] == "localhb endpoint: resolved"
        assert "answers again" in got[1]["message"]
    with ledger(home) as led:
        assert led.breaker(ENDPOINT) is None


def test_breaker_alert_by_email(tmp_path: Path, server: ScriptedLLM) -> None:
    """The same alert reaches a real SMTP server through an Apprise mailto:// target."""
    home = make_home(tmp_path, server, TWO)
    with smtp_receiver() as smtp:
        url = (
            f"mailto://127.0.0.1:{smtp.port}?from=localhb@example.com"
            "&to=me@example.com&mode=insecure"
        )
        set_config(home, notify={"timeout": "5s", "retries": 0, "targets": {"mail": url}})
        server.error(403, "Forbidden: this key may not use the model")
        cycle(home, "10:00")
        cycle(home, "10:02")
        subjects = [m["Subject"] for m in smtp.messages]
    assert subjects == ["localhb endpoint down: alert"]


def test_setup_errors_spend_no_attempt_and_pause_nothing(
    tmp_path: Path, server: ScriptedLLM
) -> None:
    """Four cycles against a stopped endpoint, each past the backoff: the one-time task stays
    pending with no `Attempts:` spent, the recurring one is not paused; then it just runs."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    text = TWO.replace(
        "## Completed", "### Hourly\n- Recurring: every 1m\n- Description: h\n## Completed"
    )
    home = make_home(tmp_path, server, text)
    set_config(home, llm={"base_url": f"http://127.0.0.1:{port}/v1", "max_retries": 0})
    for hhmm in ("10:00", "10:01", "10:03", "10:07", "10:15"):
        report = cycle(home, hhmm)
        assert report.failed and report.endpoint_down is not None
    doc = parse(hb_file(home).read_text())
    ask, hourly = doc.task("ask"), doc.task("hourly")
    assert ask is not None and hourly is not None
    assert ask in doc.pending() and ask.attempts == 0
    assert hourly.field("paused") is None
    with ledger(home) as led:
        row = led.breaker(ENDPOINT)
        assert row is not None and row.failures == 5
    set_config(home, llm={"base_url": server.base_url})
    server.complete("ok", "done").complete("ok", "done")  # the two run side by side
    assert sorted(lines(cycle(home, "10:31"))) == ["ask: ok - done", "hourly: ok - done"]
    assert [t.id for t in parse(hb_file(home).read_text()).pending()] == ["backup", "hourly"]
