"""Configuration: discovery, defaults, and errors that name the file and key."""

from __future__ import annotations

import dataclasses
import tomllib
from datetime import timedelta
from pathlib import Path

import pytest

from localhb.config import Config, load_config
from localhb.core.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_without_a_file(tmp_path: Path) -> None:
    """No config file means built-in defaults rooted at the home."""
    cfg = load_config(home=tmp_path)
    assert cfg.path is None
    assert cfg.heartbeat.interval == timedelta(minutes=30)
    assert cfg.heartbeat.file == tmp_path / "workspace" / "HEARTBEAT.md"
    assert cfg.agent.max_steps == 20


def test_home_config_is_discovered(tmp_path: Path) -> None:
    """`<home>/config.toml` is read when no --config is given."""
    write(tmp_path / "config.toml", '[heartbeat]\ninterval = "2h30m"\n')
    cfg = load_config(home=tmp_path)
    assert cfg.heartbeat.interval == timedelta(hours=2, minutes=30)
    assert cfg.path == tmp_path / "config.toml"


def test_env_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """$LOCALHB_HOME is the default home."""
    monkeypatch.setenv("LOCALHB_HOME", str(tmp_path))
    assert load_config().home == tmp_path


def test_relative_paths_follow_the_config_file(tmp_path: Path) -> None:
    """A relative `file` is relative to the config file's directory."""
    p = write(tmp_path / "c.toml", '[heartbeat]\nfile = "tasks/HB.md"\n')
    assert load_config(p, home=tmp_path / "h").heartbeat.file == tmp_path / "tasks" / "HB.md"


@pytest.mark.parametrize(
    ("text", "key", "words"),
    [
        ('[heartbeat]\ninterval = "soon"\n', "[heartbeat] interval", "duration"),
        ('[heartbeat]\nintervall = "30m"\n', "[heartbeat] intervall", "did you mean 'interval'"),
        ('[heartbeat]\ntimezone = "Mars/Olympus"\n', "[heartbeat] timezone", "IANA"),
        (
            '[heartbeat]\nactive_hours = { start = "09:00", end = "09:00" }\n',
            "[heartbeat] active_hours",
            "09:00",
        ),
        ("[heartbeat]\nmax_concurrent = 0\n", "[heartbeat] max_concurrent", "at least 1"),
        ('[tools.shell]\ndeny = ["(unclosed"]\n', "[tools.shell] deny", "bad pattern"),
        ("[nonsense]\n", "nonsense", "unknown key"),
        ("heartbeat = 3\n", "[heartbeat]", "table"),
    ],
)
def test_errors_name_file_and_key(tmp_path: Path, text: str, key: str, words: str) -> None:
    """A bad value names the file, the key and what was expected."""
    p = write(tmp_path / "config.toml", text)
    with pytest.raises(ConfigError) as err:
        load_config(p, home=tmp_path)
    message = str(err.value)
    assert str(p) in message and key in message and words in message


def test_invalid_toml(tmp_path: Path) -> None:
    """Broken TOML is a ConfigError naming the file and position."""
    p = write(tmp_path / "config.toml", "[heartbeat\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(p, home=tmp_path)


def test_missing_explicit_config(tmp_path: Path) -> None:
    """An explicit --config that does not exist is an error, not defaults."""
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "nope.toml", home=tmp_path)


def _fields(cfg: object) -> dict[str, object]:
    out = {}
    for f in dataclasses.fields(cfg):  # type: ignore[arg-type]
        v = getattr(cfg, f.name)
        out[f.name] = _fields(v) if dataclasses.is_dataclass(v) else v
    return out


def test_example_documents_every_key_with_its_default(tmp_path: Path) -> None:
    """config.toml.example names every key, and its values are the defaults."""
    example = ROOT / "config.toml.example"
    text = example.read_text(encoding="utf-8")
    cfg = load_config(example, home=tmp_path)
    defaults = load_config(home=tmp_path)
    for section in ("heartbeat", "llm", "agent", "tools"):
        a, b = _fields(getattr(cfg, section)), _fields(getattr(defaults, section))
        for name in a:
            if name in ("file", "workspace", "allowed_directories", "system_prompt"):
                continue
            assert a[name] == b[name], f"[{section}] {name}"

    def names(obj: object) -> list[str]:
        out = []
        for f in dataclasses.fields(obj):  # type: ignore[arg-type]
            v = getattr(obj, f.name)
            if dataclasses.is_dataclass(v):
                out += names(v)
            else:
                out.append(f.name)
        return out

    for section in ("heartbeat", "llm", "agent", "tools"):
        for name in names(getattr(defaults, section)):
            assert f"{name} =" in text, f"{name} missing from config.toml.example"


def test_starter_template_is_valid(tmp_path: Path) -> None:
    """The config.toml that `init` writes loads cleanly."""
    cfg = load_config(ROOT / "templates" / "config.toml", home=tmp_path)
    assert isinstance(cfg, Config)
    tomllib.loads((ROOT / "templates" / "config.toml").read_text())


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("inf", "not a finite number"),
        ("-inf", "not a finite number"),
        ("nan", "not a finite number"),
        ("123456789012345678901234567890", "longer than ten years"),
        ('"99999999999999999h"', "longer than ten years"),
        ("315532801", "longer than ten years"),
    ],
)
def test_absurd_durations_are_config_errors(tmp_path: Path, value: str, words: str) -> None:
    """inf, nan and huge durations are a ConfigError naming the key (exit 2), never an
    OverflowError (issue 11 D7)."""
    path = write(tmp_path / "config.toml", f"[heartbeat]\ninterval = {value}\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert "[heartbeat] interval" in str(caught.value) and words in str(caught.value)


def test_the_starter_config_offers_budget_and_mcp_as_comments(tmp_path: Path) -> None:
    """The config `init` writes has [budget] and [[mcp.servers]] commented out; uncommented,
    they load as written."""
    text = (ROOT / "templates" / "config.toml").read_text(encoding="utf-8")
    assert "# [budget]" in text and "# [[mcp.servers]]" in text
    assert load_config(path=_written(tmp_path, text)).budget.daily_tokens is None
    opened = "\n".join(
        line[2:]
        if line.startswith(("# [budget]", "# daily_", "# [[mcp", "# name", "# command"))
        else line
        for line in text.splitlines()
    )
    config = load_config(path=_written(tmp_path, opened))
    assert (config.budget.daily_tokens, config.budget.daily_cost) == (500_000, 1.0)
    assert [s.name for s in config.mcp.servers] == ["time"]


def _written(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path
