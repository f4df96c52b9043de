"""The `localhb` command line. Only the CLI prints, reads argv or picks exit codes.

Exit codes: 0 success (or idle); 1 a task ended in error / monitoring found a
problem; 2 usage, config or file errors (nothing was changed).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from localhb import __version__
from localhb.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    check_home,
    load,
    read_document,
)
from localhb.cli.common import error as _error
from localhb.core.errors import HeartbeatFileError, LocalhbError

__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "build_parser", "load", "main", "read_document"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="localhb",
        description="Run an AI agent on a schedule from a hand-edited HEARTBEAT.md.",
    )
    parser.add_argument("--version", action="version", version=f"localhb {__version__}")
    home_help = "the localhb home (default: $LOCALHB_HOME or ~/.localhb)"
    parser.add_argument("--home", type=Path, help=home_help)
    parser.add_argument(
        "--config", type=Path, help="config file (default: <home>/config.toml, else defaults)"
    )
    parser.set_defaults(build_parser=build_parser)  # for `completion`, without a cycle
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser(
        "init",
        help="create the home: config.toml and workspace/HEARTBEAT.md",
        description="Create the home with <home>/config.toml (or the --config file) and "
        "workspace/HEARTBEAT.md from the templates; an existing file is kept.",
    )
    p.add_argument("--home", type=Path, default=argparse.SUPPRESS, help=home_help)
    p.set_defaults(handler=cmd_init)

    p = sub.add_parser(
        "validate",
        help="check a HEARTBEAT.md and print its problems",
        description="Print each problem as `path:line: severity: message`. "
        "Exit 2 when there are errors, else 0 (warnings print but do not fail).",
    )
    p.add_argument("file", nargs="?", type=Path, help="the file (default: [heartbeat] file)")
    shown = p.add_mutually_exclusive_group()
    shown.add_argument(
        "--explain", action="store_true", help="show, line by line, how each part is read"
    )
    shown.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object: diagnostics, tasks, commented-out examples",
    )
    p.set_defaults(handler=cmd_validate)

    p = sub.add_parser(
        "tasks",
        help="list the pending tasks with type, schedule, next due time and state",
    )
    p.add_argument("--file", type=Path, help="the HEARTBEAT.md (default: [heartbeat] file)")
    p.add_argument("--at", metavar='"YYYY-MM-DD HH:MM"', help="evaluate as if it were this time")
    p.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    p.set_defaults(handler=_cmd_tasks)

    _add_module_commands(sub)
    _accept_global_options_after(sub, home_help)
    return parser


def _accept_global_options_after(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], home_help: str
) -> None:
    """Let `--home` and `--config` follow the command too (`localhb tasks --home X`).

    Each command parser gets both with a suppressed default, so one given before
    the command is kept when it is not repeated after it."""
    for command in sub.choices.values():
        for action in command._actions:
            if isinstance(action, argparse._SubParsersAction):
                _accept_global_options_after(action, home_help)
        taken = {flag for action in command._actions for flag in action.option_strings}
        if "--home" not in taken:
            command.add_argument("--home", type=Path, default=argparse.SUPPRESS, help=home_help)
        if "--config" not in taken:
            command.add_argument(
                "--config", type=Path, default=argparse.SUPPRESS, help="config file"
            )


def _add_module_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Commands that live in their own modules."""
    from localhb.cli import (
        add_cmd,
        api_cmd,
        completion,
        daemon_cmd,
        doctor_cmd,
        health_cmd,
        mcp_cmd,
        migrate_cmd,
        notify_cmd,
        routines_cmd,
        run_cmd,
        runs_cmd,
        usage_cmd,
        wake_cmd,
    )

    modules = (
        migrate_cmd,
        add_cmd,
        run_cmd,
        daemon_cmd,
        runs_cmd,
        health_cmd,
        usage_cmd,
        completion,
    )
    for module in (*modules, notify_cmd, mcp_cmd, routines_cmd, doctor_cmd, api_cmd, wake_cmd):
        module.add_parser(sub)


class _SafeStream:
    """A text stream that masks URL credentials and escapes control characters
    (ESC sequences, NUL, bidi overrides) in everything printed to the terminal.

    When its reader goes away (`localhb daemon heartbeat 2>&1 | head -1`), the
    rest of the output goes to /dev/null and the command carries on: a cycle
    half done because nobody reads its progress would record a crash."""

    def __init__(self, inner: TextIO) -> None:
        self._inner = inner
        self.broken = False

    def write(self, text: str) -> int:
        from localhb.core.redact import fold_controls, strip_url_credentials

        if not self.broken:
            try:
                self._inner.write(fold_controls(strip_url_credentials(text)))
            except BrokenPipeError:
                self._silence()
        return len(text)

    def flush(self) -> None:
        if not self.broken:
            try:
                self._inner.flush()
            except BrokenPipeError:
                self._silence()

    def _silence(self) -> None:
        self.broken = True
        try:  # so the buffered rest, and the exit-time flush, go nowhere quietly
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._inner.fileno())
            os.close(devnull)
        except (OSError, ValueError):
            pass

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner, name)


