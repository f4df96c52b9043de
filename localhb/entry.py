"""The `localhb` console script: the idle fast path first, then the full CLI."""

from __future__ import annotations

import os
import sys

EXIT_PIPE = 141
"""What a shell reports for a command whose reader went away (128 + SIGPIPE)."""


def main() -> int:
    try:
        from localhb.state.idle import fast_main

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
