"""Slot walks by backend: cron (cronsim) against rrule (dateutil) for the same schedules.

For each pair, the time of `next(slots_after(...))` and `next(slots_until(...))`
from 200 different instants across 2026 in Europe/Berlin, and the ratio
rrule / cron from the same run. Also a windowed interval ("every 1m,
09:00-17:00") against the same interval without its window. Prints figures;
asserts nothing.

    .venv/bin/python bench/bench_schedules.py
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from localhb.format.recurrence import parse_recurrence
from localhb.timing.slots import slots_after, slots_until

TZ = ZoneInfo("Europe/Berlin")
STARTS = [datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=43 * i + 7) for i in range(200)]
PAIRS = [
    ("daily at 02:30", "RRULE:FREQ=DAILY;BYHOUR=2;BYMINUTE=30"),
    ("monthly on day 1 at 09:00", "RRULE:FREQ=MONTHLY;BYMONTHDAY=1;BYHOUR=9;BYMINUTE=0"),
    ("weekly on Fri at 17:00", "RRULE:FREQ=WEEKLY;BYDAY=FR;BYHOUR=17;BYMINUTE=0"),
    ("every 1m", "every 1m, 09:00-17:00"),
]


def per_call(text: str) -> float:
    """Microseconds per next-slot plus latest-slot lookup, after a warm-up."""
    rec = parse_recurrence(text)
    for t in STARTS[:5]:
        next(slots_after(rec, t, TZ), None)
    began = time.perf_counter()
    for t in STARTS:
        next(slots_after(rec, t, TZ), None)
        next(slots_until(rec, t, TZ), None)
    return (time.perf_counter() - began) / len(STARTS) * 1e6


def main() -> None:
    print(f"{'baseline':<28} {'us':>8}   {'compared':<52} {'us':>8}  ratio")
    for base, other in PAIRS:
        a, b = per_call(base), per_call(other)
        print(f"{base:<28} {a:8.1f}   {other:<52} {b:8.1f}  {b / a:5.2f}x")


if __name__ == "__main__":
    main()
