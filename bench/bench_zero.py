"""Zero-token work and MCP latency.

1. One `localhb daemon heartbeat` cycle of 20 due `Run:` tasks against one of
   20 due agent tasks on the scripted OpenAI-compatible server (tests/scripted_llm.py,
   127.0.0.1): requests made and wall time of each cycle, in process.
2. The added latency of MCP tool calls through the official SDK against the
   real `mcp-server-time` (stdio): the first use (server start, initialize,
   list tools) and the first and later `time__get_current_time` calls.

Run: .venv/bin/python bench/bench_zero.py
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import tomli_w  # noqa: E402

from localhb.cli import main as cli  # noqa: E402
from tests.scripted_llm import ScriptedLLM, make_config, make_context  # noqa: E402

N = 20


def home_with(root: Path, server: ScriptedLLM, body: str) -> Path:
    home = root / "home"
    (home / "workspace").mkdir(parents=True)
    tasks = "".join(f"### Task {i}\n- Recurring: every 1h\n{body.format(i=i)}\n" for i in range(N))
    (home / "workspace" / "HEARTBEAT.md").write_text(f"## Pending\n{tasks}## Completed\n")
    config = {
        "heartbeat": {"timezone": "UTC", "max_concurrent": 1},
        "llm": {"base_url": server.base_url, "model": "scripted", "max_retries": 0},
    }
    (home / "config.toml").write_text(tomli_w.dumps(config))
    return home


def cycle(home: Path) -> float:
    import contextlib
    import io

    t0 = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        code = cli(["--home", str(home), "daemon", "heartbeat", "--now", "2030-01-10 08:30"])
    took = time.perf_counter() - t0
    assert code == 0, code
    return took


def bench_cycles() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        server = ScriptedLLM().start()
        try:
            home = home_with(Path(tmp) / "run", server, "- Run: echo task {i} done\n")
            run_s = cycle(home)
            run_requests = len(server.requests)
            for i in range(N):
                server.complete("ok", f"task {i} done")
            home = home_with(Path(tmp) / "agent", server, "- Description: say done {i}\n")
            agent_s = cycle(home)
            agent_requests = len(server.requests) - run_requests
        finally:
            server.stop()
    for what, requests, seconds in (
        ("Run: tasks ", run_requests, run_s),
        ("agent tasks", agent_requests, agent_s),
    ):
        print(f"cycle of {N} due {what}: {requests:3d} model requests, {seconds * 1000:7.0f} ms")
    print(
        f"Run: cycle / agent cycle wall time: {run_s / agent_s:.2f} "
        f"(each Run: command {run_s / N * 1000:.0f} ms, with the sandbox when there is one)"
    )


def bench_mcp() -> None:
    from localhb.agent.mcp import MCPHub
    from localhb.config import MCPServer

    binary = Path(sys.executable).parent / "mcp-server-time"
    if not binary.exists():
        print("mcp-server-time is not installed (pip install -e '.[test]'): MCP figures skipped")
        return
    with tempfile.TemporaryDirectory() as tmp:
        ctx = make_context(make_config(Path(tmp), "http://127.0.0.1:9/v1"), time_left=60.0)
        server = MCPServer(
            "time", str(binary), ("--local-timezone", "UTC"), timeout=timedelta(seconds=30)
        )
        starts, firsts, laters = [], [], []
        for _ in range(3):
            with MCPHub([server]) as hub:
                t0 = time.perf_counter()
                tools, problems = hub.tools(["time"])
                starts.append(time.perf_counter() - t0)
                assert not problems, problems
                tool = next(t for t in tools if t.name == "time__get_current_time")
                assert tool.run is not None
                t0 = time.perf_counter()
                tool.run(ctx, {"timezone": "Europe/Berlin"})
                firsts.append(time.perf_counter() - t0)
                for _ in range(50):
                    t0 = time.perf_counter()
                    tool.run(ctx, {"timezone": "Europe/Berlin"})
                    laters.append(time.perf_counter() - t0)
    ms = 1000
    start, first, later = (statistics.median(x) * ms for x in (starts, firsts, laters))
    p95 = sorted(laters)[int(len(laters) * 0.95)] * ms
    print(
        f"MCP first use (start, initialize, list tools): median {start:6.0f} ms (of {len(starts)})"
    )
    print(f"MCP first tool call after the start:          median {first:6.1f} ms")
    print(f"MCP later tool calls:                         median {later:6.1f} ms, p95 {p95:.1f} ms")


if __name__ == "__main__":
    bench_cycles()
    bench_mcp()
