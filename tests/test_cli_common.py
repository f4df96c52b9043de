"""The shared CLI helpers: one reader of `--now`/`--at` for every command."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from localhb.cli import main
from localhb.cli.common import moment
from localhb.core.errors import UsageError

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.mark.parametrize(
    ("text", "utc"),
    [
        ("2024-01-15 14:00", datetime(2024, 1, 15, 13, 0, tzinfo=UTC)),
        ("2024-01-15T14:00:00Z", datetime(2024, 1, 15, 14, 0, tzinfo=UTC)),
        ("2024-01-15 14:00+05:00", datetime(2024, 1, 15, 9, 0, tzinfo=UTC)),
        ("2024-03-31 02:30", datetime(2024, 3, 31, 1, 0, tzinfo=UTC)),  # gap: the change
        ("2024-10-27 02:30", datetime(2024, 10, 27, 0, 30, tzinfo=UTC)),  # repeated: first
        ("2024-01-15", datetime(2024, 1, 14, 23, 0, tzinfo=UTC)),
    ],
)
def test_moment_reads_wall_times_in_the_zone(text: str, utc: datetime) -> None:
    """A naive time is a wall time in the zone; an offset or Z is kept."""
    at = moment(text, BERLIN)
    assert at.utcoffset() is not None and at.astimezone(UTC) == utc
    assert at - utc == timedelta(0)


def test_a_bad_moment_names_the_option() -> None:
    """A value that is no time is a UsageError naming the option and the value."""
    with pytest.raises(UsageError, match=r'--at: expected "YYYY-MM-DD HH:MM", got \'soon\''):
        moment("soon", BERLIN, "--at")


@pytest.mark.parametrize(
    "argv",
    [["health", "--now", "x"], ["tasks", "--at", "x"], ["daemon", "heartbeat", "--now", "x"]],
)
def test_every_command_reports_a_bad_moment_the_same_way(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """health, tasks and daemon heartbeat: exit 2 and one line naming the option."""
    assert main(["init"]) == 0
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    option = argv[-2]
    assert err == [f"localhb: error: {option}: expected \"YYYY-MM-DD HH:MM\", got 'x'"]
