"""Deal cards: what a user reads in Telegram, e-mail and Discord."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from vinyl_detective.domain.models import (
    BuyingOption,
    Deal,
    Listing,
    Match,
    MatchMethod,
    Money,
    Priority,
    Release,
)
from vinyl_detective.fakes.telegram import parse_telegram_html
from vinyl_detective.notify.cards import (
    MAX_CALLBACK_DATA_BYTES,
    TELEGRAM_MAX_LENGTH,
    callback_item_ref,
    deal_buttons,
    log_line,
    markdown_card,
    parse_callback_data,
    plain_text_card,
    resolve_item_ref,
    telegram_card,
)


def make_deal(**listing_changes: object) -> Deal:
    listing = Listing(
        item_id="v1|286012345678|0",
        title="Art Blakey Moanin' LP Blue Note BLP 4003 Mono VG+",
        price=Decimal("45.00"),
        currency="USD",
        shipping=Decimal("5.99"),
        condition="Used",
        seller_username="crate_digger_88",
        seller_feedback_pct=99.6,
        seller_feedback_score=2412,
        url="https://www.ebay.com/itm/286012345678",
    )
    listing = replace(listing, **listing_changes)  # type: ignore[arg-type]
    total = listing.total
    reference = Money(Decimal("90.00"), "USD")
    return Deal(
        listing=listing,
        release=Release(id=2825456, artist="Art Blakey & The Jazz Messengers", title="Moanin'"),
        match=Match(release_id=2825456, method=MatchMethod.CATALOG_NO, confidence=0.98),
        reference=reference,
        total=Money(total, "USD"),
        score=float((reference.amount - total) / reference.amount),
        priority=Priority.HIGH,
        reference_condition="VG+",
    )


def test_telegram_card_shows_the_prices_saving_and_match() -> None:
    card = telegram_card(make_deal())
    text = parse_telegram_html(card).text

    assert "<b>Art Blakey &amp; The Jazz Messengers – Moanin&#x27;</b>" in card
    assert "Price: 45.00 USD + 5.99 USD shipping = 50.99 USD" in text
    assert "Discogs (VG+): 90.00 USD" in text
    assert "Saving: 39.01 USD (43%)" in text
    assert "Condition: Used · Match: catalog number, 98% sure" in text
    assert "Seller: crate_digger_88 · 99.6% positive · 2412 ratings" in text
    assert "Buy It Now" in text
    assert text.startswith("🔥 HIGH priority deal")


def test_hostile_listing_title_is_rendered_inert_and_telegram_accepts_it() -> None:
    deal = make_deal(
        title='<script>alert("x")</script> & <b>RARE</b> "MINT"',
        seller_username="<i>evil</i>&co",
        condition='Used" onmouseover="x',
        url='https://www.ebay.com/itm/1?a=1&b="2"',
    )

    card = telegram_card(deal)
    parsed = parse_telegram_html(card)  # raises if Telegram would refuse the HTML

    assert "<script>" not in card
    assert '<script>alert("x")</script> & <b>RARE</b> "MINT"' in parsed.text
    assert "<i>evil</i>&co" in parsed.text
    links = [e["url"] for e in parsed.entities if e["type"] == "text_link"]
    assert 'https://www.ebay.com/itm/1?a=1&b="2"' in links


def test_unknown_shipping_is_said_and_the_assumed_cost_shown() -> None:
    text = plain_text_card(make_deal(shipping=None))

    assert "shipping (not stated, typical cost assumed)" in text
    assert "free shipping" not in text
    assert "with assumed shipping" in text


def test_free_shipping_is_said_plainly() -> None:
    assert "+ free shipping = 45.00 USD" in plain_text_card(make_deal(shipping=Decimal(0)))


def test_affiliate_link_is_preferred_over_the_plain_listing_url() -> None:
    affiliate = "https://www.ebay.com/itm/286012345678?mkevt=1&campid=5338"
    with_affiliate = parse_telegram_html(telegram_card(make_deal(affiliate_url=affiliate)))
    without = parse_telegram_html(telegram_card(make_deal()))

    def listing_link(entities: list[dict[str, object]]) -> object:
        return [e["url"] for e in entities if e["type"] == "text_link"][-1]

    assert listing_link(with_affiliate.entities) == affiliate
    assert listing_link(without.entities) == "https://www.ebay.com/itm/286012345678"


def test_auction_card_shows_current_bid_and_end_time_in_utc() -> None:
    deal = make_deal(
        buying_option=BuyingOption.AUCTION,
        ends_at=datetime(2026, 11, 23, 20, 0, tzinfo=UTC),
    )

    text = plain_text_card(deal)

    assert "Current bid: 45.00 USD" in text
    assert "Auction, ends 2026-11-23 20:00 UTC" in text


def test_enormous_title_is_truncated_so_the_card_fits_telegram() -> None:
    deal = make_deal(title="& " * 5000)

    card = telegram_card(deal)

    assert len(card) <= TELEGRAM_MAX_LENGTH
    assert "…" in parse_telegram_html(card).text
    assert "View on eBay" in card


def test_markdown_card_escapes_formatting_and_defuses_mentions() -> None:
    deal = make_deal(title="**FREE** @everyone [click](https://evil.example)")

    card = markdown_card(deal)

    assert "**Art Blakey & The Jazz Messengers – Moanin'**" in card
    assert "\\*\\*FREE\\*\\*" in card
    assert "@everyone" not in card
    assert "\\[click\\]\\(https" in card
    assert "[View on eBay](<https://www.ebay.com/itm/286012345678>)" in card


@pytest.mark.parametrize("render", [telegram_card, plain_text_card, markdown_card])
def test_every_card_names_the_match_method_and_priority(render: object) -> None:
    deal = replace(
        make_deal(),
        match=Match(2825456, MatchMethod.FUZZY, 0.874),
        priority=Priority.MEDIUM,
    )
    card = render(deal)  # type: ignore[operator]

    assert "artist + title, 87% sure" in card
    assert "⭐ MEDIUM priority deal" in card


def test_buttons_carry_the_action_and_item_id() -> None:
    rows = deal_buttons("v1|286012345678|0")

    datas = [data for row in rows for _, data in row]
    assert datas == [
        "track:v1|286012345678|0",
        "bought:v1|286012345678|0",
        "dismiss:v1|286012345678|0",
    ]
    assert parse_callback_data(datas[2]) == ("dismiss", "v1|286012345678|0")


def test_overlong_item_id_falls_back_to_a_short_ref_the_backend_can_resolve() -> None:
    long_id = "v1|" + "9" * 80 + "|0"

    datas = [data for row in deal_buttons(long_id) for _, data in row]

    assert all(len(d.encode()) <= MAX_CALLBACK_DATA_BYTES for d in datas)
    parsed = parse_callback_data(datas[0])
    assert parsed is not None
    action, ref = parsed
    assert action == "track"
    assert resolve_item_ref(ref, ["v1|1|0", long_id]) == long_id
    assert resolve_item_ref(callback_item_ref("v1|1|0"), []) == "v1|1|0"


def test_unknown_callback_data_is_not_a_deal_action() -> None:
    assert parse_callback_data("snooze:v1|1|0") is None
    assert parse_callback_data("track") is None


def test_the_log_line_is_one_line_even_when_the_seller_writes_newlines() -> None:
    line = log_line(make_deal(title="Moanin' LP\nINFO vinyl_detective: forged line"))
    assert "\n" not in line
    assert line.startswith("🔥 HIGH priority deal · 43% under Discogs: ")
    assert "Art Blakey & The Jazz Messengers – Moanin' for 50.99 USD (Discogs 90.00 USD)" in line
    assert line.endswith("https://www.ebay.com/itm/286012345678")
