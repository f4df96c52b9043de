"""The wake API for real: wakeup latency and what it costs an idle daemon.

1. latency: `POST /api/wakeup {"task": ...}` to the first request the model
   server receives, median (and spread) of 20, one at a time. Target: under
   100 ms on loopback.
2. idle: the resident set size and CPU seconds of an idle daemon with
   `[api] enabled = true` and with it off, same home layout, same run.

Each daemon is a real background process (`daemon start` / `daemon stop`) on
a temporary home; the model is the scripted OpenAI-compatible server of the
tests, on 127.0.0.1.

    python bench/bench_api.py [--quick]
"""

from __future__ import annotations

import argparse
import http.client
import json
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

from bench_daemon import cpu_seconds, daemon, make_home, rss_mib, scripted_llm, wait_for  # noqa: E402

from localhb.daemon.state import read_state  # noqa: E402
from localhb.state.token import read_token  # noqa: E402

TASK = "### Ping\n- Recurring: every monday at 03:00\n- Description: answer at once\n"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def with_api(home: Path, port: int) -> None:
    with (home / "config.toml").open("a", encoding="utf-8") as fh:
        fh.write(f'\n[api]\nenabled = true\nlisten = "127.0.0.1:{port}"\n')
        fh.write("max_requests_per_minute = 1000\n")


def cycled(home: Path) -> bool:
    state = read_state(home)
    return state is not None and state.cycles > 0


def call(port: int, method: str, path: str, token: str, body: Any = None) -> Any:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        data = None if body is None else json.dumps(body).encode()
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        conn.request(method, path, body=data, headers=headers)
        return json.loads(conn.getresponse().read())
    finally:
        conn.close()


def bench_latency(root: Path, llm: Any, rounds: int) -> None:
    port = free_port()
    home = make_home(root, "latency", TASK, llm.base_url, interval="30m")
    with_api(home, port)
    pause = threading.Event()
    with daemon(home):
        wait_for("the first cycle", lambda: cycled(home))
        token = read_token(home)
        assert token is not None
        took: list[float] = []
        for _ in range(rounds):
            llm.complete("ok", "pong")
            seen = len(llm.requests)
            start = time.perf_counter()
            answer = call(port, "POST", "/api/wakeup", token, {"task": "ping"})
            while len(llm.requests) == seen:
                pause.wait(0.0005)
            took.append((time.perf_counter() - start) * 1000)
            url = str(answer["url"])

            def ended(url: str = url, token: str = token) -> bool:
                return call(port, "GET", url, token)["state"] in ("done", "failed")

            wait_for("the wakeup to end", ended)
    took.sort()
    print(
        "latency: POST /api/wakeup -> first model request, "
        f"median {statistics.median(took):.1f} ms of {rounds} "
        f"(min {took[0]:.1f}, max {took[-1]:.1f}; target < 100 ms)"
    )


def bench_idle(root: Path, base_url: str, window: float) -> None:
    figures: dict[str, tuple[float, float]] = {}
    for name in ("off", "on"):
        home = make_home(root, f"idle-{name}", "### Someday\n- Due: 2099-01-01 09:00\n", base_url)
        if name == "on":
            with_api(home, free_port())
        with daemon(home) as pid:
            wait_for("the first cycle", lambda home=home: cycled(home))
            before = cpu_seconds(pid)
            threading.Event().wait(window)
            figures[name] = (rss_mib(pid), cpu_seconds(pid) - before)
    (off_rss, off_cpu), (on_rss, on_cpu) = figures["off"], figures["on"]
    print(
        f"idle RSS: API off {off_rss:.1f} MiB, on {on_rss:.1f} MiB "
        f"(+{on_rss - off_rss:.1f} MiB, x{on_rss / off_rss:.2f}); CPU over {window:.0f} s idle: "
        f"off {off_cpu:.3f} s, on {on_cpu:.3f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a 5 s idle window, 10 rounds")
    args = parser.parse_args()
    llm = scripted_llm().ScriptedLLM().start()
    try:
        with tempfile.TemporaryDirectory(prefix="localhb-bench-api-") as tmp:
            root = Path(tmp)
            bench_latency(root, llm, 10 if args.quick else 20)
            bench_idle(root, llm.base_url, 5.0 if args.quick else 20.0)
    finally:
        llm.stop()


if __name__ == "__main__":
    main()
