"""The wake API's `[api]` config and its bearer token file (`localhb api token`)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from localhb.cli import main
from localhb.config import config_from_mapping, load_config
from localhb.core.errors import ConfigError
from localhb.state.token import ensure_token, read_token, rotate_token, token_matches


def test_api_defaults_are_off_and_loopback(tmp_path: Path) -> None:
    """Off by default, on 127.0.0.1:7142, with finite limits."""
    api = config_from_mapping({}, home=tmp_path).api
    assert api.enabled is False
    assert (api.host, api.port, api.listen) == ("127.0.0.1", 7142, "127.0.0.1:7142")
    assert api.allow_remote is False
    assert api.max_requests_per_minute >= 1 and api.max_queued >= 1


def test_api_listen_and_limits_are_read(tmp_path: Path) -> None:
    """listen, IPv6 loopback in brackets, and both limits come from the table."""
    api = config_from_mapping(
        {
            "api": {
                "enabled": True,
                "listen": "[::1]:8123",
                "max_requests_per_minute": 5,
                "max_queued": 2,
            }
        },
        home=tmp_path,
    ).api
    assert (api.enabled, api.host, api.port) == (True, "::1", 8123)
    assert api.listen == "[::1]:8123"
    assert (api.max_requests_per_minute, api.max_queued) == (5, 2)


@pytest.mark.parametrize(
    ("table", "words"),
    [
        ({"listen": "0.0.0.0:7142"}, ["listen", "allow_remote"]),
        ({"listen": "7142"}, ["listen", "host:port"]),
        ({"listen": "127.0.0.1:99999"}, ["listen"]),
        ({"max_queued": 0}, ["max_queued"]),
        ({"max_requests_per_minute": "many"}, ["max_requests_per_minute"]),
        ({"enabled": "yes"}, ["enabled"]),
        ({"port": 1}, ["port"]),
    ],
)
def test_bad_api_config_names_the_key(
    tmp_path: Path, table: dict[str, object], words: list[str]
) -> None:
    """A wrong [api] value is a ConfigError naming the key; non-loopback needs allow_remote."""
    with pytest.raises(ConfigError) as info:
        config_from_mapping({"api": table}, home=tmp_path)
    for word in words:
        assert word in str(info.value)


def test_remote_listen_is_allowed_with_allow_remote(tmp_path: Path) -> None:
    """allow_remote = true lets the API listen on every interface."""
    api = config_from_mapping(
        {"api": {"listen": "0.0.0.0:7142", "allow_remote": True}}, home=tmp_path
    ).api
    assert api.host == "0.0.0.0"


def test_token_is_created_once_with_mode_0600(tmp_path: Path) -> None:
    """The first ensure creates a 0600 file; later ones return the same token."""
    home = tmp_path / "h"
    assert read_token(home) is None
    first = ensure_token(home)
    path = home / "api.token"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(first) >= 40 and ensure_token(home) == first == read_token(home)


def test_rotate_replaces_the_token_and_keeps_0600(tmp_path: Path) -> None:
    """A rotated token differs, is stored 0600 and the old one no longer matches."""
    old = ensure_token(tmp_path)
    os.chmod(tmp_path / "api.token", 0o644)
    new = rotate_token(tmp_path)
    assert new != old and read_token(tmp_path) == new
    assert stat.S_IMODE((tmp_path / "api.token").stat().st_mode) == 0o600
    assert not token_matches(old, new) and token_matches(new, new)
    assert not token_matches(None, new) and not token_matches("", new)


def test_loose_token_file_is_tightened(tmp_path: Path) -> None:
    """A token file others can read is set back to 0600 when it is read."""
    token = ensure_token(tmp_path)
    os.chmod(tmp_path / "api.token", 0o644)
    assert ensure_token(tmp_path) == token
    assert stat.S_IMODE((tmp_path / "api.token").stat().st_mode) == 0o600


def test_empty_token_file_is_an_error_naming_it(tmp_path: Path) -> None:
    """An empty api.token is a ConfigError naming the file and the fix."""
    (tmp_path / "api.token").write_text("\n")
    with pytest.raises(ConfigError, match=r"api\.token.*--rotate"):
        ensure_token(tmp_path)


def test_cli_api_token_prints_and_rotates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`api token` prints the token (creating it); `--rotate` prints a new one."""
    home = tmp_path / "h"
    assert main(["--home", str(home), "api", "token"]) == 0
    first = capsys.readouterr().out.strip()
    assert first == read_token(home)
    assert main(["api", "token", "--home", str(home)]) == 0
    assert capsys.readouterr().out.strip() == first
    assert main(["--home", str(home), "api", "token", "--rotate"]) == 0
    out = capsys.readouterr()
    assert out.out.strip() == read_token(home) != first
    assert "new token" in out.err
    assert load_config(home=home).api.enabled is False
