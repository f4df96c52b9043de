"""The wake API inside the daemon: built only when `[api] enabled = true`.

`start_api(daemon)` ensures the token file, opens the wakeup queue and
starts the server on its own thread; the daemon's loop is only ever asked,
through `Daemon.request_cycle`, to start a cycle sooner. Importing this
module imports the server: `localhb.daemon.loop` does so only when enabled.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from localhb.api.dispatch import Dispatcher
from localhb.api.server import APIServer
from localhb.api.work import Services
from localhb.state.token import ensure_token, loose_mode, token_path

if TYPE_CHECKING:
    from localhb.daemon.loop import Daemon

__all__ = ["start_api"]

log = logging.getLogger("localhb.daemon.loop")


def start_api(daemon: Daemon, *, port: int | None = None) -> APIServer:
    """Serve the API for `daemon`; OSError when it cannot listen (the caller says so).

    `port` overrides `[api] listen`'s port (0: any free one, for tests)."""
    config = daemon.config
    api = config.api
    loose = loose_mode(config.home)
    ensure_token(config.home)
    if loose is not None:
        log.warning("%s was readable by others; set to 0600", token_path(config.home))
    services = Services(
        config=lambda: daemon.config,
        clock=daemon.clock,
        monotonic=daemon.monotonic,
        sleep=time.sleep,
        on_event=daemon.on_event,
    )
    dispatcher = Dispatcher(services, daemon.request_cycle)
    try:
        server = APIServer(
            dispatcher,
            config.home,
            api.host,
            api.port if port is None else port,
            health=lambda: _health(daemon),
            status=lambda: _status(daemon, dispatcher),
            run=lambda run_id: _run(daemon, run_id),
            monotonic=time.monotonic,
        )
    except OSError:
        dispatcher.close()
        raise
    server.start()
    host, bound = server.address
    where = f"[{host}]:{bound}" if ":" in host else f"{host}:{bound}"
    log.info("wake API listening on http://%s (token in %s)", where, token_path(config.home))
    return server


def _health(daemon: Daemon) -> tuple[bool, dict[str, Any]]:
    """Healthy: the loop runs, the last cycle did not fail, the file and ledger read."""
    from localhb.daemon.status import gather_status

    status = gather_status(daemon.config, daemon.clock())
    last = daemon.last_outcome
    ok = not status.problems and last not in ("crashed", "error")
    nxt = daemon.next.at.isoformat() if daemon.next is not None else None
    return ok, {"last_cycle": last, "next_wake": nxt, "problems": len(status.problems)}


def _status(daemon: Daemon, dispatcher: Dispatcher) -> dict[str, Any]:
    from localhb.daemon.status import gather_status

    config = daemon.config
    body = gather_status(config, daemon.clock()).to_dict(config.tz())
    body["api"] = dispatcher.counts()
    return body


def _run(daemon: Daemon, run_id: int) -> dict[str, Any] | None:
    from localhb.state.store import existing_store

    with existing_store(daemon.config) as store:
        row = store.run(run_id) if store is not None else None
    return None if row is None else row.to_dict()
