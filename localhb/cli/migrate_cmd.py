"""`localhb migrate [FILE]`: propose a HEARTBEAT.md in localhb's form, as a unified diff.

Sections whose title reads as a schedule become `###` tasks under `## Pending`
(see `localhb.format.migrate`). Without `--write` only the diff is printed
(stdout, ready for `patch`), with what was moved and left alone on stderr;
`--write` replaces the file atomically and keeps the old one as FILE.bak.
Exit 0; 2 on a config or file error (nothing is changed).
"""

from __future__ import annotations

import argparse
import difflib
import sys
from pathlib import Path

EXIT_OK = 0
EXIT_USAGE = 2


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "migrate",
        help="propose a HEARTBEAT.md in localhb's form (a unified diff; --write applies it)",
        description="Each section whose title reads as a schedule (`## Every 30 Minutes`, "
        "`### Backup (every 4 hours)`) but is outside a Pending section never runs; migrate "
        "moves it, whole, under `## Pending` as one `###` task with its schedule kept in its "
        "title and its checkboxes and text kept as the task's text. Nothing else moves or "
        "changes; a section whose schedule cannot be read, gives no clock time, or holds a "
        "line that would become a task key is left alone, with the reason. Prints a unified "
        "diff on stdout (and a summary on stderr); writes nothing without --write. Exits 0, "
        "or 2 on a config or file error.",
    )
    p.add_argument("file", nargs="?", type=Path, help="the file (default: [heartbeat] file)")
    p.add_argument(
        "--write",
        action="store_true",
        help="apply the change: replace the file atomically, keeping the old one as FILE.bak",
    )
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from localhb.cli.common import error, load
    from localhb.core.atomic import write_atomic as write_bytes
    from localhb.format.migrate import migrate
    from localhb.state.files import read_heartbeat, read_only, unchanged_since, write_atomic

    config = load(args)
    path: Path = args.file or config.heartbeat.file
    snap = read_heartbeat(path)
    hb = config.heartbeat
    result = migrate(
        snap.text, pending_sections=hb.pending_sections, completed_sections=hb.completed_sections
    )
    for s in result.skipped:
        print(f"{path}:{s.line}: left alone: {s.title!r}: {s.reason}", file=sys.stderr)
    if not result.changed:
        print(f"{path}: nothing to migrate: it is in localhb's form", file=sys.stderr)
        return EXIT_OK
    moved = ", ".join(repr(t) for t in result.moved)
    if not args.write:
        diff = difflib.unified_diff(
            snap.text.splitlines(keepends=True),
            result.text.splitlines(keepends=True),
            fromfile=str(path),
            tofile=str(path),
        )
        sys.stdout.writelines(_ended(line) for line in diff)
        print(
            f"{path}: would move {len(result.moved)} section(s) under Pending: {moved}; "
            "apply with --write (the old file is kept as .bak)",
            file=sys.stderr,
        )
        return EXIT_OK
    if read_only(path):
        error(f"{path}: the file is read-only; nothing was changed")
        return EXIT_USAGE
    backup = path.with_name(path.name + ".bak")
    write_bytes(backup, snap.text)
    if not write_atomic(path, result.text, precheck=unchanged_since(snap)):
        error(
            f"{path}: the file changed while it was being migrated; nothing was changed, run again"
        )
        return EXIT_USAGE
    print(f"{path}: moved {len(result.moved)} section(s) under Pending: {moved}")
    print(f"{path}: the old file is kept as {backup}")
    return EXIT_OK


def _ended(line: str) -> str:
    """A diff line with a line ending (the last line of a file may have none)."""
    return line if line.endswith(("\n", "\r")) else line + "\n\\ No newline at end of file\n"
