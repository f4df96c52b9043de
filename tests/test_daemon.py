"""The daemon: the loop under a fake clock, and start/status/stop (wake planning: test_wake.py)."""

from __future__ import annotations

import itertools
import json
import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import tomli_w
from filelock import FileLock

from localhb.cli import main
from localhb.config import Config, load_config
from localhb.cycle.runner import CycleReport, Runner
from localhb.daemon.loop import CHUNK, Daemon, Stopped
from localhb.daemon.state import (
    DaemonState,
    find_daemon,
    lock_held,
    read_pid,
    read_state,
    write_pid,
    write_state,
)
from localhb.state.ledger import Ledger
from tests.scripted_llm import ScriptedLLM

ROOT = Path(__file__).resolve().parents[1]
T0 = datetime(2024, 1, 15, 10, 0, tzinfo=UTC)


def at(text: str, tz: str = "UTC") -> datetime:
    """An aware instant from "YYYY-MM-DD HH:MM[:SS]" wall time in `tz`, as UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(tz)).astimezone(UTC)


# --- the loop, driven by a fake clock -----------------------------------------------


@dataclass
class FakeTime:
    """A wall clock that moves only when the daemon sleeps; hooks fire at given times."""

    now: datetime = T0
    slept: list[float] = field(default_factory=list)
    hooks: list[tuple[datetime, Callable[[], object]]] = field(default_factory=list)
    until: datetime | None = None
    daemon: Daemon | None = None

    def clock(self) -> datetime:
        return self.now

    def sleep(self, seconds: float) -> None:
        limit = self.daemon.chunk if self.daemon is not None else CHUNK
        assert 0 <= seconds <= limit, seconds
        self.slept.append(seconds)
        self.now += timedelta(seconds=seconds)
        due = [h for h in self.hooks if h[0] <= self.now]
        self.hooks = [h for h in self.hooks if h[0] > self.now]
        for _, hook in due:
            hook()
        if self.until is not None and self.now >= self.until and self.daemon is not None:
            self.daemon.request_stop()

    def at(self, when: datetime, hook: Callable[[], object]) -> None:
        self.hooks.append((when, hook))


@dataclass
class FakeRunner:
    """A runner that records the `now` of each cycle and answers with `answer(now)`."""

    seen: list[datetime]
    answer: Callable[[datetime], CycleReport]
    stopping: threading.Event = field(default_factory=threading.Event)

    def cycle(self, *, now: datetime | None = None, dry_run: bool = False) -> CycleReport:
        assert now is not None
        self.seen.append(now)
        return self.answer(now)


def idle(now: datetime) -> CycleReport:
    return CycleReport("idle")


def write_home(
    tmp_path: Path, text: str = "## Pending\n", *, llm: str | None = None, **heartbeat: Any
) -> Path:
    home = tmp_path / "hb"
    (home / "workspace").mkdir(parents=True, exist_ok=True)
    (home / "workspace" / "HEARTBEAT.md").write_text(text, encoding="utf-8")
    write_config(home, llm=llm, **heartbeat)
    return home


def write_config(home: Path, *, llm: str | None = None, **heartbeat: Any) -> None:
    data: dict[str, Any] = {
        "heartbeat": {"timezone": "UTC", **heartbeat},
        "llm": {
            "base_url": llm or "http://127.0.0.1:9/v1",
            "model": "scripted",
            "request_timeout": 10,
            "max_retries": 0,
        },
    }
    (home / "config.toml").write_text(tomli_w.dumps(data), encoding="utf-8")


def cfg(home: Path) -> Config:
    return load_config(home=home)


def drive(
    config: Config,
    fake: FakeTime,
    until: datetime,
    answer: Callable[[datetime], CycleReport] = idle,
    **kwargs: Any,
) -> tuple[list[datetime], Daemon, Stopped]:
    """Run the daemon loop in this thread until the fake clock reaches `until`."""
    seen: list[datetime] = []
    kwargs.setdefault("runner_factory", lambda c: FakeRunner(seen, answer))
    kwargs.setdefault("install_signals", False)
    daemon = Daemon(config, clock=fake.clock, sleep=fake.sleep, **kwargs)
    fake.daemon, fake.until = daemon, until
    result = daemon.run()
    return seen, daemon, result


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture
def logged() -> Iterator[list[str]]:
    """What the `localhb` logger says during the test."""
    logger = logging.getLogger("localhb")
    handler = Lines()
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield handler.lines
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def test_cycles_every_interval(tmp_path: Path) -> None:
    """Cycles start at start-up, then exactly every interval; sleeps are short chunks."""
    home = write_home(tmp_path, interval="2m")
    fake = FakeTime()
    seen, _daemon, result = drive(cfg(home), fake, T0 + timedelta(minutes=7))
    assert result == Stopped("stopped")
    assert seen == [T0 + timedelta(minutes=m) for m in (0, 2, 4, 6)]
    assert max(fake.slept) <= CHUNK and len(fake.slept) >= 7 * 60 / CHUNK
    assert read_pid(home) is None and not lock_held(home)
    state = read_state(home)
    assert state is not None and state.cycles == 4 and state.stopped_at is not None


def test_wakes_precisely_at_due_slots(tmp_path: Path) -> None:
    """A task due at 10:07 starts at 10:07 and a 10:20 slot at 10:20, not at the interval tick."""
    text = (
        "## Pending\n### Report\n- Due: 2024-01-15 10:07\n"
        "### Standup\n- Recurring: daily at 10:20\n"
    )
    home = write_home(tmp_path, text, interval="30m")
    seen, _, _ = drive(cfg(home), FakeTime(), T0 + timedelta(minutes=55))
    assert seen == [T0 + timedelta(minutes=m) for m in (0, 7, 20, 50)]


def test_a_task_added_while_idle_is_woken_for(tmp_path: Path) -> None:
    """An edit to HEARTBEAT.md is looked at at once; a task added for later runs on time."""
    home = write_home(tmp_path, interval="30m")
    fake = FakeTime()
    path = home / "workspace" / "HEARTBEAT.md"
    fake.at(
        T0 + timedelta(minutes=5),
        lambda: path.write_text("## Pending\n### New\n- Due: 2024-01-15 10:12\n"),
    )
    seen, _, _ = drive(cfg(home), fake, T0 + timedelta(minutes=20))
    assert seen == [T0, T0 + timedelta(minutes=5), T0 + timedelta(minutes=12)]


def test_active_hours_windows(tmp_path: Path) -> None:
    """Outside active hours nothing runs; the first cycle is at the window's opening."""
    home = write_home(tmp_path, interval="30m", active_hours={"start": "09:00", "end": "17:00"})
    fake = FakeTime(now=at("2024-01-15 16:40"))
    seen, _, _ = drive(cfg(home), fake, at("2024-01-16 09:45"), chunk=60.0)
    assert seen == [at("2024-01-15 16:40"), at("2024-01-16 09:00"), at("2024-01-16 09:30")]
    fake = FakeTime(now=at("2024-01-15 20:00"))
    seen, _daemon, _ = drive(cfg(home), fake, at("2024-01-16 09:01"), chunk=60.0)
    assert seen == [at("2024-01-16 09:00")]


