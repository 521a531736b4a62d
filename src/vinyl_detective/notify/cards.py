"""Deal cards: one deal rendered for Telegram (HTML), plain text and Discord markdown.

Pure functions, no I/O. Everything that comes from a listing or a release is untrusted
text (sellers write titles like `<b>RARE</b> & "MINT"`), so each renderer escapes it for
its own format. The three cards show the same facts in the same order:

    🔥 HIGH priority deal · 43% under Discogs
    Art Blakey & The Jazz Messengers – Moanin'          (bold)
    Art Blakey Moanin' LP Blue Note BLP 4003 Mono VG+   (the listing title, italic)
    Price: 45.00 USD + 5.99 USD shipping = 50.99 USD
    Discogs (VG+): 90.00 USD
    Saving: 39.01 USD (43%)
    Condition: Used · Match: catalog number, 98% sure
    Seller: crate_digger_88 · 99.6% positive · 2412 ratings
    Buy It Now | Auction, ends 2026-11-23 20:00 UTC
    View on eBay (affiliate link when there is one)

Inline buttons carry `"<action>:<item ref>"` as callback data (Telegram allows 64 bytes).
The item ref is the listing's item id when it fits (every eBay id like "v1|286012345678|0"
does); a longer id is replaced by `"#"` + 22 characters of its SHA-256 (url-safe base64),
which `resolve_item_ref` maps back given the candidate item ids (e.g. the chat's alerts).
"""

from __future__ import annotations

import base64
import hashlib
import html
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal

from vinyl_detective.domain.models import BuyingOption, Deal, MatchMethod, Money, Priority

__all__ = [
    "DEAL_ACTIONS",
    "MAX_CALLBACK_DATA_BYTES",
    "TELEGRAM_MAX_LENGTH",
    "callback_item_ref",
    "deal_buttons",
    "log_line",
    "markdown_card",
    "parse_callback_data",
    "plain_text_card",
    "price_drop_line",
    "resolve_item_ref",
    "telegram_card",
]

TELEGRAM_MAX_LENGTH = 4096
MAX_CALLBACK_DATA_BYTES = 64
DEAL_ACTIONS = ("track", "bought", "dismiss")
_BUTTON_LABELS = {"track": "📌 Track", "bought": "✅ Bought", "dismiss": "🗑 Dismiss"}
_HASH_PREFIX = "#"

DROP_MARKER = "📉"
PRIORITY_MARKERS = {Priority.HIGH: "🔥", Priority.MEDIUM: "⭐", Priority.LOW: "🔹"}
_METHOD_LABELS = {
    MatchMethod.CATALOG_NO: "catalog number",
    MatchMethod.BARCODE: "barcode",
    MatchMethod.FUZZY: "artist + title",
    MatchMethod.ALBUM: "album",
}
# (release name, listing title) character limits tried in turn until a card fits.
_TITLE_LIMITS = ((300, 300), (160, 160), (80, 80), (40, 40))
_SHORT_FIELD = 80  # seller names, conditions


# --------------------------------------------------------------------------- the facts


@dataclass(frozen=True, slots=True)
class _Facts:
    """One deal's card content as plain (unescaped) text, before any format applies."""

    drop_line: str | None  # "📉 Price dropped from A to B" on a price-drop alert
    headline: str  # priority marker line
    release: str
    listing_title: str
    price_line: str
    reference_line: str
    saving_line: str
    details_line: str
    seller_line: str | None
    buying_line: str
    link_label: str
    link: str | None
    discogs_url: str


