"""`localhb daemon start` for real: idle cost, due-time precision, concurrency.

1. idle: the resident set size of an idle daemon and the CPU seconds it uses
   over 60 s (`--quick`: 10 s). Target: CPU near zero.
2. precision: interval 30m and a one-time task due a few seconds after the
   daemon starts; the delay from its due time to its run's start (ledger).
   Target: under 1 s.
3. concurrency: 20 due tasks, `max_concurrent = 4`, the scripted server
   answering each after 1 s; the cycle's wall time (ledger) over the ideal
   20 / 4 x 1 s. Target: at most 1.25x.

Every daemon is a real background process started with `daemon start` on a
temporary home and stopped with `daemon stop`; the model is the scripted
OpenAI-compatible server of the tests, on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from localhb.daemon.state import read_pid, read_state  # noqa: E402
from localhb.state.ledger import Ledger  # noqa: E402

ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def scripted_llm() -> ModuleType:
    """tests/scripted_llm.py, imported by path."""
    spec = importlib.util.spec_from_file_location(
        "scripted_llm", ROOT / "tests" / "scripted_llm.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def make_home(root: Path, name: str, tasks: str, base_url: str, **heartbeat: Any) -> Path:
    home = root / name
    (home / "workspace").mkdir(parents=True)
    (home / "workspace" / "HEARTBEAT.md").write_text(f"## Pending\n\n{tasks}", encoding="utf-8")
    hb = "".join(f"{k} = {v!r}\n".replace("'", '"') for k, v in heartbeat.items())
    (home / "config.toml").write_text(
        f'[heartbeat]\ntimezone = "UTC"\n{hb}\n'
        f'[llm]\nbase_url = "{base_url}"\nmodel = "scripted"\nmax_retries = 0\n',
        encoding="utf-8",
    )
    return home


def localhb(home: Path, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "localhb", "--home", str(home), "daemon", *args],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=120,
    )
    if done.returncode != 0:
        raise SystemExit(f"localhb daemon {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout


@contextmanager
def daemon(home: Path) -> Iterator[int]:
    localhb(home, "start")
    pid = read_pid(home)
    assert pid is not None
    try:
        yield pid
    finally:
        localhb(home, "stop")


def wait_for(what: str, check: Callable[[], bool], limit: float = 60.0) -> None:
    pause = threading.Event()
    deadline = time.monotonic() + limit
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        pause.wait(0.02)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of `pid` so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:  # no /proc (macOS): ps prints [[dd-]hh:]mm:ss.ss
        out = subprocess.run(["ps", "-o", "time=", "-p", str(pid)], capture_output=True, text=True)
        parts = out.stdout.strip().replace("-", ":").split(":")
        return float(sum(float(p) * 60**i for i, p in enumerate(reversed(parts))))


def rss_mib(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    out = subprocess.run(["ps", "-o", "rss=", "-p", str(pid)], capture_output=True, text=True)
    return int(out.stdout.strip()) / 1024


def bench_idle(root: Path, base_url: str, window: float) -> None:
    home = make_home(root, "idle", "### Someday\n- Due: 2099-01-01 09:00\n", base_url)
    with daemon(home) as pid:
        wait_for("the first cycle", lambda: (s := read_state(home)) is not None and s.cycles > 0)
        before = cpu_seconds(pid)
        threading.Event().wait(window)
        used = cpu_seconds(pid) - before
        rss = rss_mib(pid)
    print(f"idle: RSS {rss:.1f} MiB; CPU {used:.3f} s over {window:.0f} s idle (target near 0)")


def bench_precision(root: Path, llm: Any) -> None:
    llm.complete("ok", "on time")
    due = (datetime.now(UTC) + timedelta(seconds=4)).replace(microsecond=0)
    task = f"### On Time\n- Due: {due:%Y-%m-%d %H:%M:%S}\n- Description: be punctual\n"
    home = make_home(root, "precision", task, llm.base_url, interval="30m")
    with daemon(home):

        def ran() -> bool:
            with Ledger.open(home / "state.db") as ledger:
                cycle = ledger.last_cycle()
            return cycle is not None and cycle.outcome == "ran"

        wait_for("the run", ran, limit=30)
        with Ledger.open(home / "state.db") as ledger:
            run = ledger.runs("on-time")[0]
            cycle = ledger.last_cycle()
    assert cycle is not None and run.state == "ok", run
    woke = (cycle.started_at - due).total_seconds()
    delay = (run.started_at - due).total_seconds()
    print(
        f"precision: interval 30m, task due at {due:%H:%M:%S}: cycle woke +{woke:.3f} s, "
        f"run started +{delay:.3f} s (target < 1 s)"
    )


def bench_concurrency(root: Path, llm: Any, tasks: int = 20, workers: int = 4) -> None:
    for _ in range(tasks):
        llm.call("complete_task", {"status": "ok", "summary": "done"}, delay=1.0)
    text = "".join(f"### Job {i}\n- Description: job number {i}\n\n" for i in range(tasks))
    home = make_home(root, "concurrency", text, llm.base_url, max_concurrent=workers)
    with daemon(home):

        def ran() -> bool:
            with Ledger.open(home / "state.db") as ledger:
                cycle = ledger.last_cycle()
            return cycle is not None and cycle.outcome == "ran"

        wait_for("the cycle", ran, limit=120)
        with Ledger.open(home / "state.db") as ledger:
            cycle = ledger.last_cycle()
            states = {r.state for r in ledger.runs(limit=100)}
    assert cycle is not None and states == {"ok"}, states
    wall = (cycle.completed_at - cycle.started_at).total_seconds()
    ideal = tasks / workers * 1.0
    print(
        f"concurrency: {tasks} tasks, max_concurrent {workers}, 1 s per reply: "
        f"{wall:.2f} s, {wall / ideal:.2f}x the ideal {ideal:.0f} s (target <= 1.25x)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="idle for 10 s instead of 60 s")
    args = parser.parse_args()
    module = scripted_llm()
    llm = module.ScriptedLLM().start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            bench_idle(root, llm.base_url, 10.0 if args.quick else 60.0)
            bench_precision(root, llm)
            bench_concurrency(root, llm)
    finally:
        llm.stop()


if __name__ == "__main__":
    main()
