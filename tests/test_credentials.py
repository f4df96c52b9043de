"""API keys from a file or a command: sent to the endpoint, never in any environment."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from localhb.agent.credentials import read_key
from localhb.agent.loop import run_task
from localhb.config import LLMConfig
from localhb.core.errors import ConfigError, MissingAPIKey
from tests.scripted_llm import ScriptedLLM, make_config, make_task, scripted_llm

__all__ = ["scripted_llm"]

KEY = "sk-file-key-0123456789abcdef"


def test_key_from_a_file_is_sent_and_hidden(scripted_llm: ScriptedLLM, tmp_path: Path) -> None:
    """api_key_file's first line is the key: sent as Bearer, unreadable by the file tools,
    absent from the commands' environment and masked in everything recorded."""
    key_file = tmp_path / "workspace" / "openai.key"  # the worst place: inside the workspace
    key_file.parent.mkdir()
    key_file.write_text(KEY + "\n")
    config = make_config(tmp_path, scripted_llm, llm={"api_key_file": str(key_file)})
    scripted_llm.call("read_file", {"path": str(key_file)})
    scripted_llm.call("run_command", {"command": "env; echo " + KEY})
    scripted_llm.complete("ok", "done", notes=f"saw {KEY}")
    result = run_task(make_task(), config)
    assert scripted_llm.requests[0].headers["authorization"] == f"Bearer {KEY}"
    tools = [m["content"] for m in scripted_llm.requests[-1].messages if m["role"] == "tool"]
    assert "refused" in tools[0] and "api_key_file" in tools[0]
    assert KEY not in "".join(tools) and KEY not in str(result.to_dict())
    assert KEY not in os.environ.values()


def test_key_file_expands_credentials_directory(tmp_path: Path) -> None:
    """ "${CREDENTIALS_DIRECTORY}/name" finds systemd's LoadCredential= file."""
    (tmp_path / "openai").write_text(KEY)
    llm = _llm(api_key_file="${CREDENTIALS_DIRECTORY}/openai")
    assert read_key(llm, {"CREDENTIALS_DIRECTORY": str(tmp_path)}, "https://x") == KEY


def test_key_from_a_command(scripted_llm: ScriptedLLM, tmp_path: Path) -> None:
    """api_key_command's first output line is the key."""
    command = f"{sys.executable} -c \"print('{KEY}')\""
    config = make_config(tmp_path, scripted_llm, llm={"api_key_command": command})
    scripted_llm.complete()
    run_task(make_task(), config)
    assert scripted_llm.requests[0].headers["authorization"] == f"Bearer {KEY}"


@pytest.mark.parametrize(
    ("setting", "reason"),
    [
        ({"api_key_file": "/nonexistent/key"}, "cannot read /nonexistent/key"),
        ({"api_key_file": "/dev/null"}, "not a regular file"),
        ({"api_key_command": "false"}, "exited with 1"),
        ({"api_key_command": "/nonexistent/pass show x"}, "was not found"),
        ({"api_key_command": f'{sys.executable} -c "pass"'}, "printed nothing"),
    ],
)
def test_unreadable_key_says_why(tmp_path: Path, setting: dict[str, str], reason: str) -> None:
    """A configured file or command that gives no key is MissingAPIKey naming the source."""
    config = make_config(tmp_path, "https://api.example.com/v1", llm=setting)
    with pytest.raises(MissingAPIKey) as caught:
        run_task(make_task(), config)
    assert reason in str(caught.value) and "[llm] api_key_" in str(caught.value)


def test_a_fifo_key_file_does_not_hang(tmp_path: Path) -> None:
    """A FIFO as api_key_file is refused at once, never read."""
    fifo = tmp_path / "key.fifo"
    os.mkfifo(fifo)
    with pytest.raises(MissingAPIKey, match="not a regular file"):
        read_key(_llm(api_key_file=str(fifo)), {}, "https://x")


def test_file_and_command_together_are_a_config_error(tmp_path: Path) -> None:
    """Setting both api_key_file and api_key_command is refused, naming the key."""
    with pytest.raises(ConfigError, match="not both"):
        make_config(tmp_path, "https://x/v1", llm={"api_key_file": "k", "api_key_command": "c"})


def _llm(**keys: str) -> LLMConfig:
    return LLMConfig(None, "m", "OPENAI_API_KEY", 5.0, 0, None, None, **keys)  # type: ignore[arg-type]