def _facts(deal: Deal, release_limit: int = 300, title_limit: int = 300) -> _Facts:
    listing, reference = deal.listing, deal.reference
    pct = _saving_percent(deal)
    marker = PRIORITY_MARKERS.get(deal.priority, "•")
    headline = f"{marker} {deal.priority.value.upper()} priority deal · {pct}% under Discogs"

    price_label = "Current bid" if listing.buying_option is BuyingOption.AUCTION else "Price"
    price = Money(listing.price, listing.currency)
    if listing.shipping is None:
        # The scorer added a typical shipping cost for the format: say so, and how much.
        if deal.total.currency == listing.currency:
            assumed = Money(deal.total.amount - listing.price, listing.currency)
            shipping_part = f"≈{assumed} shipping (not stated, typical cost assumed)"
        else:
            shipping_part = "shipping not stated (typical cost assumed)"
        price_line = f"{price_label}: {price} + {shipping_part} = {deal.total}"
    elif listing.shipping == 0:
        price_line = f"{price_label}: {price} + free shipping = {deal.total}"
    else:
        shipping = Money(listing.shipping, listing.currency)
        price_line = f"{price_label}: {price} + {shipping} shipping = {deal.total}"

    grade = deal.reference_condition
    grade_note = f" ({_shorten(grade, _SHORT_FIELD)})" if grade else ""
    reference_line = f"Discogs{grade_note}: {reference}"
    assumed_note = " with assumed shipping" if listing.shipping is None else ""
    saving_line = f"Saving: {deal.saving} ({pct}%){assumed_note}"

    condition = _shorten(listing.condition or "not stated", _SHORT_FIELD)
    method = _METHOD_LABELS.get(deal.match.method, str(deal.match.method))
    confidence = round(max(0.0, min(deal.match.confidence, 1.0)) * 100)
    details_line = f"Condition: {condition} · Match: {method}, {confidence}% sure"
    if deal.match.method is MatchMethod.ALBUM:
        count = len(deal.match.pressings)
        details_line += (
            f" · pressing not identified; priced as the cheapest of {count} pressing"
            + ("s" if count != 1 else "")
        )

    seller_line = _seller_line(deal)
    buying_line = _buying_line(deal)
    link = listing.affiliate_url or listing.url or None
    link_label = "View on eBay" if listing.source == "ebay" else "View the listing"
    return _Facts(
        drop_line=price_drop_line(deal),
        headline=headline,
        release=_shorten(deal.release.display_name, release_limit),
        listing_title=_shorten(listing.title, title_limit),
        price_line=price_line,
        reference_line=reference_line,
        saving_line=saving_line,
        details_line=details_line,
        seller_line=seller_line,
        buying_line=buying_line,
        link_label=link_label,
        link=link,
        discogs_url=f"https://www.discogs.com/release/{deal.release.id}",
    )


def price_drop_line(deal: Deal) -> str | None:
    """ "📉 Price dropped from 60.00 USD to 45.00 USD" for a price-drop alert, else None."""
    before = deal.previous_total
    if before is None:
        return None
    now = Money(deal.listing.total, deal.listing.currency)
    return f"{DROP_MARKER} Price dropped from {before} to {now}"


