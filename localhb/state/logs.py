"""Where cycle and run events go: `$LOCALHB_HOME/logs/agent.log`, rotated.

Secrets are redacted by the agent before events reach the log; the log
itself is for people reading what happened, one event per line. As a last
line of defence every record is formatted through `SafeFormatter`: URL
credentials masked, control characters escaped.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
from pathlib import Path
from typing import TextIO

LOG_NAME = "agent.log"
MAX_BYTES = 5 * 1024 * 1024
BACKUPS = 5
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class SafeFormatter(logging.Formatter):
    """A Formatter whose output has no URL credentials and no raw control characters."""

    def format(self, record: logging.LogRecord) -> str:
        from localhb.core.redact import fold_controls, strip_url_credentials

        return fold_controls(strip_url_credentials(super().format(record)))


class _SharedRotatingHandler(logging.handlers.RotatingFileHandler):
    """Rotates like RotatingFileHandler, and reopens the file when another
    process (cron's one-shot, `localhb run`) has rotated it meanwhile, so a
    long-running daemon never keeps writing into `agent.log.1`."""

    def emit(self, record: logging.LogRecord) -> None:
        if self.stream is not None:
            try:
                moved = os.stat(self.baseFilename).st_ino != os.fstat(self.stream.fileno()).st_ino
            except OSError:
                moved = True
            if moved:
                self.stream.close()
                self.stream = self._open()
        super().emit(record)


def configure(log_dir: Path, *, stream: TextIO | None = None, level: int = logging.INFO) -> Path:
    """Send the `localhb` logger to a rotating file (and `stream`, if given)."""
    log_dir.mkdir(parents=True, exist_ok=True)
    path = log_dir / LOG_NAME
    logger = logging.getLogger("localhb")
    for old in list(logger.handlers):
        logger.removeHandler(old)
        old.close()
    handler: logging.Handler = _SharedRotatingHandler(
        path, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8"
    )
    handler.setFormatter(SafeFormatter(FORMAT))
    logger.addHandler(handler)
    if stream is not None:
        console = logging.StreamHandler(stream)
        console.setFormatter(SafeFormatter(FORMAT))
        logger.addHandler(console)
    logger.setLevel(level)
    logger.propagate = False
    return path
