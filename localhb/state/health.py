"""Health files: one small JSON file per task run, for dashboards and watchdogs.

    $LOCALHB_HOME/health/<YYYY-MM-DD>_<task-id>_<HHMM>.json   one per run (UTC start)
    $LOCALHB_HOME/health/<task-id>_latest.json                 a copy of the newest

Each holds `task_id`, `status` (ok | partial | skipped | error), `started_at`,
`completed_at` (ISO 8601, `Z`), `summary` (one line, < 200 characters),
`warnings`, `errors` and `metrics`; none is ever null. Writes are atomic.

Reading is lenient (legacy GREEN/YELLOW/RED read as ok/partial/error, odd
files become problems, never exceptions) and `assess()` decides, without
reading the clock, which recurring tasks are overdue.

The record, names, writing and format check live in `localhb.state.health_format`,
the scan and `assess()` in `localhb.state.health_scan`; import either from here.
"""

from __future__ import annotations

from localhb.state.health_format import (
    CANONICAL,
    LEGACY,
    METRIC_KEYS,
    SUMMARY_LIMIT,
    HealthRecord,
    health_filename,
    latest_filename,
    record_from_end,
    record_from_result,
    safe_name,
    validate_health,
    write_health,
)
from localhb.state.health_scan import (
    HealthEntry,
    HealthScan,
    TaskHealth,
    assess,
    scan_health,
)

__all__ = [
    "CANONICAL",
    "LEGACY",
    "METRIC_KEYS",
    "SUMMARY_LIMIT",
    "HealthEntry",
    "HealthRecord",
    "HealthScan",
    "TaskHealth",
    "assess",
    "health_filename",
    "latest_filename",
    "record_from_end",
    "record_from_result",
    "safe_name",
    "scan_health",
    "validate_health",
    "write_health",
]