def test_jump_forward_runs_at_once(tmp_path: Path, logged: list[str]) -> None:
    """After a suspend (the clock leaps 3 h) the cycle runs at once, then the interval resumes."""
    home = write_home(tmp_path, interval="30m")
    fake = FakeTime()

    def suspend() -> None:
        fake.now += timedelta(hours=3)

    fake.at(T0 + timedelta(minutes=5), suspend)
    seen, _, _ = drive(cfg(home), fake, T0 + timedelta(hours=3, minutes=40))
    woke = seen[1]
    assert woke - (T0 + timedelta(hours=3, minutes=5)) < timedelta(seconds=CHUNK + 0.01)
    assert seen == [T0, woke, woke + timedelta(minutes=30)]
    assert any("jumped forward by 3h" in line for line in logged)


def test_jump_back_recomputes_the_wake(tmp_path: Path, logged: list[str]) -> None:
    """A clock set back an hour wakes an interval after the new time, not after the old tick."""
    home = write_home(tmp_path, interval="30m")
    fake = FakeTime()

    def set_back() -> None:
        fake.now = at("2024-01-15 09:10")
        fake.until = at("2024-01-15 09:45")

    fake.at(T0 + timedelta(minutes=10), set_back)
    seen, _, _ = drive(cfg(home), fake, at("2024-01-15 11:00"))
    assert seen == [T0, at("2024-01-15 09:40")]
    assert any("clock went back by 1h" in line for line in logged)


