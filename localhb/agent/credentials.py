"""Where the API key comes from: a file, a command, or an environment variable.

    [llm] api_key_file     a file holding the key (e.g. systemd's LoadCredential=:
                           "${CREDENTIALS_DIRECTORY}/openai"); `$VARS` and `~` expand
    [llm] api_key_command  a command printing the key (e.g. "pass show openai"),
                           run without a shell, its first line used
    [llm] api_key_env      else the named variable (default OPENAI_API_KEY)

A key from a file or a command is never put in any environment, so commands
the agent runs cannot find it in /proc/<pid>/environ. Reading is bounded: the
file must be a regular file under 64 KiB, the command must finish in 30 s.
A key that is configured but cannot be read is a `MissingAPIKey` that says why.
"""

from __future__ import annotations

import os
import shlex
import stat
import subprocess
from collections.abc import Mapping
from pathlib import Path

from localhb.config import LLMConfig
from localhb.core.errors import MissingAPIKey

MAX_KEY_FILE = 64 * 1024
COMMAND_TIMEOUT = 30.0


def key_file(llm: LLMConfig, env: Mapping[str, str]) -> Path | None:
    """The key file's path with `$VARS` and `~` expanded, or None when not configured."""
    if llm.api_key_file is None:
        return None
    raw = llm.api_key_file
    for name, value in env.items():  # os.path.expandvars reads os.environ; use `env`
        raw = raw.replace("${" + name + "}", value).replace("$" + name, value)
    return Path(os.path.expanduser(raw))


def source_name(llm: LLMConfig) -> str:
    """Where the key is looked for, as a person would name it."""
    if llm.api_key_file is not None:
        return f"[llm] api_key_file ({llm.api_key_file})"
    if llm.api_key_command is not None:
        return f"[llm] api_key_command ({llm.api_key_command})"
    return llm.api_key_env


def read_key(llm: LLMConfig, env: Mapping[str, str], base_url: str) -> str:
    """The key, stripped; "" when none is configured or the variable is empty.

    MissingAPIKey when a configured file or command does not give one.
    """
    path = key_file(llm, env)
    if path is not None:
        return _from_file(path, llm, base_url)
    if llm.api_key_command is not None:
        return _from_command(llm.api_key_command, llm, env, base_url)
    return env.get(llm.api_key_env, "").strip()


def _missing(llm: LLMConfig, base_url: str, reason: str) -> MissingAPIKey:
    return MissingAPIKey(source_name(llm), base_url, reason=f"{source_name(llm)}: {reason}")


def _from_file(path: Path, llm: LLMConfig, base_url: str) -> str:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise _missing(llm, base_url, f"cannot read {path}: {exc.strerror}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise _missing(llm, base_url, f"{path} is not a regular file")
        if info.st_size > MAX_KEY_FILE:
            raise _missing(llm, base_url, f"{path} is over {MAX_KEY_FILE // 1024} KiB")
        data = os.read(fd, MAX_KEY_FILE)
    finally:
        os.close(fd)
    key = data.decode("utf-8", errors="replace").strip()
    if not key:
        raise _missing(llm, base_url, f"{path} is empty")
    return key.splitlines()[0].strip()


def _from_command(command: str, llm: LLMConfig, env: Mapping[str, str], base_url: str) -> str:
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        raise _missing(llm, base_url, f"the command cannot be split: {exc}") from None
    if not argv:
        raise _missing(llm, base_url, "the command is empty")
    try:
        done = subprocess.run(
            argv,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=COMMAND_TIMEOUT,
            check=False,
        )
    except FileNotFoundError:
        raise _missing(llm, base_url, f"{argv[0]!r} was not found") from None
    except subprocess.TimeoutExpired:
        raise _missing(llm, base_url, f"the command ran over {COMMAND_TIMEOUT:g}s") from None
    except OSError as exc:
        raise _missing(llm, base_url, f"the command did not start: {exc.strerror}") from None
    if done.returncode != 0:
        err = done.stderr.decode("utf-8", errors="replace").strip().splitlines()
        tail = f": {err[-1][:200]}" if err else ""
        raise _missing(llm, base_url, f"the command exited with {done.returncode}{tail}")
    lines = done.stdout.decode("utf-8", errors="replace").strip().splitlines()
    if not lines or not lines[0].strip():
        raise _missing(llm, base_url, "the command printed nothing")
    return lines[0].strip()
