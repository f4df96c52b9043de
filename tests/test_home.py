"""core.home: one way to find the home and its config, for the idle path and the CLI."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from localhb.config import default_home, load_config
from localhb.core.home import config_file, home_dir
from localhb.entry import heartbeat_args


def test_home_is_the_option_then_the_environment_then_the_default() -> None:
    env = {"LOCALHB_HOME": "~/elsewhere"}
    assert home_dir("/h", env) == "/h"
    assert home_dir(Path("~/h"), env) == os.path.expanduser("~/h")
    assert home_dir(None, env) == os.path.expanduser("~/elsewhere")
    assert home_dir(None, {}) == os.path.join(os.path.expanduser("~"), ".localhb")
    assert home_dir(None, {"LOCALHB_HOME": ""}) == home_dir(None, {})


@pytest.mark.parametrize("env", [{}, {"LOCALHB_HOME": "/srv/hb"}, {"LOCALHB_HOME": "~/x"}])
def test_the_config_loader_finds_the_same_home(env: dict[str, str]) -> None:
    assert default_home(env) == Path(home_dir(None, env))


def test_config_file_is_explicit_else_found_else_none(tmp_path: Path) -> None:
    home = str(tmp_path)
    assert config_file(home, None) is None
    (tmp_path / "config.toml").write_text('[heartbeat]\ntimezone = "UTC"\n')
    assert config_file(home, None) == str(tmp_path / "config.toml")
    assert load_config(home=tmp_path).path == tmp_path / "config.toml"
    assert config_file(home, "other.toml") == os.path.abspath("other.toml")


@pytest.mark.parametrize(
    ("argv", "expect"),
    [
        (["daemon", "heartbeat"], (None, None, None)),
        (["--home", "/h", "--config=/c.toml", "daemon", "heartbeat"], ("/h", "/c.toml", None)),
        (["daemon", "heartbeat", "--now", "2030-01-10 10:00"], (None, None, "2030-01-10 10:00")),
        (["daemon", "heartbeat", "--now=2030-01-10"], (None, None, "2030-01-10")),
        (["daemon", "heartbeat", "--dry-run"], None),
        (["--verbose", "daemon", "heartbeat"], None),
        (["--home"], None),
        (["tasks"], None),
    ],
)
def test_only_a_plain_heartbeat_takes_the_fast_path(
    argv: list[str], expect: tuple[str | None, str | None, str | None] | None
) -> None:
    assert heartbeat_args(argv) == expect
