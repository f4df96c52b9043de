"""The bubblewrap sandbox of run_command: what a command can see, write and reach.

These run the real `bwrap`; they skip where it is missing or cannot make a
sandbox (no user namespaces).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from localhb.agent.tools import CallStatus, Outcome, ToolContext, task_toolbox
from localhb.agent.tools.sandbox import Sandbox, choose, describe, wrap
from localhb.config import Config
from tests.scripted_llm import make_config, make_context

BOX = choose("auto")
needs_bwrap = pytest.mark.skipif(not BOX.active, reason=f"no bubblewrap sandbox: {BOX.note}")


def sandboxed(tmp_path: Path, **shell: object) -> Config:
    return make_config(
        tmp_path, "http://127.0.0.1:9/v1", tools={"shell": {"sandbox": "bubblewrap", **shell}}
    )


def run(ctx: ToolContext, command: str) -> Outcome:
    return task_toolbox(ctx.config).call("run_command", json.dumps({"command": command}), ctx)


def test_auto_without_bwrap_says_there_is_no_sandbox() -> None:
    """`auto` where bwrap is missing runs bare and says so; `bubblewrap` refuses."""
    auto = choose("auto", which="")
    assert not auto.active and "not installed" in describe(auto, network=True)
    strict = choose("bubblewrap", which="")
    assert strict.problem and "refused" in describe(strict, network=True)
    assert wrap(auto, "echo hi", workspace=Path("/w")) == ["/bin/sh", "-c", "echo hi"]
    assert choose("none").kind == "none"


def test_bubblewrap_mode_refuses_commands_without_bwrap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With sandbox = "bubblewrap" and no bwrap on PATH a command is refused, not run bare."""
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    ctx = make_context(sandboxed(tmp_path))
    outcome = run(ctx, "touch ran")
    assert outcome.status is CallStatus.REFUSED and "bubblewrap" in outcome.content
    assert not (ctx.paths.workspace / "ran").exists()


def test_wrap_hides_home_and_binds_roots_back() -> None:
    """The home holding the workspace is hidden first, then the workspace is bound back."""
    box = Sandbox("bubblewrap", "/usr/bin/bwrap")
    argv = wrap(box, "true", workspace=Path("/"), hidden=(), network=False)
    assert "--unshare-net" in argv and "--unshare-pid" in argv and "--die-with-parent" in argv
    assert argv[-3:] == ["/bin/sh", "-c", "true"]


@needs_bwrap
def test_commands_cannot_read_the_parent_environment(tmp_path: Path) -> None:
    """localhb's initial environment (/proc/$PPID/environ and every /proc/*/environ) is unseen."""
    workspace = tmp_path / "workspace"
    script = textwrap.dedent(
        f"""
        import json, sys
        from tests.scripted_llm import make_config, make_context
        from localhb.agent.tools import task_toolbox
        from pathlib import Path
        tmp = Path({str(tmp_path)!r})
        shell = {{"sandbox": sys.argv[1]}}
        cfg = make_config(tmp, "http://127.0.0.1:9/v1", tools={{"shell": shell}})
        ctx = make_context(cfg, env={{"PATH": "/usr/bin:/bin"}})
        cmd = "tr '\\\\0' '\\\\n' < /proc/$PPID/environ; cat /proc/*/environ | tr '\\\\0' '\\\\n'"
        out = task_toolbox(ctx.config).call("run_command", json.dumps({{"command": cmd}}), ctx)
        print(out.content)
        """
    )
    env = {**os.environ, "LEAKY_MARKER": "sk-parent-only-0123456789abcdef"}
    root = Path(__file__).resolve().parent.parent

    def child(mode: str) -> str:
        done = subprocess.run(
            [sys.executable, "-c", script, mode],
            env=env,
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        return done.stdout

    assert workspace.parent == tmp_path
    assert "sk-parent-only" in child("none")  # the attack works without the sandbox...
    assert "sk-parent-only" not in child("bubblewrap")  # ...and not inside it


@needs_bwrap
def test_commands_write_only_inside_the_workspace(tmp_path: Path) -> None:
    """The filesystem is read-only except the workspace and allowed directories."""
    extra = tmp_path / "extra"
    extra.mkdir()
    config = make_config(
        tmp_path,
        "http://127.0.0.1:9/v1",
        tools={"shell": {"sandbox": "bubblewrap"}, "allowed_directories": [str(extra)]},
    )
    ctx = make_context(config)
    outside = tmp_path / "outside.txt"
    outcome = run(
        ctx,
        f"echo x > {outside} ; touch /usr/localhb-probe ; echo y > {extra}/ok.txt ; "
        "echo z > inside.txt ; echo done",
    )
    assert outcome.ok and "done" in outcome.content
    assert "Read-only file system" in outcome.content
    assert not outside.exists() and not Path("/usr/localhb-probe").exists()
    assert (extra / "ok.txt").read_text() == "y\n"
    assert (ctx.paths.workspace / "inside.txt").read_text() == "z\n"


@needs_bwrap
def test_home_and_key_file_are_hidden(tmp_path: Path) -> None:
    """localhb's home (ledger, config) and the API key file are not readable by commands."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    (home / "state.db").write_text("ledger")
    key = tmp_path / "key.txt"
    key.write_text("sk-from-a-file-0123456789")
    config = sandboxed(tmp_path)
    ctx = make_context(config)
    ctx = ToolContext(**{**{f: getattr(ctx, f) for f in ctx.__slots__}, "hidden": (home, key)})
    outcome = run(ctx, f"cat {home}/state.db; cat {key}; echo end")
    assert "ledger" not in outcome.content and "sk-from-a-file" not in outcome.content
    assert "end" in outcome.content


@needs_bwrap
def test_network_off(tmp_path: Path) -> None:
    """With network = false a sandboxed command cannot connect even to loopback."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        # bash's /dev/tcp: no interpreter path that the sandbox might not mount
        probe = f"bash -c 'exec 3<>/dev/tcp/127.0.0.1/{port} && echo connected'"
        on = run(make_context(sandboxed(tmp_path)), probe)
        assert "connected" in on.content
        off = run(make_context(sandboxed(tmp_path, network=False)), probe)
        assert "connected" not in off.content and "exit code: 1" in off.content


@needs_bwrap
def test_timeout_kills_everything_in_the_sandbox(tmp_path: Path) -> None:
    """A sandboxed command past its timeout leaves no process behind."""
    ctx = make_context(sandboxed(tmp_path, timeout=0.5))
    outcome = run(ctx, "sleep 3021 & sleep 3021; wait")
    assert outcome.status is CallStatus.ERROR and "timed out" in outcome.content
    alive = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            cmdline = (status.parent / "cmdline").read_bytes()
            state = status.read_text()
        except OSError:
            continue
        if cmdline == b"sleep\x003021\x00" and "State:\tZ" not in state:
            alive.append(status.parent.name)
    assert not alive


@needs_bwrap
def test_no_new_privileges(tmp_path: Path) -> None:
    """Commands run with no_new_privs set, so setuid programs gain nothing."""
    outcome = run(make_context(sandboxed(tmp_path)), "grep NoNewPrivs /proc/self/status")
    assert "NoNewPrivs:\t1" in outcome.content
