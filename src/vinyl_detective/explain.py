"""Why (not)? Every decision the pipeline took about one listing, from stored data.

`explain_listing` answers `vinyl-detective explain ITEM`, the bot's `/why ITEM`,
`GET /admin/listings/{id}/explain` and the dashboard's "why" page. It re-runs the matcher on
the stored listing with a trace (the catalog may have changed since: the answer says what
the pipeline stored at the time, too), reads the grade and where it came from, the
reference price and its age, evaluates every rule comparison by comparison, the score with
each adjustment, and for each recipient whether and when it was alerted — or why not.

It spends no eBay or Discogs call: a listing never seen is reported as such, with when the
record streams last looked at its category.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from vinyl_detective.domain.currency import APPROXIMATE_USD_RATES, ExchangeRates
from vinyl_detective.domain.grading import grade_and_source, grade_code
from vinyl_detective.domain.match_trace import MatchTrace
from vinyl_detective.domain.matching import identify
from vinyl_detective.domain.models import Listing, Match, MatchMethod, Release, SavedSearch
from vinyl_detective.domain.query import folded_title, parse_query
from vinyl_detective.domain.rules import comparisons, parse_rule, rule_fields
from vinyl_detective.domain.scoring import (
    ScoreBreakdown,
    album_reference,
    deal_of,
    explain_score,
)
from vinyl_detective.errors import RuleSyntaxError
from vinyl_detective.storage import (
    alerts,
    catalog,
    chats,
    digests,
    listings,
    searches,
    stream_state,
)
from vinyl_detective.storage.catalog_lookup import SqlCatalog

__all__ = ["Explanation", "Section", "explain_listing", "item_id_from", "rates_from"]

_EBAY_URL_ITEM = re.compile(r"ebay\.[a-z.]+/itm/(?:[^/?#]+/)?(\d{9,15})", re.IGNORECASE)


def rates_from(fx_rates: Mapping[str, Decimal]) -> ExchangeRates:
    """The exchange rates the daemon prices with: the built-in ones, overridden by FX_RATES."""
    return ExchangeRates({**APPROXIMATE_USD_RATES, **fx_rates})


def item_id_from(text: str) -> str:
    """The stored item id for what a user pastes: `v1|123|0`, `123`, or an eBay item URL."""
    value = text.strip()
    found = _EBAY_URL_ITEM.search(value)
    if found:
        return f"v1|{found.group(1)}|0"
    if value.isdigit():
        return f"v1|{value}|0"
    return value


@dataclass(frozen=True, slots=True)
class Section:
    """One part of the answer: a heading and its lines."""

    title: str
    lines: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Explanation:
    item_id: str
    seen: bool
    title: str | None
    sections: tuple[Section, ...] = field(default_factory=tuple)

    def text(self) -> str:
        """Plain text: the CLI prints it, the bot sends it (escaped)."""
        parts = [f"Why (not)? {self.item_id}" + (f" — {self.title}" if self.title else "")]
        for section in self.sections:
            parts.append(f"\n{section.title}")
            parts.extend(f"  {line}" for line in section.lines)
        return "\n".join(parts)


def _when(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return "never"
    age = now - moment
    hours = age.total_seconds() / 3600
    ago = (
        f"{hours * 60:.0f} min ago"
        if hours < 1
        else (f"{hours:.1f} h ago" if hours < 48 else f"{hours / 24:.0f} days ago")
    )
    return f"{moment:%Y-%m-%d %H:%M} UTC ({ago})"


def _money(amount: Decimal | None, currency: str) -> str:
    return "unknown" if amount is None else f"{amount:.2f} {currency}"


def explain_listing(
    engine: Engine,
    ref: str,
    now: datetime,
    *,
    rates: ExchangeRates,
    global_rule: str | None,
    allowed_chats: Sequence[int] = (),
) -> Explanation:
    """Everything Vinyl Detective decided about the listing `ref` (see `item_id_from`)."""
    item_id = item_id_from(ref)
    with engine.connect() as conn:
        stored = listings.get_listing(conn, item_id)
        if stored is None:
            streams = stream_state.all_streams(conn)
            lines = ["Vinyl Detective has not seen this listing (it was never in a poll)."]
            for stream in sorted(streams.values(), key=lambda s: s.stream):
                lines.append(
                    f"The {stream.category_id} stream of {stream.marketplace} last looked "
                    f"{_when(stream.last_poll_at, now)}."
                )
            if not streams:
                lines.append("No category stream has polled yet.")
            return Explanation(item_id, False, None, (Section("Never seen", tuple(lines)),))
        all_searches = searches.list_searches(conn)
        trace = MatchTrace()
        found = identify(stored.listing, SqlCatalog(conn), trace)
        match = found.match
        priced, pressings = _priced(conn, match)
        alert_rows = alerts.for_item(conn, item_id)
        queued = digests.queued_for_item(conn, item_id)
        chat_states = {
            chat_id: chats.chat_state(conn, chat_id)
            for chat_id in {
                *allowed_chats,
                *(s.chat_id for s in all_searches if s.chat_id is not None),
            }
        }
    listing = stored.listing
    sections = [
        _seen_section(stored, all_searches, now),
        _match_section(trace, stored.match),
    ]
    grade, source = grade_and_source(listing.condition, listing.condition_id, listing.title)
    sections.append(
        Section(
            "Grade",
            (
                f"{grade_code(grade)}, read from {source}"
                if grade is not None
                else "not stated: priced as VG+ (the typical used copy), score lowered",
            ),
        )
    )
    release = _scored_release(listing, match, priced, pressings, rates)
    sections.append(_price_section(listing, match, release, pressings, now))
    breakdown = (
        explain_score(listing, release, match, rates=rates, now=now)
        if release is not None and match is not None
        else None
    )
    sections.append(_score_section(breakdown))
    deal = (
        deal_of(listing, release, match, breakdown)
        if release is not None and match is not None
        else None
    )
    fields = rule_fields(listing, release, deal, match)
    rules_section, refused = _rules_section(fields, all_searches, global_rule)
    sections.append(rules_section)
    sections.append(
        _recipients_section(
            listing,
            all_searches,
            alert_rows,
            queued,
            deal.score if deal is not None else None,
            refused,
            chat_states,
            allowed_chats,
            now,
        )
    )
    return Explanation(item_id, True, listing.title, tuple(sections))


def _priced(conn: sa.Connection, match: Match | None) -> tuple[Release | None, list[Release]]:
    """The matched release with its cached prices, and an album match's pressings."""
    if match is None:
        return None, []
    ids = match.pressings if match.method is MatchMethod.ALBUM else (match.release_id,)
    found = [r for r in (catalog.get_release(conn, i) for i in ids) if r is not None]
    return (found[0] if found else None), found


