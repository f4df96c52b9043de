"""Keep secrets out of everything a run records: traces, results, transcripts.

A `Redactor` is built once per run from the environment. It replaces the
value of every variable whose name says it is secret (KEY, TOKEN, SECRET,
PASSWORD, CREDENTIAL), plus the LLM key's own variable, with `[REDACTED:NAME]`.
Well-known token shapes (`sk-...`, `ghp_...`, bearer headers) are masked too,
so a key the model saw elsewhere does not slip through. Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

SECRET_NAME_PARTS = ("KEY", "TOKEN", "SECRET", "PASSWORD", "PASSWD", "CREDENTIAL")
# Shorter values ("1", "true", "yes") are settings, not secrets; masking them
# would garble every transcript.
MIN_SECRET_LENGTH = 6

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
    def from_env(cls, env: Mapping[str, str], extra_names: Iterable[str] = ()) -> Redactor:
        """Every secret-looking variable of `env`, plus the variables in `extra_names`."""
        wanted = set(extra_names)
        found: dict[str, str] = {}
        for name, value in env.items():
            value = value.strip()
            if len(value) < MIN_SECRET_LENGTH:
                continue
            if name in wanted or is_secret_name(name):
                found.setdefault(value, name)
        # Longest first, so a secret that contains another is replaced whole.
        ordered = sorted(found.items(), key=lambda item: -len(item[0]))
        return cls(tuple(ordered))

    def __call__(self, text: str) -> str:
        for value, name in self.secrets:
            if value in text:
                text = text.replace(value, f"[REDACTED:{name}]")
        return _TOKEN_SHAPES.sub("[REDACTED]", text)
