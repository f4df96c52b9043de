"""Parts of the day ("morning", "晚上") and clock times: what a schedule leaves unsaid.

Pure. A part of the day is not a clock time, so localhb never turns one into
00:00 or any other guess: `part_of_day` finds one that comes without a clock
time, and `time_hint` builds a hint that keeps every other word the author
wrote and asks for the time ("daily at HH:MM").
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["EXAMPLE_TIMES", "has_clock_time", "part_of_day", "time_hint"]

_PART = re.compile(
    r"\b(?:mornings?|afternoons?|evenings?|nights?|nightly|tonight|overnight|dawn|dusk"
    r"|lunchtime|bedtime|end of (?:the )?day|eod)\b"
    r"|早上|早晨|清晨|上午|中午|下午|傍晚|晚上|夜里|夜间|凌晨"
)
_CLOCK = re.compile(
    r"(?<![\d:])\d{1,2}:\d{2}(?![\d:])|(?<![\d:])\d{1,2}(?::\d{2})? ?[ap]\.?m\b"
    r"|\b(?:noon|midnight)\b|\d{1,2}\s*[点點时]"
)

EXAMPLE_TIMES = {
    "morning": "08:00",
    "afternoon": "14:00",
    "evening": "19:00",
    "night": "22:00",
    "lunchtime": "12:00",
    "bedtime": "22:00",
}
_CHINESE = {
    "早上": "morning",
    "早晨": "morning",
    "清晨": "morning",
    "上午": "morning",
    "中午": "afternoon",
    "下午": "afternoon",
    "傍晚": "evening",
    "晚上": "evening",
    "夜里": "night",
    "夜间": "night",
    "凌晨": "night",
}


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower()


def has_clock_time(text: str) -> bool:
    """Whether `text` names a clock time (09:00, 9am, noon, 9点)."""
    return bool(_CLOCK.search(_fold(text)))


def part_of_day(text: str) -> str | None:
    """The part of the day `text` names without any clock time, else None."""
    s = _fold(text)
    m = _PART.search(s)
    if m is None or has_clock_time(s):
        return None
    return m.group(0)


_KIND = {
    "dawn": "morning",
    "dusk": "evening",
    "end of day": "evening",
    "end of the day": "evening",
    "eod": "evening",
    "tonight": "night",
    "overnight": "night",
    "nightly": "night",
}


def _kind(word: str) -> str:
    word = _CHINESE.get(word, word)
    word = _KIND.get(word, word)
    word = word if word in EXAMPLE_TIMES else word.removesuffix("s")
    return word if word in EXAMPLE_TIMES else "morning"


def time_hint(word: str, days: str = "daily") -> str:
    """'give the time you mean: "daily at HH:MM" (e.g. "daily at 08:00" ...)'."""
    example = EXAMPLE_TIMES[_kind(word)]
    return (
        f'give the clock time you mean: "{days} at HH:MM" '
        f'(e.g. "{days} at {example}" if the {_kind(word)} means {example})'
    )