def _saving_percent(deal: Deal) -> int:
    if deal.reference.amount <= 0:
        return 0
    ratio = deal.saving.amount / deal.reference.amount * 100
    return int(ratio.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _seller_line(deal: Deal) -> str | None:
    listing = deal.listing
    parts: list[str] = []
    if listing.seller_username:
        parts.append(_shorten(listing.seller_username, _SHORT_FIELD))
    if listing.seller_feedback_pct is not None:
        parts.append(f"{listing.seller_feedback_pct:g}% positive")
    if listing.seller_feedback_score is not None:
        parts.append(f"{listing.seller_feedback_score} ratings")
    return f"Seller: {' · '.join(parts)}" if parts else None


def _buying_line(deal: Deal) -> str:
    listing = deal.listing
    if listing.buying_option is BuyingOption.AUCTION:
        if listing.ends_at is None:
            return "Auction (end time unknown)"
        return f"Auction, ends {_utc(listing.ends_at)}"
    return "Buy It Now"


def _utc(moment: datetime) -> str:
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return f"{moment:%Y-%m-%d %H:%M} UTC"


def _shorten(text: str, limit: int) -> str:
    """Cut `text` to at most `limit` characters, marking the cut with an ellipsis."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    return text[: max(limit - 1, 0)].rstrip() + "…"


@dataclass(frozen=True, slots=True)
class _Markup:
    """How one channel writes the parts of a card; each function escapes what it is given
    (everything from a listing or a release is untrusted)."""

    text: Callable[[str], str]
    bold: Callable[[str], str]
    italic: Callable[[str], str]
    reference: Callable[[str, str], str]  # (the Discogs line, the release's Discogs URL)
    link: Callable[[str, str], str]  # (the label, the listing's URL)


def _render(markup: _Markup, facts: _Facts, with_link: bool) -> str:
    """The card's layout, the same in every channel: only the markup differs."""
    m = markup
    lines = [m.bold(facts.drop_line)] if facts.drop_line else []
    lines += [
        m.text(facts.headline),
        m.bold(facts.release),
        m.italic(facts.listing_title),
        "",
        m.text(facts.price_line),
        m.reference(facts.reference_line, facts.discogs_url),
        m.bold(facts.saving_line),
        m.text(facts.details_line),
    ]
    if facts.seller_line:
        lines.append(m.text(facts.seller_line))
    lines.append(m.text(facts.buying_line))
    if with_link and facts.link:
        lines += ["", m.link(facts.link_label, facts.link)]
    return "\n".join(lines)


def _fit(markup: _Markup, deal: Deal, max_length: int) -> str:
    """Render with ever shorter titles until the card fits; drop the link as a last resort."""
    card = ""
    for release_limit, title_limit in _TITLE_LIMITS:
        card = _render(markup, _facts(deal, release_limit, title_limit), True)
        if len(card) <= max_length:
            return card
    # Without the link, the bounded fields cannot reach the limit with real-world values.
    return _render(markup, _facts(deal, *_TITLE_LIMITS[-1]), False)


# --------------------------------------------------------------------------- Telegram HTML


def telegram_card(deal: Deal) -> str:
    """The deal as Telegram HTML (parse_mode="HTML"), at most 4096 characters."""
    return _fit(_HTML, deal, TELEGRAM_MAX_LENGTH)


def _html_link(label: str, url: str) -> str:
    return f'<a href="{html.escape(url, quote=True)}">{html.escape(label)}</a>'


_HTML = _Markup(
    text=html.escape,
    bold=lambda text: f"<b>{html.escape(text)}</b>",
    italic=lambda text: f"<i>{html.escape(text)}</i>",
    reference=_html_link,
    link=_html_link,
)


# --------------------------------------------------------------------------- plain text


def plain_text_card(deal: Deal) -> str:
    """The deal as plain text (e-mail bodies, SMS-like channels, logs)."""
    return _fit(_PLAIN, deal, TELEGRAM_MAX_LENGTH)


def _as_is(text: str) -> str:
    return text


_PLAIN = _Markup(
    text=_as_is,
    bold=_as_is,
    italic=_as_is,
    reference=lambda line, _url: line,
    link=lambda label, url: f"{label}: {url}",
)


def log_line(deal: Deal) -> str:
    """The deal on one line for the operator's log: headline, release, total, link."""
    facts = _facts(deal, release_limit=80)
    text = f"{facts.headline}: {facts.release} for {deal.total} (Discogs {deal.reference})"
    if facts.drop_line:
        text = f"{facts.drop_line} · {text}"
    if facts.link:
        text += f" {facts.link}"
    return " ".join(text.split())  # newlines in a seller's text cannot forge log lines


# --------------------------------------------------------------------------- Discord markdown

_MARKDOWN_SPECIALS = frozenset("\\*_~`|>#[]()-<")
DISCORD_MAX_LENGTH = 2000


def markdown_card(deal: Deal) -> str:
    """The deal as Discord-flavoured markdown, at most 2000 characters (a message's limit).

    Untrusted text is backslash-escaped and `@` is defused, so a seller cannot format the
    card or ping `@everyone`.
    """
    return _fit(_MARKDOWN, deal, DISCORD_MAX_LENGTH)


def markdown_escape(text: str) -> str:
    """Escape Discord markdown and defuse mentions (seller text is untrusted)."""
    out: list[str] = []
    for ch in text:
        if ch in _MARKDOWN_SPECIALS:
            out.append("\\" + ch)
        elif ch == "@":
            out.append("@\u200b")
        else:
            out.append(ch)
    return "".join(out)


def markdown_url(url: str) -> str:
    """A URL safe inside a markdown link target."""
    return url.replace(" ", "%20").replace("(", "%28").replace(")", "%29").replace(">", "%3E")


def _markdown_link(label: str, url: str) -> str:
    return f"[{markdown_escape(label)}](<{markdown_url(url)}>)"


_MARKDOWN = _Markup(
    text=markdown_escape,
    bold=lambda text: f"**{markdown_escape(text)}**",
    italic=lambda text: f"*{markdown_escape(text)}*",
    reference=_markdown_link,
    link=_markdown_link,
)


# --------------------------------------------------------------------------- buttons


def callback_item_ref(item_id: str) -> str:
    """The item id as it travels in callback data: itself if it fits, else `#<hash>`."""
    longest_action = max(len(action) for action in DEAL_ACTIONS) + 1  # "dismiss:"
    if len(item_id.encode("utf-8")) + longest_action <= MAX_CALLBACK_DATA_BYTES:
        return item_id
    digest = hashlib.sha256(item_id.encode("utf-8")).digest()
    return _HASH_PREFIX + base64.urlsafe_b64encode(digest).decode("ascii")[:22]


def resolve_item_ref(ref: str, candidates: Iterable[str]) -> str | None:
    """Map a ref from callback data back to an item id (None when no candidate matches)."""
    if not ref.startswith(_HASH_PREFIX):
        return ref
    return next((c for c in candidates if callback_item_ref(c) == ref), None)


def deal_buttons(item_id: str) -> list[list[tuple[str, str]]]:
    """One row of (label, callback_data): Track / Bought / Dismiss for this listing."""
    ref = callback_item_ref(item_id)
    return [[(_BUTTON_LABELS[action], f"{action}:{ref}") for action in DEAL_ACTIONS]]


def parse_callback_data(data: str) -> tuple[str, str] | None:
    """`"track:v1|123|0"` → `("track", "v1|123|0")`; None for anything else."""
    action, sep, ref = data.partition(":")
    if not sep or action not in DEAL_ACTIONS or not ref:
        return None
    return action, ref
