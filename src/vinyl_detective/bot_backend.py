"""The Telegram bot's commands, answered by the services. Replies are plain text:
the bot escapes them.

The commands see the running daemon only through `BotContext`, the narrow list of what
they may ask of it (the database, the clock, the search service, the budget, ...): the
daemon implements it and this module never imports the daemon.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Protocol

from sqlalchemy.engine import Engine

from vinyl_detective.config import Settings
from vinyl_detective.domain.currency import ExchangeRates
from vinyl_detective.domain.lifecycle import Actor, DealState, check_transition
from vinyl_detective.errors import InvalidTransitionError, NotFoundError
from vinyl_detective.explain import explain_listing
from vinyl_detective.notify.cards import resolve_item_ref
from vinyl_detective.service import (
    GlobalRule,
    SearchService,
    UserInputError,
    parse_threshold,
    split_query_and_rule,
)
from vinyl_detective.storage import chats, deals, kv, listings
from vinyl_detective.storage.usage import DbCallBudget

ACTIONS = {
    "track": (DealState.MESSAGING, "Tracking it: state MESSAGING. Contact the seller!"),
    "bought": (DealState.PURCHASED, ""),  # asks for the price first: see text_reply
    "dismiss": (DealState.CANCELLED, "Dismissed."),
}


def _search_id(arg: str) -> int:
    text = arg.strip().lstrip("#")
    if not text.isdigit():
        raise UserInputError(f"{arg!r} is not a search number; see /my_searches.")
    return int(text)


class BotContext(Protocol):
    """What the bot's commands may ask of the running daemon."""

    settings: Settings
    engine: Engine
    clock: Callable[[], datetime]
    searches: SearchService
    budget: DbCallBudget
    rates: ExchangeRates
    paused_until: datetime | None

    def global_rule(self) -> str | None:
        """The global rule in force (the stored one, else GLOBAL_RULE)."""
        ...


