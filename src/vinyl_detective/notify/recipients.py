"""Who hears about a deal, and the alerts that still have to reach them.

`AlertRecipients` answers two questions for the daemon: which channels a deal of a given
search goes to (its owner's Telegram chat, else every allowed chat, and the Apprise URLs
that apply), and which channel a stored recipient key ("telegram:42", "apprise:…") is
today, so that an alert claimed but not delivered (a crash, an outage) can be retried.
Apprise channels are built once per (URL, digest mode) for the whole run: they keep
state (a digest's queue). Apprise is loaded with the first one, so a Telegram-only
install never loads it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine

from vinyl_detective.domain.currency import ExchangeRates
from vinyl_detective.domain.models import SavedSearch
from vinyl_detective.domain.scoring import score_deal
from vinyl_detective.notify.channels import (
    ALERT_LIFETIME,
    ChannelSpec,
    all_channel_specs,
    channels_for_search,
    due_for_retry,
    retry_deadline,
)
from vinyl_detective.notify.dispatch import AlertDispatcher, Channel, TelegramChannel
from vinyl_detective.notify.telegram import TelegramNotifier
from vinyl_detective.storage import alerts, catalog, chats, job_runs, listings, searches

__all__ = ["IN_FLIGHT_GRACE", "AlertRecipients"]

log = logging.getLogger("vinyl_detective")

# A claimed alert not yet sent after this long was orphaned by a crash: send it again.
# (At once when its claimer is a process of this host that no longer runs.)
IN_FLIGHT_GRACE = timedelta(minutes=5)


class AlertRecipients:
    """The channels of a run: Telegram through `notifier` (None: no bot token), Apprise
    from `apprise_urls` and each search's own `--notify` URLs."""

    def __init__(
        self,
        engine: Engine,
        *,
        notifier: TelegramNotifier | None,
        allowed_chat_ids: Collection[int],
        apprise_urls: Sequence[str],
        dispatcher: AlertDispatcher,
        rates: ExchangeRates,
        clock: Callable[[], datetime],
    ) -> None:
        self.engine = engine
        self.notifier = notifier
        self.allowed_chat_ids = allowed_chat_ids
        self.apprise_urls = apprise_urls
        self.dispatcher = dispatcher
        self.rates = rates
        self.clock = clock
        self._apprise: dict[tuple[str, object], Channel] = {}

    @property
    def apprise_channels(self) -> list[Channel]:
        """The Apprise channels built so far (the digests to flush are theirs)."""
        return list(self._apprise.values())

    def channels_for(self, search: SavedSearch | None) -> list[Channel]:
        """Who hears about a deal of `search`: its owner's chat, else every allowed chat."""
        result: list[Channel] = []
        if self.notifier is not None:
            chat_ids = (
                [search.chat_id]
                if search is not None and search.chat_id is not None
                else sorted(self.allowed_chat_ids)
            )
            with self.engine.connect() as conn:
                for chat_id in chat_ids:
                    if chats.is_reachable(conn, chat_id):
                        result.append(TelegramChannel(self.notifier, chat_id))
        for spec in channels_for_search(self.apprise_urls, search):
            result.append(self.apprise_channel(spec))
        return result

    async def retry_pending(self) -> int:
        """Deliver alerts that were claimed but not sent (crash, or a retryable failure).

        A claim not yet attempted may still be in flight (a slow send, another worker):
        it counts as orphaned only after IN_FLIGHT_GRACE, or at once when its claimer is a
        process of this host that no longer runs (a kill -9, a crash). Each retry is taken
        atomically, so two tasks or workers never send the same one. A failed alert is
        tried again with growing waits (1, 2, 4, 8, then every 15 minutes) for as long as
        it is worth sending — ALERT_LIFETIME, or until its auction ends — then given up
        with the reason. When a recipient fails, its other alerts wait for the next pass:
        one try per recipient and pass while it is down, not one per alert. When it takes
        an alert again (a new one, or a retry), the alerts that failed to it in this
        process are due at once, ahead of their back-off (AlertDispatcher.recovered): back
        from an outage or past a glitch, a recipient gets its backlog within a pass, not
        up to 15 minutes later.
        """
        sent = 0
        now = self.clock()
        with self.engine.connect() as conn:
            pending = alerts.pending(conn)
        failing: set[str] = set()
        for alert in pending:
            if alert.recipient in failing:
                continue
            if alert.attempts == 0 and not job_runs.owner_gone(alert.claimed_by):
                started = alert.last_attempt_at
                if started is not None and now - started < IN_FLIGHT_GRACE:
                    continue
            elif not due_for_retry(
                alert.attempts, alert.last_attempt_at, now
            ) and not self.dispatcher.recovered(alert):
                continue  # backing off: 1, 2, 4, 8 minutes, then every 15
            with self.engine.begin() as conn:
                if not alerts.take_for_retry(conn, alert, now):
                    continue
            with self.engine.connect() as conn:
                stored = listings.get_listing(conn, alert.item_id)
                release = (
                    catalog.get_release(conn, stored.match.release_id)
                    if stored and stored.match
                    else None
                )
            ends_at = stored.listing.ends_at if stored else None
            if now >= retry_deadline(alert.created_at or now, ends_at):
                self._give_up(alert, ended=ends_at is not None and now >= ends_at)
                continue
            channel = self.channel_for_recipient(alert.recipient)
            deal = (
                score_deal(
                    stored.listing, release, stored.match, rates=self.rates, now=self.clock()
                )
                if stored and stored.match and release
                else None
            )
            if deal is None or channel is None:
                with self.engine.begin() as conn:
                    alerts.mark_attempt_failed(
                        conn,
                        alert.recipient,
                        alert.item_id,
                        "listing or recipient no longer available",
                        permanent=True,
                        now=self.clock(),
                        occasion=alert.occasion,
                    )
                continue
            if alert.occasion != alerts.FIRST and stored is not None:  # a price-drop alert
                deal = replace(deal, previous_total=stored.previous_money)
            if await self.dispatcher.resend(deal, channel, alert.occasion):
                sent += 1
            else:
                failing.add(alert.recipient)
        return sent

    def _give_up(self, alert: alerts.PendingAlert, *, ended: bool) -> None:
        """An alert no longer worth sending: failed, saying why and what went wrong last."""
        tries = f"{alert.attempts} attempt{'s' if alert.attempts != 1 else ''}"
        why = (
            f"the auction ended before the alert could be delivered ({tries})"
            if ended
            else f"not delivered within {ALERT_LIFETIME.total_seconds() / 3600:.0f} h "
            f"(the alert's useful life), given up after {tries}"
        )
        reason = f"{why}; last error: {alert.error or 'none recorded'}"
        log.warning("alert to %s about %s: %s", alert.recipient, alert.item_id, reason)
        with self.engine.begin() as conn:
            alerts.mark_attempt_failed(
                conn,
                alert.recipient,
                alert.item_id,
                reason,
                permanent=True,
                now=self.clock(),
                occasion=alert.occasion,
            )

    def channel_for_recipient(self, recipient: str) -> Channel | None:
        kind, _, key = recipient.partition(":")
        if kind == "telegram" and self.notifier is not None:
            return TelegramChannel(self.notifier, int(key))
        if kind == "apprise":
            with self.engine.connect() as conn:
                every = searches.list_searches(conn)
            spec = all_channel_specs(self.apprise_urls, every).get(recipient)
            return self.apprise_channel(spec) if spec else None
        return None

    def apprise_channel(self, spec: ChannelSpec) -> Channel:
        """One channel object per (URL, digest mode) for the whole run: they keep state."""
        key = (spec.recipient, spec.digest)
        if key not in self._apprise:
            # Apprise is loaded with the first channel: a Telegram-only install never does.
            from vinyl_detective.notify.digest import channel_for_spec

            self._apprise[key] = channel_for_spec(spec, engine=self.engine, clock=self.clock)
        return self._apprise[key]
