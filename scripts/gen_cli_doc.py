"""Write docs/cli.md from the parser's own --help texts (tests/test_docs.py checks it)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

INTRO = """# Command line reference

Generated from `--help` by `scripts/gen_cli_doc.py`; do not edit by hand.

Global options (`--home`, `--config`) go before the command:
`localhb --home /srv/hb tasks`. The home defaults to `$LOCALHB_HOME`, else
`~/.localhb`; the config to `<home>/config.toml`, else built-in defaults.

Exit codes, for every command: **0** success (or nothing to do), **1** a task
ended in error, monitoring found a problem, or `daemon start`/`stop` found a
daemon already (or still) running, **2** a usage, config or file error
(nothing was changed). Errors are one line on stderr, never a traceback.
"""


def walk(parser: argparse.ArgumentParser, name: str) -> list[tuple[str, str]]:
    out = [(name, parser.format_help())]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub_name, sub in action.choices.items():
                out += walk(sub, f"{name} {sub_name}")
    return out


def render() -> str:
    os.environ["COLUMNS"] = "88"
    from localhb.cli import build_parser

    parts = [INTRO]
    for name, text in walk(build_parser(), "localhb"):
        parts.append(f"## `{name}`\n\n```text\n{text.rstrip()}\n```\n")
    return "\n".join(parts)


if __name__ == "__main__":
    (ROOT / "docs" / "cli.md").write_text(render(), encoding="utf-8")
    print("wrote docs/cli.md")
