"""Logging for operators: one readable line per event, never a secret."""

from __future__ import annotations

import logging
import sys

from rich.console import Console, ConsoleRenderable
from rich.logging import RichHandler
from rich.text import Text

# Loggers whose lines are the news on a terminal: each alert sent, and the minute summary
# (which stays quiet so that alerts and warnings stand out).
ALERTS_LOGGER = "vinyl_detective.alerts"
ACTIVITY_LOGGER = "vinyl_detective.activity"


class _RedactSecrets(logging.Filter):
    def __init__(self, secrets: tuple[str, ...]) -> None:
        super().__init__()
        self.secrets = tuple(s for s in secrets if len(s) >= 6)

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            message = record.getMessage()
            redacted = message
            for secret in self.secrets:
                redacted = redacted.replace(secret, "***")
            if redacted != message:
                record.msg, record.args = redacted, None
        return True


class _OperatorHandler(RichHandler):
    """Rich's handler, with alerts in bold green, warnings yellow, errors red and the
    minute summary dimmed: what needs a look stands out from the routine."""

    def render_message(self, record: logging.LogRecord, message: str) -> ConsoleRenderable:
        text = super().render_message(record, message)
        if not isinstance(text, Text):
            return text
        if record.levelno >= logging.ERROR:
            text.stylize("bold red")
        elif record.levelno >= logging.WARNING:
            text.stylize("yellow")
        elif record.name == ALERTS_LOGGER:
            text.stylize("bold green")
        elif record.name == ACTIVITY_LOGGER:
            text.stylize("dim")
        return text


def setup_logging(level: str = "INFO", secrets: tuple[str, ...] = ()) -> None:
    """Rich output on a terminal, plain timestamped lines otherwise (systemd, CI)."""
    handler: logging.Handler
    if sys.stderr.isatty():
        handler = _OperatorHandler(show_path=False, rich_tracebacks=False, markup=False)
        fmt = "%(message)s"
    else:
        handler = logging.StreamHandler()
        fmt = "%(asctime)s %(levelname)s %(name)s: %(message)s"
    handler.setFormatter(logging.Formatter(fmt))
    handler.addFilter(_RedactSecrets(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in (
        "httpx",
        "httpcore",
        "telegram",
        "apscheduler",
        "aio_pika",
        "aiormq",
        "uvicorn.access",
        "alembic",
    ):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def log_console() -> Console | None:
    """The console the log is written to on a terminal (None for plain log lines), for a
    live display that log lines should print above."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler, RichHandler):
            return handler.console
    return None
