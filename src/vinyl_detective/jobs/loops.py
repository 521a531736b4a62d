"""How the daemon's loops run and stop: a job every so many seconds until a stop, and a
graceful drain of running tasks on stop (a grace period, or at once when forced)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger("vinyl_detective")


async def every(stop: asyncio.Event, seconds: float, job: Callable[[], Awaitable[object]]) -> None:
    """Run `job` now and then every `seconds` until `stop`; a failing run is logged and
    the next one still comes."""
    while not stop.is_set():
        try:
            await job()
        except Exception:
            log.exception("%s failed; it runs again in %.0fs", job.__name__, seconds)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=seconds)


async def drain(
    tasks: list[asyncio.Task[Any]], force: asyncio.Event, grace: float
) -> set[asyncio.Task[Any]]:
    """Wait for `tasks` to finish, at most `grace` seconds or until `force`; return
    those still running."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + grace
    pending: set[asyncio.Task[Any]] = set(tasks)
    forced = asyncio.ensure_future(force.wait())
    try:
        while pending and not force.is_set():
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            done, _ = await asyncio.wait(
                pending | {forced}, timeout=remaining, return_when=asyncio.FIRST_COMPLETED
            )
            pending -= done
    finally:
        forced.cancel()
    return pending
