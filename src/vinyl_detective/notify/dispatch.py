"""Delivering a deal to its recipients exactly once each, whatever fails.

Every recipient (a Telegram chat, an Apprise channel) is a `Channel`. For each one the
dispatcher claims the (recipient, listing) row in the alert log first, then sends, then
marks it sent: a second claim — a re-run, a restart, another worker — is refused, so no
alert is ever repeated. Channels are delivered concurrently; one failing channel never
holds up or stops the others. The error's type decides what happens next.

The dispatcher also remembers, for this process, when each recipient last took an alert
and which alerts failed here: an alert that failed and whose recipient has taken another
one since is worth trying again at once (`recovered`), not after its back-off.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy.engine import Engine

from vinyl_detective.domain.models import Deal
from vinyl_detective.errors import PermanentError, RecipientBlockedError, VinylDetectiveError
from vinyl_detective.logs import ALERTS_LOGGER
from vinyl_detective.notify.cards import log_line
from vinyl_detective.storage import alerts, chats

log = logging.getLogger(__name__)
alert_log = logging.getLogger(ALERTS_LOGGER)  # one line per alert sent: the log's news

# How many failed alerts the dispatcher remembers (oldest forgotten first): they are only
# the hint that makes a recovered recipient's backlog due at once, never the guarantee.
FAILURES_REMEMBERED = 10_000

AlertKey = tuple[str, str, str]  # (recipient, item_id, occasion)

# When the daemon stops while an alert is on its way, the send gets this long to finish
# and be recorded (the Telegram client's own timeouts are 5 s a phase).
IN_FLIGHT_ON_STOP_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class PriceDrop:
    """A listing's `number`-th price drop, and how much the score must rise over what a
    recipient already heard (0.10: ten points) for it to be told again."""

    number: int
    min_rise: float


class Channel(Protocol):
    """One place alerts go. `recipient` is its stable key in the alert log."""

    @property
    def recipient(self) -> str: ...

    async def send(self, deal: Deal) -> None: ...


class TelegramSender(Protocol):
    async def send_deal(self, chat_id: int, deal: Deal) -> int: ...


class TelegramChannel:
    """A Telegram chat, reached through the bot."""

    def __init__(self, sender: TelegramSender, chat_id: int) -> None:
        self.sender = sender
        self.chat_id = chat_id

    @property
    def recipient(self) -> str:
        return f"telegram:{self.chat_id}"

    async def send(self, deal: Deal) -> None:
        await self.sender.send_deal(self.chat_id, deal)


class AlertDispatcher:
    def __init__(self, engine: Engine, clock: Callable[[], datetime]) -> None:
        self.engine = engine
        self.clock = clock
        # What happened in this process, in order (a count, not a clock: a clock may
        # stand still or step back): recipient → its last delivery; the alerts whose last
        # attempt failed here (retryably) → that attempt's time and place in the order.
        self._order = itertools.count()
        self._delivered: dict[str, int] = {}
        self._failed_at: OrderedDict[AlertKey, tuple[datetime, int]] = OrderedDict()

    def recovered(self, alert: alerts.PendingAlert) -> bool:
        """Whether `alert` may be tried again now, ahead of its back-off: its last attempt
        failed in this process, nobody took it since (its attempt time is still that
        failure's: a retry in flight anywhere would have moved it), and its recipient has
        taken an alert from this process after that failure: the recipient is back."""
        failed = self._failed_at.get((alert.recipient, alert.item_id, alert.occasion))
        if failed is None or alert.last_attempt_at != failed[0]:
            return False
        return self._delivered.get(alert.recipient, -1) > failed[1]

    async def deliver(
        self,
        deal: Deal,
        channels: Sequence[Channel],
        *,
        search_id: int | None = None,
        drop: PriceDrop | None = None,
    ) -> int:
        """Send `deal` to every channel not alerted about it before; returns how many got it.

        With `drop` (the listing's price just fell), a channel alerted before hears of it
        again only if the score rose by at least `drop.min_rise` over the best score it
        was alerted about, under the drop's own key: once per drop and channel. A channel
        never alerted gets its first alert (the card says the price dropped either way).
        """
        claimed: list[tuple[Channel, str]] = []
        item_id = deal.listing.item_id
        with self.engine.begin() as conn:
            for channel in channels:
                occasion = alerts.FIRST
                if drop is not None:
                    best = alerts.best_alerted_score(conn, channel.recipient, item_id)
                    if best is not None:
                        if deal.score - best < drop.min_rise - 1e-9:
                            continue  # not enough better than what it already heard
                        occasion = alerts.drop_occasion(drop.number)
                if alerts.claim(
                    conn,
                    channel.recipient,
                    item_id,
                    now=self.clock(),
                    search_id=search_id,
                    deal_score=deal.score,
                    occasion=occasion,
                ):
                    claimed.append((channel, occasion))
        results = await asyncio.gather(*(self._send(deal, c, o) for c, o in claimed))
        return sum(results)

    async def resend(self, deal: Deal, channel: Channel, occasion: str = alerts.FIRST) -> bool:
        """Retry a claimed-but-undelivered alert (after a crash or a retryable failure)."""
        return await self._send(deal, channel, occasion)

    async def _send(self, deal: Deal, channel: Channel, occasion: str) -> bool:
        key = (channel.recipient, deal.listing.item_id, occasion)
        self._failed_at.pop(key, None)  # being tried now: no longer a failure to hint at
        sending = asyncio.ensure_future(channel.send(deal))
        try:
            await asyncio.shield(sending)
        except asyncio.CancelledError:
            # The daemon is stopping while the alert is on its way. A request sent cannot
            # be called back: wait for its answer (a few seconds at most) and record what
            # it was, so that an alert that arrived is not left unsent for the next start
            # to repeat. Only a kill -9 (or a send slower than this) leaves that window.
            await asyncio.wait({sending}, timeout=IN_FLIGHT_ON_STOP_SECONDS)
            if sending.done():
                self._record(deal, channel, occasion, sending)
            else:
                sending.cancel()
            raise
        except Exception:  # noqa: S110 - the send's own error: `_record` reads it
            pass
        return self._record(deal, channel, occasion, sending)

    def _record(
        self, deal: Deal, channel: Channel, occasion: str, sending: asyncio.Future[None]
    ) -> bool:
        """Record how a finished send went; True when the alert was delivered."""
        item_id = deal.listing.item_id
        if sending.cancelled():
            return False  # left pending: the retry pass tries it again
        exc = sending.exception()
        if isinstance(exc, RecipientBlockedError):
            log.warning("alert to %s refused for good: %s", channel.recipient, exc)
            with self.engine.begin() as conn:
                alerts.mark_attempt_failed(
                    conn,
                    channel.recipient,
                    item_id,
                    str(exc),
                    permanent=True,
                    now=self.clock(),
                    occasion=occasion,
                )
                if isinstance(channel, TelegramChannel):
                    chats.set_blocked(conn, channel.chat_id, True, self.clock())
            return False
        if isinstance(exc, PermanentError):
            log.warning("alert to %s failed for good: %s", channel.recipient, exc)
            self._failed(channel, item_id, occasion, str(exc), permanent=True)
            return False
        if isinstance(exc, VinylDetectiveError):
            log.info("alert to %s will be retried: %s", channel.recipient, exc)
            self._failed(channel, item_id, occasion, str(exc), permanent=False)
            return False
        if exc is not None:
            raise exc
        now = self.clock()
        with self.engine.begin() as conn:
            alerts.mark_sent(conn, channel.recipient, item_id, now, occasion)
        self._delivered[channel.recipient] = next(self._order)
        alert_log.info("alert to %s: %s", channel.recipient, log_line(deal))
        return True

    def _failed(
        self, channel: Channel, item_id: str, occasion: str, error: str, *, permanent: bool
    ) -> None:
        now = self.clock()
        with self.engine.begin() as conn:
            alerts.mark_attempt_failed(
                conn,
                channel.recipient,
                item_id,
                error,
                permanent=permanent,
                now=now,
                occasion=occasion,
            )
        if not permanent:
            self._failed_at[(channel.recipient, item_id, occasion)] = (now, next(self._order))
            while len(self._failed_at) > FAILURES_REMEMBERED:
                self._failed_at.popitem(last=False)
