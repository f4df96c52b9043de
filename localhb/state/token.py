"""The wake API's bearer token: `$LOCALHB_HOME/api.token`, mode 0600.

    ensure_token(home)   the token, created on first use (O_EXCL, 0600)
    rotate_token(home)   a new token, written atomically, 0600
    read_token(home)     the token, or None when there is none yet
    token_matches(a, b)  constant-time comparison (hmac.compare_digest)

Standard library only. A token file readable by others is tightened back to
0600 when it is read (and the caller is told, so it can log it).
"""

from __future__ import annotations

import contextlib
import hmac
import os
import secrets
import stat
from pathlib import Path

from localhb.core.atomic import write_atomic
from localhb.core.errors import ConfigError

__all__ = [
    "TOKEN_FILE",
    "ensure_token",
    "read_token",
    "rotate_token",
    "token_matches",
    "token_path",
]

TOKEN_FILE = "api.token"
MODE = 0o600


def token_path(home: Path) -> Path:
    return home / TOKEN_FILE


def new_token() -> str:
    """32 random bytes, URL-safe (43 characters): what `Authorization: Bearer` carries."""
    return secrets.token_urlsafe(32)


def read_token(home: Path) -> str | None:
    """The token as stored, or None when the file does not exist yet."""
    path = token_path(home)
    try:
        text = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        detail = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise ConfigError(f"cannot read the API token: {detail}", path=path) from None
    if not text:
        raise ConfigError(
            "the API token file is empty (`localhb api token --rotate` writes a new one)",
            path=path,
        )
    return text


def loose_mode(home: Path) -> int | None:
    """The token file's permission bits when others may read or write it, else None."""
    try:
        mode = stat.S_IMODE(token_path(home).stat().st_mode)
    except OSError:
        return None
    return mode if mode & 0o077 else None


def ensure_token(home: Path) -> str:
    """The token; created with mode 0600 when there is none (a race keeps the first)."""
    found = read_token(home)
    if found is not None:
        if loose_mode(home) is not None:
            with contextlib.suppress(OSError):
                os.chmod(token_path(home), MODE)
        return found
    path = token_path(home)
    home.mkdir(parents=True, exist_ok=True)
    token = new_token()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, MODE)
    except FileExistsError:  # another process made it meanwhile: theirs wins
        return ensure_token(home)
    except OSError as exc:
        raise ConfigError(f"cannot create the API token: {exc.strerror}", path=path) from None
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(token + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    return token


def rotate_token(home: Path) -> str:
    """Replace the token (atomically, mode 0600); the old one stops working at once."""
    path = token_path(home)
    home.mkdir(parents=True, exist_ok=True)
    token = new_token()
    try:
        write_atomic(path, token + "\n", mode=MODE)
        os.chmod(path, MODE)
    except OSError as exc:
        raise ConfigError(f"cannot write the API token: {exc.strerror}", path=path) from None
    return token


def token_matches(given: str | None, expected: str) -> bool:
    """Whether `given` is the token, compared in constant time."""
    if given is None:
        return False
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))
