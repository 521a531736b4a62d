"""The fields a watch rule can test, their kinds, and the mapping a rule is evaluated on.

Each field has a kind that decides which operators apply and what its values mean:
text compares case-insensitively; numbers exactly (as decimals); `condition` on the
grading scale (P < … < M); `priority` as low < medium < high; the choice fields
(`buying_option`, `match_method`) against a fixed set of words. Fields that hold several
values (`label`, `catalog_no`, `format`, `genre`, `style`) satisfy a test when any of
their values does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import Enum

from vinyl_detective.domain.grading import Grade, grade_from_listing, parse_grade
from vinyl_detective.domain.models import Deal, Listing, Match, MatchMethod, Release
from vinyl_detective.domain.normalize import normalize_catalog_no


class FieldKind(Enum):
    TEXT = "text"
    NUMBER = "number"
    GRADE = "grade"
    PRIORITY = "priority"
    CHOICE = "choice"


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One field of the rule language, for the parser and for `/help`."""

    name: str
    kind: FieldKind
    help: str
    choices: tuple[str, ...] = ()
    many: bool = False


_PRIORITY_RANK = {"low": 1, "medium": 2, "high": 3}
_CHOICE_ALIASES = {
    "buy_it_now": "fixed_price",
    "bin": "fixed_price",
    "fixed": "fixed_price",
    "catalog_number": "catalog_no",
    "catno": "catalog_no",
}

FIELDS: dict[str, FieldSpec] = {
    spec.name: spec
    for spec in (
        FieldSpec("title", FieldKind.TEXT, "the listing's title"),
        FieldSpec("price", FieldKind.NUMBER, "the asking price (or current bid), no shipping"),
        FieldSpec("shipping", FieldKind.NUMBER, "the shipping cost; null when not stated"),
        FieldSpec("total", FieldKind.NUMBER, "price plus shipping; null when shipping unknown"),
        FieldSpec("currency", FieldKind.TEXT, 'the listing\'s currency code, e.g. "USD"'),
        FieldSpec("condition", FieldKind.GRADE, 'the record\'s grade, e.g. condition >= "VG+"'),
        FieldSpec(
            "buying_option",
            FieldKind.CHOICE,
            '"auction" or "fixed_price"',
            choices=("auction", "fixed_price"),
        ),
        FieldSpec("seller", FieldKind.TEXT, "the seller's user name"),
        FieldSpec("seller_feedback", FieldKind.NUMBER, "the seller's positive feedback, %"),
        FieldSpec("seller_feedback_score", FieldKind.NUMBER, "how many ratings the seller has"),
        FieldSpec("country", FieldKind.TEXT, 'where the item is, e.g. "US"'),
        FieldSpec("artist", FieldKind.TEXT, "the matched release's artist"),
        FieldSpec("release_title", FieldKind.TEXT, "the matched release's title"),
        FieldSpec("label", FieldKind.TEXT, "the release's labels", many=True),
        FieldSpec("catalog_no", FieldKind.TEXT, "catalog numbers (spacing ignored)", many=True),
        FieldSpec("format", FieldKind.TEXT, '"Vinyl", "CD", "LP", "7\\"", …', many=True),
        FieldSpec("year", FieldKind.NUMBER, "the release year"),
        FieldSpec("genre", FieldKind.TEXT, "the release's genres", many=True),
        FieldSpec("style", FieldKind.TEXT, "the release's styles", many=True),
        FieldSpec("deal_score", FieldKind.NUMBER, "the saving as a share of the reference, 0..1"),
        FieldSpec("priority", FieldKind.PRIORITY, '"low" < "medium" < "high"'),
        FieldSpec("reference_price", FieldKind.NUMBER, "the Discogs reference price"),
        FieldSpec("saving", FieldKind.NUMBER, "reference price minus total"),
        FieldSpec(
            "match_method",
            FieldKind.CHOICE,
            "how the release was identified",
            choices=("catalog_no", "barcode", "fuzzy", "album"),
        ),
        FieldSpec("match_confidence", FieldKind.NUMBER, "how sure the identification is, 0..1"),
    )
}

ALIASES: dict[str, str] = {"location": "country"}
"""Other names accepted for a field; rules are always written back with the main name."""


def lookup_field(name: str) -> FieldSpec | None:
    key = name.lower()
    return FIELDS.get(ALIASES.get(key, key))


