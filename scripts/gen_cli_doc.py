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
Hints that name a command ("then `localhb tasks`") repeat the global
options in force, so they work when followed literally.

Exit codes, for every command: **0** success (or nothing to do), **1** a task
ended in error, monitoring found a problem, or `daemon start`/`stop` found a
daemon already (or still) running, **2** a usage, config or file error
(nothing was changed). Errors are one line on stderr, never a traceback. When
the reader of the output goes away (`localhb runs | head -3`), the command
stops quietly with exit code 141, as `cat` would.

Every command that prints data takes `--json`: `validate`, `tasks`, `run`,
`runs`, `runs show`, `health` and `daemon status` (shapes at the end).
"""

JSON_SHAPES = """## JSON output

### `validate --json`

One object; `ok` is false exactly when `errors` is above 0 (exit code 2).
`diagnostics` hold every line of `validate --explain` worth telling (notes
too), `tasks` every task in file order, `commented` the examples written
inside an HTML comment under `## Pending` (they are not tasks):

```json
{
  "file": "/home/me/.localhb/workspace/HEARTBEAT.md",
  "ok": true,
  "errors": 0,
  "warnings": 0,
  "diagnostics": [
    {"line": 10, "severity": "note", "message": "HTML block (lines 10-25) holds ...", "hint": ""}
  ],
  "tasks": [
    {"id": "daily-summary", "title": "Daily Summary", "type": "recurring",
     "section": "pending", "line": 12}
  ],
  "commented": [{"id": "check-ci-status", "title": "Check CI Status", "line": 11}]
}
```

### The others

- `tasks --json`: a list of `{id, title, type, schedule, next_due, due_now,
  held_until, slots, state, reason, priority, uses_model, line}`, times ISO
  8601 with offset. `next_due` is when a cycle will run the task next (never
  a past time; null when nothing will run it by itself), except that for a
  task with `due_now` true it is the slot it runs for; `held_until` is when
  the active hours let a held due task run, `slots` the slots a due task
  runs for.
- `run --json`: the result object (`task_id`, `status`, `summary`, `notes`,
  `model`, `failure`, tokens, `steps`, `tool_calls`, `errors`, times), or with
  `--check` the condition's (`met`, `outcome`, `evidence`, `error`, ...).
- `runs --json`: a list of run objects; `runs show --json`: one of them. The
  fields are the ledger's ([ledger and health](ledger-and-health.md)), times in
  UTC with `Z`, `result` as recorded.
- `health --json` and `daemon status --json`: one object each, described in
  [ledger and health](ledger-and-health.md) and [operations](operations.md).
- `usage --json`: `{timezone, days, caps, today}`. `days` (newest first) are
  `{day, runs, tokens, prompt_tokens, completion_tokens, cost,
  uncosted_tokens, tasks}`, each of `tasks` the same counts with a
  `task_id`; `caps` is `{daily_tokens, daily_cost, per_task_tokens}` (null:
  not set); `today` holds today's counts and `tokens_left`, `cost_left`
  (null without that cap, never below 0) and `blocked` (why model runs are
  held today, or null).
- `mcp list --json`: a list of `{name, transport, command, args, url, ok,
  error, tools}`, each of `tools` `{name, description}` as the agent sees it.
- `doctor --json`: a list of checks `{name, status, detail, fix}`, `status`
  one of `ok`, `warn`, `fail`, `skip`.
- `deliveries --json`: a list of notification deliveries, each the record
  `{id, run_id, key, target, kind, outcome, signature, status, attempts,
  error, answer, title, body, repeat, created_at, updated_at,
  next_attempt_at, sent_at, pid, host}` ([notifications](notifications.md)).
- `routines list --json`: a list of `{name, schedule, tools, check, what,
  in_file_as}` ([routines](routines.md)).
- `wake --json`: the API's answer as it came ([the wake API](api.md)).
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
    parts.append(JSON_SHAPES)
    return "\n".join(parts)


if __name__ == "__main__":
    (ROOT / "docs" / "cli.md").write_text(render(), encoding="utf-8")
    print("wrote docs/cli.md")
