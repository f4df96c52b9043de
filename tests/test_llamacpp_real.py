"""Real llama.cpp traffic: the recorded exchanges replayed, and the real server itself.

`../shared/llm/wire-llamacpp.jsonl` holds 15 recorded exchanges between
localhb and llama-server with tiny models (plain text, runs to the length
cap, and HTTP 500 "tools param requires --jinja flag"); each replayed reply
must end a run as a named error, never `ok`. `../shared/llm/serve.sh` runs
the real llama-server with SmolLM2-135M: a task run against it must end as a
named error, a one-time task must stay pending, and its answer closes an open
endpoint circuit breaker. Each part skips cleanly
when absent (the server also needs the model already in its cache).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from localhb.agent.loop import run_task
from localhb.core.results import Failure, Status
from tests.conftest import SHARED
from tests.scripted_llm import ScriptedLLM, make_config, make_task, scripted_llm

__all__ = ["scripted_llm"]

LLM = SHARED / "llm"
WIRE = LLM / "wire-llamacpp.jsonl"
CACHE = Path(
    os.environ.get("LLM_CACHE")
    or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "localhb-llm"
)  # read at import, before the tests' HOME is moved
MODEL = CACHE / "SmolLM2-135M-Instruct.Q4_1.gguf"
NAMED = {Failure.TEXT_ONLY, Failure.CUT_OFF, Failure.SETUP, Failure.NO_ANSWER}


def exchanges() -> list[dict[str, Any]]:
    if not WIRE.is_file():
        return []
    return [json.loads(line) for line in WIRE.read_text(encoding="utf-8").splitlines() if line]


RECORDED = exchanges()


@pytest.mark.skipif(not RECORDED, reason="../shared/llm/wire-llamacpp.jsonl is absent")
@pytest.mark.parametrize("n", range(len(RECORDED) or 1))
def test_recorded_llamacpp_reply_is_never_ok(
    n: int, scripted_llm: ScriptedLLM, tmp_path: Path
) -> None:
    """Each recorded llama.cpp reply, replayed (twice: after the nudge too), ends a named error."""
    record = RECORDED[n]
    for _ in range(2):
        scripted_llm.body(record["response"], status=record["status"])
    result = run_task(make_task(), make_config(tmp_path, scripted_llm, llm={"max_retries": 2}))
    assert result.status is Status.ERROR and result.stats.failure in NAMED, result.summary
    if record["status"] == 500:
        assert result.stats.failure is Failure.SETUP and "--jinja" in result.stats.fix
        assert len(scripted_llm.requests) == 1  # a setup error is not retried as a blip
    else:
        scripted_llm.replies.clear()
    first = (
        record["response"]["choices"][0]["message"]["content"] if record["status"] == 200 else ""
    )
    assert first[:40] not in result.summary or not first


@pytest.fixture(scope="module")
def llama_server() -> Iterator[str]:
    """The real llama-server from ../shared/llm on a free port; its base URL."""
    serve = LLM / "serve.sh"
    if not serve.is_file() or not MODEL.is_file():
        pytest.skip("../shared/llm/serve.sh or its cached SmolLM2 model is absent")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "LLM_CACHE": str(CACHE)}
    out = subprocess.run(
        [str(serve), str(port)], capture_output=True, text=True, env=env, timeout=180
    ).stdout
    ready = [line for line in out.splitlines() if line.startswith("READY ")]
    if not ready:
        pytest.skip(f"llama-server did not start: {out.strip()[-200:]}")
    _, base_url, _, pid = ready[0].split()
    try:
        yield base_url
    finally:
        os.kill(int(pid), signal.SIGTERM)


def test_real_smollm2_run_ends_as_a_named_error(llama_server: str, tmp_path: Path) -> None:
    """SmolLM2-135M on the real llama-server never ends a task ok: a named error instead."""
    config = make_config(
        tmp_path,
        llama_server,
        llm={"model": "smollm2-135m", "request_timeout": 120, "max_reply_tokens": 96},
        agent={"max_steps": 4},
    )
    task = make_task("write-date", "Write Date", "- Description: Write today's date into today.txt")
    result = run_task(task, config)
    assert result.status is Status.ERROR, result.summary
    assert result.stats.failure in NAMED | {Failure.MAX_STEPS, Failure.REPEATED_CALL}
    assert result.stats.usage == "reported" and (result.stats.prompt_tokens or 0) > 0


def test_real_smollm2_one_time_task_stays_pending(llama_server: str, tmp_path: Path) -> None:
    """A heartbeat cycle against SmolLM2 leaves the one-time task pending, attempt counted."""
    from localhb.cycle.runner import Runner
    from localhb.format.parser import parse

    config = make_config(
        tmp_path,
        llama_server,
        llm={"model": "smollm2-135m", "request_timeout": 120, "max_reply_tokens": 96},
        agent={"max_steps": 4},
    )
    heartbeat = config.heartbeat.file
    heartbeat.write_text(
        "## Pending\n### Write Date\n- Description: Write today's date into today.txt\n"
        "## Completed\n"
    )
    report = Runner(config).cycle()
    assert [r.status for r in report.results] == ["error"]
    doc = parse(heartbeat.read_text())
    assert [t.id for t in doc.pending()] == ["write-date"]
    assert doc.pending()[0].attempts == 1


def test_real_server_closes_an_open_breaker(llama_server: str, tmp_path: Path) -> None:
    """Against the real llama-server: a stopped endpoint opens the breaker across cycles;
    once the real server answers (even in text), the breaker closes and no attempt was spent."""
    from datetime import UTC, datetime

    from localhb.cycle.runner import Runner
    from localhb.format.parser import parse
    from localhb.state.breakers import ENDPOINT
    from localhb.state.ledger import Ledger

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = sock.getsockname()[1]
    llm = {"model": "smollm2-135m", "request_timeout": 120, "max_reply_tokens": 32}
    down = make_config(
        tmp_path,
        f"http://127.0.0.1:{dead}/v1",
        llm={**llm, "max_retries": 0},
        agent={"max_steps": 2},
    )
    heartbeat = down.heartbeat.file
    heartbeat.write_text("## Pending\n### Say Hi\n- Description: say hi\n## Completed\n")

    def at(minute: int) -> datetime:
        return datetime(2024, 1, 15, 10, minute, tzinfo=UTC)

    assert Runner(down, clock=lambda: at(0)).cycle(now=at(0)).breaker_change == "opened"
    held = Runner(down, clock=lambda: at(0)).cycle(now=at(0))
    assert held.endpoint_down is not None and held.breaker_change is None
    up = make_config(tmp_path, llama_server, llm=llm, agent={"max_steps": 2})
    report = Runner(up, clock=lambda: at(2)).cycle(now=at(2))
    assert report.breaker_change == "closed", report
    assert [r.status for r in report.results] == ["error"]  # SmolLM2 answers, but not a finish
    with Ledger.open(up.state_db) as ledger:
        assert ledger.breaker(ENDPOINT) is None
    task = parse(heartbeat.read_text()).task("say-hi")
    assert task is not None and task.attempts == 1  # only the real answer spent one
