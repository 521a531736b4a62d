"""Logging for operators: one readable line per event, never a secret."""

from __future__ import annotations

import logging
import re
import sys

from rich.console import Console, ConsoleRenderable
from rich.logging import RichHandler
from rich.text import Text

# Loggers whose lines are the news on a terminal: each alert sent, and the minute summary
# (which stays quiet so that alerts and warnings stand out).
ALERTS_LOGGER = "vinyl_detective.alerts"
ACTIVITY_LOGGER = "vinyl_detective.activity"


# `scheme://user:password@`: a password in any URL, configured or not.
_URL_PASSWORD = re.compile(r"(\b[a-zA-Z][\w+.-]*://[^/\s:@]*):[^/\s@]+@")


class _RedactSecrets(logging.Filter):
    """Masks each secret in a record: its message, its arguments and its traceback."""

    def __init__(self, secrets: tuple[str, ...]) -> None:
        super().__init__()
        # Longest first, so a secret that contains another is masked whole.
        self.secrets = tuple(sorted({s for s in secrets if len(s) >= 6}, key=len, reverse=True))

    def _redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return _URL_PASSWORD.sub(r"\1:***@", text)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = self._redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            # What the formatter would print, masked; it prints exc_text when set.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self._redact(record.stack_info)
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
        "urllib3",  # Apprise's HTTP: its debug lines carry each request's path (tokens)
        "telegram",
        "apscheduler",
        "aio_pika",
        "aiormq",
        "uvicorn.access",
        "alembic",
    ):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # Apprise's debug lines print every URL it posts to and each payload, webhook tokens
    # included; its info and warnings (sent, failed and why) stay.
    logging.getLogger("apprise").setLevel(max(logging.INFO, root.level))


def log_console() -> Console | None:
    """The console the log is written to on a terminal (None for plain log lines), for a
    live display that log lines should print above."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler, RichHandler):
            return handler.console
    return None
