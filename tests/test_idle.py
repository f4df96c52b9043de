"""The idle fast path: answered from the cache only when nothing can have changed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from localhb import __version__
from localhb.cli import main
from localhb.entry import fast_main
from localhb.state import idle

ROOT = Path(__file__).resolve().parents[1]
TEXT = (
    "## Pending\n\n### Later\n- Due: 2030-01-10 12:00\n\n### Daily\n- Recurring: daily at 18:00\n"
)


@pytest.fixture
def home(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """A home whose last full cycle at 2030-01-10 09:00 found nothing due."""
    h = tmp_path / "home"
    (h / "workspace").mkdir(parents=True)
    (h / "workspace" / "HEARTBEAT.md").write_text(TEXT)
    (h / "config.toml").write_text('[heartbeat]\ntimezone = "Europe/Berlin"\n')
    assert main(["--home", str(h), "daemon", "heartbeat", "--now", "2030-01-10 09:00"]) == 0
    assert capsys.readouterr().out == "HEARTBEAT_OK\n"
    return h


def fast(home: Path, now: str, *extra: str) -> int | None:
    return fast_main(["--home", str(home), *extra, "daemon", "heartbeat", "--now", now])


def test_idle_verdict_is_reused(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Until the first task is due, an idle cycle is answered from the cache."""
    assert fast(home, "2030-01-10 11:59") == 0
    assert capsys.readouterr().out == "HEARTBEAT_OK\n"


@pytest.mark.parametrize(
    "now",
    ["2030-01-10 12:00", "2030-01-10 08:59", "2030-01-11 09:00", "2030-01-10T11:00:00+05:00"],
)
def test_verdict_expires_with_time(home: Path, now: str) -> None:
    """At the first due time, or before the verdict was made, the full path runs."""
    assert fast(home, now) is None


def test_any_edit_invalidates(home: Path) -> None:
    """One changed byte in HEARTBEAT.md or config.toml sends the cycle down the full path."""
    hb = home / "workspace" / "HEARTBEAT.md"
    hb.write_text(TEXT.replace("18:00", "18:01"))
    assert fast(home, "2030-01-10 10:00") is None
    hb.write_text(TEXT)
    assert fast(home, "2030-01-10 10:00") == 0
    cfg = home / "config.toml"
    cfg.write_text(cfg.read_text() + "\n")
    assert fast(home, "2030-01-10 10:00") is None


def test_other_arguments_take_the_full_path(home: Path) -> None:
    """--dry-run, other commands or another --config are never answered from the cache."""
    assert fast_main(["--home", str(home), "daemon", "heartbeat", "--dry-run"]) is None
    assert fast_main(["--home", str(home), "tasks"]) is None
    other = home / "other.toml"
    other.write_text('[heartbeat]\ntimezone = "Europe/Berlin"\n')
    assert fast(home, "2030-01-10 10:00", "--config", str(other)) is None


def test_version_change_invalidates(home: Path) -> None:
    """A cache written by another localhb version is ignored."""
    assert idle.is_idle(str(home), None, "2030-01-10 10:00", __version__)
    assert not idle.is_idle(str(home), None, "2030-01-10 10:00", "0.0.0-other")


def test_ambiguous_now_takes_the_full_path(home: Path) -> None:
    """A --now inside a DST overlap is resolved by the full path, not guessed."""
    assert idle.is_idle(str(home), None, "2030-01-10 10:00", __version__)
    assert not idle.is_idle(str(home), None, "2030-10-27 02:30", __version__)


def test_garbage_cache_is_ignored(home: Path) -> None:
    """A corrupt cache file is never trusted."""
    (home / idle.CACHE).write_bytes(b"{not json\n")
    assert fast(home, "2030-01-10 10:00") is None


def test_running_work_forgets_the_verdict(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A cycle that has work removes the cache before running it."""
    h = tmp_path / "home"
    (h / "workspace").mkdir(parents=True)
    (h / "workspace" / "HEARTBEAT.md").write_text(TEXT)
    (h / idle.CACHE).write_bytes(b"stale")
    code = main(["--home", str(h), "daemon", "heartbeat", "--now", "2030-01-10 12:30"])
    assert code == 2  # the task is due, and no endpoint key is configured
    assert not (h / idle.CACHE).exists()
    assert "no API key" in capsys.readouterr().err


def test_fast_path_imports_no_parser(home: Path) -> None:
    """An idle cycle answered from the cache loads neither mistune nor the parser."""
    code = (
        "import sys; from localhb.entry import main; sys.argv = ['localhb', '--home', "
        f"{str(home)!r}, 'daemon', 'heartbeat', '--now', '2030-01-10 10:00']; rc = main();"
        "print(rc, sorted(m for m in sys.modules if m.startswith(('mistune', 'localhb.'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    ).stdout.splitlines()
    assert out[0] == "HEARTBEAT_OK"
    modules = ["core", "core.bounded", "core.home", "core.moments", "entry", "state", "state.idle"]
    loaded = ", ".join(f"'localhb.{m}'" for m in modules)
    assert out[1] == f"0 [{loaded}]"  # home, --now and file readers shared with the CLI
