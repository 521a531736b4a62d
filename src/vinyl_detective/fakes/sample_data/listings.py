"""Listings of catalog pressings, with their truth: ItemMaker makes one eBay item at a
time, a decoy (a quarter of them) or a listing of a pressing, priced as a deal or not
against that pressing's suggestion for its grade, with item specifics and descriptions.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime

from vinyl_detective.domain.normalize import normalize_catalog_no, strip_disambiguation
from vinyl_detective.fakes.sample_data.catalog import Catalog, Pressing
from vinyl_detective.fakes.sample_data.decoys import DecoyMaker
from vinyl_detective.fakes.sample_data.names import artist_credits
from vinyl_detective.fakes.sample_data.titles import TitleWriter, has_catno
from vinyl_detective.fakes.sample_data.vocabulary import ASPECT_GRADES, GRADES, Json


@dataclass(frozen=True, slots=True)
class SampleArrival:
    """One new listing from `arrivals_with_truth`, with what it really is."""

    item: Json
    release_id: int | None
    master_id: int | None
    is_deal: bool
    grade: str | None = None


class ItemMaker(DecoyMaker):
    """Makes one eBay item (with its truth) at a time."""

    def __init__(self, catalog: Catalog, rng: random.Random) -> None:
        super().__init__(catalog, rng)
        self.titles = TitleWriter(rng)

    def make(self, created: datetime, legacy: str, now: datetime) -> SampleArrival:
        rng = self.rng
        if rng.random() < 0.25:
            item = self._decoy(created, legacy, now)
            return SampleArrival(item, None, None, False)
        is_deal = rng.random() < 0.135
        if is_deal:
            # A bargain worth an alert: a grade of VG or better and a reference of $12 or more.
            for _attempt in range(50):
                pressing = rng.choices(self.dealable, cum_weights=self.deal_weights)[0]
                new, grade = self._condition(pressing, deal=True)
                reference = self.catalog.suggestions[pressing.release_id][GRADES[grade]]
                if reference["value"] >= 12:
                    break
        else:
            pressing = rng.choices(self.pressings, cum_weights=self.weights)[0]
            new, grade = self._condition(pressing, deal=False)
        item = self._matched(pressing, is_deal, new, grade, created, legacy, now)
        return SampleArrival(item, pressing.release_id, pressing.master_id, is_deal, GRADES[grade])

    def _matched(
        self,
        p: Pressing,
        is_deal: bool,
        new: bool,
        grade: int,
        created: datetime,
        legacy: str,
        now: datetime,
    ) -> Json:
        """A listing of pressing `p` in media grade `grade` (an index into GRADES)."""
        rng = self.rng
        stated = (
            "title" if new or is_deal else rng.choices(("title", "aspect", "none"), (75, 10, 15))[0]
        )
        suggestions = self.catalog.suggestions.get(p.release_id) or {}
        country, currency = self._place(deal=is_deal)
        shipping_type, shipping = self._shipping(country, deal=is_deal)
        if suggestions:
            if stated == "none":
                reference = max(
                    suggestions[GRADES[grade]]["value"], suggestions[GRADES[1]]["value"]
                )
            else:
                reference = suggestions[GRADES[grade]]["value"]
            if is_deal:
                total = reference * rng.uniform(0.30, 0.62)
            elif rng.random() < 0.12:
                total = reference * rng.uniform(1.45, 2.6)
            else:
                total = reference * rng.uniform(0.92, 1.3)
        else:
            total = rng.uniform(12, 60)
        ship = shipping or 0.0
        if total - ship < 1.0:
            if is_deal:
                shipping, ship = 0.0, 0.0
            else:
                total = ship + rng.uniform(2.0, 6.0)
        auction = rng.random() < 0.15
        title = self.titles.title(p, grade, stated == "title", is_deal, rng.random())
        item = self._shell(
            legacy=legacy,
            title=title,
            fmt=p.fmt,
            created=created,
            now=now,
            country=country,
            currency=currency,
            price_usd=total - ship,
            shipping_usd=shipping,
            shipping_type=shipping_type,
            new=new,
            auction=auction,
            round_up=not is_deal,
        )
        self._details(item, p, grade, new, stated, title)
        return item

    def _details(
        self, item: Json, p: Pressing, grade: int, new: bool, stated: str, title: str
    ) -> None:
        """The detail-only fields: item specifics (about 40% of items), gtin, mpn, description."""
        rng = self.rng
        cat_in_title = normalize_catalog_no(p.catno) is not None and has_catno(title, p.catno)
        specifics_only = not cat_in_title and rng.random() < 0.38
        with_aspects = specifics_only or stated == "aspect" or rng.random() < 0.22
        album = p.album
        if with_aspects:
            aspects: list[tuple[str, str]] = [
                ("Artist", strip_disambiguation(artist_credits(album.artists)[0][0])),
                ("Release Title", album.title),
                ("Record Label", strip_disambiguation(p.label)),
                ("Format", {"Vinyl": "Record", "CD": "CD", "Cassette": "Cassette"}[p.fmt]),
            ]
            if (specifics_only or cat_in_title) and p.catno.lower() != "none":
                aspects.append(("Catalog Number", p.catno))
            if p.barcode and rng.random() < 0.6:
                aspects.append(("UPC", p.barcode))
            aspects.append(("Release Year", str(p.year)))
            aspects.append(("Genre", album.genre))
            if p.fmt == "Vinyl":
                aspects += [("Record Size", '12"'), ("Speed", "33 RPM")]
                if not new and stated != "none":
                    aspects.append(("Record Grading", ASPECT_GRADES[grade]))
                    sleeve = min(5, grade + rng.choice((0, 0, 1)))
                    aspects.append(("Sleeve Grading", ASPECT_GRADES[sleeve]))
            if "Reissue" in p.descriptions:
                aspects.append(("Edition", "Reissue"))
            elif p.kind == "orig":
                aspects.append(("Edition", "First Edition"))
            item["localizedAspects"] = [
                {"type": "STRING", "name": name, "value": value} for name, value in aspects
            ]
            if (
                rng.random() < 0.3
                and p.catno.lower() != "none"
                and (specifics_only or cat_in_title)
            ):
                item["mpn"] = p.catno
        if p.barcode and (
            (with_aspects and rng.random() < 0.6) or (p.fmt == "CD" and rng.random() < 0.25)
        ):
            item["gtin"] = p.barcode
        if rng.random() < 0.6:
            media = "sealed" if new else ASPECT_GRADES[grade]
            item["shortDescription"] = (
                f"{strip_disambiguation(artist_credits(album.artists)[0][0])} – {album.title}. "
                f"{p.fmt}, {p.country} {p.year}. Media: {media}. Ships in a sturdy mailer."
            )
