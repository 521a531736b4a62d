"""Atom feeds of deals and CSV exports of deals and of the flip ledger.

Feeds (served at /feeds/…, see api/routes_feeds.py) let any feed reader follow the deals:

    /feeds/deals.atom?token=…            every deal, newest first
    /feeds/searches/3.atom?token=…       the deals search #3 would alert: its keywords,
                                         threshold and rule (with the global rule)

Each feed has its own read-only token, an HMAC of the feed's name under a random secret
kept in the database: a token opens that one feed and nothing else, and
`vinyl-detective feeds --new-tokens` replaces every token at once. The XML is built with
lxml, which escapes every seller-written title and link.

The CSV exports are what a spreadsheet wants: one header row, one row per deal, amounts
as plain decimals with a currency column, and any text cell that a spreadsheet would run
as a formula (=, +, -, @ first) prefixed with an apostrophe.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import secrets
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from urllib.parse import quote

import sqlalchemy as sa
from lxml import etree

from vinyl_detective import __version__
from vinyl_detective.domain.currency import ExchangeRates
from vinyl_detective.domain.lifecycle import DealState
from vinyl_detective.domain.models import Money, Release, SavedSearch
from vinyl_detective.domain.query import folded_title, parse_query
from vinyl_detective.domain.rules import Rule, rule_fields
from vinyl_detective.domain.scoring import score_deal
from vinyl_detective.storage import catalog, kv, listings
from vinyl_detective.storage.db import insert_if_absent
from vinyl_detective.storage.listings import StoredListing
from vinyl_detective.storage.schema import UTCDateTime, deal_transitions, deals
from vinyl_detective.storage.schema import kv as kv_table

__all__ = [
    "ALL_DEALS",
    "FeedEntry",
    "atom_feed",
    "deals_csv",
    "feed_entries",
    "feed_name",
    "feed_token",
    "ledger_csv",
    "new_feed_tokens",
    "token_matches",
]

ATOM = "http://www.w3.org/2005/Atom"
ALL_DEALS = "deals"
FEEDS_KV_KEY = "feeds:secret"  # the random secret the feed tokens derive from
FEED_SIZE = 50
CANDIDATES = 1000  # recent deals a search's feed is picked from
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


# --------------------------------------------------------------------------- tokens


def feed_name(search_id: int | None) -> str:
    return ALL_DEALS if search_id is None else f"search-{search_id}"


def _secret(conn: sa.Connection) -> str:
    insert_if_absent(conn, kv_table, {"key": FEEDS_KV_KEY, "value": secrets.token_hex(32)}, ["key"])
    value = kv.get_value(conn, FEEDS_KV_KEY)
    assert value is not None
    return value


def feed_token(conn: sa.Connection, name: str) -> str:
    """The read-only token of one feed (created with the secret on first use)."""
    digest = hmac.new(_secret(conn).encode(), f"feed:{name}".encode(), hashlib.sha256)
    return digest.hexdigest()[:32]


def token_matches(conn: sa.Connection, name: str, given: str | None) -> bool:
    if not given:
        return False
    return hmac.compare_digest(given.encode(), feed_token(conn, name).encode())


def new_feed_tokens(conn: sa.Connection) -> None:
    """A new secret: every feed gets a new token, the old ones stop working."""
    kv.set_value(conn, FEEDS_KV_KEY, secrets.token_hex(32))


# --------------------------------------------------------------------------- entries


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One deal as a feed shows it (plain text; escaping is the renderer's job)."""

    item_id: str
    title: str
    listing_title: str
    link: str | None
    total: Money
    reference: Money | None
    score: float
    priority: str | None
    condition: str | None
    seller: str | None
    seen_at: datetime
    dropped_from: Money | None


