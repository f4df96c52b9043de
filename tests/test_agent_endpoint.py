"""Keys, endpoints and secrets: what is sent where, and what never shows up."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from localhb.agent.endpoint import NO_KEY
from localhb.agent.loop import run_task
from localhb.core.errors import MissingAPIKey
from localhb.core.redact import Redactor
from localhb.core.results import Status, TraceEvent
from tests.scripted_llm import ScriptedLLM, make_config, make_task, scripted_llm

__all__ = ["scripted_llm"]

OPENAI_KEY = "sk-test-0123456789abcdefghij"
GITHUB_TOKEN = "ghp_abcdefghijklmnopqrstuvwxyz0123"
DB_PASSWORD = "hunter2-correct-horse"


def test_missing_key_names_the_variable(tmp_path: Path) -> None:
    """A remote endpoint without a key fails before sending, naming the env var."""
    config = make_config(tmp_path, "https://api.example.com/v1")
    with pytest.raises(MissingAPIKey) as caught:
        run_task(make_task(), config)
    assert (
        str(caught.value)
        == "no API key: set OPENAI_API_KEY (needed for https://api.example.com/v1)"
    )
    custom = make_config(tmp_path, "https://openrouter.ai/api/v1", llm={"api_key_env": "OR_KEY"})
    with pytest.raises(MissingAPIKey, match="set OR_KEY"):
        run_task(make_task(), custom)


def test_other_variables_do_not_stand_in_for_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With api_key_env set, OPENAI_API_KEY is not sent to another host instead."""
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)
    config = make_config(tmp_path, "https://openrouter.ai/api/v1", llm={"api_key_env": "OR_KEY"})
    with pytest.raises(MissingAPIKey, match="OR_KEY"):
        run_task(make_task(), config)


def test_local_endpoint_needs_no_key(scripted_llm: ScriptedLLM, tmp_path: Path) -> None:
    """A loopback endpoint runs without a key; the SDK gets a placeholder."""
    scripted_llm.complete()
    assert run_task(make_task(), make_config(tmp_path, scripted_llm)).status is Status.OK
    assert scripted_llm.requests[0].headers["authorization"] == f"Bearer {NO_KEY}"


def test_key_is_sent_when_set(
    scripted_llm: ScriptedLLM, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The key from api_key_env is sent, even to a local endpoint that may check it."""
    monkeypatch.setenv("VLLM_KEY", "local-secret-key")
    config = make_config(tmp_path, scripted_llm, llm={"api_key_env": "VLLM_KEY"})
    scripted_llm.complete()
    run_task(make_task(), config)
    assert scripted_llm.requests[0].headers["authorization"] == "Bearer local-secret-key"


def test_openai_base_url_is_honoured(
    scripted_llm: ScriptedLLM, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without [llm] base_url, OPENAI_BASE_URL chooses the endpoint, as in the SDK."""
    monkeypatch.setenv("OPENAI_BASE_URL", scripted_llm.base_url)
    config = make_config(tmp_path, "")
    assert config.llm.base_url is None
    scripted_llm.complete()
    assert run_task(make_task(), config).status is Status.OK
    assert scripted_llm.requests[0].path == "/v1/chat/completions"


def test_secrets_never_reach_results_or_traces(
    scripted_llm: ScriptedLLM, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Keys and KEY/TOKEN/SECRET/PASSWORD values are masked everywhere a run reports."""
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)
    monkeypatch.setenv("GITHUB_TOKEN", GITHUB_TOKEN)
    monkeypatch.setenv("DB_PASSWORD", DB_PASSWORD)
    config = make_config(tmp_path, scripted_llm)
    (config.agent.workspace / "creds.txt").write_text(f"password={DB_PASSWORD}\n")
    scripted_llm.call("run_command", {"command": f"echo {GITHUB_TOKEN}; echo gh=$GITHUB_TOKEN"})
    scripted_llm.call("read_file", {"path": "creds.txt"}, text=f"I see {DB_PASSWORD}")
    scripted_llm.call("memory_search", {"query": GITHUB_TOKEN})
    scripted_llm.complete("ok", f"token is {GITHUB_TOKEN}", notes=f"key {OPENAI_KEY}")
    events: list[TraceEvent] = []
    result = run_task(make_task(), config, on_event=events.append)
    recorded = json.dumps(result.to_dict()) + repr(events)
    tool_output = [m for m in scripted_llm.requests[-1].messages if m["role"] == "tool"]
    for secret in (OPENAI_KEY, GITHUB_TOKEN, DB_PASSWORD):
        assert secret not in recorded
        assert secret not in json.dumps(tool_output)  # what the model is shown is masked too
    assert "[REDACTED:GITHUB_TOKEN]" in result.summary
    assert "[REDACTED:OPENAI_API_KEY]" in result.notes


def test_commands_run_without_the_llm_key(
    scripted_llm: ScriptedLLM, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The api_key_env variable and OPENAI_API_KEY are not in a command's environment."""
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)
    monkeypatch.setenv("MY_LLM_KEY", "another-secret-value")
    monkeypatch.setenv("HARMLESS", "still-here")
    config = make_config(tmp_path, scripted_llm, llm={"api_key_env": "MY_LLM_KEY"})
    script = 'echo "[${OPENAI_API_KEY:-unset}] [${MY_LLM_KEY:-unset}] [$HARMLESS]"'
    scripted_llm.call("run_command", {"command": script}).complete()
    run_task(make_task(), config)
    output = scripted_llm.requests[1].messages[-1]["content"]
    assert "[unset] [unset] [still-here]" in output


def test_redactor_masks_values_and_token_shapes() -> None:
    """Secret-named values are replaced by name; short values and other names are kept."""
    redact = Redactor.from_env(
        {"API_KEY": "abcdef123456", "MY_TOKEN": "1", "PATH": "/usr/bin", "LLM": "zzzzzzzz"},
        extra_names=("LLM",),
    )
    text = redact(
        "abcdef123456 1 /usr/bin zzzzzzzz sk-AAAAAAAAAAAAAAAAAAAA Bearer abcdefghijklmnop"
    )
    assert text == "[REDACTED:API_KEY] 1 /usr/bin [REDACTED:LLM] [REDACTED] Bearer [REDACTED]"
