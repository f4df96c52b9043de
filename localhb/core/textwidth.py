"""Display width of text in a terminal: CJK and emoji take two cells, combining marks none.

Tables that align by `len()` break on `日报` or `✅`; these helpers pad and clip
by the cells a terminal draws (East Asian Wide/Fullwidth = 2, a character
turned emoji by U+FE0F = 2, the parts after a zero-width joiner = 0).
"""

from __future__ import annotations

import unicodedata

__all__ = ["clip", "ljust", "width"]

_ZERO = frozenset("\u200b\u200c\u200d\u200e\u200f\u2060\ufeff\ufe0e\ufe0f")


def _cells(text: str) -> list[int]:
    """The width of each character of `text`, in order."""
    out: list[int] = []
    joined = False
    for ch in text:
        if ch == "\u200d":
            out.append(0)
            joined = True
            continue
        if joined or ch in _ZERO or unicodedata.combining(ch):
            joined = False
            if ch == "\ufe0f" and out and out[-1] == 1:
                out[-1] = 2  # U+FE0F asks for the emoji (two-cell) form
            out.append(0)
            continue
        code = ord(ch)
        if 0x1F1E6 <= code <= 0x1F1FF:  # regional indicators: a flag is two of them, 2 cells
            out.append(1)
            continue
        out.append(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1)
    return out


def width(text: str) -> int:
    """How many terminal cells `text` takes."""
    return sum(_cells(text))


def ljust(text: str, cells: int) -> str:
    """`text` padded with spaces to `cells` wide."""
    return text + " " * max(0, cells - width(text))


def clip(text: str, cells: int) -> str:
    """`text` cut to at most `cells` wide, ending in `…` when cut."""
    if width(text) <= cells:
        return text
    out, used = [], 0
    for ch, w in zip(text, _cells(text), strict=True):
        if used + w > cells - 1:
            break
        out.append(ch)
        used += w
    return "".join(out) + "…"