def _scored_release(
    listing: Listing,
    match: Match | None,
    release: Release | None,
    pressings: list[Release],
    rates: ExchangeRates,
) -> Release | None:
    if match is None or match.method is not MatchMethod.ALBUM:
        return release
    return album_reference(listing, match, pressings, rates)


def _seen_section(
    stored: listings.StoredListing, all_searches: Sequence[SavedSearch], now: datetime
) -> Section:
    listing = stored.listing
    by_id = {s.id: s for s in all_searches}
    if stored.search_id is None:
        found_by = f"the record stream of category {listing.category_id or '?'}"
        if listing.source != "ebay":
            found_by = f"the ingest webhook ({listing.source})"
    else:
        search = by_id.get(stored.search_id)
        found_by = (
            f"search #{stored.search_id} ({search.query!r})"
            if search
            else f"search #{stored.search_id} (removed since)"
        )
    shipping = (
        "shipping unknown" if listing.shipping is None else f"+ {listing.shipping:.2f} shipping"
    )
    lines = [
        f"First seen {_when(stored.first_seen, now)}, found by {found_by}",
        f"{listing.price:.2f} {listing.currency} {shipping}; seller "
        f"{listing.seller_username or '?'}"
        + (
            f" ({listing.seller_feedback_pct:g}% positive)"
            if listing.seller_feedback_pct is not None
            else ""
        ),
    ]
    if stored.price_drops:
        lines.append(
            f"Price dropped {stored.price_drops} time(s); before the latest drop it was "
            f"{_money(stored.previous_total, listing.currency)} in all"
        )
    if stored.ended_at is not None:
        lines.append(f"Ended or sold: seen so {_when(stored.ended_at, now)}")
    specifics = [
        f"catalog number {listing.catalog_no}" if listing.catalog_no else "",
        f"barcode {listing.barcode}" if listing.barcode else "",
    ]
    if any(specifics):
        lines.append("Item specifics: " + ", ".join(s for s in specifics if s))
    return Section("The listing", tuple(lines))


