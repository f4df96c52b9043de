"""Hints name commands with the options in force, so following one literally works.

`localhb --home /tmp/h init` ends with "then `localhb --home /tmp/h tasks`", and an
error that says "run `localhb validate`" says it with the same `--home` and
`--config` the failing command was given.
"""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path


def global_options(args: argparse.Namespace) -> str:
    """` --home H --config C` for the global options given on this command line."""
    out = ""
    for name in ("home", "config"):
        value = getattr(args, name, None)
        if isinstance(value, Path | str):
            out += f" --{name} {shlex.quote(str(value))}"
    return out


def command(args: argparse.Namespace, rest: str) -> str:
    """`localhb <options in force> <rest>`."""
    return f"localhb{global_options(args)} {rest}"


def with_options(text: str, args: argparse.Namespace) -> str:
    """`text` with every backticked `localhb ...` command given the options in force."""
    extra = global_options(args)
    return text.replace("`localhb ", f"`localhb{extra} ") if extra else text
