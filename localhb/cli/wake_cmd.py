"""`localhb wake TASK | --prompt TEXT [--payload JSON]`: the wake API's own client.

It reads `[api] listen` from the config and the token from `<home>/api.token`
and posts one wakeup to the running daemon. With `--wait` it follows the
wakeup until it ends. When no daemon runs it says so and offers `localhb run`.

Exit 0 accepted (with --wait: ended ok, partial or skipped); 1 no daemon, the
API is off or refused it for now (429), or the run failed; 2 a bad argument or
a request the API refused (400, 409).
"""

from __future__ import annotations

import argparse
import http.client
import json
import threading
import time
from typing import TYPE_CHECKING, Any

from localhb.cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, error, load

if TYPE_CHECKING:
    from localhb.config import Config

TIMEOUT = 10.0
WAIT_LIMIT = 3600.0


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "wake",
        help="wake the running daemon through its API: run a task, a prompt, or a cycle now",
        description="Post a wakeup to the running daemon's API ([api] enabled = true): "
        "TASK runs that task now (it counts as its run), --prompt adds a one-time task to "
        "HEARTBEAT.md and runs it, neither runs a heartbeat cycle. Prints the wakeup id; "
        "--wait follows it to its end. When no daemon runs, says so (try `localhb run`). "
        "Exit 0 accepted (--wait: ended ok), 1 no daemon, API off, busy (429) or the run "
        "failed, 2 a bad argument or a request the API refused.",
    )
    p.add_argument("task_id", metavar="TASK", nargs="?", help="the task's id (`localhb tasks`)")
    p.add_argument("--prompt", metavar="TEXT", help="an ad-hoc request, added as a task first")
    p.add_argument("--title", metavar="TEXT", help="the added task's title (with --prompt)")
    p.add_argument(
        "--payload", metavar="JSON", help="JSON data for the agent (given as untrusted data)"
    )
    p.add_argument("--key", metavar="KEY", help="an idempotency key: a repeat within 24 h is one")
    p.add_argument("--wait", action="store_true", help="wait for the wakeup to end; print it")
    p.add_argument("--json", action="store_true", help="print the API's JSON answer")
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from localhb.state.token import read_token

    if args.task_id and args.prompt:
        error("give TASK or --prompt, not both")
        return EXIT_USAGE
    if args.title and not args.prompt:
        error("--title goes with --prompt")
        return EXIT_USAGE
    body: dict[str, Any] = {}
    if args.task_id:
        body["task"] = args.task_id
    if args.prompt:
        body["prompt"] = args.prompt
    if args.title:
        body["title"] = args.title
    if args.key:
        body["idempotency_key"] = args.key
    if args.payload is not None:
        try:
            body["payload"] = json.loads(args.payload)
        except ValueError as exc:
            error(f"--payload: not JSON: {exc}")
            return EXIT_USAGE
    config = load(args)
    token = read_token(config.home)
    if not _daemon_runs(config, args):
        return EXIT_FAILED
    if not config.api.enabled or token is None:
        error(
            f"the daemon runs, but its API is off: set `[api] enabled = true` in "
            f"{config.path or 'config.toml'} and `localhb daemon restart`"
        )
        return EXIT_FAILED
    try:
        status, answer = _call(config, "POST", "/api/wakeup", token, body)
    except OSError as exc:
        error(f"cannot reach the API at {config.api.listen}: {exc} (`localhb daemon status`)")
        return EXIT_FAILED
    if status not in (200, 202):
        error(f"the API answered {status}: {answer.get('error', answer)}")
        return EXIT_FAILED if status in (401, 429, 503) else EXIT_USAGE
    if args.wait:
        answer = _follow(config, token, str(answer["id"]))
    if args.json:
        print(json.dumps(answer, ensure_ascii=False, indent=2))
    else:
        print(_describe(answer))
    if args.wait and answer.get("state") != "done":
        return EXIT_FAILED
    return EXIT_OK


def _daemon_runs(config: Config, args: argparse.Namespace) -> bool:
    from localhb.cli.hints import command
    from localhb.daemon.state import find_daemon

    if find_daemon(config.home) is not None:
        return True
    run = f"`{command(args, f'run {args.task_id}')}`" if args.task_id else "`localhb run TASK`"
    error(
        f"no daemon is running for {config.home}, so nothing can be woken; "
        f"start it with `{command(args, 'daemon start')}`, or run a task now with {run}"
    )
    return False


def _call(
    config: Config, method: str, path: str, token: str, body: dict[str, Any] | None = None
) -> tuple[int, dict[str, Any]]:
    host = config.api.host
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    conn = http.client.HTTPConnection(host, config.api.port, timeout=TIMEOUT)
    try:
        data = None if body is None else json.dumps(body).encode("utf-8")
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        conn.request(method, path, body=data, headers=headers)
        resp = conn.getresponse()
        raw = resp.read()
    finally:
        conn.close()
    try:
        answer = json.loads(raw)
    except ValueError:
        answer = {"error": raw.decode("utf-8", "replace")[:200]}
    return resp.status, answer if isinstance(answer, dict) else {"answer": answer}


def _follow(config: Config, token: str, wakeup_id: str) -> dict[str, Any]:
    """Poll the wakeup until it has ended (or WAIT_LIMIT passes)."""
    pause = threading.Event()
    deadline = time.monotonic() + WAIT_LIMIT
    while True:
        _, answer = _call(config, "GET", f"/api/runs/{wakeup_id}", token)
        if answer.get("state") in ("done", "failed", "abandoned"):
            return answer
        if time.monotonic() > deadline:
            return answer
        pause.wait(0.2)


def _describe(answer: dict[str, Any]) -> str:
    what = answer.get("kind", "?")
    if answer.get("task"):
        what += f" {answer['task']}"
    head = f"wakeup {answer.get('id')} ({what}): {answer.get('state')}"
    if answer.get("repeat"):
        head += " (a repeat of this idempotency key: not run again)"
    if answer.get("status"):
        head += f", {answer['status']}"
    detail = answer.get("summary") or answer.get("error")
    if detail:
        head += f" - {detail}"
    if answer.get("runs"):
        head += f"\nruns: {', '.join(str(r) for r in answer['runs'])} (`localhb runs`)"
    elif answer.get("state") == "queued":
        head += f"\nfollow it: GET {answer.get('url')} or `localhb runs`"
    return head
