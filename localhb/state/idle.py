"""The idle fast path: answer HEARTBEAT_OK without parsing when nothing can have changed.

A full cycle that finds nothing due writes `<home>/idle.cache`, recording what
its verdict rests on:

- the localhb version, the config file and HEARTBEAT.md (their paths and an
  exact copy of their bytes), and the system time zone's fingerprint;
- `written_at`, `due_at` (the earliest moment any task becomes due) and
  `active_until` (when the active-hours window closes), as UTC instants.

A later `daemon heartbeat` (recognised and answered by `localhb.entry`, which
owns argv and stdout) is idle without importing the parser when all of
those still match and `written_at <= now < min(due_at, active_until)`: the
schedule is deterministic, so the same inputs give the same answer. Anything
else, including any error reading the cache, falls back to the full cycle.
A cycle that is about to run work deletes the cache first, so ledger changes
made by runs are never hidden behind it. Only the standard library is used
here; this module is imported on every cycle. The home and config file are
found with `localhb.core.home`, as the CLI finds them.
"""

from __future__ import annotations

import contextlib
import json
import os
from datetime import UTC, datetime

from localhb.core.home import config_file, home_dir

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
        root = home_dir(home)
        with open(os.path.join(root, CACHE), "rb") as fh:
            blob = fh.read()
        header, _, body = blob.partition(b"\n")
        cache = json.loads(header)
        cfg = config_file(root, config)
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
