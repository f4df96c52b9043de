"""MCP tool servers through the official SDK, against real servers from PyPI over stdio."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from localhb.cli import main
from localhb.config import config_from_mapping
from localhb.core.errors import ConfigError
from tests.scripted_llm import ScriptedLLM
from tests.test_budget import documented_keys
from tests.test_commands import set_config
from tests.test_heartbeat import Run, hb_file, make_home, run

__all__ = ["run"]  # fixtures

BIN = Path(sys.executable).parent
TIME = BIN / "mcp-server-time"
GIT = BIN / "mcp-server-git"
pytestmark = pytest.mark.skipif(
    not (TIME.exists() and GIT.exists()), reason="mcp-server-time/-git not installed (test extra)"
)

TASK = "## Pending\n### Report\n- Description: say what time it is and the last commit\n"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A temporary git repository with one commit."""
    path = tmp_path / "repo"
    path.mkdir()
    git = ["git", "-C", str(path), "-c", "user.email=t@example.com", "-c", "user.name=T"]
    subprocess.run([*git, "init", "-q"], check=True)
    (path / "README.md").write_text("hello\n")
    subprocess.run([*git, "add", "README.md"], check=True)
    subprocess.run([*git, "commit", "-qm", "the very first commit"], check=True)
    return path


def servers(repo: Path, marker: Path | None = None, **extra: dict[str, Any]) -> dict[str, Any]:
    """[[mcp.servers]] for mcp-server-time and mcp-server-git (touching `marker` on start)."""
    time_cmd: dict[str, Any] = {"command": str(TIME), "args": ["--local-timezone", "UTC"]}
    if marker is not None:
        time_cmd = {"command": "sh", "args": ["-c", f'touch "{marker}"; exec "{TIME}"']}
    entries = [
        {"name": "time", **time_cmd},
        {"name": "git", "command": str(GIT), "args": ["--repository", str(repo)]},
    ]
    entries += [{"name": name, **spec} for name, spec in extra.items()]
    return {"servers": entries}


