"""`localhb daemon`: `heartbeat` (one cycle, for cron or by hand) and `start`, `stop`,
`status` for the long-running daemon (`localhb.daemon.loop`); `restart` and
`reload` live in `localhb.cli.daemon_ctl`.

Exit codes: start 0 started (or, in the foreground, stopped cleanly), 1 already
running or failed to start, 2 config error or `[heartbeat] enabled = false`;
stop 0 stopped or none running, 1 still running after shutdown_grace + 10 s;
status 0 whether running or not, 2 config error.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING

from localhb.cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, load, moment
from localhb.core.errors import ConfigError

if TYPE_CHECKING:
    from localhb.config import Config
    from localhb.daemon.status import DaemonStatus

HEARTBEAT_OK = "HEARTBEAT_OK"
START_TIMEOUT = 15.0
"""How long `start` waits for the background daemon to write its pid file."""
STOP_MARGIN = timedelta(seconds=10)
"""`stop` waits shutdown_grace plus this for the daemon to exit."""
DUE_HORIZON = timedelta(hours=24)


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
        "Exit 0 when all went well or idle, 1 when a task ended in error, 2 on a usage, "
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


def cmd_status(args: argparse.Namespace) -> int:
    from localhb.core.clock import utc_now
    from localhb.daemon.state import find_daemon
    from localhb.daemon.status import gather_status

    try:
        config = load(args)
    except ConfigError as exc:
        from localhb.core.home import home_dir

        home = Path(home_dir(args.home))
        running = find_daemon(home)
        if args.json:
            pid = running.pid if running else None
            print(json.dumps({"running": running is not None, "pid": pid, "error": str(exc)}))
        else:
            print(
                f"localhb daemon: running (pid {running.pid})"
                if running
                else "localhb daemon: not running"
            )
        raise
    status = gather_status(config, utc_now(), horizon=DUE_HORIZON)
    tz = config.tz()
    if args.json:
        print(json.dumps(status.to_dict(tz), ensure_ascii=False, indent=2))
    else:
        print("\n".join(_status_lines(status, tz)))
    return EXIT_OK


def _status_lines(st: DaemonStatus, tz: tzinfo) -> list[str]:
    from localhb.daemon.loop import span

    def when(dt: datetime | None, fmt: str = "%Y-%m-%d %H:%M:%S %Z") -> str:
        return "-" if dt is None else dt.astimezone(tz).strftime(fmt)

    run = st.running
    if run is not None:
        head = f"localhb daemon: running (pid {run.pid}"
        if run.state is not None and st.uptime is not None:
            head += f", up {span(st.uptime)}, since {when(run.state.started_at)}"
        lines = [head + ")"]
    else:
        head = "localhb daemon: not running"
        if st.stale_pid is not None:
            head += f" (stale pid file: process {st.stale_pid} is not a running localhb daemon)"
        elif st.state is not None and st.state.stopped_at is not None:
            head += f" (last stopped {when(st.state.stopped_at)})"
        lines = [head]
    if st.failing is not None:  # the problem first: a daemon that cannot do its work
        lines[0] += f" - FAILING: the last cycle failed: {_clip(st.failing, 160)}"
    elif st.endpoint_down is not None:
        lines[0] += f" - FAILING: the endpoint cannot be used: {_clip(st.endpoint_down, 160)}"
    lines.append(f"home:        {st.home}")
    for r in st.running_now:
        took = span(max(timedelta(0), st.now - r.started_at))
        what = "check" if r.kind == "check" else "task"
        lines.append(
            f"running now: {r.task_id} ({what}, run {r.id}, for {took}, "
            f"since {when(r.started_at, '%H:%M:%S')})"
        )
    if run is not None and run.state is not None and run.state.next_wake is not None:
        wake, reason = run.state.next_wake, run.state.next_wake_reason
        if wake <= st.now:
            lines.append(f"next wake:   now ({reason}: a cycle is running or starting)")
        else:
            lines.append(f"next wake:   {when(wake)} ({reason})")
    else:
        lines.append("next wake:   - (no daemon running)")
    cycle = st.last_cycle
    own = st.state  # the daemon's own record also knows cycles that failed before the ledger
    if (
        own is not None
        and own.last_cycle_at is not None
        and (cycle is None or own.last_cycle_at > cycle.started_at)
    ):
        detail = f" ({own.last_message})" if own.last_message else ""
        lines.append(f"last cycle:  {when(own.last_cycle_at)}, {own.last_outcome}{detail}")
    elif cycle is None:
        lines.append("last cycle:  - (none recorded)")
    else:
        detail = f" ({cycle.detail})" if cycle.detail else ""
        lines.append(f"last cycle:  {when(cycle.started_at)}, {cycle.outcome}{detail}")
    if st.due:
        lines.append(f"due in the next 24 h ({len(st.due)}):")
        rows = [
            ("now" if u.due_now else when(u.at, "%Y-%m-%d %H:%M"), u.task_id, u.title)
            for u in st.due
        ]
        width = [max(len(r[i]) for r in rows) for i in range(2)]
        lines += [f"  {a.ljust(width[0])}  {b.ljust(width[1])}  {c}" for a, b, c in rows]
    else:
        lines.append("due in the next 24 h: none")
    errors: list[tuple[datetime, str]] = []
    for r in st.errors:
        summary = (r.summary or r.error or "").replace("\n", " ")
        summary = summary.removeprefix(f"{r.state}: ")  # "abandoned: abandoned: ..."
        at = r.completed_at or r.started_at
        errors.append(
            (at, f"  {when(at, '%Y-%m-%d %H:%M')}  {r.task_id}  {r.state}: {_clip(summary, 100)}")
        )
    for c in st.cycle_errors:  # a cycle that ran nothing: no key, a file with errors
        detail = _clip(c.detail.replace("\n", " ") or "error", 100)
        errors.append(
            (c.started_at, f"  {when(c.started_at, '%Y-%m-%d %H:%M')}  (cycle)  error: {detail}")
        )
    if errors:
        lines.append("recent errors:")
        errors.sort(key=lambda e: e[0], reverse=True)
        lines += [text for _, text in errors[:5]]
    else:
        lines.append("recent errors: none")
    lines += [f"problem:     {p}" for p in st.problems]
    return lines


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