def test_crashing_cycles_back_off(tmp_path: Path, logged: list[str]) -> None:
    """A cycle that raises is logged with its traceback, recorded, and retried with backoff."""
    home = write_home(tmp_path, interval="1m")

    def crash(now: datetime) -> CycleReport:
        raise RuntimeError("boom")

    seen, _daemon, result = drive(cfg(home), FakeTime(), T0 + timedelta(minutes=4), crash)
    assert result.outcome == "stopped"
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(seen)]
    assert gaps[:5] == [5, 10, 20, 40, 60] and set(gaps[4:]) == {60}
    assert sum("Traceback" in line and "RuntimeError: boom" in line for line in logged) == len(seen)
    with Ledger.open(home / "state.db") as ledger:
        last = ledger.last_cycle()
    assert last is not None and last.outcome == "error" and "RuntimeError: boom" in last.detail
    state = read_state(home)
    assert state is not None and state.last_outcome == "crashed"


def test_file_errors_are_one_line_and_keep_waking(tmp_path: Path, logged: list[str]) -> None:
    """A broken HEARTBEAT.md is one log line; fixing it runs a cycle at once."""
    bad = "## Pending\n### Check\n- Due: the day after tomorrow\n"
    home = write_home(tmp_path, bad, interval="30m")
    fake = FakeTime()
    path = home / "workspace" / "HEARTBEAT.md"
    fake.at(T0 + timedelta(minutes=40), lambda: path.write_text("## Pending\n"))
    config = cfg(home)
    seen: list[datetime] = []

    def make(c: Config) -> Runner:
        seen.append(fake.now)
        return Runner(c, clock=fake.clock)

    drive(config, fake, T0 + timedelta(minutes=45), runner_factory=make)
    assert seen == [T0, T0 + timedelta(minutes=30), T0 + timedelta(minutes=40)]
    errors = [line for line in logged if line.startswith("cycle: ") and "HEARTBEAT.md" in line]
    assert len(errors) == 2 and not any("Traceback" in line for line in logged)
    assert logged.count("cycle: idle; next wake 2024-01-15 11:10:00 UTC (interval)") == 1


def test_hanging_task_hits_its_timeout(tmp_path: Path, logged: list[str]) -> None:
    """A task whose model never answers ends at task_timeout; the daemon goes on cycling."""
    server = ScriptedLLM().start()
    try:
        server.call("complete_task", {"status": "ok", "summary": "too late"}, delay=30)
        text = "## Pending\n### Slow\n- Description: wait forever\n"
        home = write_home(tmp_path, text, llm=server.base_url, interval="30m")
        with (home / "config.toml").open("a") as fh:
            fh.write("\n[agent]\ntask_timeout = 0.5\n")
        fake = FakeTime()
        seen: list[datetime] = []

        def make(c: Config) -> Runner:
            seen.append(fake.now)
            return Runner(c, clock=fake.clock)

        _, _daemon, result = drive(cfg(home), fake, T0 + timedelta(minutes=31), runner_factory=make)
    finally:
        server.stop()
    assert result == Stopped("stopped") and seen == [T0, T0 + timedelta(minutes=30)]
    with Ledger.open(home / "state.db") as ledger:
        runs = ledger.runs("slow")
    assert runs[-1].state == "error" and "time" in (runs[-1].summary or "")


def test_stop_lets_a_running_cycle_finish(tmp_path: Path) -> None:
    """On stop, the running cycle is told to start nothing new and its end is awaited."""
    home = write_home(tmp_path, interval="30m", shutdown_grace="30s")
    holder: list[Daemon] = []

    def slow(now: datetime) -> CycleReport:
        holder[0].request_stop()
        assert runner_seen[0].stopping.wait(10)
        return CycleReport("ran")

    runner_seen: list[FakeRunner] = []

    def make(c: Config) -> FakeRunner:
        r = FakeRunner([], slow)
        runner_seen.append(r)
        return r

    fake = FakeTime()
    daemon = Daemon(
        cfg(home), clock=fake.clock, sleep=fake.sleep, runner_factory=make, install_signals=False
    )
    holder.append(daemon)
    assert daemon.run() == Stopped("stopped")
    assert daemon.cycles == 1 and not lock_held(home)


