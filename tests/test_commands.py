"""`- Run:` command tasks and `- Check:` code gates: real commands, 0 model requests."""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from localhb.cli import main
from localhb.format.checks import CheckKind, CheckSyntaxError, parse_check
from localhb.format.parser import parse
from localhb.state.ledger import Ledger
from tests.scripted_llm import ScriptedLLM
from tests.test_heartbeat import Run, hb_file, make_home, run

__all__ = ["run"]  # fixtures


def rows(home: Path) -> list[tuple[str, str, str, int]]:
    with Ledger.open(home / "state.db") as ledger:
        return [
            (r.task_id, r.kind, r.state, r.prompt_tokens + r.completion_tokens)
            for r in reversed(ledger.runs())
        ]


def set_config(home: Path, **tables: dict[str, Any]) -> None:
    import tomllib

    data = tomllib.loads((home / "config.toml").read_text())
    for name, table in tables.items():
        data.setdefault(name, {}).update(table)
    (home / "config.toml").write_text(tomli_w.dumps(data), encoding="utf-8")


BACKUP = """## Pending
### Backup notes
- Recurring: every 1h
- Run: printf 'line one\\nsaved 3 files\\n' && printf 'x' > backup.txt
## Completed
"""


def test_run_task_runs_its_command_without_the_model(
    tmp_path: Path, server: ScriptedLLM, run: Run
) -> None:
    """A due `Run:` task runs its command: ok, last output line as summary, 0 requests."""
    home = make_home(tmp_path, server, BACKUP)
    code, out, err = run(home, "--now", "2024-01-15 10:00")
    assert code == 0, err
    assert out == "backup-notes: ok - saved 3 files\n"
    assert (home / "workspace" / "backup.txt").read_text() == "x"
    assert server.requests == []
    assert rows(home) == [("backup-notes", "task", "ok", 0)]
    task = parse(hb_file(home).read_text()).task("backup-notes")
    assert task is not None and task.field("last run") is not None
    assert task.field("last run").value == "2024-01-15 10:00 (ok)"  # type: ignore[union-attr]
    latest = json.loads((home / "health" / "backup-notes_latest.json").read_text())
    assert latest["status"] == "ok" and latest["metrics"]["prompt_tokens"] == 0


def test_run_task_needs_no_api_key(tmp_path: Path, server: ScriptedLLM, run: Run) -> None:
    """With no key and no endpoint configured a `Run:` task still runs (nothing connects)."""
    home = make_home(tmp_path, server, BACKUP)
    (home / "config.toml").write_text('[heartbeat]\ntimezone = "UTC"\n', encoding="utf-8")
    code, out, err = run(home, "--now", "2024-01-15 10:00")
    assert (code, out) == (0, "backup-notes: ok - saved 3 files\n"), err


def test_failing_command_is_an_error_with_its_output_tail(
    tmp_path: Path, server: ScriptedLLM, run: Run
) -> None:
    """A non-zero exit is an error; the summary names the code and the output's last line."""
    text = (
        "## Pending\n### Sync\n- Recurring: every 1h\n"
        "- Run: echo starting; echo 'disk full' >&2; exit 3\n"
    )
    home = make_home(tmp_path, server, text)
    code, out, _ = run(home, "--now", "2024-01-15 10:00")
    assert (code, out) == (1, "sync: error - exit 3: disk full\n")
    task = parse(hb_file(home).read_text()).task("sync")
    assert task is not None and task.field("last error") is not None
    assert "exit 3: disk full" in task.field("last error").value  # type: ignore[union-attr]
    assert server.requests == []


