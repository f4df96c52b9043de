"""Schedule text made plain before it is read: lower case, ASCII punctuation, and the
Chinese forms in English ("每天 22:05" -> "daily 22:05"). Pure.
"""

from __future__ import annotations

import re
import unicodedata

from localhb.format.recurrence_model import DAY_ABBR

__all__ = ["normalise"]


_CHINESE_DAY = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "日": 0, "天": 0}
_CN_DAY_CHARS = "一二三四五六日天"


def _cn_time(m: re.Match[str]) -> str:
    part, hour, minute, half = m.group(1), int(m.group(2)), m.group(3), m.group(4)
    mins = 30 if half else int(minute or 0)
    if part in ("下午", "晚上", "傍晚") and hour < 12:
        hour += 12
    if part == "中午" and hour < 6:
        hour += 12
    return f" {hour:02d}:{mins:02d} "


def _cn_weekly(m: re.Match[str]) -> str:
    days = [DAY_ABBR[_CHINESE_DAY[c]].lower() for c in m.group(1) if c in _CHINESE_DAY]
    return " every " + ", ".join(days) + " "


_CHINESE_RULES: tuple[tuple[str, str], ...] = (
    (r"每\s*(?:次|个)\s*(?:心跳|heartbeat)", " every heartbeat "),
    (r"每隔", "每"),
    (r"工作日", " weekdays "),
    (r"周末", " weekends "),
    (r"[周星期]{1,2}一\s*[至到~-]\s*[周星期]{0,2}五", " mon-fri "),
    (r"每\s*小时", " every hour "),
    (r"每\s*分钟", " every minute "),
    (r"每\s*(\d+(?:\.\d+)?)\s*[-~至到]\s*(\d+(?:\.\d+)?)\s*(?:个)?小时", r" every \1-\2 hours "),
    (r"每\s*(\d+(?:\.\d+)?)\s*(?:个)?(?:小时|钟头)", r" every \1 hours "),
    (r"每\s*(\d+)\s*分(?:钟)?", r" every \1 minutes "),
    (r"每\s*(\d+)\s*秒(?:钟)?", r" every \1 seconds "),
    (r"每\s*(\d+)\s*[天日]", r" every \1 days "),
    (r"每\s*(\d+)\s*(?:个)?(?:周|星期|礼拜)", r" every \1 weeks "),
    (r"每\s*[天日]", " daily "),
    (r"每\s*月\s*(\d{1,2})\s*[日号]", r" monthly on day \1 "),
    (r"每\s*月", " monthly "),
    (r"每\s*(?:个)?(?:周|星期|礼拜)(?![" + _CN_DAY_CHARS + "])", " weekly "),
    (r"[和及与、]", ", "),
)


_NUMBERS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15,
    "twenty": 20, "thirty": 30, "forty-five": 45, "ninety": 90,
}  # fmt: skip
_COUNT_WORD = re.compile(
    r"\b(every|each) (" + "|".join(sorted(_NUMBERS, key=len, reverse=True)) + r")\b"
)


def normalise(text: str) -> str:
    """Lower case, ASCII punctuation, single spaces, no trailing period; a number word
    after "every" in digits ("every two weeks" -> "every 2 weeks")."""
    s = unicodedata.normalize("NFKC", text).lower().strip().strip("\"'`").strip()
    s = s.rstrip(".。").strip()
    s = re.sub(r"\b([ap])\.\s?m\b\.?", r"\1m", s)
    if re.search(r"[\u3000-\u9fff]", s):
        s = _translate_chinese(s)
    s = re.sub(r"\s*,\s*", ", ", s)
    s = re.sub(r"\s*&\s*", " and ", s)
    s = re.sub(r"\s+", " ", s).strip()
    s = _COUNT_WORD.sub(lambda m: f"{m.group(1)} {_NUMBERS[m.group(2)]}", s)
    return re.sub(r"(, )+", ", ", s).strip(", ")


_CN_WEEKLY = re.compile(
    rf"每?\s*(?:周|星期|礼拜)([{_CN_DAY_CHARS}](?:\s*[、,和]\s*[周星期]{{0,2}}[{_CN_DAY_CHARS}])*)"
)


def _translate_chinese(s: str) -> str:
    s = re.sub(
        r"(上午|早上|早晨|中午|下午|晚上|傍晚)?\s*(\d{1,2})\s*[点點时](?:\s*(\d{1,2})\s*分?|(半))?",
        _cn_time,
        s,
    )
    s = re.sub(r"(上午|早上|早晨)\s*(?=\d)", "", s)
    s = _CN_WEEKLY.sub(_cn_weekly, s)
    for pattern, replacement in _CHINESE_RULES:
        s = re.sub(pattern, replacement, s)
    return s
