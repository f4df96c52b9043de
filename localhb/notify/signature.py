"""State signatures: what makes two messages "the same state".

The signature is the key (a task id or an alert), the outcome class and the
text normalised: case and spacing folded, and numbers, times, dates and ids
(words holding a digit, long hex strings) replaced by `#`. So "3 failing
checks" and "4 failing checks" are one state; "CI red" and "CI green" are two.
"""

from __future__ import annotations

import hashlib
import re

_ID = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"  # uuid
    r"|\b[0-9a-f]{7,}\b"  # hashes, commit ids
    r"|[\w.:/-]*\d[\w.:/-]*",  # any word holding a digit: 42, 14:00, 2024-01-15, run-8f3a
    re.IGNORECASE,
)
_HASHES = re.compile(r"#(?:[\s#]*#)?")
_PUNCT = re.compile(r"[^\w\s#]+")


def normalise(text: str) -> str:
    """`text` with volatile parts folded, for comparing states."""
    folded = _ID.sub("#", text.lower())
    folded = _PUNCT.sub(" ", folded)
    folded = " ".join(folded.split())
    return _HASHES.sub("#", folded)


def signature(key: str, outcome: str, text: str) -> str:
    """A short stable hash of (key, outcome class, normalised text)."""
    raw = f"{key}\x00{outcome}\x00{normalise(text)}"
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()[:16]