def test_stop_after_the_grace_abandons_the_run(tmp_path: Path) -> None:
    """A task still running when the grace ends is recorded abandoned; the exit is hard."""
    home = write_home(tmp_path, interval="30m", shutdown_grace="5s")
    release = threading.Event()
    holder: list[Daemon] = []

    def stuck(now: datetime) -> CycleReport:
        with Ledger.open(home / "state.db") as ledger:
            ledger.claim("stuck", now, "task", now, timedelta(hours=1), os.getpid())
        holder[0].request_stop()
        release.wait(30)
        return CycleReport("ran")

    ticks = iter([0.0] + [100.0] * 100)  # the grace is over at the first look
    fake = FakeTime()
    daemon = Daemon(
        cfg(home),
        clock=fake.clock,
        sleep=fake.sleep,
        monotonic=lambda: next(ticks),
        runner_factory=lambda c: FakeRunner([], stuck),
        install_signals=False,
    )
    holder.append(daemon)
    try:
        result = daemon.run()
    finally:
        release.set()
    assert result == Stopped("stopped", hard=True)
    with Ledger.open(home / "state.db") as ledger:
        (run,) = ledger.runs("stuck")
    assert run.state == "abandoned" and "shutdown_grace 5s" in (run.error or "")
    assert read_pid(home) is None and not lock_held(home)


def test_sighup_reloads_good_config_and_keeps_old_on_bad(tmp_path: Path, logged: list[str]) -> None:
    """SIGHUP reads config.toml again; a broken one is logged and the old one kept."""
    home = write_home(tmp_path, interval="30m")
    fake = FakeTime()

    def good() -> None:
        write_config(home, interval="5m")
        signal.raise_signal(signal.SIGHUP)

    def bad() -> None:
        (home / "config.toml").write_text('[heartbeat]\ninterval = "often"\n')
        signal.raise_signal(signal.SIGHUP)

    fake.at(T0 + timedelta(minutes=2), good)
    fake.at(T0 + timedelta(minutes=7), bad)
    before = signal.getsignal(signal.SIGHUP)
    seen, daemon, _ = drive(cfg(home), fake, T0 + timedelta(minutes=16), install_signals=True)
    assert signal.getsignal(signal.SIGHUP) == before
    assert seen == [T0 + timedelta(minutes=m) for m in (0, 5, 10, 15)]
    assert daemon.config.heartbeat.interval == timedelta(minutes=5)
    assert any("reload failed; keeping the old config" in ln and "interval" in ln for ln in logged)


def test_zombie_cleanup_runs_while_idle(tmp_path: Path) -> None:
    """A run left `running` by a dead process is abandoned while the daemon idles."""
    home = write_home(tmp_path, interval="1h")
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    dead = int(done.stdout)
    with Ledger.open(home / "state.db") as ledger:
        ledger.claim("ghost", T0, "task", T0, timedelta(days=1), dead)
    drive(cfg(home), FakeTime(), T0 + timedelta(minutes=6))
    with Ledger.open(home / "state.db") as ledger:
        assert [r.state for r in ledger.runs("ghost")] == ["abandoned"]


# --- start, status, stop: real processes --------------------------------------------


def cli(home: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "localhb", "--home", str(home), "daemon", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )


@pytest.fixture
def reap() -> Iterator[list[Path]]:
    """Homes whose daemon is killed after the test, should it still run."""
    homes: list[Path] = []
    yield homes
    for home in homes:
        running = find_daemon(home)
        if running is not None:
            os.kill(running.pid, signal.SIGKILL)


def test_start_status_stop(tmp_path: Path, reap: list[Path]) -> None:
    """start detaches and writes pid and log; a second start is refused; stop exits cleanly."""
    home = write_home(tmp_path, interval="2s", shutdown_grace="1s")
    reap.append(home)
    started = cli(home, "start")
    assert started.returncode == 0, started.stderr
    pid = read_pid(home)
    assert pid is not None and f"daemon started (pid {pid})" in started.stdout
    assert (home / "logs" / "agent.log").read_text().count("daemon started") == 1
    again = cli(home, "start")
    assert again.returncode == 1
    assert again.stderr == f"localhb: error: a daemon is already running for {home} (pid {pid})\n"
    assert cli(home, "start", "--foreground").returncode == 1
    status = cli(home, "status")
    assert status.returncode == 0 and f"localhb daemon: running (pid {pid}, up " in status.stdout
    assert "next wake:" in status.stdout and "due in the next 24 h: none" in status.stdout
    data = json.loads(cli(home, "status", "--json").stdout)
    assert data["running"] is True and data["pid"] == pid and data["next_wake"]
    stopped = cli(home, "stop")
    assert (stopped.returncode, stopped.stdout) == (0, f"daemon stopped (pid {pid})\n")
    assert read_pid(home) is None and not lock_held(home)
    assert "daemon stopped" in (home / "logs" / "agent.log").read_text()
    after = cli(home, "status")
    assert after.returncode == 0 and after.stdout.startswith("localhb daemon: not running")
    none = cli(home, "stop")
    assert (none.returncode, none.stdout) == (0, f"no daemon is running for {home}\n")


