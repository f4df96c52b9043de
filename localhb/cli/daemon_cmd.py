"""`localhb daemon`: `heartbeat` (one cycle, for cron or by hand) and `start`, `stop`,
`status` for the long-running daemon (`localhb.daemon.loop`); `status` is drawn
in `localhb.cli.daemon_status`, `restart` and `reload` live in `localhb.cli.daemon_ctl`.

Exit codes: start 0 started (or, in the foreground, stopped cleanly), 1 already
running or failed to start, 2 config error or `[heartbeat] enabled = false`;
stop 0 stopped or none running, 1 still running after shutdown_grace + 10 s;
status 0 whether running or not, 2 config error.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from localhb.cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, load, moment
from localhb.cli.daemon_status import DUE_HORIZON as DUE_HORIZON
from localhb.cli.daemon_status import cmd_status
from localhb.core.errors import ConfigError

if TYPE_CHECKING:
    from localhb.config import Config

HEARTBEAT_OK = "HEARTBEAT_OK"
START_TIMEOUT = 15.0
"""How long `start` waits for the background daemon to write its pid file."""
STOP_MARGIN = timedelta(seconds=10)
"""`stop` waits shutdown_grace plus this for the daemon to exit."""


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    daemon = sub.add_parser("daemon", help="heartbeat cycles: one now, or a background daemon")
    dsub = daemon.add_subparsers(dest="daemon_command", metavar="ACTION", required=True)
    p = dsub.add_parser(
        "heartbeat",
        help="run one heartbeat cycle now (for cron)",
        description="Run one cycle: active-hours gate, read, evaluate, run due tasks, update "
        "the file, record. Prints HEARTBEAT_OK when nothing is due, else one line per task "
        "as it ends; progress goes to stderr: a line as each task starts, and with -v the "
        "live trace. "
        "Exit 0 when all went well or idle, 1 when a task ended in error or the endpoint is "
        "down (its circuit breaker kept agent tasks back), 2 on a usage, "
        "config or file error (nothing changed).",
    )
    p.add_argument("--now", metavar='"YYYY-MM-DD HH:MM"', help="evaluate as if it were this time")
    p.add_argument("--dry-run", action="store_true", help="show what would run; call nothing")
    p.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="print the live trace of each task (tool calls and outcomes) as it runs",
    )
    p.set_defaults(handler=cmd_heartbeat)

    p = dsub.add_parser(
        "start",
        help="keep running heartbeat cycles, in the background",
        description="Start the daemon: a cycle now, then at every interval, at each task's "
        "due time and when active hours open. It detaches, writes <home>/daemon.pid and logs "
        "to <home>/logs/agent.log. SIGTERM/SIGINT stop it (running tasks get shutdown_grace), "
        "SIGHUP reloads config.toml. Exit 0 when started, 1 when a daemon already runs for "
        "this home or it failed to start, 2 on a config error or [heartbeat] enabled = false.",
    )
    p.add_argument(
        "--foreground",
        action="store_true",
        help="stay attached, log to stderr too (systemd, launchd, containers); "
        "exit 0 after a clean stop",
    )
    p.add_argument("--detached", action="store_true", help=argparse.SUPPRESS)
    p.set_defaults(handler=cmd_start)

    p = dsub.add_parser(
        "stop",
        help="stop the daemon and wait for it to exit",
        description="Send SIGTERM and wait up to shutdown_grace + 10s for a clean exit. Exit 0 "
        "when it stopped or none was running, 1 when it is still running.",
    )
    p.set_defaults(handler=cmd_stop)

    p = dsub.add_parser(
        "status",
        help="is the daemon running; last cycle, next wake, tasks due, recent errors",
        description="Show whether a daemon runs for this home (pid, uptime), the last cycle "
        "(from the ledger), its next wake, the tasks due in the next 24 hours and recent "
        "errors. Exit 0 whether it runs or not; 2 on a config error.",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object instead")
    p.set_defaults(handler=cmd_status)

    from localhb.cli.daemon_ctl import add_parsers

    add_parsers(dsub, start=cmd_start, stop=cmd_stop)


def fixed_clock(start: datetime) -> Callable[[], datetime]:
    """A clock that starts at `start` and advances with real time."""
    origin = time.monotonic()
    return lambda: start + timedelta(seconds=time.monotonic() - origin)


def cmd_heartbeat(args: argparse.Namespace) -> int:
    from localhb.core.clock import utc_now
    from localhb.cycle.runner import Runner
    from localhb.state.logs import configure

    config = load(args)
    configure(config.log_dir)
    tz = config.tz()
    clock = utc_now
    start = None
    if args.now:
        start = moment(args.now, tz)
        clock = fixed_clock(start)
    log = logging.getLogger("localhb")
    from localhb.cli.live import LivePrinter

    printer = LivePrinter(sys.stderr, verbose=args.verbose, also=_log_event)
    runner = Runner(config, clock=clock, on_event=printer)
    report = runner.cycle(now=start or clock(), dry_run=args.dry_run)
    if report.outcome == "idle":
        print(HEARTBEAT_OK)
        log.info("cycle: idle")
        return EXIT_OK
    if report.outcome in ("inactive", "locked"):
        print(report.message)
        return EXIT_OK
    if report.outcome == "dry-run":
        print("\n".join(report.planned))
        return EXIT_OK
    for line in report.results:
        kind = " (check)" if line.kind == "check" else ""
        print(f"{line.task_id}{kind}: {line.status} - {line.summary}")
    for warning in report.warnings:
        print(f"localhb: warning: {warning}", file=sys.stderr)
    return EXIT_FAILED if report.failed else EXIT_OK


def _log_event(event: object) -> None:
    from localhb.core.results import TraceEvent

    if isinstance(event, TraceEvent):
        logging.getLogger("localhb.trace").info(
            "%s [%s] %s %s %s",
            event.task_id,
            event.kind.value,
            event.tool,
            event.text,
            event.outcome,
        )


# -- start / stop / status -----------------------------------------------------
def _err(message: str) -> None:
    print(f"localhb: error: {message}", file=sys.stderr)


def cmd_start(args: argparse.Namespace) -> int:
    from localhb.daemon.state import (
        file_size,
        find_daemon,
        python_argv,
        spawn_detached,
        tail_line,
        wait_started,
    )

    config = load(args)
    if not config.heartbeat.enabled:
        where = config.path or "config"
        _err(
            f"{where}: [heartbeat] enabled = false, so the daemon does not start "
            "(set it to true to run it)"
        )
        return EXIT_USAGE
    if not args.detached:  # the parent checked already
        problem = endpoint_problem(config)
        if problem is not None:
            _err(f"{problem}; the daemon does not start (`localhb doctor` checks the endpoint)")
            return EXIT_USAGE
    if args.foreground:
        return _foreground(args, config)
    home = config.home.resolve()
    running = find_daemon(home)
    if running is not None:
        _err(f"a daemon is already running for {home} (pid {running.pid})")
        return EXIT_FAILED
    argv = python_argv("--home", str(home))
    if args.config is not None:
        argv += ["--config", str(Path(args.config).resolve())]
    argv += ["daemon", "start", "--foreground", "--detached"]
    stderr = config.log_dir / "daemon.stderr"
    offset = file_size(stderr)
    try:
        pid = spawn_detached(argv, stderr=stderr)
    except OSError as exc:
        _err(f"cannot start {argv[0]}: {exc.strerror or exc}")
        return EXIT_FAILED
    done = wait_started(home, pid, timeout=START_TIMEOUT)
    log_file = config.log_dir / "agent.log"
    if done.started:
        print(f"daemon started (pid {pid}); log: {log_file}")
        return EXIT_OK
    if done.exit_code is not None:
        why = tail_line(stderr, offset).removeprefix("localhb: error: ")
        _err(f"the daemon exited as it started (code {done.exit_code}): {why or f'see {log_file}'}")
        return EXIT_FAILED
    _err(
        f"the daemon (pid {pid}) did not confirm its start within {START_TIMEOUT:.0f}s; "
        f"see {log_file}"
    )
    return EXIT_FAILED


def endpoint_problem(config: Config) -> str | None:
    """Why the daemon could do no model work, found without a request: no API key (or
    a key file or command that gives none), an unreadable `[llm] system_prompt`.
    None when nothing in HEARTBEAT.md uses a model (`Run:` tasks and `Check:` gates
    need no key), or when the file cannot be read (the daemon reports that itself)."""
    from localhb.agent.endpoint import resolve_endpoint
    from localhb.agent.prompting import system_prompt
    from localhb.core.errors import HeartbeatFileError, LocalhbError
    from localhb.cycle.workspace import Workspace

    try:
        ws = Workspace.load(config)
    except HeartbeatFileError:
        return None
    users = [t.id for t in ws.doc.pending() if t.uses_model]
    if not users:
        return None
    try:
        system_prompt(config.llm, source=config.path)
        resolve_endpoint(config.llm, os.environ)
    except LocalhbError as exc:
        more = f" and {len(users) - 1} more" if len(users) > 1 else ""
        return f"{exc} (task {users[0]}{more} needs the model)"
    return None


def _foreground(args: argparse.Namespace, config: Config) -> int:
    from localhb.config import load_config
    from localhb.cycle.runner import Runner
    from localhb.daemon.loop import Daemon
    from localhb.state.logs import configure

    if args.detached:
        os.chdir(config.home)
    configure(config.log_dir, stream=None if args.detached else sys.stderr)
    home = config.home
    daemon = Daemon(
        config,
        runner_factory=lambda cfg: Runner(cfg, on_event=_log_event),
        reload=lambda: load_config(args.config, home=home),
        on_event=_log_event,
    )
    result = daemon.run()
    if result.outcome != "stopped":  # already running, or no lock / pid file
        _err(result.message)
        return EXIT_FAILED
    if result.hard:  # task threads are still running: end the process without them
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(EXIT_OK)
    return EXIT_OK


def _home_and_grace(args: argparse.Namespace) -> tuple[Path, timedelta, Path]:
    """The home, shutdown_grace and state.db; a broken config must not keep `stop`
    from working."""
    from localhb.core.home import home_dir

    try:
        config = load(args)
    except ConfigError as exc:
        print(f"localhb: warning: {exc} (stopping anyway)", file=sys.stderr)
        home: Path = Path(home_dir(args.home))
        return home, timedelta(seconds=30), home / "state.db"
    return config.home, config.heartbeat.shutdown_grace, config.state_db


def running_tasks(state_db: Path, pid: int, now: datetime) -> list[str]:
    """The runs process `pid` has in progress, as `ask (run 12, for 3m05s)`; none
    when the ledger cannot be read (stopping must not depend on it)."""
    import sqlite3

    from localhb.core.errors import LedgerError
    from localhb.daemon.loop import span
    from localhb.state.ledger import Ledger

    if not state_db.exists():
        return []
    try:
        with Ledger.open(state_db) as led:
            rows = [r for r in led.running() if r.pid == pid]
    except (LedgerError, sqlite3.Error, OSError):
        return []
    return [
        f"{r.task_id} (run {r.id}, for {span(max(timedelta(0), now - r.started_at))})" for r in rows
    ]


def cmd_stop(args: argparse.Namespace) -> int:
    import signal
    import threading

    from localhb.core.clock import utc_now
    from localhb.daemon.loop import span
    from localhb.daemon.state import find_daemon, lock_held, process_running, read_pid

    home, grace, state_db = _home_and_grace(args)
    running = find_daemon(home)
    if running is None:
        stale = read_pid(home)
        note = f" (ignored the stale pid file of process {stale})" if stale is not None else ""
        print(f"no daemon is running for {home}{note}")
        return EXIT_OK
    pid = running.pid
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:  # it ended meanwhile
        pass
    except PermissionError:
        _err(f"not allowed to signal the daemon (pid {pid}): it runs as another user")
        return EXIT_FAILED
    limit = grace + STOP_MARGIN
    deadline = time.monotonic() + limit.total_seconds()
    busy = running_tasks(state_db, pid, utc_now())
    if busy:
        print(
            f"stopping the daemon (pid {pid}): waiting up to {span(grace)} "
            f"([heartbeat] shutdown_grace) for {', '.join(busy)} to finish",
            flush=True,
        )
    pause = threading.Event()
    while lock_held(home) or process_running(pid):
        if time.monotonic() >= deadline:
            still = running_tasks(state_db, pid, utc_now())
            what = f" (still running: {', '.join(still)})" if still else ""
            _err(
                f"the daemon (pid {pid}) did not stop within {span(limit)}{what}; it is "
                f"still running (`kill -KILL {pid}` ends it at once; its unfinished runs are "
                "then marked abandoned by the next cycle)"
            )
            return EXIT_FAILED
        pause.wait(0.05)
    print(f"daemon stopped (pid {pid})")
    return EXIT_OK
