"""The idle fast path: answer HEARTBEAT_OK without parsing when nothing can have changed.

A full cycle that finds nothing due writes `<home>/idle.cache`, recording what
its verdict rests on:

- the localhb version, the config file and HEARTBEAT.md (their paths and an
  exact copy of their bytes), and the system time zone's fingerprint;
- `written_at`, `due_at` (the earliest moment any task becomes due) and
  `active_until` (when the active-hours window closes), as UTC instants.

A later `daemon heartbeat` is idle without importing the parser when all of
those still match and `written_at <= now < min(due_at, active_until)`: the
schedule is deterministic, so the same inputs give the same answer. Anything
else, including any error reading the cache, falls back to the full cycle.
A cycle that is about to run work deletes the cache first, so ledger changes
made by runs are never hidden behind it. Only the standard library is used
here; this module is imported on every cycle.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from datetime import UTC, datetime

CACHE = "idle.cache"
LOCALTIME = "/etc/localtime"


def _read(path: str | None) -> bytes | None:
    if path is None:
        return None
    from localhb.core.bounded import MAX_HEARTBEAT_BYTES, read_regular

    try:  # a FIFO or a device is not waited on: the full path reports it
        return read_regular(path, MAX_HEARTBEAT_BYTES)
    except (OSError, ValueError):
        return None


def system_zone() -> str:
    """What decides the system zone: $TZ and /etc/localtime (its link, or its file)."""
    try:
        where = os.readlink(LOCALTIME)
    except OSError:
        try:
            st = os.stat(LOCALTIME)
            where = f"{st.st_size}:{st.st_mtime_ns}:{st.st_ino}"
        except OSError:
            where = ""
    return f"{os.environ.get('TZ', '')}|{where}"


def home_of(home: str | None) -> str:
    if home:
        return os.path.expanduser(home)
    env = os.environ.get("LOCALHB_HOME")
    return os.path.expanduser(env) if env else os.path.join(os.path.expanduser("~"), ".localhb")


def config_of(home: str, config: str | None) -> str | None:
    """The config file the full path would read, or None for built-in defaults."""
    if config:
        return os.path.abspath(os.path.expanduser(config))
    path = os.path.join(home, "config.toml")
    return path if os.path.exists(path) else None


def parse_argv(argv: list[str]) -> tuple[str | None, str | None, str | None] | None:
    """(home, config, now) when argv is a plain `daemon heartbeat`, else None."""
    home = config = now = None
    args = list(argv)
    while args and args[0].startswith("--"):
        flag, _, value = args.pop(0).partition("=")
        if flag not in ("--home", "--config"):
            return None
        if not value:
            if not args:
                return None
            value = args.pop(0)
        if flag == "--home":
            home = value
        else:
            config = value
    if args[:2] != ["daemon", "heartbeat"]:
        return None
    rest = args[2:]
    if rest:
        if len(rest) == 1 and rest[0].startswith("--now="):
            now = rest[0].partition("=")[2]
        elif len(rest) == 2 and rest[0] == "--now":
            now = rest[1]
        else:
            return None
    return home, config, now


def _when(text: str | None, zone: str | None) -> datetime | None:
    """`--now` as a UTC instant; None when it cannot be decided without the full path."""
    if text is None:
        return datetime.now(UTC)
    from localhb.core.moments import parse_when  # the CLI reads --now with it too

    try:
        at = parse_when(text)
    except ValueError:
        return None
    if at.tzinfo is None:
        if zone is None:
            return None
        from zoneinfo import ZoneInfo

        tz = ZoneInfo(zone)
        first, second = at.replace(tzinfo=tz, fold=0), at.replace(tzinfo=tz, fold=1)
        if first.utcoffset() != second.utcoffset():
            return None  # a DST gap or overlap: let the full path resolve it
        at = first
    return at.astimezone(UTC)


def is_idle(home: str | None, config: str | None, now_text: str | None, version: str) -> bool:
    """True when the cache proves that a full cycle would find nothing to do."""
    try:
        root = home_of(home)
        with open(os.path.join(root, CACHE), "rb") as fh:
            blob = fh.read()
        header, _, body = blob.partition(b"\n")
        cache = json.loads(header)
        cfg = config_of(root, config)
        if cache["version"] != version or cache["config"] != cfg:
            return False
        if cache["system_zone"] is not None and cache["system_zone"] != system_zone():
            return False
        split = cache["config_len"]
        if _read(cfg) != (body[:split] if cfg is not None else None):
            return False
        if _read(cache["file"]) != body[split:]:
            return False
        now = _when(now_text, cache["zone"])
        if now is None:
            return False
        written = datetime.fromisoformat(cache["written_at"])
        limits = [datetime.fromisoformat(v) for v in (cache["due_at"], cache["active_until"]) if v]
        return written <= now and all(now < limit for limit in limits)
    except (OSError, ValueError, KeyError, TypeError):
        return False


def write(
    home: str,
    *,
    version: str,
    config: str | None,
    config_bytes: bytes,
    file: str,
    file_bytes: bytes,
    zone: str | None,
    system_zone_used: bool,
    written_at: datetime,
    due_at: datetime | None,
    active_until: datetime | None,
) -> None:
    """Record an idle verdict (atomically; a stale or missing cache is always safe).

    `config_bytes` are the config file as the verdict's cycle loaded it.
    """
    header = {
        "version": version,
        "config": config,
        "config_len": len(config_bytes),
        "system_zone": system_zone() if system_zone_used else None,
        "file": file,
        "zone": zone,
        "written_at": written_at.astimezone(UTC).isoformat(),
        "due_at": due_at.astimezone(UTC).isoformat() if due_at else None,
        "active_until": active_until.astimezone(UTC).isoformat() if active_until else None,
    }
    from localhb.core.atomic import write_atomic

    try:
        data = json.dumps(header).encode() + b"\n" + config_bytes + file_bytes
        write_atomic(os.path.join(home, CACHE), data, mode=0o600)
    except OSError:
        forget(home)


def forget(home: str) -> None:
    """Drop the cache: the next cycle takes the full path."""
    with contextlib.suppress(OSError):
        os.unlink(os.path.join(home, CACHE))


def fast_main(argv: list[str] | None = None) -> int | None:
    """Answer an idle `daemon heartbeat` from the cache; None means: run the full CLI."""
    from localhb import __version__

    args = parse_argv(sys.argv[1:] if argv is None else argv)
    if args is None or not is_idle(*args, version=__version__):
        return None
    sys.stdout.write("HEARTBEAT_OK\n")
    return 0
