"""Holding a Ctrl-C while work that must not stop halfway (a transaction, a cleanup) runs."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from typing import Any


@contextlib.contextmanager
def interrupts_deferred() -> Iterator[None]:
    """Hold a first Ctrl-C (SIGINT) until the block has finished, then raise it as usual.

    For work that must not stop halfway (a transaction, a cleanup). A second Ctrl-C inside
    the block interrupts at once. A no-op outside the main thread (where no signal handler
    can be set) and when SIGINT is ignored or not handled from Python.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGINT)
    if not callable(previous) and previous != signal.SIG_DFL:
        yield
        return
    held: list[bool] = []

    def hold(signum: int, frame: Any) -> None:
        if held:  # the second one: stop now
            signal.signal(signal.SIGINT, previous)
            raise KeyboardInterrupt
        held.append(True)

    signal.signal(signal.SIGINT, hold)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if held:  # the block finished: deliver the Ctrl-C it held
        if callable(previous):
            previous(signal.SIGINT, None)
        else:
            raise KeyboardInterrupt


__all__ = ["interrupts_deferred"]