def alive(fragment: str) -> list[str]:
    """Command lines of live processes that contain `fragment` (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if fragment in cmd and state not in ("Z", "X"):
            found.append(cmd)
    return found


def tool_results(server: ScriptedLLM, request: int) -> list[str]:
    return [m["content"] for m in server.requests[request].messages if m["role"] == "tool"]


def test_agent_calls_real_time_and_git_servers(
    tmp_path: Path, server: ScriptedLLM, run: Run, repo: Path
) -> None:
    """Tools appear as <server>__<tool> with their schemas; results come back as untrusted data."""
    home = make_home(tmp_path, server, TASK)
    set_config(home, mcp=servers(repo))
    server.call("time__get_current_time", {"timezone": "Europe/Berlin"})
    server.call("git__git_log", {"repo_path": str(repo), "max_count": 1})
    server.complete("ok", "reported")
    code, out, err = run(home, "--now", "2024-01-15 10:00")
    assert (code, out) == (0, "report: ok - reported\n"), err
    offered = {t["function"]["name"]: t["function"] for t in server.requests[0].body["tools"]}
    assert {"time__get_current_time", "time__convert_time", "git__git_log"} <= set(offered)
    assert "timezone" in offered["time__get_current_time"]["parameters"]["properties"]
    (time_result,) = tool_results(server, 1)
    assert "Europe/Berlin" in time_result and '"datetime"' in time_result
    assert time_result.startswith("<tool_output") and "untrusted" in time_result.lower()
    git_result = tool_results(server, 2)[1]
    assert "the very first commit" in git_result
    assert alive(str(repo)) == []  # stopped with the cycle


def test_servers_start_on_first_use_only(
    tmp_path: Path, server: ScriptedLLM, run: Run, repo: Path
) -> None:
    """An idle cycle and a cycle of Run: tasks start no server; a model task does."""
    marker = tmp_path / "time-started"
    text = "## Pending\n### Later\n- Due: 2099-01-01 10:00\n- Description: x\n"
    home = make_home(tmp_path, server, text)
    set_config(home, mcp=servers(repo, marker))
    assert run(home, "--now", "2024-01-15 10:00")[1] == "HEARTBEAT_OK\n"
    hb_file(home).write_text("## Pending\n### Tick\n- Recurring: every 1h\n- Run: echo tick\n")
    assert run(home, "--now", "2024-01-15 10:00")[1] == "tick: ok - tick\n"
    assert not marker.exists()
    assert server.requests == []
    hb_file(home).write_text(TASK)
    server.complete("ok", "done")
    assert run(home, "--now", "2024-01-15 11:00")[1] == "report: ok - done\n"
    assert marker.exists()


def test_tools_line_picks_servers_and_single_tools(
    tmp_path: Path, server: ScriptedLLM, run: Run, repo: Path
) -> None:
    """`- Tools:` names families, servers (`time`) and single tools (`git__git_status`)."""
    text = TASK + "- Tools: files, time, git__git_status\n"
    home = make_home(tmp_path, server, text)
    set_config(home, mcp=servers(repo))
    server.complete("ok", "done")
    assert run(home, "--now", "2024-01-15 10:00")[0] == 0
    names = {t["function"]["name"] for t in server.requests[0].body["tools"]}
    assert {"time__get_current_time", "time__convert_time", "git__git_status"} <= names
    assert "git__git_log" not in names and "run_command" not in names and "read_file" in names


def test_server_that_exits_at_once_is_told_to_the_model(
    tmp_path: Path, server: ScriptedLLM, capsys: pytest.CaptureFixture[str], repo: Path
) -> None:
    """A server that exits at once: a trace line, a note to the model, and its start failure
    (not "unknown tool") as the result of a call of one of its tools; the run goes on."""
    home = make_home(tmp_path, server, TASK)
    set_config(home, mcp=servers(repo, dead={"command": "false"}))
    server.call("dead__anything", {}).complete("ok", "coped")
    assert main(["--home", str(home), "run", "report"]) == 0
    out = capsys.readouterr().out
    assert "mcp(start) -> ERROR: MCP server 'dead' is unavailable: exited" in out
    assert "mcp(start time, git) -> ok" in out
    sent = json.dumps(server.requests[0].messages)
    assert "MCP server 'dead' is unavailable" in sent
    (result,) = tool_results(server, 1)
    assert "MCP server 'dead' did not start: exited" in result
    assert "there is no tool" not in result


def test_server_that_hangs_is_bounded_and_killed(
    tmp_path: Path, server: ScriptedLLM, run: Run, repo: Path
) -> None:
    """A server that never answers is given up after its timeout and its process is killed."""
    home = make_home(tmp_path, server, TASK)
    hang = {"command": "sleep", "args": [str(6000 + os.getpid() % 1000)], "timeout": "1s"}
    set_config(home, mcp=servers(repo, hang=hang))
    server.complete("ok", "fine")
    code, out, _ = run(home, "--now", "2024-01-15 10:00")
    assert (code, out) == (0, "report: ok - fine\n")
    assert "did not start within 1s" in json.dumps(server.requests[0].messages)
    assert alive(f"sleep {6000 + os.getpid() % 1000}") == []


def test_mcp_list_shows_servers_and_tools(
    tmp_path: Path, server: ScriptedLLM, capsys: pytest.CaptureFixture[str], repo: Path
) -> None:
    """`localhb mcp list` tells whether each server starts and its tools; exit 1 if one fails."""
    home = make_home(tmp_path, server, TASK)
    set_config(home, mcp=servers(repo))
    assert main(["--home", str(home), "mcp", "list"]) == 0
    out = capsys.readouterr().out
    assert "time (stdio: " in out and "): starts" in out and "  time__get_current_time  " in out
    assert "  git__git_log  " in out
    set_config(home, mcp=servers(repo, dead={"command": str(tmp_path / "missing")}))
    assert main(["--home", str(home), "mcp", "list", "--json"]) == 1
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["time"]["ok"] and not rows["dead"]["ok"]
    entry, tool = documented_keys("mcp list")  # the shape docs/cli.md gives
    assert set(rows["time"]) == entry and set(rows["time"]["tools"][0]) == tool
    assert rows["dead"]["error"].startswith("cannot start")
    listed = subprocess.run(  # a process of its own: Python's last-resort stderr logger
        [sys.executable, "-m", "localhb", "--home", str(home), "mcp", "list"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert listed.returncode == 1
    assert "dead (stdio: " in listed.stdout and "does NOT start: cannot start" in listed.stdout
    assert listed.stderr == ""  # said once, on stdout, not again as a stray warning


def test_doctor_starts_each_server_and_lists_its_tools(
    tmp_path: Path, server: ScriptedLLM, repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`localhb doctor` checks every [[mcp.servers]] entry: its tools, or why it does not start."""
    home = make_home(tmp_path, server, TASK)
    missing = tmp_path / "no-such-server"
    set_config(home, mcp=servers(repo, dead={"command": str(missing), "args": ["--x"]}))
    server.models = ["scripted"]
    server.call("report_word", {"word": "pong"})
    assert main(["--home", str(home), "doctor"]) == 1
    out = capsys.readouterr().out
    assert "ok   tools     a tool call came back" in out
    (time_line,) = [ln for ln in out.splitlines() if "mcp time" in ln]
    assert time_line.startswith("ok   mcp time  starts; 2 tool(s): ")
    assert "time__get_current_time" in time_line and "time__convert_time" in time_line
    (git_line,) = [ln for ln in out.splitlines() if "mcp git" in ln]
    assert "git__git_log" in git_line
    (dead_line,) = [ln for ln in out.splitlines() if "mcp dead" in ln]
    assert dead_line.startswith("FAIL mcp dead  does not start: cannot start")
    assert f"try it by hand: {missing} --x" in out
    assert out.rstrip().endswith("doctor: problems found")
    set_config(home, mcp=servers(repo))
    server.call("report_word", {"word": "pong"})
    assert main(["--home", str(home), "doctor", "--json"]) == 0
    checks = {c["name"]: c for c in json.loads(capsys.readouterr().out)}
    assert checks["mcp time"]["status"] == checks["mcp git"]["status"] == "ok"
    assert all(set(c) == documented_keys("doctor")[0] for c in checks.values())
    assert alive(str(repo)) == []  # doctor stops what it started


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"name": "x"}, "give either `command`"),
        ({"name": "x", "command": "a", "url": "http://h/mcp"}, "give either `command`"),
        ({"name": "a b", "command": "a"}, "expected a short name"),
        ({"name": "x", "url": "ftp://h"}, "http:// or https://"),
        ({"name": "x", "command": "a", "argz": []}, "unknown key"),
    ],
)
def test_bad_server_entries_name_the_key(
    tmp_path: Path, entry: dict[str, Any], message: str
) -> None:
    """A malformed [[mcp.servers]] entry is a config error naming where."""
    with pytest.raises(ConfigError, match=message) as exc:
        config_from_mapping({"mcp": {"servers": [entry]}}, home=tmp_path)
    assert "[mcp.servers[0]]" in str(exc.value)