class BotCommands:
    """Implements notify.telegram_bot.BotBackend over the daemon's services."""

    def __init__(self, daemon: BotContext) -> None:
        self.daemon = daemon

    def add_search(self, chat_id: int, text: str) -> str:
        query, rule = split_query_and_rule(text)
        search = self.daemon.searches.add(query, chat_id=chat_id, rule=rule)
        extra = f"\nRule: {search.rule}" if search.rule else ""
        return (
            f"Saved search #{search.id}: {search.query}{extra}\n"
            f"Alerts for deals ≥ {search.min_deal_score:.0%} below the Discogs price, "
            f"checked every {search.poll_minutes} min."
        )

    def list_searches(self, chat_id: int) -> str:
        found = self.daemon.searches.list(chat_id)
        if not found:
            return "No saved searches yet. Add one: /add_search miles davis kind of blue"
        lines = []
        for s in found:
            state = "active" if s.active else "paused"
            rule = f" | {s.rule}" if s.rule else ""
            shared = ", shared" if s.chat_id is None else ""
            lines.append(f"#{s.id} {s.query}{rule} (≥ {s.min_deal_score:.0%}, {state}{shared})")
        return "\n".join(lines)

    def remove_search(self, chat_id: int, arg: str) -> str:
        search_id = _search_id(arg)
        self.daemon.searches.remove(search_id, chat_id=chat_id)
        return f"Removed search #{search_id}."

    def set_threshold(self, chat_id: int, arg: str) -> str:
        parts = arg.split()
        if len(parts) == 1:
            value = parse_threshold(parts[0])
            changed = self.daemon.searches.set_threshold(value, chat_id=chat_id)
            return f"Threshold {value:.0%} set on {changed} search(es)."
        if len(parts) == 2:
            search_id, value = _search_id(parts[0]), parse_threshold(parts[1])
            self.daemon.searches.set_threshold(value, search_id=search_id, chat_id=chat_id)
            return f"Search #{search_id} now alerts on deals ≥ {value:.0%}."
        raise UserInputError(
            "Usage: /set_threshold 0.3 (all your searches) or /set_threshold 3 0.3 (search #3)."
        )

    def pause(self, chat_id: int) -> str:
        self.daemon.searches.pause_chat(chat_id, True)
        return "Alerts paused. /resume to get them again."

    def resume(self, chat_id: int) -> str:
        """Alerts on again; a chat that had blocked the bot is reachable again too."""
        self.daemon.searches.pause_chat(chat_id, False)
        with self.daemon.engine.begin() as conn:
            chats.set_blocked(conn, chat_id, False, self.daemon.clock())
        return "Alerts resumed."

    def status(self, chat_id: int) -> str:
        from vinyl_detective.service import status_report

        now = self.daemon.clock()
        report = status_report(
            self.daemon.engine,
            self.daemon.budget,
            now,
            marketplace=self.daemon.settings.ebay_marketplace,
        )
        mine = [row for row in report.searches if row.search.chat_id in (chat_id, None)]
        with self.daemon.engine.connect() as conn:
            paused, _ = chats.chat_state(conn, chat_id)
        lines = [
            f"Alerts: {'paused' if paused else 'on'}",
            f"eBay calls today: {report.budget_used}/{report.budget_limit}",
            f"Alerts sent: {report.alert_counts.get('sent', 0)}, "
            f"failed: {report.alert_counts.get('failed', 0)}",
        ]
        if self.daemon.paused_until:
            lines.append(f"Polling paused until {self.daemon.paused_until:%H:%M} UTC (budget)")
        for row in mine:
            nxt = f"{row.next_run_at:%H:%M}" if row.next_run_at else "-"
            problem = (
                f" ⚠️ {row.disabled_reason or row.last_error}"
                if (row.disabled_reason or row.last_error)
                else ""
            )
            lines.append(
                f"#{row.search.id} {row.search.query}: {row.alerts_7d} alerts this "
                f"week, next look {nxt}{problem}"
            )
        return "\n".join(lines)

    def global_rule(self, chat_id: int, arg: str) -> str:
        rule = GlobalRule(self.daemon.engine, self.daemon.settings.global_rule)
        text = arg.strip()
        if text:
            rule.set(None if text.lower() in ("off", "none", "-") else text)
        current = rule.get()
        return f"Global rule: {current}" if current else "No global rule: every deal can alert."

    def why(self, chat_id: int, arg: str) -> str:
        """Why (not)? for one listing, as `vinyl-detective explain` prints it."""
        daemon = self.daemon
        answer = explain_listing(
            daemon.engine,
            arg,
            daemon.clock(),
            rates=daemon.rates,
            global_rule=daemon.global_rule(),
            allowed_chats=sorted(daemon.settings.telegram_allowed_chat_ids),
        )
        return answer.text()

    def deal_action(self, chat_id: int, action: str, item_id: str) -> str:
        if action not in ACTIONS:
            raise UserInputError(f"Unknown action {action!r}.")
        target, reply = ACTIONS[action]
        now = self.daemon.clock()
        with self.daemon.engine.begin() as conn:
            if item_id.startswith("#"):  # a hashed ref for an id too long for button data
                recent = [s.listing.item_id for s in listings.recent_deals(conn, limit=1000)]
                resolved = resolve_item_ref(item_id, recent)
                if resolved is None:
                    return "That listing is no longer known."
                item_id = resolved
            deal = deals.get_deal(conn, item_id)
            if deal is None:
                try:
                    deals.create_found_from_listing(conn, item_id, now, Actor.BOT)
                except NotFoundError:
                    return "That listing is no longer known."
                deal = deals.require_deal(conn, item_id)
            if target is DealState.PURCHASED:
                # The price is needed: ask for it, and move the deal when the answer comes.
                try:
                    check_transition(deal.state, target)
                except InvalidTransitionError as exc:
                    return str(exc)
                kv.set_value(conn, _awaiting_key(chat_id), item_id)
                return (
                    f"What did you pay for {deal.title}? Reply with the amount, e.g. "
                    f"{deal.found_price}, or 'ok' for the listed {deal.found_price} "
                    f"{deal.currency}."
                )
            try:
                deals.transition(conn, item_id, target, now, Actor.BOT, reason=f"{action} button")
            except InvalidTransitionError as exc:
                return str(exc)
        return reply

    def text_reply(self, chat_id: int, text: str) -> str:
        """A plain message: the answer to a question the bot asked (the purchase price)."""
        now = self.daemon.clock()
        with self.daemon.engine.begin() as conn:
            item_id = kv.get_value(conn, _awaiting_key(chat_id))
            if item_id is None:
                return "Send /help to see what I can do."
            deal = deals.require_deal(conn, item_id)
            amount = _parse_amount(text, deal.found_price)
            moved = deals.transition(
                conn,
                item_id,
                DealState.PURCHASED,
                now,
                Actor.BOT,
                reason="bought button",
                purchase_price=amount,
            )
            kv.set_value(conn, _awaiting_key(chat_id), None)
        return f"Marked as bought (PURCHASED) at {moved.purchase_price} {moved.currency}."


def _awaiting_key(chat_id: int) -> str:
    return f"bot:price_for:{chat_id}"


def _parse_amount(text: str, listed: Decimal) -> Decimal:
    """'ok' → the listed price; '42.50', '$42,50', '42.50 USD' → 42.50."""
    cleaned = text.strip().lower()
    if cleaned in ("ok", "yes", "y", "same"):
        return listed
    digits = re.sub(r"[^\d.,]", "", cleaned).replace(",", ".")
    try:
        amount = Decimal(digits)
    except InvalidOperation:
        raise UserInputError(
            f"{text!r} is not an amount: reply with what you paid, e.g. {listed}, or 'ok'."
        ) from None
    if amount <= 0:
        raise UserInputError("The price must be more than zero.")
    return amount.quantize(Decimal("0.01"))
