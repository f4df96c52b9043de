"""`localhb daemon reload` and `localhb daemon restart`.

reload: check config.toml, then send SIGHUP to the running daemon and wait
(up to RELOAD_TIMEOUT) for its log to confirm. Exit 0 reloaded, 1 no daemon
runs or it did not confirm, 2 the config has an error (nothing is sent: the
daemon keeps its config).
restart: `daemon stop`, then `daemon start` (also when none was running).
Exit codes as for stop, then start.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from collections.abc import Callable

RELOAD_TIMEOUT = 10.0
"""How long `reload` waits for the daemon's log to confirm."""
EXIT_OK = 0
EXIT_FAILED = 1


def add_parsers(
    dsub: argparse._SubParsersAction[argparse.ArgumentParser],
    *,
    start: Callable[[argparse.Namespace], int],
    stop: Callable[[argparse.Namespace], int],
) -> None:
    """`restart` and `reload`; `start`/`stop` are `daemon_cmd`'s handlers (passed in, so
    this module never imports back)."""
    p = dsub.add_parser(
        "restart",
        help="stop the daemon (if one runs) and start it again, in the background",
        description="`daemon stop`, then `daemon start`: also starts one when none was "
        "running. Exit 0 when it runs again, 1 when it would not stop or start, 2 on a "
        "config error. Under systemd use `systemctl --user restart localhb` instead.",
    )
    p.set_defaults(handler=cmd_restart, start_handler=start, stop_handler=stop)
    p = dsub.add_parser(
        "reload",
        help="make the running daemon re-read config.toml (SIGHUP), and confirm",
        description="Check config.toml, send SIGHUP to the running daemon and wait for its "
        "log to confirm the reload. HEARTBEAT.md needs no reload: it is read at every "
        "cycle. Exit 0 reloaded, 1 no daemon runs or it did not confirm within "
        f"{RELOAD_TIMEOUT:.0f}s, 2 the config has an error (the daemon is not signalled "
        "and keeps its config).",
    )
    p.set_defaults(handler=cmd_reload)


def _err(message: str) -> None:
    print(f"localhb: error: {message}", file=sys.stderr)


def cmd_restart(args: argparse.Namespace) -> int:
    cmd_start, cmd_stop = args.start_handler, args.stop_handler  # from `daemon_cmd`
    code: int = cmd_stop(args)
    if code != EXIT_OK:
        return code
    args.foreground = False
    args.detached = False
    started: int = cmd_start(args)
    return started


def cmd_reload(args: argparse.Namespace) -> int:
    from localhb.cli.common import load
    from localhb.daemon.state import file_size, find_daemon

    config = load(args)  # a config error exits 2 here, before any signal
    home = config.home.resolve()
    running = find_daemon(home)
    if running is None:
        _err(f"no daemon is running for {home} (`localhb daemon start` starts one)")
        return EXIT_FAILED
    log_file = config.log_dir / "agent.log"
    offset = file_size(log_file)
    try:
        os.kill(running.pid, signal.SIGHUP)
    except PermissionError:
        _err(f"not allowed to signal the daemon (pid {running.pid}): it runs as another user")
        return EXIT_FAILED
    except ProcessLookupError:
        _err(f"the daemon (pid {running.pid}) ended before it could be reloaded")
        return EXIT_FAILED
    deadline = time.monotonic() + RELOAD_TIMEOUT
    pause = threading.Event()
    while time.monotonic() < deadline:
        for line in _new_lines(log_file, offset):
            if "config reloaded" in line:
                print(f"daemon reloaded (pid {running.pid}): {line.split('config ', 1)[1]}")
                return EXIT_OK
            if "config reload failed" in line:
                _err(f"the daemon (pid {running.pid}) kept its old config: {line}")
                return EXIT_FAILED
        pause.wait(0.05)
    _err(
        f"sent SIGHUP to the daemon (pid {running.pid}) but it did not confirm within "
        f"{RELOAD_TIMEOUT:.0f}s; see {log_file}"
    )
    return EXIT_FAILED


def _new_lines(path: os.PathLike[str], offset: int) -> list[str]:
    try:
        with open(path, "rb") as fh:
            fh.seek(offset)
            data = fh.read()
    except OSError:
        return []
    return data.decode("utf-8", "replace").splitlines()