def feed_entries(
    conn: sa.Connection,
    *,
    search: SavedSearch | None = None,
    rule: Rule | None = None,
    rates: ExchangeRates | None = None,
    now: datetime | None = None,
    limit: int = FEED_SIZE,
) -> list[FeedEntry]:
    """The newest deals; with `search`, only those it would alert (keywords, threshold,
    `rule` = its rule with the global one, re-checked on the stored listing)."""
    pool = listings.recent_deals(conn, limit=limit if search is None else CANDIDATES)
    releases: dict[int, Release | None] = {}
    found: list[FeedEntry] = []
    query = parse_query(search.query) if search is not None else None
    for stored in pool:
        if len(found) >= limit:
            break
        if stored.match is None or stored.ended_at is not None:
            continue
        rid = stored.match.release_id
        if rid not in releases:
            releases[rid] = catalog.get_release(conn, rid)
        release = releases[rid]
        if release is None:
            continue
        if search is not None:
            assert query is not None
            if (stored.deal_score or 0.0) < search.min_deal_score:
                continue
            if not query.matches_folded(folded_title(stored.listing.title)):
                continue
            if rule is not None:
                deal = score_deal(
                    stored.listing, release, stored.match, rates=rates or ExchangeRates(), now=now
                )
                if deal is None or not rule.evaluate(
                    rule_fields(deal.listing, deal.release, deal, deal.match)
                ):
                    continue
        found.append(_entry(stored, release))
    return found


def _entry(stored: StoredListing, release: Release) -> FeedEntry:
    lst = stored.listing
    score = stored.deal_score or 0.0
    total = Money(lst.total, lst.currency)
    reference = (
        Money(stored.reference_price, stored.reference_currency)
        if stored.reference_price is not None and stored.reference_currency
        else None
    )
    name = " ".join(release.display_name.split())
    # The saving as the cards show it; across currencies, the score stands in for it.
    saving = (
        (reference.amount - total.amount) / reference.amount
        if reference is not None
        and reference.currency == total.currency
        and reference.amount
        and lst.shipping is not None
        else Decimal(str(score))
    )
    return FeedEntry(
        item_id=lst.item_id,
        title=f"{saving * 100:.0f}% under Discogs: {name} for {total}",
        listing_title=" ".join(lst.title.split()),
        link=lst.affiliate_url or lst.url or None,
        total=total,
        reference=reference,
        score=score,
        priority=stored.priority,
        condition=lst.condition,
        seller=lst.seller_username,
        # A price drop updates the entry: feed readers show it again, at its new price.
        seen_at=max(stored.first_seen, stored.price_dropped_at or stored.first_seen),
        dropped_from=stored.previous_money,
    )


# --------------------------------------------------------------------------- Atom


def atom_feed(
    entries: Sequence[FeedEntry], *, title: str, self_url: str, feed_id: str, updated: datetime
) -> bytes:
    """An Atom 1.0 document (RFC 4287) of `entries`, UTF-8."""
    root = etree.Element(f"{{{ATOM}}}feed", nsmap={None: ATOM})
    _text(root, "title", title)
    _text(root, "id", feed_id)
    _text(root, "updated", _stamp(max((e.seen_at for e in entries), default=updated)))
    etree.SubElement(root, f"{{{ATOM}}}link", rel="self", href=self_url)
    author = etree.SubElement(root, f"{{{ATOM}}}author")
    _text(author, "name", "Vinyl Detective")
    generator = _text(root, "generator", "Vinyl Detective")
    generator.set("version", __version__)
    for e in entries:
        entry = etree.SubElement(root, f"{{{ATOM}}}entry")
        _text(entry, "title", e.title)
        _text(entry, "id", f"tag:vinyl-detective,2026:listing/{quote(e.item_id, safe='')}")
        _text(entry, "updated", _stamp(e.seen_at))
        if e.link:
            etree.SubElement(entry, f"{{{ATOM}}}link", rel="alternate", href=e.link)
        _text(entry, "summary", _summary(e))
        content = _text(entry, "content", _html(e))  # escaped HTML, as Atom's type="html"
        content.set("type", "html")
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def _text(parent: etree._Element, tag: str, value: str) -> etree._Element:
    element = etree.SubElement(parent, f"{{{ATOM}}}{tag}")
    element.text = _xml_safe(value)
    return element


def _xml_safe(text: str) -> str:
    """XML 1.0 cannot carry most control characters at all, escaped or not: drop them."""
    return "".join(ch for ch in text if ch in "\t\n\r" or ord(ch) >= 0x20)


