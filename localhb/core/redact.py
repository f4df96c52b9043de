"""Keep secrets out of everything a run records: traces, results, transcripts.

A `Redactor` is built once per run from the environment. It replaces the
value of every variable whose name says it is secret (KEY, TOKEN, SECRET,
PASSWORD, CREDENTIAL), plus the LLM key's own variable and any key read from a
file or command, with `[REDACTED:NAME]`. The credentials of a URL
(`scheme://user:pass@host`) are masked wherever they appear
(`strip_url_credentials`), and so is the whole value of a variable that holds
such a URL (`DATABASE_URL`). Well-known token shapes (`sk-...`, `ghp_...`,
bearer headers) are masked too, so a key the model saw elsewhere does not
slip through. Pure: no I/O.

`fold_controls` makes model text safe to write into HEARTBEAT.md or print to
a terminal: control characters (NUL, ESC sequences, C1) and the invisible
bidirectional overrides (U+202A-U+202E, U+2066-U+2069) become `\\xNN` /
`\\u202e` escapes, so nothing can rewrite the screen or hide text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

SECRET_NAME_PARTS = ("KEY", "TOKEN", "SECRET", "PASSWORD", "PASSWD", "CREDENTIAL")
# Shorter values ("1", "true", "yes") are settings, not secrets; masking them
# would garble every transcript.
MIN_SECRET_LENGTH = 6

# scheme://userinfo@  (userinfo has no /, ?, # or whitespace)
_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)([^/?#@\s]+)@")
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_BREAKS = re.compile("[\u2028\u2029\x85]")


def strip_url_credentials(text: str) -> str:
    """`text` with the user:password of every URL in it replaced by `[REDACTED]`."""
    return _URL_USERINFO.sub(r"\1[REDACTED]@", text)


def fold_controls(text: str, *, keep_newlines: bool = True) -> str:
    """`text` with control and bidi-override characters as visible escapes.

    Tabs stay; newlines stay when `keep_newlines`, else become spaces; Unicode
    line separators become spaces.
    """
    if not keep_newlines:
        text = text.replace("\r\n", " ").replace("\n", " ").replace("\r", " ")
    text = _BREAKS.sub(" ", text)
    return _CONTROLS.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


_TOKEN_SHAPES = re.compile(
    r"\b(?:sk-[A-Za-z0-9_-]{16,}"  # OpenAI and most OpenAI-compatible hosts
    r"|gh[pousr]_[A-Za-z0-9]{20,}"  # GitHub
    r"|github_pat_[A-Za-z0-9_]{20,}"
    r"|xox[abprs]-[A-Za-z0-9-]{10,}"  # Slack
    r"|AKIA[0-9A-Z]{16})"  # AWS access key id
    r"|(?<=Bearer )[A-Za-z0-9._~+/=-]{12,}",
)


def is_secret_name(name: str) -> bool:
    upper = name.upper()
    return any(part in upper for part in SECRET_NAME_PARTS)


@dataclass(frozen=True, slots=True)
class Redactor:
    """Replaces known secret values; `secrets` maps each value to its variable name."""

    secrets: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_env(
        cls,
        env: Mapping[str, str],
        extra_names: Iterable[str] = (),
        extra_values: Mapping[str, str] | None = None,
    ) -> Redactor:
        """Every secret-looking variable of `env`, the variables in `extra_names`,
        variables holding a URL with credentials, and `extra_values` (value -> name)."""
        wanted = set(extra_names)
        found: dict[str, str] = {}
        for name, value in env.items():
            value = value.strip()
            if len(value) < MIN_SECRET_LENGTH:
                continue
            userinfo = _URL_USERINFO.search(value)
            if name in wanted or is_secret_name(name) or userinfo:
                found.setdefault(value, name)
            if userinfo:  # the password alone too (`echo ${DATABASE_URL#*:}`)
                password = userinfo.group(2).partition(":")[2]
                if len(password) >= MIN_SECRET_LENGTH:
                    found.setdefault(password, name)
        for value, name in (extra_values or {}).items():
            if len(value.strip()) >= MIN_SECRET_LENGTH:
                found.setdefault(value.strip(), name)
        # Longest first, so a secret that contains another is replaced whole.
        ordered = sorted(found.items(), key=lambda item: -len(item[0]))
        return cls(tuple(ordered))

    def __call__(self, text: str) -> str:
        for value, name in self.secrets:
            if value in text:
                text = text.replace(value, f"[REDACTED:{name}]")
        return _TOKEN_SHAPES.sub("[REDACTED]", strip_url_credentials(text))
