"""The parts of a sample eBay listing that any listing has: its id, price and
currency, shipping, condition, buying options, seller, location, category and dates.

ItemShell holds the catalog and the random source the listing makers share; decoys.py
and listings.py build on it.
"""

from __future__ import annotations

import itertools
import math
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from vinyl_detective.fakes.sample_data.catalog import Catalog, Pressing, Seller
from vinyl_detective.fakes.sample_data.vocabulary import (
    CATEGORIES,
    COUNTRY_CODES,
    COUNTRY_WEIGHTS,
    FX_FROM_USD,
    IMAGE_ALPHABET,
    LOCAL_CURRENCY,
    MARKETPLACE,
    Json,
)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def money(value: float, currency: str) -> Json:
    return {"value": f"{value:.2f}", "currency": currency}


@dataclass(slots=True)
class IdCounters:
    """Legacy item ids in a few increasing series, as eBay's look."""

    series: dict[str, int]

    @classmethod
    def fresh(cls, rng: random.Random) -> IdCounters:
        return cls({p: rng.randint(10**10, 5 * 10**10) for p in ("1", "2", "3", "4")})

    @classmethod
    def after(cls, items: list[Json]) -> IdCounters:
        series = dict.fromkeys(("1", "2", "3", "4"), 10**10)
        for item in items:
            legacy = str(item["legacyItemId"])
            if legacy[0] in series and len(legacy) == 12:
                series[legacy[0]] = max(series[legacy[0]], int(legacy[1:]))
        return cls(series)

    def next(self, rng: random.Random) -> str:
        prefix = rng.choice(("1", "2", "3", "4"))
        self.series[prefix] += rng.randint(1, 40_000)
        return f"{prefix}{self.series[prefix]:011d}"