def _stamp(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _summary(e: FeedEntry) -> str:
    parts = [e.listing_title, f"{e.total}"]
    if e.reference is not None:
        parts.append(f"Discogs {e.reference}")
    if e.dropped_from is not None:
        parts.append(f"price dropped from {e.dropped_from}")
    return " · ".join(parts)


def _html(e: FeedEntry) -> str:
    """The entry's HTML body, as text: lxml escapes it once more for the XML."""
    from html import escape

    rows = [f"<p><b>{escape(e.title)}</b></p>", f"<p><i>{escape(e.listing_title)}</i></p>"]
    details = [f"Total: {e.total}"]
    if e.dropped_from is not None:
        details.insert(0, f"📉 Price dropped from {e.dropped_from} to {e.total}")
    if e.reference is not None:
        details.append(f"Discogs: {e.reference}")
    details.append(f"Condition: {e.condition or 'not stated'}")
    if e.seller:
        details.append(f"Seller: {e.seller}")
    rows.append("<p>" + "<br>".join(escape(d) for d in details) + "</p>")
    if e.link:
        href = escape(e.link, quote=True)
        rows.append(f'<p><a href="{href}">View the listing</a></p>')
    return "\n".join(rows)


# --------------------------------------------------------------------------- CSV

DEAL_COLUMNS = (
    "item_id",
    "first_seen",
    "priority",
    "deal_score",
    "artist",
    "release_title",
    "listing_title",
    "price",
    "shipping",
    "total",
    "currency",
    "reference_price",
    "reference_currency",
    "condition",
    "seller",
    "price_dropped_from",
    "tracked_state",
    "url",
)
LEDGER_COLUMNS = (
    "item_id",
    "artist",
    "release_title",
    "listing_title",
    "state",
    "found_at",
    "found_price",
    "bought_at",
    "purchase_price",
    "sold_at",
    "sale_price",
    "fees",
    "profit",
    "currency",
    "url",
)


def deals_csv(conn: sa.Connection, *, limit: int = 100_000) -> Iterator[str]:
    """Every listing that scored as a deal, newest first, one CSV line at a time."""
    states = dict(conn.execute(sa.select(deals.c.item_id, deals.c.state)).all())
    releases: dict[int, Release | None] = {}
    yield _line(DEAL_COLUMNS)
    for stored in listings.recent_deals(conn, limit=limit):
        lst = stored.listing
        release = None
        if stored.match is not None:
            rid = stored.match.release_id
            if rid not in releases:
                releases[rid] = catalog.get_release(conn, rid)
            release = releases[rid]
        yield _line(
            (
                lst.item_id,
                _iso(stored.first_seen),
                stored.priority,
                None if stored.deal_score is None else f"{stored.deal_score:.4f}",
                release.artist if release else None,
                release.title if release else None,
                lst.title,
                lst.price,
                lst.shipping,
                lst.total if lst.shipping is not None else None,
                lst.currency,
                stored.reference_price,
                stored.reference_currency,
                lst.condition,
                lst.seller_username,
                stored.previous_total,
                states.get(lst.item_id),
                lst.affiliate_url or lst.url,
            )
        )


def ledger_csv(conn: sa.Connection) -> Iterator[str]:
    """The flip ledger: every tracked deal with what it cost, fetched and earned."""
    moved = (
        sa.select(
            deal_transitions.c.item_id,
            deal_transitions.c.to_state,
            sa.type_coerce(sa.func.max(deal_transitions.c.at), UTCDateTime).label("at"),
        )
        .where(deal_transitions.c.to_state.in_([DealState.PURCHASED.value, DealState.SOLD.value]))
        .group_by(deal_transitions.c.item_id, deal_transitions.c.to_state)
    )
    when: dict[tuple[str, str], object] = {
        (r.item_id, r.to_state): r.at for r in conn.execute(moved)
    }
    rows = conn.execute(sa.select(deals).order_by(deals.c.created_at, deals.c.item_id))
    yield _line(LEDGER_COLUMNS)
    for d in rows:
        yield _line(
            (
                d.item_id,
                d.artist,
                d.release_title,
                d.title,
                d.state,
                _iso(d.created_at),
                d.found_price,
                _iso(when.get((d.item_id, DealState.PURCHASED.value))),
                d.purchase_price,
                _iso(when.get((d.item_id, DealState.SOLD.value))),
                d.sale_price,
                d.fees,
                d.profit,
                d.currency,
                d.url,
            )
        )


def _line(values: Iterable[object]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow([_cell(v) for v in values])
    return buffer.getvalue()


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    text = str(value)
    # A cell starting like a formula would run in a spreadsheet: make it text.
    return "'" + text if text.startswith(_FORMULA_START) else text


def _iso(moment: object) -> str | None:
    return moment.isoformat(timespec="seconds") if isinstance(moment, datetime) else None