def _match_section(trace: MatchTrace, at_the_time: Match | None) -> Section:
    lines: list[str] = []
    for tier in trace.tiers:
        looked = f" — looked for {', '.join(tier.looked_for)}" if tier.looked_for else ""
        lines.append(f"{tier.tier}{looked}: {tier.outcome}")
        for candidate in tier.candidates:
            mark = "kept" if candidate.kept else "refused"
            lines.append(f"  #{candidate.release_id} {candidate.name}: {mark} — {candidate.why}")
    lines.append(f"Answer now: {trace.outcome}")
    if at_the_time is None:
        lines.append("Stored at the time: no match")
    else:
        lines.append(
            f"Stored at the time: release {at_the_time.release_id} by "
            f"{at_the_time.method.value}, {at_the_time.confidence:.0%} sure"
        )
    return Section("Identification", tuple(lines))


def _price_section(
    listing: Listing,
    match: Match | None,
    release: Release | None,
    pressings: list[Release],
    now: datetime,
) -> Section:
    if match is None:
        return Section("Reference price", ("none: the listing is no release of the catalog",))
    lines: list[str] = []
    if match.method is MatchMethod.ALBUM:
        if match.pressing_outside_catalog:
            return Section(
                "Reference price",
                ("none: the title names a pressing the catalog lacks, so no price is safe",),
            )
        lines.append(
            f"Album match: priced as the cheapest of {len(pressings)} pressing(s) for the grade"
        )
    if release is None:
        missing = [str(p.id) for p in pressings if p.prices is None]
        lines.append(
            "no price yet"
            + (f" for release(s) {', '.join(missing)}" if missing else "")
            + ": Discogs is asked only when someone watches for the record"
        )
        return Section("Reference price", tuple(lines))
    guide = release.prices
    if guide is None or (not guide.by_condition and guide.lowest is None):
        lines.append(f"release {release.id} has no Discogs price (unpriced)")
    else:
        suggestions = ", ".join(f"{k} {v:.2f}" for k, v in sorted(guide.by_condition.items()))
        lines.append(
            f"release {release.id} ({release.display_name}): Discogs suggestions "
            f"{suggestions or 'none'} {guide.currency}; lowest for sale "
            f"{_money(guide.lowest, guide.currency)}; fetched {_when(guide.updated_at, now)}"
        )
    return Section("Reference price", tuple(lines))


def _score_section(breakdown: ScoreBreakdown | None) -> Section:
    if breakdown is None:
        return Section("Score", ("not scored: no reference price for this listing",))
    lines = [
        f"reference {breakdown.reference}"
        + (f" ({breakdown.reference_condition})" if breakdown.reference_condition else ""),
        f"total {breakdown.total}"
        + (
            f" (assumed shipping {breakdown.assumed_shipping})"
            if breakdown.assumed_shipping
            else ""
        ),
        f"saving {breakdown.raw_score:.0%} of the reference",
    ]
    lines += [f"− {points * 100:.0f} points: {reason}" for reason, points in breakdown.adjustments]
    verdict = "a deal" if breakdown.score > 0 else "not a deal (not cheaper than the reference)"
    lines.append(f"deal score {breakdown.score:.0%}: {verdict}")
    return Section("Score", tuple(lines))


