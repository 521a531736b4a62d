"""The wall clock: what the daemon and the commands pass to everything that needs the time
(tests pass a fake one). Its own tiny module, so a quick command reads the time without
loading the daemon."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)