def main(argv: Sequence[str] | None = None) -> int:
    out, err = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _SafeStream(out), _SafeStream(err)
    try:
        return _main(argv)
    finally:
        sys.stdout, sys.stderr = out, err


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.handler(args)
    except LocalhbError as exc:
        from localhb.cli.hints import with_options

        _error(with_options(str(exc), args))
        if isinstance(exc, HeartbeatFileError):
            for d in exc.diagnostics:
                print(d.format(str(exc.path)), file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        raise  # the entry point ends quietly
    except OSError as exc:  # a file it could not read or create: one line, never a traceback
        from localhb.cli.common import os_error_text

        _error(os_error_text(exc, args))
        return EXIT_USAGE
    return code


def _cmd_tasks(args: argparse.Namespace) -> int:
    from localhb.cli.tasks_cmd import cmd_tasks

    return cmd_tasks(args)


# -- init --------------------------------------------------------------------
def cmd_init(args: argparse.Namespace) -> int:
    from localhb.core.home import home_dir
    from localhb.core.templates import read_template

    check_home(args)
    home: Path = Path(home_dir(args.home))
    given = getattr(args, "config", None)
    targets = [
        (given.expanduser() if given else home / "config.toml", "config.toml"),
        (home / "workspace" / "HEARTBEAT.md", "HEARTBEAT.md"),
    ]
    for directory in (home, home / "workspace", home / "workspace" / "memory"):
        directory.mkdir(parents=True, exist_ok=True)
    targets[0][0].parent.mkdir(parents=True, exist_ok=True)  # `--config` elsewhere
    for target, template in targets:
        if target.exists():
            print(f"kept     {target} (already exists)")
            continue
        with target.open("x", encoding="utf-8", newline="") as fh:
            fh.write(read_template(template))
        print(f"created  {target}")
    from localhb.cli.hints import command

    print(
        f"localhb's own upkeep (memory distillation, a self-audit): "
        f"`{command(args, 'routines list')}`"
    )
    print(f"home is {home}; edit {targets[1][0]} to add tasks, then `{command(args, 'tasks')}`")
    return EXIT_OK


# -- validate ----------------------------------------------------------------
def _with_policy_warnings(doc: Any, config: Any) -> Any:
    """`doc` with a warning for each pending `Check:` or `Run:` command the shell policy
    will refuse at every run (the file itself is fine; config.toml decides)."""
    from dataclasses import replace

    from localhb.format.checks import CheckKind
    from localhb.format.model import Diagnostic, Severity

    found: list[Diagnostic] = []
    for task in doc.pending():
        wanted = []
        if task.check is not None and task.check.kind is CheckKind.COMMAND:
            wanted.append(("check", task.check.target, True))
        if task.run is not None:
            wanted.append(("run", task.run, False))
        for key, command, check in wanted:
            from localhb.agent.tools.shell import refusal

            why = refusal(command, config.tools.shell, check=check)
            if why is not None:
                at = task.field(key)
                line = at.line if at is not None else task.line
                found.append(Diagnostic(line, Severity.WARNING, f"will be refused: {why}"))
    return replace(doc, diagnostics=(*doc.diagnostics, *found)) if found else doc


def cmd_validate(args: argparse.Namespace) -> int:
    from localhb.format.model import Severity

    config = load(args)
    path: Path = args.file or config.heartbeat.file
    from localhb.format.migrate import with_migrate_notes

    doc = _with_policy_warnings(with_migrate_notes(read_document(path, config)), config)
    if args.json:
        from localhb.cli.validate_json import report

        print(json.dumps(report(doc, str(path)), ensure_ascii=False, indent=2))
    elif args.explain:
        from localhb.format.explain import explain

        print("\n".join(explain(doc, str(path))))
    else:
        for d in doc.diagnostics:
            if d.severity is not Severity.NOTE:
                print(d.format(str(path)))
        pending = doc.pending()
        print(
            f"{path}: {len(pending)} pending task(s), {len(doc.errors)} error(s)"
            + ("" if doc.errors else " - ok")
        )
    return EXIT_USAGE if doc.errors else EXIT_OK
