"""`localhb api token [--rotate]`: print or replace the wake API's bearer token.

The token lives in `<home>/api.token` (mode 0600); it is created on first use,
here or when the daemon starts with `[api] enabled = true`. A rotated token
takes effect at once: the running daemon reads the file for every request.
Exit 0; 2 when the file cannot be read or written.
"""

from __future__ import annotations

import argparse
import sys

from localhb.cli.common import EXIT_OK, load


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    api = sub.add_parser("api", help="the daemon's wake API: its bearer token")
    asub = api.add_subparsers(dest="api_command", metavar="ACTION", required=True)
    p = asub.add_parser(
        "token",
        help="print the API token (created on first use), or replace it with --rotate",
        description="Print the bearer token of the wake API, from <home>/api.token (created "
        "with mode 0600 when missing). With --rotate, write a new one: the old token stops "
        "working at once, also for a running daemon. Exit 0; 2 when the file cannot be read "
        "or written.",
    )
    p.add_argument("--rotate", action="store_true", help="replace the token with a new random one")
    p.set_defaults(handler=cmd_token)


def cmd_token(args: argparse.Namespace) -> int:
    from localhb.state.token import ensure_token, loose_mode, rotate_token, token_path

    config = load(args)
    home = config.home
    loose = loose_mode(home)
    token = rotate_token(home) if args.rotate else ensure_token(home)
    if loose is not None and not args.rotate:
        print(
            f"localhb: warning: {token_path(home)} was readable by others (mode {loose:o}); "
            "set it to 0600 (consider `localhb api token --rotate`)",
            file=sys.stderr,
        )
    print(token)
    if args.rotate:
        print(f"localhb: wrote a new token to {token_path(home)}", file=sys.stderr)
    return EXIT_OK