def test_duplicate_server_names_are_refused(tmp_path: Path) -> None:
    """Two servers with one name would make `<server>__<tool>` ambiguous: an error."""
    with pytest.raises(ConfigError, match="another server"):
        config_from_mapping(
            {"mcp": {"servers": [{"name": "t", "command": "a"}, {"name": "t", "command": "b"}]}},
            home=tmp_path,
        )


def test_tools_line_knows_only_configured_servers() -> None:
    """`- Tools:` accepts configured MCP server names; any other word is a line error."""
    from localhb.format.parser import parse

    text = "## Pending\n### T\n- Tools: files, time, git__git_log\n"
    assert not parse(text, tool_names=["time", "git"]).errors
    doc = parse(text, tool_names=["time"])
    assert (
        doc.errors and "'git__git_log' is not a tool family or MCP server" in doc.errors[0].message
    )


@pytest.fixture
def http_server() -> Iterator[str]:
    """tests/mcp_http_server.py (the SDK's own server) over streamable HTTP on 127.0.0.1."""
    import socket
    import threading

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    script = Path(__file__).with_name("mcp_http_server.py")
    proc = subprocess.Popen(
        [sys.executable, str(script), str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    ready, pause = False, threading.Event()
    for _ in range(1500):  # wait for the server to listen (an event, not a time)
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                ready = True
                break
        if proc.poll() is not None:
            break
        pause.wait(0.02)
    try:
        if not ready:
            pytest.skip("the streamable HTTP test server did not start")
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        proc.kill()  # its stalled handler would hold a graceful shutdown
        proc.wait()


def test_streamable_http_server_and_a_call_that_hangs(
    tmp_path: Path, server: ScriptedLLM, run: Run, http_server: str
) -> None:
    """A `url` server works over streamable HTTP; a call past its timeout is a tool error."""
    home = make_home(tmp_path, server, TASK)
    set_config(home, mcp={"servers": [{"name": "echo", "url": http_server, "timeout": "5s"}]})
    server.call("echo__echo", {"text": "hello"})
    server.call("echo__stall", {"seconds": 30})
    server.complete("ok", "done")
    code, out, err = run(home, "--now", "2024-01-15 10:00")
    assert (code, out) == (0, "report: ok - done\n"), err
    assert "unavailable" not in json.dumps(server.requests[0].messages), server.requests[
        0
    ].messages[-1]
    assert "echo: hello" in tool_results(server, 1)[0]
    stalled = tool_results(server, 2)[1]
    assert "error" in stalled and "MCP server 'echo' did not answer within 5s" in stalled


def test_server_that_crashes_mid_call_ends_the_run_bounded(
    tmp_path: Path, server: ScriptedLLM, run: Run
) -> None:
    """A stdio server that dies during a call: a clear tool error, later calls say it stopped,
    the run finishes well inside its bounds, and no process is left."""
    script = Path(__file__).with_name("mcp_crash_server.py")
    home = make_home(tmp_path, server, TASK)
    entry = {"name": "crashy", "command": sys.executable, "args": [str(script)], "timeout": "60s"}
    set_config(home, mcp={"servers": [entry]}, agent={"task_timeout": "120s"})
    server.call("crashy__echo", {"text": "before"})
    server.call("crashy__crash", {})
    server.call("crashy__echo", {"text": "after"})
    server.complete("ok", "coped")
    code, out, err = run(home, "--now", "2024-01-15 10:00")
    assert (code, out) == (0, "report: ok - coped\n"), err
    assert "echo: before" in tool_results(server, 1)[0]
    crashed = tool_results(server, 2)[1]
    assert "error: MCP server 'crashy' stopped: it stopped during a call of crash" in crashed
    assert "its stderr ends: crashy: exiting mid-call" in crashed
    after = tool_results(server, 3)[2]
    assert "error: MCP server 'crashy' is unavailable: it stopped during a call" in after
    assert "did not answer" not in crashed  # told at once, not after the 60 s timeout
    assert alive(str(script)) == []
