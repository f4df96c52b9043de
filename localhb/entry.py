"""The `localhb` console script: the idle fast path first, then the full CLI.

The fast path answers a plain `localhb [--home H] [--config C] daemon heartbeat
[--now T]` with HEARTBEAT_OK when `localhb.state.idle` proves that nothing can
have changed, without importing argparse, the parser or the config loader. It
finds the home with `localhb.core.home`, as the CLI does; any other argv is the
full CLI's.
"""

from __future__ import annotations

import os
import sys

EXIT_PIPE = 141
"""What a shell reports for a command whose reader went away (128 + SIGPIPE)."""


def heartbeat_args(argv: list[str]) -> tuple[str | None, str | None, str | None] | None:
    """(home, config, now) when argv is a plain `daemon heartbeat`, else None."""
    from localhb.core.home import GLOBAL_OPTIONS

    home = config = now = None
    args = list(argv)
    while args and args[0].startswith("--"):
        flag, _, value = args.pop(0).partition("=")
        if flag not in GLOBAL_OPTIONS:
            return None
        if not value:
            if not args:
                return None
            value = args.pop(0)
        if flag == "--home":
            home = value
        else:
            config = value
    if args[:2] != ["daemon", "heartbeat"]:
        return None
    rest = args[2:]
    if rest:
        if len(rest) == 1 and rest[0].startswith("--now="):
            now = rest[0].partition("=")[2]
        elif len(rest) == 2 and rest[0] == "--now":
            now = rest[1]
        else:
            return None
    return home, config, now


def fast_main(argv: list[str] | None = None) -> int | None:
    """Answer an idle `daemon heartbeat` from the cache; None means: run the full CLI."""
    from localhb import __version__
    from localhb.state.idle import is_idle

    args = heartbeat_args(sys.argv[1:] if argv is None else argv)
    if args is None or not is_idle(*args, version=__version__):
        return None
    sys.stdout.write("HEARTBEAT_OK\n")
    return 0


def main() -> int:
    try:
        code = fast_main()
        if code is not None:
            sys.stdout.flush()
            return code
        from localhb.cli import main as cli_main

        code = cli_main()
        sys.stdout.flush()
        return code
    except BrokenPipeError:  # `localhb runs | head`: the reader has all it wanted
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so the exit-time flush stays quiet
        return EXIT_PIPE


if __name__ == "__main__":
    sys.exit(main())
