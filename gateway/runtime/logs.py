"""Log lines for people or for a log pipeline: text by default, one JSON object per line
when `[logging] format = "json"` (or TICKETGATE_LOG_FORMAT=json) asks for it.

Lines about one message carry its Message-ID and ticket ref as fields
(`log.info(..., extra={"message_id": ..., "ticket": ...})`) so a log search
for a ticket finds every line about it; the JSON form keeps them as keys.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Literal, TextIO

LogFormat = Literal["text", "json"]
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
WORKER_TEXT_FORMAT = "%(asctime)s %(levelname)s [worker %(worker)s] %(name)s: %(message)s"
# The fields a log line about one message or one outbox mail may carry.
CONTEXT_FIELDS = ("message_id", "ticket", "outbox_id", "channel", "sender", "outcome")
QUIET = {
    "alembic": logging.WARNING,
    "apscheduler": logging.WARNING,  # one line per sweep otherwise
    "mail-parser": logging.ERROR,
    "mailparser": logging.ERROR,
    "aiohttp.access": logging.WARNING,
    # aiosmtpd: five lines a connection (peer, AUTH mechanisms, EOF, lost...) where the
    # receipt line already says what came and what was done with it.
    "mail.log": logging.WARNING,
}


class JsonLines(logging.Formatter):
    """One JSON object per record: time (UTC, ISO 8601), level, logger, message, the
    message's context fields when the line has them, and the traceback if any."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if (worker := getattr(record, "worker", None)) is not None:
            data["worker"] = worker
        for field in CONTEXT_FIELDS:
            value = getattr(record, field, None)
            if value is not None:
                data[field] = str(value)
        if record.exc_info:
            data["traceback"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False)


class _WorkerStamp(logging.Filter):
    """Marks every record with the `serve` worker that wrote it (workers share one log)."""

    def __init__(self, worker: int) -> None:
        super().__init__()
        self.worker = worker

    def filter(self, record: logging.LogRecord) -> bool:
        record.worker = self.worker
        return True


def log_handler(
    log_format: LogFormat = "text", worker: int | None = None, stream: TextIO | None = None
) -> logging.Handler:
    """A handler writing `log_format` lines to `stream` (stderr); a `serve` worker's lines
    carry its number: `[worker 2]`, or `"worker": 2` in JSON (workers share one log)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    text = TEXT_FORMAT if worker is None else WORKER_TEXT_FORMAT
    handler.setFormatter(JsonLines() if log_format == "json" else logging.Formatter(text))
    if worker is not None:
        handler.addFilter(_WorkerStamp(worker))
    return handler


def configure_logging(
    log_format: LogFormat = "text", *, verbose: bool = False, worker: int | None = None
) -> None:
    """Send the process's log to stderr in `log_format`; safe to call again once the
    configuration is known (the CLI logs as text until it has read the config)."""
    handler = log_handler(log_format, worker)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    for name, level in QUIET.items():
        logging.getLogger(name).setLevel(level)