def normalize_choice(text: str) -> str:
    """`"Fixed Price"`, `"fixed-price"` → `"fixed_price"`; `"BIN"` → `"fixed_price"`."""
    key = "_".join(text.strip().lower().replace("-", " ").split())
    return _CHOICE_ALIASES.get(key, key)


def priority_rank(text: str) -> int | None:
    return _PRIORITY_RANK.get(text.strip().lower())


def normalize_text(spec: FieldSpec, text: str) -> str:
    """How a text value is compared: case-folded; catalog numbers without spacing."""
    if spec.name == "catalog_no":
        normal = normalize_catalog_no(text)
        if normal is not None:
            return normal.casefold()
    return text.casefold()


def _to_decimal(value: object) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        result = Decimal(repr(value))
        return result if result.is_finite() else None
    if isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            return None
        return result if result.is_finite() else None
    return None


def field_values(spec: FieldSpec, raw: object) -> tuple[object, ...]:
    """The comparable values of a field as found in an evaluation mapping; () when missing.

    Text → case-folded strings; numbers → Decimal; grades → Grade; priorities → their
    rank; choices → normalised words. Values of the wrong type count as missing.
    """
    if raw is None:
        return ()
    items = tuple(raw) if isinstance(raw, list | tuple | set | frozenset) else (raw,)
    out: list[object] = []
    for item in items:
        value = _one_value(spec, item)
        if value is not None:
            out.append(value)
    return tuple(out)


def _one_value(spec: FieldSpec, item: object) -> object | None:
    if item is None:
        return None
    kind = spec.kind
    if kind is FieldKind.NUMBER:
        return _to_decimal(item)
    if kind is FieldKind.GRADE:
        if isinstance(item, Grade):
            return item
        return parse_grade(item) if isinstance(item, str) else None
    if not isinstance(item, str):
        return None  # a StrEnum is a str, so Priority and BuyingOption pass
    if kind is FieldKind.PRIORITY:
        return priority_rank(item)
    if kind is FieldKind.CHOICE:
        return normalize_choice(item)
    return normalize_text(spec, item)


def rule_fields(
    listing: Listing,
    release: Release | None = None,
    deal: Deal | None = None,
    match: Match | None = None,
) -> dict[str, object]:
    """The mapping a rule is evaluated on, built from the pipeline's objects.

    Listing fields are in the listing's currency; `reference_price` and `saving` in the
    reference's. Fields whose source is absent (no release, no deal yet) are None, and
    a None makes every test on that field false except `!=`, `not in` and `= null`.
    """
    if deal is not None:
        release = release or deal.release
        match = match or deal.match
    shipping = listing.shipping
    # An album match knows the album, not the pressing: what differs between pressings
    # (catalog number, label, year, edition) is unknown, so a rule that pins a pressing
    # never accepts it.
    pressing = release if match is None or match.method is not MatchMethod.ALBUM else None
    catalog_nos = list(pressing.catalog_nos) if pressing else []
    if listing.catalog_no:
        catalog_nos.append(listing.catalog_no)
    formats: list[str] = []
    if release is not None:
        if release.format:
            formats.append(release.format)
        if pressing is not None:
            formats.extend(pressing.format_descriptions)
    elif listing.format_hint:
        formats.append(listing.format_hint)
    return {
        "title": listing.title,
        "price": listing.price,
        "shipping": shipping,
        "total": None if shipping is None else listing.price + shipping,
        "currency": listing.currency,
        "condition": grade_from_listing(listing.condition, listing.condition_id, listing.title),
        "buying_option": listing.buying_option.value.lower(),
        "seller": listing.seller_username,
        "seller_feedback": listing.seller_feedback_pct,
        "seller_feedback_score": listing.seller_feedback_score,
        "country": listing.country,
        "artist": release.artist if release else None,
        "release_title": release.title if release else None,
        "label": tuple(pressing.labels) if pressing else (),
        "catalog_no": tuple(catalog_nos),
        "format": tuple(formats),
        "year": pressing.year if pressing else None,
        "genre": tuple(release.genres) if release else (),
        "style": tuple(release.styles) if release else (),
        "deal_score": deal.score if deal else None,
        "priority": deal.priority.value if deal else None,
        "reference_price": deal.reference.amount if deal else None,
        "saving": deal.saving.amount if deal else None,
        "match_method": match.method.value if match else None,
        "match_confidence": match.confidence if match else None,
    }


def describe_fields() -> Mapping[str, str]:
    """Field name → one line of help, for the bot's /help and the CLI."""
    return {name: spec.help for name, spec in FIELDS.items()}
