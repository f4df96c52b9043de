"""The `localhb` console script: the idle fast path first, then the full CLI."""

from __future__ import annotations

import sys


def main() -> int:
    from localhb.state.idle import fast_main

    code = fast_main()
    if code is not None:
        return code
    from localhb.cli import main as cli_main

    return cli_main()


if __name__ == "__main__":
    sys.exit(main())
