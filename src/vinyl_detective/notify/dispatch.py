"""Delivering a deal to its recipients exactly once each, whatever fails.

Every recipient (a Telegram chat, an Apprise channel) is a `Channel`. For each one the
dispatcher claims the (recipient, listing) row in the alert log first, then sends, then
marks it sent: a second claim — a re-run, a restart, another worker — is refused, so no
alert is ever repeated. Channels are delivered concurrently; one failing channel never
holds up or stops the others. The error's type decides what happens next.
"""

from __future__ import annotations

import asyncio
import logging
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
        item_id = deal.listing.item_id
        try:
            await channel.send(deal)
        except RecipientBlockedError as exc:
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
        except PermanentError as exc:
            log.warning("alert to %s failed for good: %s", channel.recipient, exc)
            self._failed(channel, item_id, occasion, str(exc), permanent=True)
            return False
        except VinylDetectiveError as exc:
            log.info("alert to %s will be retried: %s", channel.recipient, exc)
            self._failed(channel, item_id, occasion, str(exc), permanent=False)
            return False
        with self.engine.begin() as conn:
            alerts.mark_sent(conn, channel.recipient, item_id, self.clock(), occasion)
        alert_log.info("alert to %s: %s", channel.recipient, log_line(deal))
        return True

    def _failed(
        self, channel: Channel, item_id: str, occasion: str, error: str, *, permanent: bool
    ) -> None:
        with self.engine.begin() as conn:
            alerts.mark_attempt_failed(
                conn,
                channel.recipient,
                item_id,
                error,
                permanent=permanent,
                now=self.clock(),
                occasion=occasion,
            )
