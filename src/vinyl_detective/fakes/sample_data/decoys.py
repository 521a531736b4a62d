"""Decoys: listings in the record categories that match no catalog release.

Albums the catalog does not hold (by its artists or others), tribute records, merch and
empty sleeves, and things that are not records at all (decoy_data.py).
"""

from __future__ import annotations

from datetime import datetime

from vinyl_detective.domain.normalize import normalize_catalog_no, strip_disambiguation
from vinyl_detective.fakes.sample_data.decoy_data import (
    NOT_RECORDS,
    OFF_CATALOG,
    TRIBUTE_PERFORMERS,
    UNKNOWN_ALBUMS,
)
from vinyl_detective.fakes.sample_data.item_shell import ItemShell
from vinyl_detective.fakes.sample_data.names import artist_credits, to_ascii
from vinyl_detective.fakes.sample_data.titles import Token, fit, shorten_title
from vinyl_detective.fakes.sample_data.vocabulary import FORMAT_WORDS, GRADE_WORDS, HYPE, Json


class DecoyMaker(ItemShell):
    """Makes decoy listings."""

    def _decoy(self, created: datetime, legacy: str, now: datetime) -> Json:
        rng = self.rng
        roll = rng.random()
        fmt = "Vinyl"
        new = rng.random() < 0.3
        aspects: list[tuple[str, str]] = []
        if roll < 0.30:
            pool = list(UNKNOWN_ALBUMS) + [
                (strip_disambiguation(artist_credits(a.artists)[0][0]), a.title, a.year, a.label)
                for a in self.catalog.left_out
            ]
            artist, title, year, label = rng.choice(pool)
            fmt = rng.choices(("Vinyl", "CD", "Cassette"), (70, 22, 8))[0]
            text, price = self._record_title(artist, title, year, label, fmt), rng.uniform(12, 60)
            aspects = [("Artist", artist), ("Release Title", title), ("Record Label", label)]
        elif roll < 0.50:
            artist, title, year, label = rng.choice(OFF_CATALOG)
            fmt = rng.choices(("Vinyl", "CD"), (80, 20))[0]
            text, price = self._record_title(artist, title, year, label, fmt), rng.uniform(15, 90)
            aspects = [("Artist", artist), ("Release Title", title), ("Record Label", label)]
        elif roll < 0.65:
            text, fmt, price = self._tribute()
        elif roll < 0.90:
            text, price = self._merch()
        else:
            text, price = rng.choice(NOT_RECORDS), rng.uniform(15, 450)
        if rng.random() < 0.1:
            text = f"{rng.choice(HYPE)} {text}"
        text = fit([Token(word, 0) for word in [text]])
        country, currency = self._place(deal=False)
        shipping_type, shipping = self._shipping(country, deal=False)
        item = self._shell(
            legacy=legacy,
            title=text,
            fmt=fmt,
            created=created,
            now=now,
            country=country,
            currency=currency,
            price_usd=price,
            shipping_usd=shipping,
            shipping_type=shipping_type,
            new=new,
            auction=rng.random() < 0.15,
            round_up=True,
        )
        if aspects and rng.random() < 0.35:
            item["localizedAspects"] = [
                {"type": "STRING", "name": name, "value": value} for name, value in aspects
            ]
        return item

    def _record_title(self, artist: str, title: str, year: int, label: str, fmt: str) -> str:
        """A seller's title for a real record the catalog does not hold."""
        rng = self.rng
        if rng.random() < 0.7:
            artist, title = to_ascii(artist), to_ascii(title)
        tokens = [
            Token(artist, 0),
            Token(title, 0),
            Token(rng.choice(FORMAT_WORDS[fmt]), 2),
            Token(label, 4) if rng.random() < 0.4 else None,
            Token(str(year), 3) if rng.random() < 0.5 else None,
            Token(rng.choice(GRADE_WORDS[rng.randint(1, 3)]), 1) if rng.random() < 0.7 else None,
        ]
        if rng.random() < 0.15:
            tokens.append(Token(self._invented_catno(), 0))
        text = fit([t for t in tokens if t is not None])
        return text.upper() if rng.random() < 0.2 else text

    def _invented_catno(self) -> str:
        """A plausible catalog number that no catalog release carries."""
        rng = self.rng
        while True:
            catno = (
                f"{rng.choice(('CLP', 'LPX', 'SRL', 'MRG', 'DOM', 'JAG'))}-{rng.randint(100, 9999)}"
            )
            key = normalize_catalog_no(catno)
            if key is not None and key not in self.catalog.catnos:
                return catno

    def _tribute(self) -> tuple[str, str, float]:
        rng = self.rng
        album = rng.choice(self.albums)
        while album.artists == "Various":
            album = rng.choice(self.albums)
        artist = to_ascii(strip_disambiguation(artist_credits(album.artists)[0][0]))
        title = to_ascii(album.title)
        performer = rng.choice(TRIBUTE_PERFORMERS)
        fmt = rng.choices(("Vinyl", "CD"), (55, 45))[0]
        word = "LP" if fmt == "Vinyl" else "CD"
        text = rng.choice(
            (
                f"A Tribute To {artist} - {title} Revisited Various Artists {word}",
                f"The Music Of {artist} Performed By {performer} {word}",
                f"{performer} Performs {artist} {title} {word}",
                f"Rockabye Baby! Lullaby Renditions Of {artist} {word} New",
                f"{title} - {artist} Tribute Band Live {word}",
                f"Jazz Plays {artist} Vol. 2 {word} Various",
                f"{title} Redux Tribute {artist} Various {word}",
            )
        )
        return shorten_title(text, album.title), fmt, rng.uniform(9, 35)

    def _merch(self) -> tuple[str, float]:
        rng = self.rng
        album = rng.choice(self.albums)
        artist = to_ascii(strip_disambiguation(artist_credits(album.artists)[0][0]))
        if artist == "Various":
            artist = "OST"
        title = to_ascii(album.title)
        catno = album.catno.partition("|")[0]
        kinds = (
            (f"{artist} {title} Poster 24x36 Reprint", 8, 30),
            (f"{artist} - {title} T-Shirt Size L Black Vintage Tee", 15, 45),
            (f"{artist} {title} Slipmat Turntable Felt Mat", 8, 20),
            (f"{artist} {title} EMPTY SLEEVE ONLY No Record", 5, 40),
            (f"{artist} {title} EMPTY Jacket Only {catno} No Vinyl", 5, 40),
            (f"{title} {artist} Framed Album Cover Art Print 12x12", 20, 60),
            (f"{artist}: {title} 33 1/3 Book Series Paperback", 8, 16),
            (f"{artist} {title} Promo Flat Poster 12x12 Record Store", 15, 80),
            (f"{artist} {title} Sheet Music Songbook Piano Vocal", 8, 25),
            (f"{artist} Tour Program Book {album.year + 1} Concert", 10, 60),
        )
        text, low, high = rng.choice(kinds)
        return shorten_title(text, album.title), rng.uniform(low, high)
