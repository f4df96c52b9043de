"""`localhb doctor` against the scripted server: each check, its fix, --json, exit codes."""

from __future__ import annotations

import json
import shutil
import socket
from pathlib import Path

import pytest

from localhb.cli import main
from tests.scripted_llm import ScriptedLLM, scripted_llm

__all__ = ["scripted_llm"]


def write_home(tmp_path: Path, base_url: str, model: str = "scripted-model") -> Path:
    home = tmp_path / "lhb"
    home.mkdir(exist_ok=True)
    (home / "config.toml").write_text(
        f'[llm]\nbase_url = "{base_url}"\nmodel = "{model}"\nrequest_timeout = "5s"\n'
    )
    return home


def doctor(home: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, dict[str, str]]]:
    code = main(["--home", str(home), "doctor", "--json"])
    checks = json.loads(capsys.readouterr().out)
    return code, {c["name"]: c for c in checks}


def test_a_ready_endpoint(
    scripted_llm: ScriptedLLM, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Model listed and a tool call back: every check ok, exit 0, one tiny tool sent."""
    scripted_llm.call("report_word", {"word": "pong"})
    code = main(["--home", str(write_home(tmp_path, scripted_llm.base_url)), "doctor"])
    out = capsys.readouterr().out
    assert code == 0 and "FAIL" not in out and "the endpoint looks ready" in out
    assert "ok   tools     a tool call came back: report_word" in out
    sent = scripted_llm.requests[0].body
    assert [t["function"]["name"] for t in sent["tools"]] == ["report_word"]


def test_a_stopped_server(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Nobody listening: reach fails with a fix, the rest is skipped, exit 1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    code, checks = doctor(write_home(tmp_path, f"http://127.0.0.1:{port}/v1"), capsys)
    assert code == 1
    assert checks["reach"]["status"] == "fail" and "start the server" in checks["reach"]["fix"]
    assert checks["tools"]["status"] == "skip"


def test_a_model_not_offered(
    scripted_llm: ScriptedLLM, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """[llm] model missing from /models fails, listing what is offered."""
    scripted_llm.models = ["llama3.2", "qwen2.5:7b"]
    scripted_llm.error(404, "model 'lama3.2' not found")
    code, checks = doctor(write_home(tmp_path, scripted_llm.base_url, "lama3.2"), capsys)
    assert code == 1
    assert "llama3.2, qwen2.5:7b" in checks["model"]["detail"]
    assert checks["tools"]["status"] == "fail" and "[llm] model" in checks["tools"]["fix"]


def test_tool_call_written_as_text_is_a_warning(
    scripted_llm: ScriptedLLM, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A call that comes back as Hermes text: localhb can read it, but says so."""
    scripted_llm.text(
        '<tool_call>{"name": "report_word", "arguments": {"word": "pong"}}</tool_call>'
    )
    code, checks = doctor(write_home(tmp_path, scripted_llm.base_url), capsys)
    assert code == 0 and checks["tools"]["status"] == "warn"
    assert "Hermes" in checks["tools"]["detail"]


def test_text_answer_fails_the_probe(
    scripted_llm: ScriptedLLM, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A model that answers the probe in text fails it, with what it said."""
    scripted_llm.text("Sure! The word is pong.")
    code, checks = doctor(write_home(tmp_path, scripted_llm.base_url), capsys)
    assert code == 1 and "no tool call came back" in checks["tools"]["detail"]
    assert "The word is pong" in checks["tools"]["detail"]


def test_jinja_missing(
    scripted_llm: ScriptedLLM, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """llama.cpp without --jinja: the probe fails and the fix names --jinja."""
    scripted_llm.error(500, "tools param requires --jinja flag")
    code, checks = doctor(write_home(tmp_path, scripted_llm.base_url), capsys)
    assert code == 1 and "--jinja" in checks["tools"]["fix"]


def test_llamacpp_template_without_tools(
    scripted_llm: ScriptedLLM, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """/props with a template that knows no tools: the silent loss of tools is named."""
    scripted_llm.props = {"chat_template": "{% for m in messages %}{{ m.content }}{% endfor %}"}
    scripted_llm.text("pong")
    code, checks = doctor(write_home(tmp_path, scripted_llm.base_url), capsys)
    assert code == 1 and checks["template"]["status"] == "fail"
    assert "drops every tool schema" in checks["template"]["detail"]
    scripted_llm.props = {"chat_template": "x", "chat_template_caps": {"supports_tools": True}}
    scripted_llm.call("report_word", {"word": "pong"})
    code, checks = doctor(write_home(tmp_path, scripted_llm.base_url), capsys)
    assert code == 0 and checks["template"]["status"] == "ok"


def test_missing_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A remote endpoint and no key: the key check fails with what to set."""
    code, checks = doctor(write_home(tmp_path, "https://api.example.com/v1"), capsys)
    assert code == 1 and checks["key"]["status"] == "fail"
    assert "OPENAI_API_KEY" in checks["key"]["fix"]


def test_run_suggests_doctor_after_a_setup_failure(
    scripted_llm: ScriptedLLM, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`localhb run` ending on a wrong model name prints the fix and suggests doctor."""
    home = write_home(tmp_path, scripted_llm.base_url, "lama3.2")
    (home / "workspace").mkdir()
    (home / "workspace" / "HEARTBEAT.md").write_text("## Pending\n### Tidy\n- Description: x\n")
    scripted_llm.error(404, "model 'lama3.2' not found")
    assert main(["--home", str(home), "run", "tidy"]) == 1
    err = capsys.readouterr().err
    assert "fix: check [llm] model ('lama3.2')" in err and "run `localhb doctor`" in err
    assert len(scripted_llm.requests) == 1


@pytest.mark.parametrize(
    ("mode", "status", "words"),
    [
        ("auto", "warn", "no OS sandbox: bubblewrap (bwrap) is not installed"),
        ("bubblewrap", "fail", "commands are refused"),
        ("none", "warn", 'no OS sandbox ([tools.shell] sandbox = "none")'),
    ],
)
def test_sandbox_check_says_what_protects_commands(
    tmp_path: Path, mode: str, status: str, words: str
) -> None:
    """doctor names the shell commands' protection (issue 11 D15): none is a warning,
    a required bubblewrap that is missing a failure."""
    from localhb.agent.doctor import sandbox_check
    from localhb.config import load_config

    home = write_home(tmp_path, "http://127.0.0.1:9/v1")
    (home / "config.toml").write_text(
        (home / "config.toml").read_text() + f'\n[tools.shell]\nsandbox = "{mode}"\n'
    )
    check = sandbox_check(load_config(home=home), which="")
    assert (check.name, check.status) == ("sandbox", status) and words in check.detail


@pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bubblewrap")
def test_doctor_reports_an_active_sandbox(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With bubblewrap present, doctor's sandbox line says what it isolates (the
    endpoint may be down: the sandbox is checked all the same)."""
    _, checks = doctor(write_home(tmp_path, "http://127.0.0.1:9/v1"), capsys)
    assert checks["sandbox"]["status"] == "ok"
    assert "own PID namespace" in checks["sandbox"]["detail"]