class ItemShell:
    """What every listing maker shares: the catalog, the random source, the sellers."""

    def __init__(self, catalog: Catalog, rng: random.Random) -> None:
        self.catalog = catalog
        self.rng = rng
        self.pressings = catalog.pressings
        self.weights = list(itertools.accumulate(p.popularity for p in catalog.pressings))
        self.sellers = {c: [s for s in catalog.sellers if s.country == c] for c in COUNTRY_CODES}
        dealable = [
            p
            for p in catalog.pressings
            if catalog.suggestions.get(p.release_id)
            and catalog.suggestions[p.release_id]["Very Good Plus (VG+)"]["value"] >= 15
        ]
        self.dealable = dealable or list(catalog.pressings)
        self.deal_weights = list(itertools.accumulate(p.popularity for p in self.dealable))
        self.in_catalog = {(a.artists, a.title) for a in (p.album for p in catalog.pressings)}
        self.albums = sorted({p.album for p in catalog.pressings}, key=lambda a: a.title)

    def _condition(self, p: Pressing, *, deal: bool) -> tuple[bool, int]:
        """(sealed/new?, media grade index into GRADES) for a listing of `p`."""
        rng = self.rng
        modern = p.kind in ("modern", "audiophile", "color") or p.year >= 2000
        new_chance = 0.45 if modern and p.fmt == "Vinyl" else 0.2 if p.fmt != "Vinyl" else 0.02
        if rng.random() < new_chance:
            return True, 0
        if p.fmt != "Vinyl":
            return False, rng.choices((1, 2, 3), weights=(35, 45, 20))[0]
        if deal:
            return False, rng.choices((1, 2, 3), weights=(17, 43, 25))[0]
        return False, rng.choices((1, 2, 3, 4, 5), weights=(17, 43, 25, 10, 5))[0]

    def _seller(self, country: str, *, reputable: bool) -> Seller:
        pool = self.sellers[country]
        if reputable:
            pool = [s for s in pool if float(s.feedback_pct) >= 98.0 and s.feedback_score >= 10]
        return self.rng.choice(pool)

    def _location(self, country: str) -> Json:
        rng = self.rng
        postal = {
            "US": f"{rng.randint(10, 99)}{rng.randint(0, 9)}**",
            "GB": rng.choice(("N16 ***", "SW1A ***", "M4 ***", "BS1 ***", "EH1 ***", "LS6 ***")),
            "DE": f"{rng.randint(10, 99)}***",
            "CA": rng.choice(("M5V ***", "H2X ***", "V6B ***")),
            "JP": f"{rng.randint(100, 990)}-****",
        }[country]
        return {"postalCode": postal, "country": country}

    def _shell(
        self,
        *,
        legacy: str,
        title: str,
        fmt: str,
        created: datetime,
        now: datetime,
        country: str,
        currency: str,
        price_usd: float,
        shipping_usd: float | None,
        shipping_type: str | None,
        new: bool,
        auction: bool,
        round_up: bool,
    ) -> Json:
        """Everything but the detail-only fields. Money is converted from USD to `currency`."""
        rng = self.rng
        rate = FX_FROM_USD[currency]
        price = round_price(price_usd * rate, up=round_up, rng=rng)
        seller = self._seller(country, reputable=not round_up)
        category_id, category_name = CATEGORIES[fmt]
        item: Json = {
            "itemId": f"v1|{legacy}|0",
            "legacyItemId": legacy,
            "title": title,
            "price": money(price, currency),
        }
        if currency != "USD" and country in ("CA", "JP"):
            # eBay US shows these converted to dollars, with the original amount beside.
            item["price"] = {
                **money(price / rate, "USD"),
                "convertedFromValue": f"{price:.2f}",
                "convertedFromCurrency": currency,
            }
            currency, rate = "USD", 1.0
        if shipping_type == "FIXED" and shipping_usd is not None:
            cost = round(shipping_usd * rate, 2)
            item["shippingOptions"] = [
                {"shippingCostType": "FIXED", "shippingCost": money(cost, currency)}
            ]
        elif shipping_type == "CALCULATED":
            item["shippingOptions"] = [{"shippingCostType": "CALCULATED"}]
        item["condition"], item["conditionId"] = ("New", "1000") if new else ("Used", "3000")
        if auction:
            item["buyingOptions"] = ["AUCTION"]
            item["currentBidPrice"] = dict(item["price"])
            item["bidCount"] = rng.randint(0, 3) if round_up is False else rng.randint(0, 24)
            days = rng.choice((3, 5, 7, 10))
            end = created + timedelta(days=days)
            if end <= now:
                end = now + timedelta(hours=rng.uniform(1, 96))
            item["itemEndDate"] = iso(end)
        elif rng.random() < 0.2:
            item["buyingOptions"] = ["FIXED_PRICE", "BEST_OFFER"]
        else:
            item["buyingOptions"] = ["FIXED_PRICE"]
        item["seller"] = {
            "username": seller.username,
            "feedbackPercentage": seller.feedback_pct,
            "feedbackScore": seller.feedback_score,
        }
        item["itemWebUrl"] = f"https://www.ebay.com/itm/{legacy}"
        if rng.random() < 0.97:
            bits = rng.getrandbits(96)
            token = "".join(IMAGE_ALPHABET[(bits >> (6 * i)) & 63] for i in range(16))
            item["image"] = {"imageUrl": f"https://i.ebayimg.com/images/g/{token}/s-l225.jpg"}
        item["itemLocation"] = self._location(country)
        item["categories"] = [
            {"categoryId": category_id, "categoryName": category_name},
            {"categoryId": "11233", "categoryName": "Music"},
        ]
        item["leafCategoryIds"] = [category_id]
        item["itemCreationDate"] = iso(created)
        item["itemOriginDate"] = iso(created)
        item["listingMarketplaceId"] = MARKETPLACE.get(country, "EBAY_US")
        item["categoryId"] = category_id
        item["categoryPath"] = f"Music|{category_name}"
        return item

    def _place(self, *, deal: bool) -> tuple[str, str]:
        """(item location country, listing currency)."""
        rng = self.rng
        if deal:
            return "US", "USD"
        country = rng.choices(COUNTRY_CODES, weights=COUNTRY_WEIGHTS)[0]
        if country == "US":
            return country, "USD"
        if country in ("GB", "DE"):
            return country, LOCAL_CURRENCY[country] if rng.random() < 0.7 else "USD"
        return country, LOCAL_CURRENCY[country]

    def _shipping(self, country: str, *, deal: bool) -> tuple[str | None, float | None]:
        rng = self.rng
        roll = rng.random()
        if deal:
            return ("FIXED", 0.0) if roll < 0.25 else ("FIXED", rng.uniform(3.5, 6.5))
        if country != "US":
            return ("FIXED", rng.uniform(12, 28)) if roll < 0.85 else ("CALCULATED", None)
        if roll < 0.65:
            return "FIXED", rng.uniform(3.5, 7.99)
        if roll < 0.80:
            return "FIXED", 0.0
        if roll < 0.92:
            return "CALCULATED", None
        return None, None


def round_price(value: float, *, up: bool, rng: random.Random) -> float:
    """A seller's price near `value`: never below it when `up`, never above it otherwise."""
    value = max(value, 0.99)
    if up:
        whole = math.ceil(value)
        options = [float(whole), whole + 0.99]
        if whole - 0.01 >= value:
            options.append(whole - 0.01)
        return round(rng.choice(options), 2)
    whole = math.floor(value)
    options = [whole - 0.01, whole - 0.05, float(whole)] if whole >= 2 else [max(0.99, value)]
    return round(max(0.99, rng.choice(options)), 2)
