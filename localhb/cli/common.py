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
    "duration_text",
    "error",
    "load",
    "moment",
    "read_document",
]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


def error(message: str) -> None:
    """`localhb: error: <message>` on stderr."""
    print(f"localhb: error: {message}", file=sys.stderr)


def load(args: argparse.Namespace) -> Config:
    """The config that `--config` and `--home` name."""
    from localhb.config import load_config

    return load_config(args.config, home=args.home)


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