def test_stale_pid_file_is_replaced(tmp_path: Path, reap: list[Path]) -> None:
    """A pid file naming another live program is stale: status says so, start replaces it."""
    home = write_home(tmp_path, interval="1h", shutdown_grace="1s")
    reap.append(home)
    me = os.getpid()
    write_pid(home, me)
    write_state(home, DaemonState(pid=me, started_at=T0, process_start="linux:1"))
    status = cli(home, "status")
    assert "not running (stale pid file: process" in status.stdout
    started = cli(home, "start")
    assert started.returncode == 0, started.stderr
    pid = read_pid(home)
    assert pid not in (None, me)
    assert "replaced the stale pid file" in (home / "logs" / "agent.log").read_text()
    assert cli(home, "stop").returncode == 0


def test_disabled_heartbeat_refuses_to_start(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`enabled = false` makes start exit 2 with a message naming the key."""
    home = write_home(tmp_path, enabled=False)
    assert main(["--home", str(home), "daemon", "start"]) == 2
    err = capsys.readouterr().err
    assert "[heartbeat] enabled = false" in err and "Traceback" not in err
    assert read_pid(home) is None


@pytest.mark.parametrize(("delay", "grace", "state"), [(30.0, 0.5, "abandoned"), (0.3, 10, "ok")])
def test_sigterm_while_a_task_runs(tmp_path: Path, delay: float, grace: float, state: str) -> None:
    """SIGTERM mid-task: the task gets the grace; finished or abandoned, the exit is 0."""
    server = ScriptedLLM().start()
    try:
        server.call("complete_task", {"status": "ok", "summary": "finished"}, delay=delay)
        text = "## Pending\n### Long\n- Description: take your time\n"
        home = write_home(tmp_path, text, llm=server.base_url, interval="1h", shutdown_grace="1s")
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "localhb",
                "--home",
                str(home),
                "daemon",
                "start",
                "--foreground",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        pause = threading.Event()
        for _ in range(3000):
            if server.requests:
                break
            pause.wait(0.01)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    finally:
        server.stop()
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "daemon stopped" in err
    with Ledger.open(home / "state.db") as ledger:
        assert [r.state for r in ledger.runs("long")] == [state]
    lock = FileLock(str(home / "heartbeat.lock"))
    lock.acquire(timeout=0)
    lock.release()
    assert not lock_held(home) and read_pid(home) is None


def test_status_moves_due_times_into_active_hours(tmp_path: Path) -> None:
    """Outside active hours, status shows when tasks really run: at the window's opening."""
    from localhb.daemon.status import gather_status

    text = "## Pending\n### Now\n- Description: due now\n### Evening\n- Recurring: daily at 18:00\n"
    home = write_home(tmp_path, text, active_hours={"start": "09:00", "end": "17:00"})
    status = gather_status(cfg(home), at("2024-01-15 07:00"), horizon=timedelta(hours=48))
    assert [(u.task_id, u.at, u.due_now) for u in status.due] == [
        ("now", at("2024-01-15 09:00"), False),
        ("evening", at("2024-01-16 09:00"), False),
    ]
    # The horizon counts to when a task really runs: 09:00 tomorrow is 26 hours away.
    status = gather_status(cfg(home), at("2024-01-15 07:00"))
    assert [u.task_id for u in status.due] == ["now"]


def test_status_prefers_the_daemons_newer_record_of_the_last_cycle(tmp_path: Path) -> None:
    """A cycle that failed before reaching the ledger still shows as the last cycle."""
    from localhb.cli.daemon_status import status_lines as _status_lines
    from localhb.daemon.state import DaemonState, write_state
    from localhb.daemon.status import gather_status

    home = write_home(tmp_path)
    write_state(
        home,
        DaemonState(
            pid=1,
            started_at=at("2024-01-15 09:00"),
            last_cycle_at=at("2024-01-15 09:30"),
            last_outcome="error",
            last_message="HEARTBEAT.md: file not found",
        ),
    )
    lines = _status_lines(gather_status(cfg(home), at("2024-01-15 10:00")), UTC)
    assert any(
        line.startswith("last cycle:") and "error (HEARTBEAT.md: file not found)" in line
        for line in lines
    )
