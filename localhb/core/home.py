"""Where a localhb home and its config file are: standard library only.

    home_dir(home)            `--home`, else $LOCALHB_HOME, else ~/.localhb (expanded)
    config_file(home, config) `--config` (absolute), else <home>/config.toml when it
                              exists, else None (built-in defaults)

The idle fast path (`localhb.entry`, `localhb.state.idle`) and the CLI and
config loader (`localhb.config.default_home`, `localhb.cli`) all find the home
with these, so the fast path can never look in a different place than the
full cycle would. `--now` is read by `localhb.core.moments` the same way.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

__all__ = ["CONFIG_NAME", "GLOBAL_OPTIONS", "HOME_ENV", "config_file", "home_dir"]

HOME_ENV = "LOCALHB_HOME"
CONFIG_NAME = "config.toml"
GLOBAL_OPTIONS = ("--home", "--config")
"""The options every command takes before its name (`localhb --home H daemon heartbeat`)."""


def home_dir(
    home: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None
) -> str:
    """The home `--home` names, else $LOCALHB_HOME, else ~/.localhb; `~` expanded."""
    if home is not None and str(home):
        return os.path.expanduser(home)
    raw = (os.environ if env is None else env).get(HOME_ENV)
    return os.path.expanduser(raw) if raw else os.path.join(os.path.expanduser("~"), ".localhb")


def config_file(home: str, config: str | None) -> str | None:
    """The config file a command reads: `--config` made absolute, else <home>/config.toml
    when it exists, else None (the built-in defaults)."""
    if config:
        return os.path.abspath(os.path.expanduser(config))
    path = os.path.join(home, CONFIG_NAME)
    return path if os.path.exists(path) else None
