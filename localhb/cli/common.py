"""What every `localhb` command shares: exit codes, errors, loading the config and
the file, and reading `--now`/`--at`. Commands import from here, never from
`localhb.cli` itself (which imports them)."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING

from localhb.core.errors import UsageError
from localhb.core.moments import WHEN_FORMAT, parse_when

if TYPE_CHECKING:
    from localhb.config import Config
    from localhb.format.parser import Document

__all__ = [
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_USAGE",
    "MAX_COUNT",
    "check_home",
    "count",
    "duration_text",
    "error",
    "load",
    "moment",
    "os_error_text",
    "read_document",
]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
MAX_COUNT = 1_000_000
"""The largest `--limit`/`--days` taken: SQLite's integers end at 2**63, and no
terminal shows a million rows."""


def count(text: str) -> int:
    """An argparse type: a whole number from 1 to MAX_COUNT (argparse exits 2 otherwise)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    if value > MAX_COUNT:
        raise argparse.ArgumentTypeError(f"must be at most {MAX_COUNT:,}, got {text}")
    return value


def error(message: str) -> None:
    """`localhb: error: <message>` on stderr."""
    print(f"localhb: error: {message}", file=sys.stderr)


def load(args: argparse.Namespace) -> Config:
    """The config that `--config` and `--home` name."""
    from localhb.config import load_config

    check_home(args)
    return load_config(args.config, home=args.home)


def home_option(args: argparse.Namespace) -> tuple[str, Path]:
    """Where the home came from (`--home`, `$LOCALHB_HOME`, the default) and the path."""
    import os

    from localhb.config import default_home

    if getattr(args, "home", None) is not None:
        return "--home", Path(args.home).expanduser()
    where = "$LOCALHB_HOME" if os.environ.get("LOCALHB_HOME") else "the default home"
    return where, default_home()


def check_home(args: argparse.Namespace) -> None:
    """UsageError naming the option when the home exists but is not a directory."""
    where, home = home_option(args)
    if home.exists() and not home.is_dir():
        raise UsageError(
            f"{where} {home}: not a directory (the home holds config.toml, workspace/ and state.db)"
        )


def os_error_text(exc: OSError, args: argparse.Namespace) -> str:
    """One line for a file the command could not read or create, naming the home
    option when the file is inside it (`--home /proc`: /proc/logs: ...)."""
    where, home = home_option(args)
    name = exc.filename if exc.filename is not None else ""
    text = f"{name}: {exc.strerror or exc}" if name else str(exc.strerror or exc)
    try:
        inside = Path(str(name)).resolve().is_relative_to(home.resolve())
    except (OSError, ValueError, RuntimeError):
        inside = False
    return text + (f" (is {where} {home} the right home?)" if inside else "")


def read_document(path: Path, config: Config) -> Document:
    """`path` read and parsed with the config's sections."""
    from localhb.cycle.workspace import Workspace

    return Workspace.load(config, file=path).doc


def moment(text: str, tz: tzinfo, option: str = "--now") -> datetime:
    """A `--now`/`--at` value as an aware time: its own offset, else a wall time in `tz`
    (a time in a DST gap moves to the change; a repeated one is its first).
    Raises UsageError naming the option."""
    from localhb.timing.schedule import resolve_local

    try:
        at = parse_when(text)
    except ValueError:
        raise UsageError(f"{option}: expected {WHEN_FORMAT}, got {text!r}") from None
    return at if at.tzinfo else resolve_local(at, tz)


def duration_text(seconds: float) -> str:
    """12.3s, 4m05s, 2h03m, 3d04h."""
    if seconds < 60:
        return f"{seconds:.1f}s"
    whole = int(seconds)
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    if whole < 86400:
        return f"{whole // 3600}h{whole % 3600 // 60:02d}m"
    return f"{whole // 86400}d{whole % 86400 // 3600:02d}h"