def _rules_section(
    fields: dict[str, object], all_searches: Sequence[SavedSearch], global_rule: str | None
) -> tuple[Section, dict[int | None, str]]:
    """Every rule comparison by comparison; and which searches (None: all, through the
    global rule) a rule refused, with the rule's name."""
    lines: list[str] = []
    refused: dict[int | None, str] = {}
    named: list[tuple[int | None, str, str | None]] = [(None, "the global rule", global_rule)]
    named += [(s.id, f"search #{s.id} ({s.query!r})", s.rule) for s in all_searches]
    for search_id, name, text in named:
        if not text:
            continue
        try:
            rule = parse_rule(text)
        except RuleSyntaxError as exc:
            lines.append(f"{name}: does not parse ({exc.message}); that search is disabled")
            refused[search_id] = f"{name} does not parse"
            continue
        passes = rule.evaluate(fields)
        if not passes:
            refused[search_id] = f"{name} refused it"
        lines.append(f"{name}: {rule.text()} → {'passes' if passes else 'refuses it'}")
        for comparison in comparisons(rule):
            value = fields.get(comparison.field)
            shown = "unknown" if value in (None, ()) else _value(value)
            result = "yes" if comparison.evaluate(fields) else "no"
            lines.append(f"  {comparison.text()}: {comparison.field} is {shown} → {result}")
    if not lines:
        lines.append("no rule: the global rule and every search's rule are empty")
    return Section("Rules", tuple(lines)), refused


def _value(value: object) -> str:
    if isinstance(value, tuple):
        return "[" + ", ".join(map(str, value)) + "]"
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def _recipients_section(
    listing: Listing,
    all_searches: Sequence[SavedSearch],
    alert_rows: list[alerts.AlertRecord],
    queued: list[tuple[str, str, datetime, datetime | None]],
    deal_score: float | None,
    refused: dict[int | None, str],
    chat_states: dict[int, tuple[bool, bool]],
    allowed_chats: Sequence[int],
    now: datetime,
) -> Section:
    lines: list[str] = []
    for row in alert_rows:
        occasion = " (price drop)" if row.occasion else ""
        where = f" for search #{row.search_id}" if row.search_id is not None else ""
        if row.status == "sent":
            state = f"alerted {_when(row.sent_at, now)}"
        elif row.status == "failed":
            state = f"delivery failed after {row.attempts} attempt(s): {row.error or 'no reason'}"
        else:
            state = f"claimed {_when(row.created_at, now)}, delivery pending"
        lines.append(f"{row.recipient}{where}{occasion}: {state}")
    for channel_key, occasion, queued_at, sent_at in queued:
        state = (
            f"summarised in a digest {_when(sent_at, now)}"
            if sent_at
            else f"waiting for the next digest since {_when(queued_at, now)}"
        )
        lines.append(f"{channel_key}{' (price drop)' if occasion else ''}: {state}")
    alerted_searches = {row.search_id for row in alert_rows}
    title = folded_title(listing.title)
    for search in all_searches:
        if search.id in alerted_searches:
            continue
        reason = _why_not(search, title, deal_score, refused, chat_states, allowed_chats)
        lines.append(f"search #{search.id} ({search.query!r}): not alerted — {reason}")
    if not lines:
        lines.append("no saved search, so nobody to alert")
    return Section("Recipients", tuple(lines))


def _why_not(
    search: SavedSearch,
    title: str,
    deal_score: float | None,
    refused: dict[int | None, str],
    chat_states: dict[int, tuple[bool, bool]],
    allowed_chats: Sequence[int],
) -> str:
    if not search.active:
        return "the search is paused"
    if not parse_query(search.query).matches_folded(title):
        return "the title does not match the search's keywords"
    if deal_score is None:
        return "no deal (no release, no reference price, or not cheaper)"
    if deal_score < search.min_deal_score:
        return (
            f"deal score {deal_score:.0%} is below the search's threshold "
            f"{search.min_deal_score:.0%}"
        )
    if None in refused or search.id in refused:
        return refused.get(search.id) or refused[None]
    owners = [search.chat_id] if search.chat_id is not None else list(allowed_chats)
    if owners and all(chat_states.get(c, (False, False)) != (False, False) for c in owners):
        return "the chat paused alerts or blocked the bot"
    return "it was found before this search existed, or its alert is still to come"