def test_failed_command_reads_honestly_in_health_and_runs_show(
    tmp_path: Path, server: ScriptedLLM, run: Run, capsys: pytest.CaptureFixture[str]
) -> None:
    """`health` and the health file say how the command failed; `runs show` shows the
    command, how it ended and its output, not a model."""
    text = (
        "## Pending\n### Sync\n- Recurring: every 1h\n"
        "- Run: echo starting; echo 'disk full' >&2; exit 3\n"
    )
    home = make_home(tmp_path, server, text)
    assert run(home, "--now", "2024-01-15 10:00")[0] == 1
    latest = json.loads((home / "health" / "sync_latest.json").read_text())
    assert latest["errors"] == ["exit 3: disk full"]
    capsys.readouterr()
    assert main(["--home", str(home), "health", "--now", "2024-01-15 10:01"]) == 1
    health = capsys.readouterr().out
    assert "exit 3: disk full" in health and "stopped: command" not in health
    assert main(["--home", str(home), "runs", "show", "sync"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1:4] == [
        "> sync: command, no model",
        "   0 run(echo starting; echo 'disk full' >&2; exit 3) -> ERROR: exit 3: disk full",
        "= error: exit 3: disk full",
    ]
    assert lines[4:6] == ["  starting", "  disk full"]
    assert "(none)" not in "\n".join(lines) and not any(ln.startswith("  !") for ln in lines)
    assert server.requests == []


def test_command_past_task_timeout_is_killed_as_an_error(
    tmp_path: Path, server: ScriptedLLM, run: Run
) -> None:
    """A command still running at task_timeout is killed, and the run is an error."""
    text = "## Pending\n### Slow\n- Recurring: every 1h\n- Run: echo begun; sleep 30\n"
    home = make_home(tmp_path, server, text)
    set_config(home, agent={"task_timeout": "1s"})
    code, out, _ = run(home, "--now", "2024-01-15 10:00")
    assert code == 1
    assert out.startswith("slow: error - timed out after 1s and was killed: begun")


def test_denied_command_is_refused_and_never_runs(
    tmp_path: Path, server: ScriptedLLM, run: Run
) -> None:
    """The shell policy applies to `Run:` commands: a denied one is refused, not run."""
    text = "## Pending\n### Wipe\n- Recurring: every 1h\n- Run: rm -rf ~ && touch ran.txt\n"
    home = make_home(tmp_path, server, text)
    code, out, _ = run(home, "--now", "2024-01-15 10:00")
    assert code == 1 and "refused: the command matches the deny pattern" in out
    assert not (home / "workspace" / "ran.txt").exists()


GATED = """## Pending
### Deploy when flagged
- Check: {check}
- Run: echo deployed > deployed.txt
## Completed
"""


def test_command_check_gates_a_run_task(tmp_path: Path, server: ScriptedLLM, run: Run) -> None:
    """A `Check:` command gates the task: not met leaves it pending; met runs it; 0 tokens."""
    home = make_home(tmp_path, server, GATED.format(check="ls ready.flag"))
    code, out, _ = run(home, "--now", "2024-01-15 10:00")
    assert code == 0
    assert out.startswith("deploy-when-flagged (check): skipped - check not met: exit 2")
    assert not (home / "workspace" / "deployed.txt").exists()
    task = parse(hb_file(home).read_text()).task("deploy-when-flagged")
    assert task is not None and "(not met)" in task.field("last checked").value  # type: ignore[union-attr]
    (home / "workspace" / "ready.flag").write_text("")
    code, out, _ = run(home, "--now", "2024-01-15 10:30")
    assert (code, out) == (0, "deploy-when-flagged: ok - exit 0\n")
    assert (home / "workspace" / "deployed.txt").read_text() == "deployed\n"
    assert "### Deploy when flagged" in hb_file(home).read_text().split("## Completed")[1]
    assert server.requests == []
    assert [r[3] for r in rows(home)] == [0, 0, 0]


def test_runs_show_names_the_code_check(
    tmp_path: Path, server: ScriptedLLM, run: Run, capsys: pytest.CaptureFixture[str]
) -> None:
    """`runs show` of a code check says what was checked, with no model, and how it ended."""
    home = make_home(tmp_path, server, GATED.format(check="ls ready.flag"))
    run(home, "--now", "2024-01-15 10:00")
    capsys.readouterr()
    assert main(["--home", str(home), "runs", "show", "deploy-when-flagged"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1:3] == [
        "> deploy-when-flagged: check in code, no model",
        "   0 check(command `ls ready.flag` exits 0) -> ok",
    ]
    assert lines[3].startswith("= condition not met: exit 2: ls: cannot access")
    assert server.requests == []


def test_check_command_runs_under_the_read_only_policy(
    tmp_path: Path, server: ScriptedLLM, run: Run
) -> None:
    """A `Check:` command that is not read-only is refused: an error, the task not run."""
    home = make_home(tmp_path, server, GATED.format(check="touch ready.flag"))
    code, out, _ = run(home, "--now", "2024-01-15 10:00")
    assert code == 1 and "refused: a `Check:` command runs under the read-only policy" in out
    assert "write `Check: file <path> exists`" in out and "decide from" not in out
    assert not (home / "workspace" / "ready.flag").exists()


def test_validate_warns_of_commands_the_policy_refuses(
    tmp_path: Path, server: ScriptedLLM, capsys: pytest.CaptureFixture[str]
) -> None:
    """`validate` warns (exit 0) of a `Check:` that is not read-only and a `Run:` that needs
    approval, on their lines, in words for a person; an allowed one is not mentioned."""
    text = (
        "## Pending\n### Gate\n- Recurring: every 1h\n- Check: test -f ready.flag\n"
        "- Run: echo go\n### Up\n- Recurring: every 1h\n- Run: sudo apt-get upgrade\n"
        "### Fine\n- Check: ls ready.flag\n- Run: echo fine\n"
    )
    home = make_home(tmp_path, server, text)
    set_config(home, tools={"shell": {"require_approval": [r"\bsudo\b"]}})
    assert main(["--home", str(home), "validate"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].endswith(
        "HEARTBEAT.md:4: warning: will be refused: a `Check:` command runs under the "
        "read-only policy: it must match a [tools.shell] read_only pattern, with no shell "
        "operators (; & | < > ` $); for a file write `Check: file <path> exists`, or add a "
        "pattern to read_only"
    )
    assert (
        "HEARTBEAT.md:8: warning: will be refused: the command needs a person's approval"
        in (lines[1])
    )
    assert "a `Run:` task runs unattended, so it is never run" in lines[1]
    assert "finish with status" not in lines[1] and len(lines) == 3
    assert main(["--home", str(home), "validate", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["warnings"] == 2


def test_file_exists_check(tmp_path: Path, server: ScriptedLLM, run: Run) -> None:
    """`Check: file <path> exists` is met once the file is there."""
    home = make_home(tmp_path, server, GATED.format(check="file inbox/new.txt exists"))
    assert "check not met: does not exist" in run(home, "--now", "2024-01-15 10:00")[1]
    (home / "workspace" / "inbox").mkdir()
    (home / "workspace" / "inbox" / "new.txt").write_text("hi")
    assert run(home, "--now", "2024-01-15 10:30")[1] == "deploy-when-flagged: ok - exit 0\n"


def test_file_changed_check_on_a_recurring_task(
    tmp_path: Path, server: ScriptedLLM, run: Run
) -> None:
    """`file <path> changed`: the first look records, then each change runs the task once."""
    text = (
        "## Pending\n### Rebuild\n- Recurring: every 10m\n"
        "- Check: file notes.md changed\n- Run: echo rebuilt >> log.txt\n"
    )
    home = make_home(tmp_path, server, text)
    notes = home / "workspace" / "notes.md"
    notes.write_text("v1")
    assert "check not met: first look" in run(home, "--now", "2024-01-15 10:00")[1]
    assert "check not met: unchanged" in run(home, "--now", "2024-01-15 10:10")[1]
    notes.write_text("v2")
    assert run(home, "--now", "2024-01-15 10:20")[1] == "rebuild: ok - exit 0\n"
    assert "check not met: unchanged" in run(home, "--now", "2024-01-15 10:30")[1]
    assert (home / "workspace" / "log.txt").read_text() == "rebuilt\n"
    assert server.requests == []


def test_file_changed_check_on_a_fifo_does_not_hang(
    tmp_path: Path, server: ScriptedLLM, run: Run
) -> None:
    """`file <path> changed` on a FIFO looks at it without reading it (issue 11 D10)."""
    import os

    text = (
        "## Pending\n### Watch\n- Recurring: every 10m\n"
        "- Check: file pipe changed\n- Run: echo ran >> log.txt\n"
    )
    home = make_home(tmp_path, server, text)
    os.mkfifo(home / "workspace" / "pipe")
    assert "check not met: first look" in run(home, "--now", "2024-01-15 10:00")[1]
    assert "check not met: unchanged" in run(home, "--now", "2024-01-15 10:10")[1]


@pytest.fixture
def site() -> Iterator[str]:
    """A real HTTP server on 127.0.0.1: /up answers 200 "all systems go", /down 503."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            code, body = (200, b"all systems go") if self.path == "/up" else (503, b"down")
            self.send_response(code)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02})
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


@pytest.mark.parametrize(
    ("check", "met"),
    [
        ("GET {site}/up is 200", True),
        ("GET {site}/down is 200", False),
        ("GET {site}/down is 503", True),
        ('GET {site}/up contains "systems go"', True),
        ("GET {site}/down contains systems", False),
    ],
)
def test_http_checks(
    tmp_path: Path, server: ScriptedLLM, run: Run, site: str, check: str, met: bool
) -> None:
    """`GET <url> is <status>` and `GET <url> contains <text>` are decided by code."""
    home = make_home(tmp_path, server, GATED.format(check=check.format(site=site)))
    set_config(home, tools={"http": {"allowed_hosts": ["127.0.0.1"]}})  # loopback: opt in
    out = run(home, "--now", "2024-01-15 10:00")[1]
    want = "deploy-when-flagged: ok" if met else "deploy-when-flagged (check): skipped"
    assert out.startswith(want), out
    assert server.requests == []


def test_http_check_obeys_allowed_hosts(
    tmp_path: Path, server: ScriptedLLM, run: Run, site: str
) -> None:
    """A GET check obeys [tools.http]: other hosts and unlisted loopback are refused."""
    home = make_home(tmp_path, server, GATED.format(check=f"GET {site}/up is 200"))
    code, out, _ = run(home, "--now", "2024-01-15 10:00")
    assert code == 1 and "an internal address" in out
    set_config(home, tools={"http": {"allowed_hosts": ["example.com"]}})
    code, out, _ = run(home, "--now", "2024-01-15 10:30")
    assert code == 1 and "not in [tools.http] allowed_hosts" in out


def test_code_check_runs_before_the_model_condition(
    tmp_path: Path, server: ScriptedLLM, run: Run
) -> None:
    """With both, the code check goes first; the model is asked only once it passes."""
    text = (
        "## Pending\n### Publish\n- Check: file draft.md exists\n"
        "- Condition: the draft reads as finished\n- Description: publish it\n"
    )
    home = make_home(tmp_path, server, text)
    assert "check not met" in run(home, "--now", "2024-01-15 10:00")[1]
    assert server.requests == []
    (home / "workspace" / "draft.md").write_text("done")
    server.report(True, "it is finished").complete("ok", "published")
    code, out, err = run(home, "--now", "2024-01-15 10:30")
    assert (code, out) == (0, "publish: ok - published\n"), err
    assert len(server.requests) == 2


@pytest.mark.parametrize(
    ("value", "kind", "target", "expect"),
    [
        ("pgrep nginx", CheckKind.COMMAND, "pgrep nginx", ""),
        ("`test -f x`", CheckKind.COMMAND, "test -f x", ""),
        ("GET https://x.org/health is 204", CheckKind.HTTP_STATUS, "https://x.org/health", "204"),
        ("GET http://h/ contains 'ok now'", CheckKind.HTTP_CONTAINS, "http://h/", "ok now"),
        ("file ~/a b.txt exists", CheckKind.FILE_EXISTS, "~/a b.txt", ""),
        ("File notes.md changed", CheckKind.FILE_CHANGED, "notes.md", ""),
    ],
)
def test_check_forms_parse(value: str, kind: CheckKind, target: str, expect: str) -> None:
    """Each documented `Check:` form parses to its kind, target and expectation."""
    spec = parse_check(value)
    assert (spec.kind, spec.target, spec.expect) == (kind, target, expect)


@pytest.mark.parametrize(
    "value",
    ["GET http://h/", "GET http://h/ is ok", "GET example.org/up is 200", "file x.txt", ""],
)
def test_bad_check_is_a_file_error(value: str) -> None:
    """A `Check:` that starts like a GET or file check but is malformed is a line error."""
    with pytest.raises(CheckSyntaxError):
        parse_check(value)
    doc = parse(f"## Pending\n### T\n- Check: {value}\n- Run: true\n")
    assert doc.errors and doc.errors[0].line == 3


def test_tasks_and_explain_say_which_tasks_cost_tokens(
    tmp_path: Path, server: ScriptedLLM, capsys: pytest.CaptureFixture[str]
) -> None:
    """`tasks --json`, the table and `validate --explain` tell model tasks from 0-token ones."""
    text = BACKUP.replace("## Completed", "### Write report\n- Description: write\n## Completed")
    home = make_home(tmp_path, server, text)
    assert main(["--home", str(home), "tasks", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {r["id"]: r["uses_model"] for r in data} == {
        "backup-notes": False,
        "write-report": True,
    }
    assert main(["--home", str(home), "tasks"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert "TOKENS" in table[0]
    assert " 0 " in table[1] and " model " in table[2]
    assert main(["--home", str(home), "validate", "--explain"]) == 0
    out = capsys.readouterr().out
    assert "never uses the model (0 tokens)" in out and "uses the model (tokens)" in out
    assert "1 use the model, 1 never do (0 tokens)" in out


def test_localhb_run_runs_the_command_with_a_trace(
    tmp_path: Path, server: ScriptedLLM, capsys: pytest.CaptureFixture[str]
) -> None:
    """`localhb run` on a `Run:` task runs the command (no model) and prints its trace."""
    home = make_home(tmp_path, server, GATED.format(check="file go.flag exists"))
    assert main(["--home", str(home), "run", "deploy-when-flagged", "--check"]) == 0
    assert "= check not met: does not exist" in capsys.readouterr().out
    (home / "workspace" / "go.flag").write_text("")
    assert main(["--home", str(home), "run", "deploy-when-flagged", "--check"]) == 0
    out = capsys.readouterr().out
    assert "command, no model" in out and "= ok: exit 0" in out and "0+0 tokens" in out
    assert server.requests == []


@pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed")
def test_run_command_runs_inside_the_sandbox(tmp_path: Path, server: ScriptedLLM, run: Run) -> None:
    """Under `sandbox = "bubblewrap"` a `Run:` command cannot see localhb's home."""
    text = "## Pending\n### Peek\n- Recurring: every 1h\n- Run: ls {db} && echo visible\n"
    home = make_home(tmp_path, server, "")
    hb_file(home).write_text(text.format(db=home / "config.toml"))
    set_config(home, tools={"shell": {"sandbox": "bubblewrap"}})
    code, out, _ = run(home, "--now", "2024-01-15 10:00")
    if "refused: commands are refused" in out:
        pytest.skip("bubblewrap cannot run here: " + out.strip())
    assert code == 1 and "visible" not in out
